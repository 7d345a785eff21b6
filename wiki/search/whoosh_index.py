"""The embedded search backend: a Whoosh index in the instance folder.

    <SEARCH_INDEX_DIR>/          (default instance/search-index)
      CURRENT                    the name of the generation searches use
      gen-<time>-<random>/       a complete Whoosh index, one per rebuild
      writer.lock                held by the one process that writes (see wiki.search.indexer)

A rebuild writes a new generation beside the current one and then replaces CURRENT in one
atomic rename, so searches use the old index until the new one is complete. The previous
generation is kept until the next rebuild, for processes still reading it.

Whoosh allows one writer at a time; only the process holding writer.lock writes here, and
searches never wait for it (readers see the last committed segments).
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from flask import Flask
from whoosh import index as whoosh_index
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, STORED, TEXT, Schema
from whoosh.searching import Searcher

from ..models.reports import SECTORS, STATUSES
from . import whoosh_query
from .analysis import LANGUAGES, OTHER, analyzer
from .backend import Filters, Hits, SearchUnavailable, code
from .documents import IndexDocument, epoch
from .query import TYPES, ParsedQuery

log = logging.getLogger(__name__)
CORRECTIONS_REMEMBERED = 10_000
POINTER = "CURRENT"
LABELS = {
    "type": {code(value): value for value in TYPES},
    "sector": {code(value): value for value in SECTORS},
    "status": {code(value): value for value in STATUSES},
}
MISSING = (
    "The search index is missing ({path}). Run `crisiswiki reindex` to build it from the database; "
    "pages and reports are not affected."
)
DAMAGED = (
    "The search index at {path} cannot be read ({error}). Run `crisiswiki reindex` to rebuild it from "
    "the database; pages and reports are not affected."
)


def make_schema() -> Schema:
    """Text in one language's fields per document (see wiki.search.analysis), a folded copy of
    published text for "did you mean", and per-document numeric columns for filters and facets."""
    fields = {
        "key": ID(unique=True, stored=True),  # "report:12"
        "info": STORED,  # {"adm1": ..., "adm1_name": ..., "updated": epoch seconds, "lang": ...}
        "spell": TEXT(analyzer=analyzer(OTHER), phrase=False),
    }
    for lang in LANGUAGES:
        fields[f"title_{lang}"] = TEXT(analyzer=analyzer(lang), phrase=True)
        fields[f"body_{lang}"] = TEXT(analyzer=analyzer(lang), phrase=True)
    for name in whoosh_query.CODE_COLUMNS:
        fields[name] = COLUMN(NumericColumn("I", default=0))
    for name in whoosh_query.FLOAT_COLUMNS:
        fields[name] = COLUMN(NumericColumn("d", default=math.nan))
    return Schema(**fields)


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def document_fields(document: IndexDocument) -> dict:
    lang = document.language if document.language in LANGUAGES else OTHER
    fields = {
        "key": document.key,
        "info": {
            "adm1": document.adm1_pcode,
            "adm1_name": document.adm1_name,
            "updated": epoch(document.updated_at),
            "lang": lang,
        },
        f"title_{lang}": document.title or "",
        f"body_{lang}": document.body or "",
        "kind": code(document.kind),
        "crisis": int(document.crisis_id),
        "sector": code(document.sector),
        "status": code(document.status),
        "adm1": code(document.adm1_pcode),
        "pub": 1 if document.published else 0,
        "lon": _number(document.lon),
        "lat": _number(document.lat),
        "plon": _number(document.public_lon),
        "plat": _number(document.public_lat),
        "date": epoch(document.date),
        "score": _number(document.score),
    }
    if document.published:  # "did you mean" never suggests a word only unpublished reports use
        fields["spell"] = f"{document.title}\n{document.body}"
    return fields


class WhooshBackend:
    name = "whoosh"

    def __init__(self, app: Flask) -> None:
        self.root = Path(app.config["SEARCH_INDEX_DIR"] or Path(app.instance_path) / "search-index")
        self.title_boost = float(app.config["SEARCH_TITLE_BOOST"])
        self._lock = threading.Lock()
        self._indexes: dict[str, whoosh_index.FileIndex] = {}
        self._local = threading.local()
        self._columns = whoosh_query.ColumnCache()
        self._adm1: tuple[object, dict[int, tuple[str, str]]] = (None, {})
        self._corrections: tuple[object, dict[str, list[tuple[str, int]]]] = (None, {})

    # The generations
    def current_name(self) -> str | None:
        try:
            name = (self.root / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def exists(self) -> bool:
        name = self.current_name()
        return name is not None and (self.root / name).is_dir()

    def _open(self, name: str):
        found = self._indexes.get(name)
        if found is not None:
            return found
        path = self.root / name
        if not path.is_dir():
            raise SearchUnavailable(MISSING.format(path=path), reason="missing")
        try:
            opened = whoosh_index.open_dir(str(path))
        except Exception as error:  # a damaged TOC raises anything from EOFError to pickle errors
            raise SearchUnavailable(DAMAGED.format(path=path, error=f"{type(error).__name__}: {error}")) from error
        with self._lock:
            self._indexes[name] = opened
        return opened

    def _reader(self):
        """This thread's reader of the current generation, reopened when the writer committed.
        Readers are per thread: Whoosh's file reads seek, so threads must not share one. (Not
        `ix.reader(reuse=...)`: in whoosh-reloaded 2.7.5 it keeps replaced segments.)"""
        name = self.current_name()
        if name is None:
            raise SearchUnavailable(MISSING.format(path=self.root), reason="missing")
        ix = self._open(name)
        state = getattr(self._local, "state", None)
        try:
            if state is not None and state[0] == name and state[1].generation() == ix.latest_generation():
                return state[1]
            if state is not None:
                self._local.state = None
                state[1].close()
            reader = ix.reader()
        except SearchUnavailable:
            raise
        except Exception as error:
            self._local.state = None
            raise SearchUnavailable(
                DAMAGED.format(path=self.root / name, error=f"{type(error).__name__}: {error}")
            ) from error
        self._local.state = (name, reader)
        return reader

    def _snapshot(self) -> whoosh_query.Snapshot:
        return whoosh_query.Snapshot(self._reader(), self._columns, self.title_boost)

    def check(self) -> None:
        self._reader().doc_count_all()

    def version(self) -> tuple[str, int] | None:
        name = self.current_name()
        if name is None:
            return None
        try:
            return name, self._open(name).latest_generation()
        except SearchUnavailable:
            return None

    # Searching
    def _labels(self, snapshot: whoosh_query.Snapshot, counts: dict) -> tuple[dict, dict[str, str]]:
        generation = (self.current_name(), snapshot.reader.generation())
        if self._adm1[0] != generation:
            self._adm1 = (generation, {})
        known = self._adm1[1]
        wanted = [value for value in counts.get("adm1", {}) if value not in known]
        if wanted:
            column = snapshot.column("adm1")
            for value in wanted:
                docnums = np.flatnonzero(column == value)[:1]
                if len(docnums):
                    info = snapshot.reader.stored_fields(int(docnums[0])).get("info") or {}
                    known[value] = (info.get("adm1") or "", info.get("adm1_name") or "")
        labels = dict(LABELS)
        labels["adm1"] = {value: known[value][0] for value in counts.get("adm1", {}) if value in known}
        names = {known[value][0]: known[value][1] for value in counts.get("adm1", {}) if value in known}
        return labels, names

    def _guard(self, action: Callable):
        try:
            return action()
        except SearchUnavailable:
            raise
        except Exception as error:
            self._local.state = None
            raise SearchUnavailable(
                DAMAGED.format(path=self.root / (self.current_name() or ""), error=f"{type(error).__name__}: {error}")
            ) from error

    def search(self, parsed: ParsedQuery, filters: Filters, offset: int, limit: int) -> Hits:
        return self._guard(lambda: whoosh_query.hits(self._snapshot(), parsed, filters, offset, limit, self._labels))

    def count(self, parsed: ParsedQuery, filters: Filters) -> int:
        return self._guard(lambda: whoosh_query.evaluate(self._snapshot(), parsed, filters, 0, 0, count_only=True)[0])

    def corrections(self, word: str) -> list[tuple[str, int]]:
        """Indexed words within 1 edit of `word` (2 for longer words), with their document
        counts. Remembered per index generation: the scan of the vocabulary takes 50-100 ms on a
        large index, and the same misspellings come back."""

        def find():
            reader = self._reader()
            generation = (self.current_name(), reader.generation())
            with self._lock:
                if self._corrections[0] != generation:
                    self._corrections = (generation, {})
                known = self._corrections[1]
                if word in known:
                    return known[word]
            distance = 1 if len(word) <= 4 else 2
            found = [
                (term, reader.doc_frequency("spell", term))
                for term in reader.terms_within("spell", word, distance, prefix=1)
                if term != word
            ]
            with self._lock:
                if self._corrections[0] == generation and len(known) < CORRECTIONS_REMEMBERED:
                    known[word] = found
            return found

        return self._guard(find)

    # Writing (only the process holding writer.lock)
    def apply(self, documents: list[IndexDocument], removed: list[str]) -> None:
        name = self.current_name()
        if name is None:
            raise SearchUnavailable(MISSING.format(path=self.root), reason="missing")
        writer = self._open(name).writer(timeout=60.0)
        try:
            for key in removed:
                writer.delete_by_term("key", key)
            for document in documents:
                writer.update_document(**document_fields(document))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise

    def rebuild(
        self, batches: Iterator[tuple[list[IndexDocument], list[str]]], progress: Callable[[int], None]
    ) -> None:
        """Build a new generation from `batches`, then make it current in one rename."""
        self.root.mkdir(parents=True, exist_ok=True)
        previous = self.current_name()
        name = f"gen-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        path = self.root / name
        path.mkdir()
        try:
            ix = whoosh_index.create_in(str(path), make_schema())
            writer = ix.writer(limitmb=256)
            count = 0
            try:
                for documents, _removed in batches:
                    for document in documents:
                        writer.add_document(**document_fields(document))
                    count += len(documents)
                    progress(len(documents))
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            (path / "BUILT").write_text(json.dumps({"built_at": datetime.now(UTC).isoformat(), "documents": count}))
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        self._switch(name)
        for old in self.root.glob("gen-*"):
            if old.name not in (name, previous):
                shutil.rmtree(old, ignore_errors=True)

    def _switch(self, name: str) -> None:
        temporary = self.root / f"{POINTER}.{os.getpid()}.tmp"
        with open(temporary, "w") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.root / POINTER)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def indexed_versions(self, keys: Iterable[str]) -> dict[str, float]:
        """The `updated` time each document had when indexed, for the keys that are indexed."""

        def read():
            reader = self._reader()
            searcher = Searcher(reader, closereader=False)
            found = {}
            for key in keys:
                docnum = searcher.document_number(key=key)
                if docnum is not None:
                    found[key] = (reader.stored_fields(docnum).get("info") or {}).get("updated", math.nan)
            return found

        return self._guard(read)

    def indexed_scores(self, keys: Iterable[str]) -> dict[str, float]:
        """The score each document was indexed with (NaN: none), for the keys that are indexed."""

        def read():
            snapshot = self._snapshot()
            scores = snapshot.column("score")
            searcher = Searcher(snapshot.reader, closereader=False)
            found = {}
            for key in keys:
                docnum = searcher.document_number(key=key)
                if docnum is not None:
                    found[key] = float(scores[docnum])
            return found

        return self._guard(read)

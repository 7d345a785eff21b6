"""Answering a query from a Whoosh index with NumPy: matching, BM25F ranking, filters and facet
counts over whole posting lists at once.

Whoosh's own searcher visits matching documents one at a time in Python, which for a common
word in 100,000 reports takes 30-70 ms before any facet is counted. This module reads the same
index (its posting blocks, field lengths and per-document columns) into arrays and does the
same arithmetic vectorised: Whoosh's BM25F formula and idf, per field, title boosted. A test
checks that the scores equal Whoosh's own. Postings come decoded per segment from
wiki.search.whoosh_postings.

Reading posting blocks and columns as arrays uses a few private attributes of Whoosh's w3
codec; when they are not there (another Whoosh version), the public matcher API is used
instead: slower, same answers.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
from whoosh.util.numeric import byte_to_length

from .analysis import LANGUAGES, analyse
from .backend import FACETS, Filters, Hits, code
from .query import ParsedQuery, Words
from .whoosh_postings import PostingCache, positions_of

K1 = 1.2
B = 0.75
FLOAT_COLUMNS = ("lon", "lat", "plon", "plat", "date", "score")
CODE_COLUMNS = ("kind", "crisis", "sector", "status", "adm1", "pub")  # unsigned 32-bit
_LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)
_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


def _segment_key(segreader) -> tuple[str, int]:
    segment = segreader.segment()
    return segment.segment_id(), segment.deleted_count()


class ColumnCache:
    """Per-process arrays of column values and field lengths, per segment (segments never
    change except for deletions, which are part of the key), concatenated per reader."""

    KEEP_SECONDS = 60.0  # a segment's arrays outlive its last use by a reader this long
    JOINED = 64  # concatenated arrays and derived values kept (about two readers' worth)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._segments: dict[tuple, np.ndarray] = {}
        self._used: dict[str, float] = {}  # segment id -> last use
        self._joined: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.postings = PostingCache()

    def get(self, leaves: list, name: str, load, dtype) -> np.ndarray:
        if not leaves:
            return np.zeros(0, dtype=dtype)
        keys = tuple(_segment_key(segreader) for segreader, _offset in leaves)
        joined_key = (keys, name)
        found = self._joined.get(joined_key)
        if found is not None:
            return found
        parts, loaded = [], False
        for (segreader, _offset), key in zip(leaves, keys, strict=True):
            part_key = (key[0], key[1] if name == "_alive" else -1, name)
            part = self._segments.get(part_key)
            if part is None:
                part, loaded = load(segreader), True
                with self._lock:
                    self._segments[part_key] = part
            parts.append(part)
        array = parts[0] if len(parts) == 1 else np.concatenate(parts)
        with self._lock:
            now = time.monotonic()
            self._used.update((key[0], now) for key in keys)
            self._joined[joined_key] = array
            while len(self._joined) > self.JOINED:
                self._joined.popitem(last=False)
            if loaded:  # segments merged away or superseded: forget their arrays after a while
                gone = {segment for segment, used in self._used.items() if now - used > self.KEEP_SECONDS}
                for stale in [k for k in self._segments if k[0] in gone]:
                    del self._segments[stale]
                for segment in gone:
                    del self._used[segment]
        return array

    def derived(self, leaves: list, name: str, compute):
        """A value computed from a whole set of segments, kept like their concatenated arrays."""
        joined_key = (tuple(_segment_key(segreader) for segreader, _offset in leaves), name)
        found = self._joined.get(joined_key)
        if found is not None:
            return found
        value = compute()
        with self._lock:
            self._joined[joined_key] = value
            while len(self._joined) > self.JOINED:
                self._joined.popitem(last=False)
        return value


def _read_column(segreader, name: str, dtype: str, default) -> np.ndarray:
    count = segreader.doc_count_all()
    reader = segreader.column_reader(name, translate=False)
    values = None
    try:  # the raw bytes of a fixed-width numeric column (w3 codec)
        raw = reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen)
        values = np.frombuffer(raw, dtype=">" + dtype).astype(dtype)
    except AttributeError:
        values = np.fromiter((reader[i] for i in range(count)), dtype=dtype, count=count)
    if len(values) < count:
        values = np.concatenate([values, np.full(count - len(values), default, dtype=dtype)])
    return values[:count]


def _read_lengths(segreader, field: str) -> np.ndarray:
    count = segreader.doc_count_all()
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        reader = segreader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if reader is None:
            return np.zeros(count, dtype=np.float32)
        raw = np.frombuffer(reader._dbfile.get(reader._basepos, reader._count), dtype=np.uint8)
        raw = np.concatenate([raw, np.zeros(max(0, count - len(raw)), dtype=np.uint8)])[:count]
        return _LENGTH_OF_BYTE[raw]
    except (AttributeError, ImportError):
        return np.fromiter(
            (segreader.doc_field_length(i, field) or 0 for i in range(count)), dtype=np.float32, count=count
        )


class Snapshot:
    """One reader's documents as arrays indexed by global document number."""

    def __init__(self, reader, cache: ColumnCache, title_boost: float) -> None:
        self.reader = reader
        self.leaves = [(leaf, offset) for leaf, offset in reader.leaf_readers() if leaf.segment() is not None]
        self.n = reader.doc_count_all()
        self.cache = cache
        self.title_boost = title_boost
        self._postings: dict[tuple[str, str], tuple] = {}

    # Per-document values
    def column(self, name: str) -> np.ndarray:
        dtype, default = ("f8", np.nan) if name in FLOAT_COLUMNS else ("u4", 0)
        return self.cache.get(self.leaves, name, lambda segreader: _read_column(segreader, name, dtype, default), dtype)

    def dense(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A code column's distinct values, and for each document the number of its value
        among them: facet counts are then one bincount over the hits. Numbered per segment
        once (segments do not change), renumbered into one list per set of segments."""
        dtype, default = ("f8", np.nan) if name in FLOAT_COLUMNS else ("u4", 0)

        def number_segment(segreader):
            return np.unique(_read_column(segreader, name, dtype, default), return_inverse=True)

        def join():
            parts = [self.cache.get([leaf], "_numbered_" + name, number_segment, dtype) for leaf in self.leaves]
            if not parts:
                return np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.intp)
            values = np.unique(np.concatenate([part[0] for part in parts]))
            numbers = [np.searchsorted(values, part[0])[part[1]] for part in parts]
            return values, numbers[0] if len(numbers) == 1 else np.concatenate(numbers)

        return self.cache.derived(self.leaves, "_dense_" + name, join)

    def alive(self) -> np.ndarray:
        def load(segreader):
            mask = np.ones(segreader.doc_count_all(), dtype=bool)
            if segreader.has_deletions():
                deleted = np.fromiter(segreader.segment().deleted_docs(), dtype=np.int64)
                mask[deleted[deleted < len(mask)]] = False
            return mask

        return self.cache.get(self.leaves, "_alive", load, bool)

    def lengths(self, field: str) -> np.ndarray:
        return self.cache.get(
            self.leaves, "_len_" + field, lambda segreader: _read_lengths(segreader, field), np.float32
        )

    # Postings (decoded once per segment and term, see PostingCache)
    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, term frequencies) of `term` in `field`."""
        key = (field, term)
        found = self._postings.get(key)
        if found is not None:
            return found
        ids, weights = [], []
        for segreader, offset in self.leaves:
            segment_ids, segment_weights = self.cache.postings.get(segreader, field, term, "weights")
            if len(segment_ids):
                ids.append(segment_ids + offset)
                weights.append(segment_weights)
        found = (
            (np.concatenate(ids), np.concatenate(weights))
            if ids
            else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        )
        self._postings[key] = found
        return found

    def bm25(self, field: str, term: str, boost: float) -> tuple[np.ndarray, np.ndarray]:
        """(documents, BM25F scores) of `term` in `field`, exactly as Whoosh's BM25F scores them."""
        ids, tf = self.postings(field, term)
        if not len(ids):
            return ids, tf
        idf = math.log(self.n / (self.reader.doc_frequency(field, term) + 1)) + 1
        average = (self.reader.field_length(field) / (self.n or 1)) or 1
        lengths = self.lengths(field)[ids]
        scores = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * lengths / average)))
        return ids, (scores * boost).astype(np.float32)

    def phrase_documents(self, field: str, terms: list[str], candidates: np.ndarray | None) -> np.ndarray:
        """The documents (among `candidates`, a mask) where `terms` stand next to each other,
        segment by segment. Each term's positions in a segment are decoded once and kept
        (`PositionCache`): decoding them took 20,000 unpickled lists for a phrase over 5,000
        documents, 100-500 ms, the benchmark's p99. The match itself is array arithmetic."""
        found = []
        for segreader, offset in self.leaves:
            count = segreader.doc_count_all()
            common = np.ones(count, dtype=bool) if candidates is None else candidates[offset : offset + count].copy()
            decoded = {}
            for term in dict.fromkeys(terms):
                decoded[term] = self.cache.postings.get(segreader, field, term, "positions")
                present = np.zeros(count, dtype=bool)
                present[decoded[term][0]] = True
                common &= present
            documents = np.flatnonzero(common)
            if not len(documents):
                continue
            # (document's rank in `documents`) << 32 | (position - place in the phrase): the
            # phrase starts where every term has its key.
            starts = None
            for place, term in enumerate(terms):
                ranks, positions = positions_of(documents, *decoded[term])
                keep = positions >= place
                keys = (ranks[keep] << 32) | (positions[keep] - place)
                starts = keys if starts is None else np.intersect1d(starts, keys, assume_unique=True)
                if not len(starts):
                    break
            if starts is not None and len(starts):
                found.append(documents[np.unique(starts >> 32)] + offset)
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _fields(item: Words, lang: str, title_boost: float) -> list[tuple[str, float]]:
    fields = []
    if item.field in (None, "title"):
        fields.append((f"title_{lang}", title_boost))
    if item.field in (None, "body"):
        fields.append((f"body_{lang}", 1.0))
    return fields


def match_words(
    snapshot: Snapshot, item: Words, scores: np.ndarray | None, candidates: np.ndarray | None = None
) -> np.ndarray:
    """A boolean mask of the documents that contain `item` (phrases: only looked for among
    `candidates`); adds their scores to `scores`."""
    found = np.zeros(snapshot.n, dtype=bool)
    for lang in LANGUAGES:
        terms = analyse(item.text, lang)
        if not terms:
            continue
        for field, boost in _fields(item, lang, snapshot.title_boost):
            if len(terms) == 1:
                ids, term_scores = snapshot.bm25(field, terms[0], boost)
                found[ids] = True
                if scores is not None:
                    scores[ids] += term_scores  # a document appears once in a term's postings
                continue
            phrase_ids = snapshot.phrase_documents(field, terms, candidates)
            if not len(phrase_ids):
                continue
            found[phrase_ids] = True
            if scores is not None:
                in_phrase = np.zeros(snapshot.n, dtype=bool)
                in_phrase[phrase_ids] = True
                for term in dict.fromkeys(terms):
                    ids, term_scores = snapshot.bm25(field, term, boost)
                    keep = in_phrase[ids]
                    scores[ids[keep]] += term_scores[keep]
    return found


def _isin(values: np.ndarray, allowed: Iterable) -> np.ndarray:
    return np.isin(values, np.fromiter(allowed, dtype=values.dtype))


def _epoch(moment) -> float:
    return moment.timestamp()


def filter_mask(snapshot: Snapshot, filters: Filters) -> np.ndarray:
    mask = snapshot.alive().copy()
    categorical = {
        "type": ("kind", filters.kinds),
        "sector": ("sector", filters.sectors),
        "status": ("status", filters.statuses),
        "adm1": ("adm1", filters.adm1),
    }
    for facet, (column, allowed) in categorical.items():
        if allowed is not None:
            mask &= _isin(snapshot.column(column), (code(value) for value in allowed))
        if filters.excluded.get(facet):
            mask &= ~_isin(snapshot.column(column), (code(value) for value in filters.excluded[facet]))
    if filters.crisis_ids is not None:
        mask &= _isin(snapshot.column("crisis"), filters.crisis_ids)
    if filters.excluded.get("crisis"):
        mask &= ~_isin(snapshot.column("crisis"), filters.excluded["crisis"])
    if filters.published_only:
        mask &= snapshot.column("pub") == 1
    if filters.bbox:
        west, south, east, north = filters.bbox
        lon, lat = snapshot.column("plon"), snapshot.column("plat")
        with np.errstate(invalid="ignore"):
            inside_lon = (lon >= west) & (lon <= east) if west <= east else (lon >= west) | (lon <= east)
            mask &= inside_lon & (lat >= south) & (lat <= north)
    with np.errstate(invalid="ignore"):
        if filters.since:
            mask &= snapshot.column("date") >= _epoch(filters.since)
        if filters.until:
            mask &= snapshot.column("date") <= _epoch(filters.until)
        if filters.min_score is not None:
            mask &= snapshot.column("score") >= filters.min_score
    return mask


def _facet_counts(snapshot: Snapshot, mask: np.ndarray) -> dict[str, dict[int, int]]:
    """Counts per facet value of the documents in `mask`: one bincount over each column's
    precomputed dense value numbers (no sort of the hits)."""
    counts = {}
    for facet in FACETS:
        values, numbers = snapshot.dense("kind" if facet == "type" else facet)
        found = np.bincount(numbers[mask], minlength=len(values))
        counts[facet] = {int(values[i]): int(found[i]) for i in np.flatnonzero(found) if values[i]}
    return counts


def evaluate(
    snapshot: Snapshot, parsed: ParsedQuery, filters: Filters, offset: int, limit: int, count_only: bool = False
) -> tuple[int, list[tuple[int, float]], dict, list[Words]]:
    """(total, [(document number, relevance)], facet counts by code, unmatched words)."""
    mask = filter_mask(snapshot, filters)
    # "Did you mean" looks at what the viewer could find at all, so that it tells nothing
    # about words only unpublished reports contain.
    visible = snapshot.alive() & (snapshot.column("pub") == 1) if filters.published_only else snapshot.alive()
    scores = np.zeros(snapshot.n, dtype=np.float32) if parsed.has_text and not count_only else None
    unmatched = []
    # Groups of single words first: phrases then only check the documents still in the running.
    for group in sorted(parsed.required, key=lambda group: any(item.is_phrase for item in group)):
        in_group = np.zeros(snapshot.n, dtype=bool)
        for item in group:
            found = match_words(snapshot, item, scores, mask)
            if not item.is_phrase and not (found & visible).any():
                unmatched.append(item)
            in_group |= found
        mask &= in_group
    for item in parsed.excluded:
        mask &= ~match_words(snapshot, item, None, mask)
    total = int(mask.sum())
    if count_only:
        return total, [], {}, unmatched
    facets = _facet_counts(snapshot, mask)
    candidates = np.flatnonzero(mask)
    wanted = offset + limit
    if not len(candidates) or offset >= len(candidates):
        return total, [], facets, unmatched
    dates = np.nan_to_num(snapshot.column("date")[candidates], nan=-np.inf)
    if scores is not None:
        relevance = scores[candidates]
        if len(candidates) > wanted * 4:  # keep the likely top, then sort exactly
            keep = np.argpartition(-relevance, wanted - 1)[:wanted]
            threshold = relevance[keep].min()
            keep = np.flatnonzero(relevance >= threshold)
            candidates, relevance, dates = candidates[keep], relevance[keep], dates[keep]
        order = np.lexsort((-candidates, -dates, -relevance))
    else:
        relevance = np.zeros(len(candidates), dtype=np.float32)
        order = np.lexsort((-candidates, -dates))
    chosen = order[offset:wanted]
    return total, [(int(candidates[i]), float(relevance[i])) for i in chosen], facets, unmatched


def decode_facets(counts: dict[int, dict[int, int]], labels: dict[str, dict[int, str]]) -> dict[str, dict[str, int]]:
    decoded: dict[str, dict[str, int]] = {}
    for facet, by_code in counts.items():
        if facet == "crisis":
            decoded[facet] = {str(value): number for value, number in by_code.items()}
            continue
        known = labels.get(facet, {})
        decoded[facet] = {known[value]: number for value, number in by_code.items() if value in known}
    return decoded


def hits(snapshot: Snapshot, parsed: ParsedQuery, filters: Filters, offset: int, limit: int, labels) -> Hits:
    """Run the query; `labels(snapshot, counts)` names the facet codes: ({facet: {code: value}}, adm1 names)."""
    total, ranked, counts, unmatched = evaluate(snapshot, parsed, filters, offset, limit)
    found = []
    for docnum, relevance in ranked:
        stored = snapshot.reader.stored_fields(docnum)
        kind, _, object_id = stored["key"].partition(":")
        found.append((kind, int(object_id), relevance, (stored.get("info") or {}).get("lang")))
    names, adm1_names = labels(snapshot, counts)
    return Hits(
        total=total, hits=found, facets=decode_facets(counts, names), unmatched=unmatched, adm1_names=adm1_names
    )

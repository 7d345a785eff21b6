"""Applying the queue to the index, catching up with what the queue missed, and rebuilding
the index from the database. Who runs these, and why that way: wiki.search.writer.

On PostgreSQL the writer also takes a transaction-scoped advisory lock, so that with several
app servers (one writer thread each) batches are applied one after another, each reading the
objects as they are when it runs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import text

from ..database import is_sqlite, read_only, write_transaction
from ..extensions import db
from . import queue
from .backend import PG_WRITER_LOCK
from .configured_backend import backend_for
from .documents import IndexDocument, changed_since, count_objects, epoch, iter_documents, load_documents
from .locks import FileLock, index_root, writer_lock
from .models import KINDS

log = logging.getLogger(__name__)
CATCHUP_SLACK = timedelta(minutes=10)  # transactions that committed late, clocks that differ


def _pg_writer_turn() -> bool:
    """On PostgreSQL, this transaction's turn to write (False: another server is writing)."""
    if is_sqlite(db.engine):
        return True
    return bool(db.session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PG_WRITER_LOCK}).scalar())


def _documents_for(rows: list[queue.Pending], backend) -> tuple[list[IndexDocument], list[str]]:
    """The current documents of the objects `rows` name, and the keys of those now gone. An
    object queued only because its score changed (op "score") is left out when the index
    already holds that score: a source's reliability moves thousands of scores at once, and
    many of them do not change at all."""
    wanted: dict[str, dict[int, None]] = {}
    score_only: set[str] = set()
    for row in rows:
        wanted.setdefault(row.kind, {})[row.object_id] = None
        key = f"{row.kind}:{row.object_id}"
        if row.op == "score":
            score_only.add(key)
    score_only -= {f"{row.kind}:{row.object_id}" for row in rows if row.op != "score"}
    documents, removed = [], []
    for kind, ids in wanted.items():
        for object_id, document in load_documents(kind, list(ids)).items():
            if document is None:
                removed.append(f"{kind}:{object_id}")
            else:
                documents.append(document)
    checked = [document.key for document in documents if document.key in score_only]
    if checked:
        indexed = backend.indexed_scores(checked)
        documents = [
            document
            for document in documents
            if document.key not in score_only or not _same_score(indexed.get(document.key, ABSENT), document.score)
        ]
    return documents, removed


ABSENT = "absent"  # indexed_scores: the document is not in the index


def _same_score(indexed: float | str | None, score: float | None) -> bool:
    if indexed == ABSENT:
        return False
    if indexed is None or (isinstance(indexed, float) and math.isnan(indexed)):
        return score is None
    return score is not None and float(indexed) == float(score)


def drain_batch(batch: int = 500, only: str | None = None) -> int:
    """Apply up to `batch` pending rows (`only`: "changes" or "scores", see queue.pending);
    returns how many were applied. The caller holds the writer lock (for Whoosh)."""
    backend = backend_for()
    if getattr(backend, "transactional", False):
        # PostgreSQL: rows, documents and index change in one transaction.
        with write_transaction():
            if not _pg_writer_turn():
                return 0
            rows = queue.pending(batch, for_update=True, only=only)
            if rows:
                documents, removed = _documents_for(rows, backend)
                backend.apply(documents, removed)
                queue.mark_processed([row.id for row in rows])
        return len(rows)
    rows = queue.pending(batch, only=only)
    if not rows:
        db.session.commit()
        return 0
    documents, removed = _documents_for(rows, backend)  # read in the same snapshot as the rows
    db.session.commit()
    backend.apply(documents, removed)
    with write_transaction():
        queue.mark_processed([row.id for row in rows])
    return len(rows)


def drain(batch: int = 500, max_batches: int | None = None) -> int:
    """Apply pending rows until none are left (the writer lock must be held)."""
    total, batches = 0, 0
    while max_batches is None or batches < max_batches:
        applied = drain_batch(batch)
        total += applied
        batches += 1
        if applied < batch:
            break
    return total


def flush(app: Flask | None = None) -> int:
    """Index everything queued so far, now, in this thread (tests, scripts); waits for the
    writer lock if a background writer holds it."""
    app = app or current_app._get_current_object()
    lock = writer_lock(app)
    lock.acquire(blocking=True)
    try:
        return drain()
    finally:
        lock.release()


def catch_up(since: datetime) -> int:
    """Queue every object changed since `since` whose indexed version differs from the
    database's (hooks that never ran). Returns how many were queued."""
    backend = backend_for()
    queued = 0
    for kind in KINDS:
        changed = changed_since(kind, since)
        db.session.commit()
        if not changed:
            continue
        versions = backend.indexed_versions(f"{kind}:{object_id}" for object_id, _updated in changed)
        stale = [
            object_id
            for object_id, updated in changed
            if not math.isclose(versions.get(f"{kind}:{object_id}", math.nan), epoch(updated), rel_tol=0, abs_tol=1e-3)
        ]
        if stale:
            queue.enqueue(kind, stale)
            queued += len(stale)
    return queued


class _State:
    """Small facts the writer keeps beside the index (last catch-up, last prune)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def write(self, **values) -> None:
        data = {**self.read(), **values}
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.path)


def housekeeping(app: Flask, now: datetime | None = None) -> None:
    """Catch-up scan and queue pruning, when due (the writer lock must be held)."""
    now = now or datetime.now(UTC)
    state = _State(index_root(app) / "writer-state.json")
    facts = state.read()
    last = facts.get("catch_up")
    if last is None or (now - datetime.fromisoformat(last)).total_seconds() >= app.config["SEARCH_CATCHUP_SECONDS"]:
        since = datetime.fromisoformat(last) - CATCHUP_SLACK if last else now - timedelta(days=1)
        queued = catch_up(since)
        if queued:
            log.warning("Search catch-up queued %d objects whose index entry was out of date", queued)
        state.write(catch_up=now.isoformat())
    last_prune = facts.get("prune")
    if last_prune is None or (now - datetime.fromisoformat(last_prune)).total_seconds() >= 600:
        with write_transaction():
            queue.prune(timedelta(hours=app.config["SEARCH_QUEUE_RETENTION_HOURS"]))
        state.write(prune=now.isoformat())


def _all_batches(batch: int) -> Iterator[tuple[list[IndexDocument], list[str]]]:
    for kind in KINDS:
        documents, removed = [], []
        for object_id, document in iter_documents(kind, batch):
            if document is None:
                removed.append(f"{kind}:{object_id}")
            else:
                documents.append(document)
            if len(documents) + len(removed) >= batch:
                yield documents, removed
                documents, removed = [], []
        if documents or removed:
            yield documents, removed


def rebuild(progress: Callable[[int], None] = lambda n: None, batch: int = 1000) -> int:
    """Rebuild the index from the database (`crisiswiki reindex`); returns the number of
    objects read. Searches keep using the old index until the new one is complete; changes
    made meanwhile are replayed into the new one through the queue."""
    lock = FileLock(index_root() / "reindex.lock")
    if not lock.acquire(blocking=False):
        raise RuntimeError("Another `crisiswiki reindex` is running.")
    try:
        watermark = queue.last_id()
        # What waits now is read by the rebuild below: once the new index is in place, these
        # rows are done (the writer would otherwise index them all a second time). Rows that
        # commit later, even with a lower id (PostgreSQL), stay pending.
        settled = queue.pending_ids()
        db.session.commit()
        # Reading every object takes a while: never under the write lock (a command runs with the
        # lock taken up front, wiki/command_policy.py); the backends write in write_transaction().
        with read_only():
            backend_for().rebuild(_all_batches(batch), progress)
            db.session.commit()
        with write_transaction():
            queue.replay_after(watermark)
            queue.mark_processed(settled)
        _State(index_root() / "writer-state.json").write(catch_up=datetime.now(UTC).isoformat())
        return total_objects()
    finally:
        lock.release()


def total_objects() -> int:
    total = sum(count_objects(kind) for kind in KINDS)
    db.session.commit()
    return total


def wait_until_indexed(timeout: float = 30.0) -> bool:
    """For scripts: wait until the queue is empty (the background writers did their work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue.pending_count() == 0:
            db.session.commit()
            return True
        db.session.commit()
        time.sleep(0.1)
    return False


def build_if_missing() -> bool:
    """Build the index if there is none yet (a new installation: `crisiswiki init-db`)."""
    if backend_for().exists():
        return False
    rebuild()
    return True

"""The durable queue between the database and the search index (the `search_queue` table).

Hooks append rows (cheap: one INSERT in a short transaction); the single index writer reads
pending rows, indexes the objects as they are *now* in the database, and marks the rows
processed. A row therefore never carries data, only "look at report 12 again", so replaying a
row twice, or late, is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from ..database import chunked, write_transaction
from ..extensions import db
from ..models.base import utcnow
from .models import KINDS, OPS, SearchQueueEntry


@dataclass(frozen=True)
class Pending:
    id: int
    kind: str
    object_id: int
    op: str


@contextmanager
def _quick_transaction() -> Iterator[Connection]:
    """A short write transaction on a connection of its own whose commit does not wait for the
    disk: SQLite's synchronous=NORMAL (WAL), PostgreSQL's synchronous_commit=off. A crash of
    the process loses nothing; a power cut may lose the last rows, never corrupt anything."""
    with write_transaction(), db.engine.connect() as conn:  # write_transaction: the write-lock policy
        raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:  # before BEGIN: the pragma may not change inside a transaction
            raw.execute("PRAGMA synchronous = NORMAL")
        try:
            with conn.begin():
                if raw is None:
                    conn.execute(text("SET LOCAL synchronous_commit TO off"))
                yield conn
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA synchronous = {current_app.config['SQLITE_SYNCHRONOUS']}")


def enqueue(kind: str, ids: Iterable[int], op: str = "index") -> None:
    """Ask for `ids` of `kind` to be (re)indexed or removed, and commit at once.

    Hooks call this right after the service's own commit, so it is a transaction of its own
    (on SQLite it takes the write lock for a moment). The request does not wait for a second
    disk sync (see _quick_transaction): a row lost to a power cut is found again by the
    writer's catch-up scan, which compares `updated_at` (see wiki.search.indexer)."""
    if kind not in KINDS or op not in OPS:
        raise ValueError(f"unknown search queue entry {op} {kind}")
    now = utcnow()
    rows = [
        {"kind": kind, "object_id": int(object_id), "op": op, "created_at": now} for object_id in dict.fromkeys(ids)
    ]
    if not rows:
        return
    with _quick_transaction() as conn:
        conn.execute(insert(SearchQueueEntry.__table__), rows)


def enqueue_in_session(kind: str, ids: Iterable[int], op: str = "index") -> None:
    """Queue `ids` inside the caller's transaction (committed, or rolled back, with it)."""
    if kind not in KINDS or op not in OPS:
        raise ValueError(f"unknown search queue entry {op} {kind}")
    now = utcnow()
    rows = [
        {"kind": kind, "object_id": int(object_id), "op": op, "created_at": now} for object_id in dict.fromkeys(ids)
    ]
    if rows:
        db.session.execute(insert(SearchQueueEntry.__table__), rows)


def pending(limit: int = 500, for_update: bool = False, only: str | None = None) -> list[Pending]:
    """Up to `limit` waiting rows: new, changed and deleted objects first, then the objects
    queued only because their score moved (op "score"). A grading can queue thousands of a
    source's reports for their scores, and a report that has just arrived must not wait behind
    them to be found. The order between the two does not matter otherwise: each row is applied
    with the object's current document. `only`: "changes" or "scores", one kind alone."""
    rows = [] if only == "scores" else _pending(limit, for_update, SearchQueueEntry.op != "score")
    if len(rows) < limit and only != "changes":
        rows += _pending(limit - len(rows), for_update, SearchQueueEntry.op == "score")
    return rows


def _pending(limit: int, for_update: bool, which) -> list[Pending]:
    columns = (SearchQueueEntry.id, SearchQueueEntry.kind, SearchQueueEntry.object_id, SearchQueueEntry.op)
    waiting = SearchQueueEntry.processed_at.is_(None) & which
    if for_update:  # PostgreSQL: several writers share the queue without waiting for each other
        query = (
            select(*columns).where(waiting).order_by(SearchQueueEntry.id).limit(limit).with_for_update(skip_locked=True)
        )
    else:
        # The ids come from the (processed_at, id) index first: asked in one query, SQLite
        # walks the whole table in id order instead (16 ms per poll once 300,000 rows were
        # done, several polls a second), as it cannot tell that few rows are still waiting.
        first = (
            select(SearchQueueEntry.id)
            .where(waiting)
            .order_by(SearchQueueEntry.processed_at, SearchQueueEntry.id)
            .limit(limit)
        )
        query = select(*columns).where(SearchQueueEntry.id.in_(first.scalar_subquery())).order_by(SearchQueueEntry.id)
    return [Pending(*row) for row in db.session.execute(query)]


def pending_ids() -> list[int]:
    """The ids of every row waiting now (visible to this transaction)."""
    return list(db.session.scalars(select(SearchQueueEntry.id).where(SearchQueueEntry.processed_at.is_(None))))


def pending_count() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(SearchQueueEntry).where(SearchQueueEntry.processed_at.is_(None))
        )
        or 0
    )


def mark_processed(ids: list[int]) -> None:
    """Mark rows done (in the caller's transaction)."""
    now = utcnow()
    for chunk in chunked(ids):
        db.session.execute(update(SearchQueueEntry).where(SearchQueueEntry.id.in_(chunk)).values(processed_at=now))


def last_id() -> int:
    return db.session.scalar(select(func.max(SearchQueueEntry.id))) or 0


def replay_after(watermark: int) -> int:
    """Append a fresh pending copy of every row after `watermark`, processed or not.

    After a rebuild switches to a new index, this hands that index everything that changed
    while it was being built, including what the writer already gave the old index."""
    rows = [
        {"kind": kind, "object_id": object_id, "op": op, "created_at": utcnow()}
        for kind, object_id, op in db.session.execute(
            select(SearchQueueEntry.kind, SearchQueueEntry.object_id, SearchQueueEntry.op)
            .where(SearchQueueEntry.id > watermark)
            .order_by(SearchQueueEntry.id)
        )
    ]
    unique = list({(row["kind"], row["object_id"]): row for row in rows}.values())
    if unique:
        db.session.execute(insert(SearchQueueEntry), unique)
    return len(unique)


def prune(retention: timedelta) -> int:
    """Forget processed rows older than `retention` (in the caller's transaction)."""
    cutoff: datetime = utcnow() - retention
    result = db.session.execute(
        delete(SearchQueueEntry).where(SearchQueueEntry.processed_at.is_not(None), SearchQueueEntry.created_at < cutoff)
    )
    return result.rowcount or 0

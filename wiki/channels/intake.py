"""Taking in a message: stored raw, committed, before the gateway hears back.

The gateway's message id is the key: a retried delivery (the gateway never got our answer) finds
the row stored the first time and gets the same answer, however many app servers take the
retries at once (a unique constraint on (channel, external_id); INSERT ... ON CONFLICT DO
NOTHING). Nothing else happens here: routing, places, languages, photos and replies are the
background job's (wiki.channels.processing), so a crash after the commit loses nothing (the
job finds the message unprocessed on start).

Group commit: a surge of SMS is many tiny transactions, each waiting for its own disk sync (a
few milliseconds on a virtual disk) while holding the database's write lock. So the requests
of one server process that arrive while a commit is under way are written together, in one
transaction and one sync, by the first of them ("the leader"); each still answers only after
the commit that holds its message. Nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from ..database import is_sqlite, write_transaction
from ..extensions import db
from ..models import InboundMessage
from ..models.base import utcnow
from ..reports.sources import contact_hash
from ..workers import wake
from .base import Incoming

JOB = "channels"
MAX_BATCH = 200
_table = InboundMessage.__table__


def _row(channel: str, message: Incoming, crisis_hint: str, now) -> dict:
    return {
        "channel": channel,
        "external_id": message.external_id,
        "sender": message.sender,
        "sender_hash": contact_hash(message.sender),
        "recipient": message.recipient,
        "subject": message.subject[:300],
        "text": message.text,
        "raw": message.raw,
        "crisis_hint": crisis_hint[:100],
        "sent_at": message.sent_at,
        "received_at": now,
        "process_error": "",
        "state": "received",
        "language": "",
        "sector": "",
        "translation": "",
        "translation_language": "",
    }


_STATEMENTS: dict[str, object] = {}
_EXISTING = select(_table.c.id).where(
    _table.c.channel == bindparam("channel"), _table.c.external_id == bindparam("external_id")
)


def _insert_statement():
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per dialect (its compiled form
    is then cached: building it per message cost more than the insert itself)."""
    dialect = "sqlite" if is_sqlite() else "postgresql"
    if dialect not in _STATEMENTS:
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(_table)
        _STATEMENTS[dialect] = insert.on_conflict_do_nothing(index_elements=["channel", "external_id"]).returning(
            _table.c.id
        )
    return _STATEMENTS[dialect]


def _insert_rows(rows: list[dict]) -> list[tuple[int, bool]]:
    """Insert each row unless its (channel, external_id) is stored; [(id, was stored before)].
    Inside the caller's write transaction."""
    insert = _insert_statement()
    stored: list[tuple[int, bool]] = []
    for row in rows:
        inserted = db.session.execute(insert, row).scalar()
        if inserted is not None:
            stored.append((inserted, False))
            continue
        existing = db.session.execute(
            _EXISTING, {"channel": row["channel"], "external_id": row["external_id"]}
        ).scalar_one()
        stored.append((existing, True))
    return stored


@dataclass
class _Pending:
    rows: list[dict]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to write the next batch rather than because its own is written
    result: list[tuple[int, bool]] | None = None
    error: BaseException | None = None


class GroupCommit:
    """One per server process (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._busy = False

    def store(self, rows: list[dict]) -> list[tuple[int, bool]]:
        mine = _Pending(rows)
        with self._lock:
            self._queue.append(mine)
            leading = not self._busy
            self._busy = True
        if not leading:
            mine.done.wait()
            if not mine.lead:
                return self._outcome(mine)
            mine.done.clear()
        self._write_batch()
        return self._outcome(mine)

    @staticmethod
    def _outcome(pending: _Pending) -> list[tuple[int, bool]]:
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _write_batch(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            db.session.rollback()  # the request's reads are over: write in a transaction of its own
            with write_transaction():
                results = [_insert_rows(pending.rows) for pending in batch]
        except BaseException as exc:
            for pending in batch:
                pending.error = exc
        else:
            for pending, result in zip(batch, results, strict=True):
                pending.result = result
        finally:
            with self._lock:
                if self._queue:  # those that came meanwhile: the first of them writes the next batch
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._busy = False
            for pending in batch:
                pending.done.set()


_group = GroupCommit()


def store_messages(channel: str, messages: list[Incoming], crisis_hint: str = "") -> list[tuple[int, bool]]:
    """Store each message once and commit; [(message id, True if it had been stored before)]."""
    if not messages:
        return []
    now = utcnow()
    stored = _group.store([_row(channel, message, crisis_hint, now) for message in messages])
    if any(not retry for _id, retry in stored):
        wake(JOB)
    return stored

"""The plugin's own connection for scoring.

Scoring runs after the core's commit, in a transaction of its own on a connection of its own,
because scores are derived data (`crisiswiki rescore` rebuilds them all) and must never slow
down the intake of reports:

- on SQLite its commits are not synced to disk on their own (synchronous=NORMAL in WAL mode;
  the next durable commit or checkpoint syncs them): a power cut may lose the latest score
  updates, never a report, and never corrupts the database;
- scoring a new report need not wait for the write lock (`wait=False`: busy_timeout 0): when
  another writer holds it, `Busy` is raised, the report stays unscored for now, and a later
  scoring batch catches up (batch.run_batch). In a surge of thousands of reports, intake comes
  first and scores follow.

On PostgreSQL the same single-scorer rule is a transaction-level advisory lock: scoring
transactions touch overlapping rows (a report and its neighbours, a source's reliability), so
letting several run at once only makes them queue on row locks (or deadlock) while holding
worker threads that intake needs. One scorer at a time, `wait=False` giving up at once, and
commits without waiting for the WAL flush (synchronous_commit=off: derived data again).
"""

from __future__ import annotations

import contextvars
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from wiki.database import write_transaction
from wiki.extensions import db

_current: contextvars.ContextVar[Connection | None] = contextvars.ContextVar("validation_connection", default=None)


# pg_advisory_xact_lock key of the scorer: any fixed 64-bit number no other code uses.
SCORER_LOCK = 0x5C0_2E5


class Busy(Exception):
    """Another writer holds the write lock (SQLite) or the scorer's lock (PostgreSQL), and the
    caller chose not to wait."""


def connection() -> Connection:
    """The connection of the scoring transaction in progress, else the session's."""
    return _current.get() or db.session.connection()


@contextmanager
def scoring_transaction(wait: bool = True) -> Iterator[Connection]:
    """One write transaction for scoring (BEGIN IMMEDIATE on SQLite), committed on success."""
    with write_transaction(), db.engine.connect() as conn:  # write_transaction: the write-lock policy
        raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:  # before BEGIN: neither pragma may change inside a transaction
            raw.execute("PRAGMA synchronous = NORMAL")
            if not wait:
                raw.execute("PRAGMA busy_timeout = 0")
                if hasattr(raw, "wait_for_write_lock"):  # the core's write queue (wiki.database)
                    raw.wait_for_write_lock = False
        token = _current.set(conn)
        try:
            try:
                transaction = conn.begin()
            except (OperationalError, sqlite3.OperationalError) as exc:  # the latter from the core's write queue
                if raw is not None and not wait and "locked" in str(exc).lower():
                    raise Busy() from exc
                raise
            with transaction:
                if conn.dialect.name == "postgresql":
                    _take_scorer_lock(conn, wait)
                yield conn
        finally:
            _current.reset(token)
            if raw is not None:
                if hasattr(raw, "wait_for_write_lock"):
                    raw.wait_for_write_lock = True
                raw.execute(f"PRAGMA synchronous = {current_app.config['SQLITE_SYNCHRONOUS']}")
                raw.execute(f"PRAGMA busy_timeout = {int(current_app.config['SQLITE_BUSY_TIMEOUT_MS'])}")


def _take_scorer_lock(conn: Connection, wait: bool) -> None:
    conn.execute(text("SET LOCAL synchronous_commit = off"))
    if wait:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCORER_LOCK})
    elif not conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SCORER_LOCK}).scalar():
        raise Busy()

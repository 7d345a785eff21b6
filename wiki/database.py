"""Database engine set-up: SQLite in WAL mode with safe concurrent writers, PostgreSQL as is.

SQLite allows one writer at a time. With several gunicorn workers, a transaction that reads
first and writes later can fail with SQLITE_BUSY when another worker wrote in between; the
busy timeout does not help there. So every transaction begun while handling a request that may
write (POST, PUT, PATCH, DELETE) or inside `write_transaction()` starts with BEGIN IMMEDIATE,
which takes the write lock up front and waits for it politely. Reads stay concurrent.

The busiest write paths (saving a page, taking in a report) hold that lock for as little time
as they can: their views are marked `@reads_first`, so their reads run in an ordinary
transaction, and the service calls `begin_write()` when it is ready to write. That ends the
read snapshot and takes the write lock; the service then re-reads what it depends on.

Writers queue for SQLite's lock on a file lock first (WriteQueueConnection): SQLite's own busy
handler polls, sleeping up to 100 ms between tries, so under load (a surge of reports from
several workers and threads) most of the time went to sleeping while the lock was free. A
blocked flock() wakes the next writer the moment the lock is released, in any process. SQLite's
busy timeout stays as the backstop for writers that do not go through it.

Outside requests the same rule holds: every `crisiswiki` command runs with the write lock taken
up front by default (wiki/command_policy.py), and the background jobs write inside
`write_transaction()`. A write in a transaction that began without the lock (plain BEGIN) is
what fails with "database is locked" when another process wrote in between: WRITE_CHECK makes
such a write log a warning ("log", the default outside tests) or fail at once ("raise": the
load tests and benchmarks), whether or not another writer happened to be there.

On PostgreSQL nothing is upgraded, but concurrent writers can still deadlock (40P01) or fail to
serialise (40001). Those are retried in one place (`retry_conflicts`, used by the request
dispatch, the commands and the background worker): the whole unit again, after a short,
bounded and logged wait, and only while it has committed no write yet.
"""

from __future__ import annotations

import contextvars
import fcntl
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import wraps
from typing import TypeVar

from flask import Flask, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .extensions import db

T = TypeVar("T")
log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IN_LIST_SIZE = 500  # ids per `IN (...)`: SQLite binds at most 32,766 parameters a statement, older builds 999


def chunked(items: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`, for IN lists and bulk statements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Ids and revision numbers are INTEGER columns: 32 bits on PostgreSQL.
LARGEST_ID = 2**31 - 1


def fits_id(number: int) -> bool:
    """Whether `number` can be a row's id or number: one that cannot matches no row (and must not
    reach the database driver, which raises on it instead)."""
    return -LARGEST_ID - 1 <= number <= LARGEST_ID


class IdConverter(IntegerConverter):
    """`<int:...>` in routes: a number that can be a row's id or number. A larger one is a 404
    rather than an overflow in the database driver (a 500 on either database). (Not the
    converter's own `max`: Werkzeug then answers some methods with 405 instead of 404.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not fits_id(number):
            raise NotFound()
        return number


_force_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("force_immediate", default=False)
_reading_first: contextvars.ContextVar[bool] = contextvars.ContextVar("reading_first", default=False)


class WriteQueueConnection(sqlite3.Connection):
    """A SQLite connection that takes an exclusive flock() on `<database>-writelock` before
    BEGIN IMMEDIATE (see write_lock()) and gives it back right after COMMIT or ROLLBACK.
    Each connection opens the lock file itself, so threads of one process queue too."""

    wait_for_write_lock = True  # False: fail at once ("database is locked") when it is taken

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = os.fsdecode(database)
        self._lock_path = None if name in ("", ":memory:") or name.startswith("file:") else name + "-writelock"
        self._lock_fd: int | None = None

    def write_lock(self) -> None:
        if self._lock_path is None or self._lock_fd is not None:
            return
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if self.wait_for_write_lock else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise sqlite3.OperationalError("database is locked (another writer holds the write queue)") from None
        self._lock_fd = fd

    def release_write_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()


def sqlite_engine_options(options: dict) -> dict:
    """Engine options for a SQLite database: connections are WriteQueueConnections."""
    connect_args = {**options.get("connect_args", {})}
    connect_args.setdefault("factory", WriteQueueConnection)
    return {**options, "connect_args": connect_args}


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "sqlite"


def configure_engine(app: Flask, engine: Engine) -> None:
    """Engine-specific set-up: SQLite's pragmas and write-lock policy; on every engine, noting
    which transactions wrote (for `retry_conflicts`)."""
    track_writes(engine)
    if is_sqlite(engine):
        configure_sqlite(app, engine)


_WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _writes(statement: str) -> bool:
    head = statement.lstrip()[:12].upper()
    return head.startswith(_WRITE_WORDS) and not head.startswith(("CREATE TEMP", "DROP TEMP"))


class WriteDisciplineError(RuntimeError):
    """A write in a SQLite transaction that did not take the write lock up front (WRITE_CHECK=raise)."""


def track_writes(engine: Engine) -> None:
    """Remember on each connection whether its transaction wrote, and in the current unit of
    work (a request, a command, a job's turn: see `retry_conflicts`) whether a transaction that
    wrote has committed."""

    @event.listens_for(engine, "begin")
    def _fresh(conn):
        conn.info.pop("wrote", None)

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, _cursor, statement, _parameters, _context, _executemany):
        if _writes(statement):
            conn.info["wrote"] = True

    @event.listens_for(engine, "commit")
    def _on_commit(conn):
        if conn.invalidated:  # the database went away during the commit: it fails, nothing to note
            return
        if conn.info.pop("wrote", False):
            units = _unit.get()
            if units is not None:
                units["committed_writes"] = True

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn):
        if conn.invalidated:  # the database went away (a restart): the connection is discarded
            return
        conn.info.pop("wrote", None)


def configure_sqlite(app: Flask, engine: Engine) -> None:
    """Install the pragmas and the BEGIN IMMEDIATE policy on a SQLite engine."""
    synchronous = app.config["SQLITE_SYNCHRONOUS"]
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    autocheckpoint = int(app.config["SQLITE_AUTOCHECKPOINT_PAGES"])
    check = str(app.config["WRITE_CHECK"]).strip().lower()
    if check == "auto":
        check = "off" if app.testing else "log"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        # The background job checkpoints (wiki/checkpoints.py); a commit only past this many pages.
        cursor.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not _wants_write_lock():
            connection.info["deferred"] = True
            connection.exec_driver_sql("BEGIN")
            return
        connection.info["deferred"] = False
        raw = connection.connection.dbapi_connection
        queued = isinstance(raw, WriteQueueConnection)
        if queued:
            raw.write_lock()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                raw.release_write_lock()
            raise

    if check in ("log", "raise"):

        @event.listens_for(engine, "before_cursor_execute")
        def _check_discipline(conn, _cursor, statement, _parameters, _context, _executemany):
            if conn.info.get("deferred") and conn.in_transaction() and _writes(statement):
                message = (
                    "a write in a transaction that did not take the write lock up front (plain BEGIN): it fails "
                    "with 'database is locked' when another writer commits first. Write inside "
                    f"write_transaction() or after begin_write(). Statement: {statement[:120]!r}"
                )
                if check == "raise":
                    raise WriteDisciplineError(message)
                log.warning(message, stack_info=True)

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _transaction_over(conn):
            conn.info.pop("deferred", None)


def _wants_write_lock() -> bool:
    if _force_immediate.get():
        return True
    if _reading_first.get():
        return False
    return has_request_context() and request.method in UNSAFE_METHODS


def reads_first(view: Callable) -> Callable:
    """Mark a view whose service reads before it writes and calls `begin_write()` in between."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _reading_first.set(True)
        try:
            return view(*args, **kwargs)
        finally:
            _reading_first.reset(token)

    return wrapper


def begin_write() -> None:
    """From here on, write: on SQLite end the read-only transaction (nothing was written in it)
    so that the next statement begins one with the write lock. No-op elsewhere (PostgreSQL's
    services lock the rows they change)."""
    if not _reading_first.get():
        return
    if is_sqlite() and db.session().in_transaction():
        db.session.commit()
    _reading_first.set(False)


@contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside the block only read: a plain BEGIN on SQLite even while a POST
    is handled (e.g. a look-up on a connection of its own after the request's commit)."""
    immediate = _force_immediate.set(False)
    reading = _reading_first.set(True)
    try:
        yield
    finally:
        _reading_first.reset(reading)
        _force_immediate.reset(immediate)


@contextmanager
def write_lock_up_front() -> Iterator[None]:
    """Every transaction begun inside the block takes SQLite's write lock first (BEGIN
    IMMEDIATE, queued on the write-lock file), whatever connection it is on: for commands that
    write through a connection of their own (Alembic's migrations). No-op on PostgreSQL."""
    token = _force_immediate.set(True)
    try:
        yield
    finally:
        _force_immediate.reset(token)


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run a block as one write transaction (BEGIN IMMEDIATE on SQLite) outside a request,
    e.g. in CLI commands and background jobs; commits on success, rolls back on error."""
    token = _force_immediate.set(True)
    try:
        if db.session().in_transaction():  # the scoped_session proxy does not offer in_transaction()
            db.session.commit()
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _force_immediate.reset(token)


def close_sessions_quietly_when_the_database_is_gone(app: Flask) -> None:
    """End each app context's session before Flask-SQLAlchemy removes it (teardowns run last
    registered first: call after db.init_app). Closing rolls back a read's open transaction; when
    PostgreSQL has just cut the connection (a restart's fast shutdown, a failover) that rollback
    fails, and the error would escape the app after the answer was made, a bare 500 from gunicorn
    for a request that succeeded. The connection is discarded (invalidated) all the same; any
    other error is still raised."""

    def close(_exc: BaseException | None) -> None:
        try:
            db.session.close()
        except DBAPIError as error:
            if not database_unreachable(error):
                raise
            log.warning("the database went away before this request's session closed: %s", error.orig)

    app.teardown_appcontext(close)


def retry_views(app: Flask) -> None:
    """Every view of `app` through `retry_conflicts` (call once every route is registered). A
    view run again reads its request again: the JSON and form are kept by the request, uploaded
    files are rewound."""

    def rewind_uploads() -> None:
        for storage in request.files.values():
            with suppress(AttributeError, OSError, ValueError):
                storage.stream.seek(0)

    def retrying(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            return retry_conflicts(lambda: view(*args, **kwargs), f"{request.method} {request.path}", rewind_uploads)

        return wrapper

    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = retrying(view)


# PostgreSQL's answers that mean "run the transaction again": serialization_failure and
# deadlock_detected. (SQLite's "database is locked" is not among them: under the write
# discipline it does not happen, and where it does it is a bug to see, not to hide.)
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
RETRY_ATTEMPTS = 5  # the first try and four more
RETRY_FIRST_WAIT_S = 0.02  # doubles each time, with jitter: at most ~0.6 s of waiting in all

_unit: contextvars.ContextVar[dict | None] = contextvars.ContextVar("write_unit", default=None)


def is_retryable(error: BaseException) -> bool:
    """A PostgreSQL serialization failure or deadlock (the transaction was rolled back whole)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "sqlstate", None) in RETRY_SQLSTATES or getattr(error, "pgcode", None) in RETRY_SQLSTATES:
            return True
        error = getattr(error, "orig", None) or error.__cause__
    return False


def database_unreachable(error: BaseException) -> bool:
    """The database server went away or refused the connection (a PostgreSQL restart, a
    failover): not a defect of the request, and worth trying again in a moment. Looks through the
    chain of causes (a session left unusable by a lost connection raises PendingRollbackError on
    its next use). SQLite's errors are never this: a locked or broken file is a defect to see."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        # SQLAlchemy's word for a connection it invalidated (lost) in a transaction, also when the
        # loss itself was caught and logged on the way (a plugin's isolated hook): no cause to see.
        if isinstance(error, PendingRollbackError) and "Can't reconnect until invalid transaction" in str(error):
            return True
        original = getattr(error, "orig", None)
        if original is not None and type(original).__module__.startswith("psycopg"):
            sqlstate = getattr(original, "sqlstate", None) or ""
            # 08: connection exception; 57P01-57P03: the server is shutting down or starting
            # up; none: psycopg could not connect at all.
            if sqlstate.startswith(("08", "57P")) or (not sqlstate and type(original).__name__ == "OperationalError"):
                return True
        error = error.__cause__ or error.__context__
    return False


def retry_wait(attempt: int) -> float:
    """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
    return RETRY_FIRST_WAIT_S * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


def retry_conflicts(work: Callable[[], T], what: str, before_retry: Callable[[], None] | None = None) -> T:
    """Run `work()` (a request's view, a command, a job's turn); when PostgreSQL rolls it back as
    a serialization failure or a deadlock, and nothing it wrote has been committed yet, run it
    again after a short wait (RETRY_ATTEMPTS in all, each retry logged). `before_retry` puts back
    what the failed try consumed (the session, if any, is rolled back here). A unit that already
    committed a write is not run again: the error goes up as it is."""
    state = {"committed_writes": False}
    token = _unit.set(state)
    try:
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return work()
            except Exception as error:
                if attempt == RETRY_ATTEMPTS or state["committed_writes"] or not is_retryable(error):
                    raise
                wait = retry_wait(attempt)
                log.warning(
                    "%s: %s; running it again in %.0f ms (try %d of %d)",
                    what,
                    "deadlock" if "deadlock" in str(error).lower() else "serialization failure",
                    wait * 1000,
                    attempt + 1,
                    RETRY_ATTEMPTS,
                )
                if has_app_context():
                    db.session.rollback()
                if before_retry is not None:
                    before_retry()
                time.sleep(wait)
        raise AssertionError("unreachable")
    finally:
        _unit.reset(token)

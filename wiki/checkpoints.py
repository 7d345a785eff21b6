"""SQLite's WAL checkpoints, off the requests' path: the "sqlite-checkpoint" background job
copies the write-ahead log into the database file every SQLITE_CHECKPOINT_SECONDS.

By default SQLite checkpoints inside the commit that makes the log pass 1,000 pages: that
commit (with SQLITE_SYNCHRONOUS=FULL, two more disk syncs and the copy) keeps its request, and
in intake's group commit (wiki.channels.intake) every request of the group, waiting. During an
SMS surge that was every second or so, and it was the slowest hundredth of the answers. The
job's PASSIVE checkpoint runs on a connection of its own and waits for no one; writers go on
appending to the log meanwhile. Commits still sync the log as before (durability is
unchanged); a connection checkpoints by itself only past SQLITE_AUTOCHECKPOINT_PAGES, should
the job not run. Registered by the core as the plugin "wiki.checkpoints".
"""

from __future__ import annotations

from flask import Flask

from .database import is_sqlite
from .extensions import db
from .hooks import hookimpl
from .workers import Job

JOB = "sqlite-checkpoint"


def checkpoint(deadline: float) -> float | None:
    """One PASSIVE checkpoint (nothing on PostgreSQL)."""
    if not is_sqlite():
        return None
    with db.engine.connect() as connection:
        # On the driver's connection, which is in autocommit: a checkpoint inside a transaction
        # could not copy past that transaction's snapshot.
        connection.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return None


@hookimpl
def background_jobs(app: Flask):
    seconds = float(app.config["SQLITE_CHECKPOINT_SECONDS"])
    return [Job(JOB, checkpoint, poll_seconds=seconds, slice_seconds=1.0)]

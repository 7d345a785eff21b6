"""Keeping the index in step with the database: one writer at a time, never in a request.

Why a queue and a lock rather than writing from the request: Whoosh allows one writer at a
time, and gunicorn runs several worker processes. A request that had to wait for the index
lock could stall for as long as another worker's commit takes, and a request that gave up
would lose the update. So a request only appends a row to `search_queue` (in the same
database, so it outlives any process), and each worker runs a small background thread (this
module) that, a few times a second, tries to take `writer.lock` (an fcntl lock: never waits, and the kernel frees
it if the process dies). The thread that gets it applies the pending rows and lets go. No
extra process to deploy or supervise; a worker restarted by gunicorn simply leaves the job
to the others. A hook in the same process wakes its thread at once, so a new report is
searchable within a fraction of a second; in other workers within SEARCH_POLL_SECONDS. In a
surge, commits are at least SEARCH_COMMIT_INTERVAL_SECONDS apart: each Whoosh commit opens a
reader of the whole index and merges segments, which cost more than indexing the few reports
that arrived since the last one (at 60 reports/s, a third of the CPU went to the search writer).

What the queue cannot carry (a worker killed between the database commit and the queue
insert; a queue row lost to a power cut, as it is written without a disk sync of its own) the
catch-up scan finds (wiki.search.indexer.catch_up): every few minutes the writer compares the
`updated_at` of recently changed objects with the time stored in the index, and queues any that
differ. And `crisiswiki reindex` rebuilds everything from the database.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading

from flask import Flask, current_app

from ..extensions import db
from .backend import SearchUnavailable
from .indexer import drain, housekeeping
from .locks import writer_lock

log = logging.getLogger(__name__)


class BackgroundIndexer:
    """The per-process writer thread (see the module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.poll = float(app.config["SEARCH_POLL_SECONDS"])
        self.commit_interval = float(app.config["SEARCH_COMMIT_INTERVAL_SECONDS"])
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pid = os.getpid()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="search-indexer", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        lock = writer_lock(self.app)
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if not lock.acquire(blocking=False):
                continue
            try:
                with self.app.app_context():
                    try:
                        # After a commit, wait before the next one (the lock is kept meanwhile,
                        # so no other worker commits sooner): more is coming, let the batch grow.
                        while drain(batch=2000, max_batches=1) and not self._stop.is_set():
                            self._stop.wait(self.commit_interval)
                        housekeeping(self.app)
                    except SearchUnavailable as error:
                        from .service import log_unavailable

                        log_unavailable(error)
                        self._stop.wait(5)
                    except Exception:
                        log.exception("Search indexing failed; the queued changes stay queued and are retried")
                        self._stop.wait(5)
                    finally:
                        db.session.rollback()
                        db.session.remove()
            finally:
                lock.release()


def background_enabled(app: Flask) -> bool:
    setting = str(app.config["SEARCH_BACKGROUND_INDEXING"]).strip().lower()
    if setting == "auto":
        return not app.testing
    return setting in ("1", "true", "yes", "on")


def start_background(app: Flask) -> BackgroundIndexer | None:
    """Start this process's writer thread once (after gunicorn forked the worker)."""
    indexer = app.extensions.get("crisiswiki_search_indexer")
    if indexer is not None and indexer.pid == os.getpid():
        return indexer
    indexer = BackgroundIndexer(app)
    app.extensions["crisiswiki_search_indexer"] = indexer
    indexer.start()
    return indexer


def wake(app: Flask | None = None) -> None:
    indexer = (app or current_app).extensions.get("crisiswiki_search_indexer")
    if indexer is not None and indexer.pid == os.getpid():
        indexer.wake()

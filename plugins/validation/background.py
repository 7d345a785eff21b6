"""Where the scoring batches run (batch.run_batch): behind the responses, never in front of them.

In a server, one thread per deployment at a time (a file lock, as the search writer) runs
them: woken when a report arrives or a click leaves stale scores, it scores what waits, oldest
first, one batch (VALIDATION_BACKGROUND_SLICE_MS at most) per write transaction, and pauses
between batches so that it holds the write lock at most VALIDATION_BACKGROUND_SHARE of the time
while reports keep arriving. When they stop, it catches up at full speed, and an idle server
finishes on its own.

Without that thread (tests; VALIDATION_BACKGROUND_SCORING off) the batches run once a response
has been sent, for at most VALIDATION_CATCH_UP_MS, and only if the write lock is free then;
outside a request (the CLI), at once.
"""
from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from contextlib import suppress
from pathlib import Path

from flask import Flask, after_this_request, current_app, has_request_context
from sqlalchemy import select

from wiki.extensions import db
from wiki.locks import FileLock
from wiki.models import Report
from wiki.models.base import utcnow

from .batch import next_batch, run_batch
from .database import Busy

log = logging.getLogger(__name__)
EXTENSION = "validation_scorer"


def enabled(app: Flask) -> bool:
    setting = str(app.config["VALIDATION_BACKGROUND_SCORING"]).strip().lower()
    if setting == "auto":
        return not app.testing
    return setting in ("1", "true", "yes", "on")


def schedule() -> None:
    """Have the batches run soon: wake this process's scorer (a server); in a request without
    one, once the response has been sent; outside a request, now, until nothing waits."""
    if not has_request_context():
        while next_batch(math.inf).scored:
            pass
        return
    app = current_app._get_current_object()
    if enabled(app):
        start(app).wake()
    else:
        _after_response(app)


class BackgroundScorer:
    """This process's scoring thread (see the module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self.poll = float(app.config["VALIDATION_BACKGROUND_POLL_MS"]) / 1000.0
        self.share = min(max(float(app.config["VALIDATION_BACKGROUND_SHARE"]), 0.05), 1.0)
        self.slice = float(app.config["VALIDATION_BACKGROUND_SLICE_MS"]) / 1000.0
        self.lock = FileLock(Path(app.instance_path) / "validation-scorer.lock")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="validation-scorer", daemon=True)

    def start(self) -> None:
        self._thread.start()
        atexit.register(self.stop)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if not self.lock.acquire():
                continue  # another process's scorer is at it
            try:
                with self.app.app_context():
                    while not self._stop.is_set():
                        started = time.monotonic()
                        try:
                            more = run_batch(started + self.slice)
                            arriving = more and reports_arriving()
                        except Exception:
                            log.exception("validation: background scoring failed; the reports wait and are retried")
                            self._stop.wait(5)
                            break
                        finally:
                            db.session.remove()
                        if not more:
                            break
                        if arriving:  # leave the write lock to the reports most of the time
                            spent = time.monotonic() - started
                            self._stop.wait(spent * (1.0 - self.share) / self.share)
            finally:
                self.lock.release()


_starting = threading.Lock()


def start(app: Flask) -> BackgroundScorer:
    """This process's scorer, started on first use (after gunicorn forked the worker)."""
    scorer = app.extensions.get(EXTENSION)
    if scorer is not None and scorer.pid == os.getpid():
        return scorer
    with _starting:  # the first requests of a worker arrive on several threads at once
        scorer = app.extensions.get(EXTENSION)
        if scorer is None or scorer.pid != os.getpid():
            scorer = BackgroundScorer(app)
            app.extensions[EXTENSION] = scorer
            scorer.start()
    return scorer


def reports_arriving(within_s: float = 1.0) -> bool:
    """Whether a report arrived in the last `within_s` seconds (by any server process)."""
    newest = db.session.execute(select(Report.received_at).order_by(Report.id.desc()).limit(1)).scalar()
    db.session.commit()
    return newest is not None and (utcnow() - newest).total_seconds() < within_s


def _after_response(app: Flask) -> None:
    """Run the batches once this request's response has been sent (once per request)."""
    from flask import g

    if g.get("validation_after_response"):
        return
    g.validation_after_response = True

    def later() -> None:
        with app.app_context():
            try:
                _catch_up(app)
            except Exception:
                log.exception("validation: scoring after the response failed")
            finally:
                db.session.remove()

    @after_this_request
    def schedule_on_close(response):
        response.call_on_close(later)
        return response


_last_catch_up = {"at": -1e9}
_catch_up_lock = threading.Lock()


def _catch_up(app: Flask) -> None:
    """Batches until nothing waits or VALIDATION_CATCH_UP_MS have passed (at least one), not
    more often than VALIDATION_MAINTAIN_EVERY_MS per process, and only if the write lock is
    free (else a later pass does it)."""
    budget = float(app.config["VALIDATION_CATCH_UP_MS"]) / 1000.0
    if not budget:
        return
    with _catch_up_lock:
        now = time.monotonic()
        if now - _last_catch_up["at"] < float(app.config["VALIDATION_MAINTAIN_EVERY_MS"]) / 1000.0:
            return
        _last_catch_up["at"] = now
    deadline = time.monotonic() + budget
    with suppress(Busy):
        while run_batch(deadline, wait=False) and time.monotonic() < deadline:
            pass

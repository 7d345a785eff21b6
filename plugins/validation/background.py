"""Scoring new reports in the background: intake first, scores right behind.

Scoring a report reads its neighbours and rewrites their evidence inside one write transaction
(updates.py): about 8 ms during which SQLite's single write lock is held. Scored after every
response, a surge of 100 reports a second kept the lock busy most of the time, and the reports
themselves queued behind their own scores (intake halved). So in a server, a new report is
only announced to this thread; one such thread per deployment at a time (a file lock, as the
search writer) scores the unscored reports oldest first, in short transactions, and pauses
between them so that scoring holds the write lock at most VALIDATION_BACKGROUND_SHARE of the
time while reports keep arriving. When they stop, it catches up at full speed, and an idle
server finishes on its own (it used to wait for later requests to do it).

Verifiers' actions (grades, status changes) are still scored at once, in their request: the
person who acted expects to see the new score.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask

from wiki.extensions import db
from wiki.locks import FileLock

log = logging.getLogger(__name__)
EXTENSION = "validation_scorer"


def enabled(app: Flask) -> bool:
    setting = str(app.config["VALIDATION_BACKGROUND_SCORING"]).strip().lower()
    if setting == "auto":
        return not app.testing
    return setting in ("1", "true", "yes", "on")


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
        from .updates import reports_arriving, scoring_needed, scoring_pass

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
                            done = scoring_pass(time.monotonic() + self.slice) if scoring_needed() else 0
                            arriving = done and reports_arriving()
                        except Exception:
                            log.exception(
                                "validation: background scoring failed; the reports stay unscored and are retried"
                            )
                            self._stop.wait(5)
                            break
                        finally:
                            db.session.remove()
                        if not done:
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

"""The background worker: work that must not keep a request waiting (writing the search index,
scoring reports, delivering mail and alerts) runs here, as jobs that features and plugins hand
to it through the `background_jobs` hook.

A job is a function `run(deadline)` that does one slice of its work before `deadline`
(time.monotonic()) and answers None when nothing more is waiting, or how many seconds to wait
before its next slice (0: at once). Each job has a deployment-wide lock, so that one process at a
time does it; the kernel frees the lock when that process dies, however it dies, and another
takes over. A job keeps its lock between slices while it has more to do (the search writer
uses that: it waits between index commits so that a surge is written in larger batches,
without another process committing meanwhile).

Where it runs: in every server process (a thread started with the process's first request,
after gunicorn forked it), unless WORKER_IN_SERVERS is off because a `crisiswiki worker`
process does it (a deployment with a worker of its own, see deploy/). Either way one thread
runs every job in turn, so a slow job delays the others by at most one slice. Hooks wake a job
when they have given it work (`wake("search")`); otherwise each job looks for work every
`poll_seconds`.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext

from .command_policy import own_transactions
from .database import database_unreachable, is_retryable, retry_conflicts, retry_wait
from .extensions import db
from .locks import FileLock

log = logging.getLogger(__name__)
EXTENSION = "crisiswiki_worker"
FAILURE_PAUSE_SECONDS = 5.0
UNREACHABLE_PAUSE_SECONDS = 2.0  # the database away (a restart): look again soon, without a traceback


@dataclass
class Job:
    """A kind of background work (see the module docstring)."""

    name: str
    run: Callable[[float], float | None]
    poll_seconds: float = 1.0  # how often to look for work when nothing wakes the job
    slice_seconds: float = 0.05  # the deadline given to each call of `run`
    lock: Callable[[Flask], FileLock] | None = None  # default: deployment_lock(app, name)


class Retry(Exception):
    """Raised by a job that cannot work now (say, its index is missing): the worker logs the
    message without a traceback and gives the job its next turn after `seconds`."""

    def __init__(self, message: str, seconds: float = 5.0) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass
class _State:
    job: Job
    lock: FileLock
    holding: bool = False
    due: float = 0.0  # time.monotonic() of its next turn
    runs: int = 0
    failures: int = 0


def deployment_lock(app: Flask, name: str) -> FileLock:
    """A lock that one process of this deployment holds at a time (a file in the instance
    folder; several servers share it when they share the instance folder)."""
    return FileLock(Path(app.instance_path) / "locks" / f"{name}.lock")


@dataclass
class Worker:
    """Runs the jobs in one thread (`start`) or in the foreground (`run_forever`)."""

    app: Flask
    jobs: list[Job]
    states: dict[str, _State] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pid = os.getpid()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.running = False  # in run_forever: in a thread of its own, or in the foreground (`crisiswiki worker`)
        for job in self.jobs:
            lock = job.lock(self.app) if job.lock else deployment_lock(self.app, job.name)
            self.states[job.name] = _State(job, lock)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="crisiswiki-worker", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wake(self, name: str | None = None) -> None:
        """Give `name` (every job when None) its turn now."""
        for state in self.states.values():
            if name is None or state.job.name == name:
                state.due = 0.0
        self._wake.set()

    def run_forever(self) -> None:
        self.running = True
        try:
            while not self._stop.is_set():
                next_due = self.run_due()
                self._wake.wait(max(0.0, next_due - time.monotonic()))
                self._wake.clear()
        finally:
            self.running = False
            for state in self.states.values():
                self._let_go(state)

    def run_due(self) -> float:
        """Give every job whose turn it is one slice; returns when the next one is due."""
        for state in self.states.values():
            if self._stop.is_set():
                break
            if state.due <= time.monotonic():
                self._turn(state)
        return min(state.due for state in self.states.values()) if self.states else time.monotonic() + 60

    def _turn(self, state: _State) -> None:
        job = state.job
        now = time.monotonic()
        if not state.holding:
            if not state.lock.acquire(blocking=False):
                state.due = now + job.poll_seconds  # another process is at it
                return
            state.holding = True
        pause: float | None = None
        try:
            with self.app.app_context():
                try:
                    pause = retry_conflicts(lambda: job.run(now + job.slice_seconds), f"background job {job.name}")
                    state.runs += 1
                finally:
                    db.session.rollback()
                    db.session.remove()
        except Retry as retry:
            log.warning("background job %s: %s", job.name, retry)
            self._let_go(state)
            state.due = time.monotonic() + retry.seconds
            return
        except Exception as error:
            if is_retryable(error):  # after a part of its work committed: the rest, in a moment
                log.warning("background job %s: %s; its work stays queued and is retried", job.name, error)
                self._let_go(state)
                state.due = time.monotonic() + retry_wait(1)
                return
            if database_unreachable(error):  # a restart of PostgreSQL: not a failure of the job
                log.warning("background job %s: the database cannot be reached; its work waits for it", job.name)
                self._let_go(state)
                state.due = time.monotonic() + UNREACHABLE_PAUSE_SECONDS
                return
            state.failures += 1
            log.exception("background job %s failed; its work stays queued and is retried", job.name)
            self._let_go(state)
            state.due = time.monotonic() + FAILURE_PAUSE_SECONDS
            return
        if pause is None:
            self._let_go(state)
            if state.due <= now:  # not woken meanwhile
                state.due = time.monotonic() + job.poll_seconds
        else:
            state.due = time.monotonic() + max(0.0, pause)

    @staticmethod
    def _let_go(state: _State) -> None:
        if state.holding:
            state.lock.release()
            state.holding = False

    def run_until_idle(self, timeout: float = 60.0) -> None:
        """Run every job until none has work left (tests, `crisiswiki worker --once`)."""
        deadline = time.monotonic() + timeout
        for state in self.states.values():
            state.due = 0.0
        while time.monotonic() < deadline:
            busy = False
            for state in self.states.values():
                if state.due <= time.monotonic() or not state.holding:
                    self._turn(state)
                busy = busy or state.holding
            if not busy:
                return
            # Every job with work left asked for a pause (pacing next to intake): wait it out
            # instead of spinning through every job's queries thousands of times.
            resume = min(state.due for state in self.states.values() if state.holding)
            time.sleep(max(0.0, min(resume, deadline) - time.monotonic()))
        raise TimeoutError(f"background jobs still busy after {timeout} s")


def collect_jobs(app: Flask) -> list[Job]:
    """Every job the core and the plugins hand to the worker (the background_jobs hook)."""
    from .plugins import call

    with app.app_context():
        return [job for jobs in call("background_jobs", app=app) for job in jobs]


_starting = threading.Lock()


def worker_for(app: Flask) -> Worker:
    """This process's worker (made on first use; a forked process makes its own)."""
    worker = app.extensions.get(EXTENSION)
    if worker is not None and worker.pid == os.getpid():
        return worker
    with _starting:
        worker = app.extensions.get(EXTENSION)
        if worker is None or worker.pid != os.getpid():
            worker = Worker(app, collect_jobs(app))
            app.extensions[EXTENSION] = worker
    return worker


def start_in_server(app: Flask) -> Worker:
    """Start this server process's worker thread once (after gunicorn forked it)."""
    worker = worker_for(app)
    if worker._thread is None:
        with _starting:
            if worker._thread is None:
                worker.start()
    return worker


def runs_in_servers(app: Flask) -> bool:
    setting = str(app.config["WORKER_IN_SERVERS"]).strip().lower()
    if setting == "auto":
        return not app.testing
    return setting in ("1", "true", "yes", "on")


def wake(name: str | None = None, app: Flask | None = None) -> None:
    """Tell this process's worker that `name` has work (a no-op where no worker runs here)."""
    if app is None:
        if not has_app_context():
            return
        app = current_app._get_current_object()
    worker = app.extensions.get(EXTENSION)
    if worker is not None and worker.pid == os.getpid() and worker.running:
        worker.wake(name)


@own_transactions("the background jobs write in write_transaction() and read in plain transactions, as in a server")
@click.command("worker")
@click.option("--once", is_flag=True, help="Do all the waiting work, then stop (instead of running until stopped).")
@with_appcontext
def worker_command(once: bool) -> None:
    """Run the background jobs in this process (with WORKER_IN_SERVERS=false on the servers)."""
    worker = worker_for(current_app._get_current_object())
    click.echo(f"Background jobs: {', '.join(job.name for job in worker.jobs) or 'none'}")
    if once:
        worker.run_until_idle(timeout=24 * 3600)
        return
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.run_forever()


def init_workers(app: Flask) -> None:
    """Start the worker with each server process's first request, and add `crisiswiki worker`."""
    app.cli.add_command(worker_command)
    if runs_in_servers(app):

        @app.before_request
        def _start_worker() -> None:
            start_in_server(app)

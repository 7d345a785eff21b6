"""The background worker (wiki/workers.py): jobs handed to it through the background_jobs hook
run in one process of the deployment at a time, when woken or every poll, survive each other's
failures, keep their lock between slices while they have work, and `crisiswiki worker` runs them."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from wiki import create_app
from wiki.extensions import db
from wiki.hooks import hookimpl
from wiki.workers import Job, Retry, Worker, start_in_server, wake, worker_for


class Jobs:
    """A plugin handing the worker a few jobs whose calls the tests watch."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.pending = 0  # work items the "counting" job has still to do
        self.inside = 0
        self.most_inside = 0
        self.guard = threading.Lock()
        self.failures_left = 1

    @hookimpl
    def background_jobs(self, app):
        return [
            Job("counting", self.counting, poll_seconds=30.0),
            Job("flaky", self.flaky, poll_seconds=0.05),
            Job("unavailable", self.unavailable, poll_seconds=0.05),
        ]

    def counting(self, deadline: float) -> float | None:
        with self.guard:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            time.sleep(0.01)
            with self.guard:
                self.calls.append("counting")
                if self.pending:
                    self.pending -= 1
                return 0.0 if self.pending else None
        finally:
            with self.guard:
                self.inside -= 1

    def flaky(self, deadline: float) -> float | None:
        self.calls.append("flaky")
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("a job's own bug")
        return None

    def unavailable(self, deadline: float) -> float | None:
        self.calls.append("unavailable")
        raise Retry("the index is missing", seconds=30)


@pytest.fixture
def jobs() -> Jobs:
    return Jobs()


def _app(app_config, jobs, **config):
    return create_app({**app_config, **config}, plugins=[jobs])


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_woken_job_runs_at_once_in_the_server_process(app_config, jobs):
    app = _app(app_config, jobs, WORKER_IN_SERVERS="true")
    try:
        app.test_client().get("/")  # the first request starts the worker
        worker = app.extensions["crisiswiki_worker"]
        _wait_for(lambda: "counting" in jobs.calls)  # its first turn comes at once
        seen = len(jobs.calls)
        with app.app_context():
            jobs.pending = 3
            wake("counting")
        _wait_for(lambda: jobs.pending == 0, timeout=5)  # long before its 30 s poll
        assert jobs.calls[seen:].count("counting") >= 3
        # A failing job was logged and retried; the others kept running.
        _wait_for(lambda: jobs.calls.count("flaky") >= 2)
        assert worker.states["flaky"].failures == 1 and worker.states["counting"].failures == 0
        # A job that cannot work now waits for its retry instead of spinning.
        assert jobs.calls.count("unavailable") == 1
    finally:
        app.extensions["crisiswiki_worker"].stop()
        with app.app_context():
            db.engine.dispose()


def test_the_worker_does_not_start_in_tests_or_where_a_worker_process_runs(app_config, jobs):
    for setting in ("auto", "false"):
        app = _app(app_config, jobs, WORKER_IN_SERVERS=setting)
        app.test_client().get("/")
        assert "crisiswiki_worker" not in app.extensions
        with app.app_context():
            wake("counting")  # nothing to wake: no error
            db.engine.dispose()


def test_one_process_at_a_time_does_a_job_and_keeps_it_while_it_has_work(app_config, jobs):
    """Two workers of one deployment (two server processes share the instance folder): the
    job's lock lets only one at a time into it, for as long as it has work."""
    first, second = (
        Worker(_app(app_config, jobs), [Job("counting", jobs.counting, poll_seconds=0.01)]) for _ in range(2)
    )
    jobs.pending = 20
    threads = [threading.Thread(target=w.run_forever) for w in (first, second)]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: jobs.pending == 0)
    finally:
        for worker in (first, second):
            worker.stop()
        for thread in threads:
            thread.join(10)
    assert jobs.most_inside == 1
    assert first.states["counting"].runs + second.states["counting"].runs >= 20


def test_the_worker_command_runs_every_job_until_nothing_is_left(app_config, jobs):
    app = _app(app_config, jobs)
    jobs.pending = 5
    jobs.failures_left = 0
    jobs.unavailable = lambda deadline: None
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "counting" in result.output and "flaky" in result.output
    assert jobs.pending == 0
    with app.app_context():
        db.engine.dispose()


def test_the_search_index_is_a_job_of_the_worker(app, crisis, make_user, token_for):
    from wiki.search.indexer import build_if_missing

    with app.app_context():
        build_if_missing()
    worker = worker_for(app)
    # The core's jobs: the search index, the channels' processing and delivery (wiki/channels),
    # the mail outbox, the alerts' matching and senders, report imports (wiki/reports/import_jobs) and
    # publications to HDX (wiki/hdx/jobs).
    assert sorted(job.name for job in worker.jobs) == [
        "alert-senders",
        "alerts",
        "channel-delivery",
        "channel-media",
        "channels",
        "hdx",
        "imports",
        "mail",
        "search",
        "sqlite-checkpoint",
    ]
    token = token_for(make_user("volunteer"))
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-72.5, 18.5]},
        "properties": {"crisis": "quake", "title": "Bridge down", "description": "The bridge at Carrefour fell"},
    }
    assert (
        app.test_client()
        .post("/api/v1/reports", json=feature, headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 201
    )
    assert app.test_client().get("/api/v1/search?q=carrefour").get_json()["total"] == 0
    worker.run_until_idle()
    assert app.test_client().get("/api/v1/search?q=carrefour").get_json()["total"] == 1


def test_start_in_server_starts_one_thread_per_process(app_config, jobs):
    app = _app(app_config, jobs)
    try:
        first, again = start_in_server(app), start_in_server(app)
        assert first is again and first._thread.is_alive()
    finally:
        app.extensions["crisiswiki_worker"].stop()
        with app.app_context():
            db.engine.dispose()


def test_a_database_that_went_away_is_waited_for_not_counted_as_a_failure(app_config, jobs, caplog):
    """PostgreSQL restarting: the job is tried again in UNREACHABLE_PAUSE_SECONDS, with one line
    in the log, not a traceback and a failure each time."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    from wiki.workers import UNREACHABLE_PAUSE_SECONDS

    def lost(deadline: float) -> float | None:
        raise OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection unexpectedly"))

    worker = Worker(_app(app_config, jobs), [Job("lost", lost, poll_seconds=30.0)])
    state = worker.states["lost"]
    log = logging.getLogger("wiki.workers")
    disabled, log.disabled = log.disabled, False  # Alembic's fileConfig disables it in a process that migrated
    before = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="wiki.workers"):
            worker._turn(state)
    finally:
        log.disabled = disabled
    assert state.failures == 0 and not state.holding
    assert before + UNREACHABLE_PAUSE_SECONDS - 0.5 <= state.due <= time.monotonic() + UNREACHABLE_PAUSE_SECONDS
    assert "the database cannot be reached" in caplog.text
    assert not any(record.exc_info for record in caplog.records)  # no traceback
    flaky = Worker(_app(app_config, jobs), [Job("flaky", jobs.flaky, poll_seconds=30.0)])
    flaky._turn(flaky.states["flaky"])
    assert flaky.states["flaky"].failures == 1  # a job's own bug is still a failure

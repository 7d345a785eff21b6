"""The PostgreSQL server restarted in the middle of a surge of reports (an operator's `pg_ctl
restart`, a failover, an upgrade): the app servers and their background worker carry on without
being restarted themselves, every report acknowledged before, during and after is stored exactly
once, and what could not be done while the database was away was answered with a 503 that says
to try again, never a 500."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections import Counter

import psycopg
import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError

from tests.postgres_cluster import Cluster, create_database, find_bindir, free_port
from tests.reports_helpers import feature
from tests.servers import BIN, ROOT, gunicorn, server_env
from wiki import create_app
from wiki.database import database_unreachable
from wiki.extensions import db

CLIENTS, PER_CLIENT = 4, 60
DOWN_SECONDS = 3.0  # a restart that takes a while (an upgrade, a failover)


def test_only_a_lost_database_connection_counts_as_unreachable():
    """What the 503 answers: psycopg's connection failures and a server shutting down, also when
    they are the cause of a later error; never SQLite's errors, which stay 500s (defects)."""
    statement = "INSERT INTO reports DEFAULT VALUES"
    refused = OperationalError(statement, {}, psycopg.OperationalError("connection failed: connection refused"))
    shutdown = OperationalError(statement, {}, psycopg.errors.AdminShutdown("terminating connection"))
    assert database_unreachable(refused) and database_unreachable(shutdown)
    try:
        try:
            raise shutdown
        except OperationalError:
            raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back") from None
    except PendingRollbackError as later:
        assert later.__context__ is shutdown and database_unreachable(later)
    # The lost connection's own error caught on the way (an isolated plugin hook logs it): what
    # is left is SQLAlchemy's "invalid transaction", without a cause (a 500 before, crisis_day.py).
    invalidated = "Can't reconnect until invalid transaction is rolled back.  Please rollback() fully before proceeding"
    assert database_unreachable(PendingRollbackError(invalidated))
    assert not database_unreachable(PendingRollbackError("This transaction is inactive"))
    assert not database_unreachable(OperationalError(statement, {}, sqlite3.OperationalError("database is locked")))
    assert not database_unreachable(IntegrityError(statement, {}, psycopg.errors.UniqueViolation("duplicate key")))
    assert not database_unreachable(ValueError("not a database error"))


def test_a_command_says_the_database_cannot_be_reached_instead_of_a_traceback(tmp_path):
    """`crisiswiki create-user` (or any command under the write policy) while PostgreSQL is away: a
    message and exit status 1, as for any other refusal, not a Python traceback."""
    nothing_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/crisiswiki"
    done = subprocess.run(
        [str(BIN / "crisiswiki"), "create-user", "amina", "--role", "volunteer", "--password", "correct horse battery"],
        env=server_env(tmp_path / "instance", nothing_listens),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "The database cannot be reached" in done.stderr and "Run the command again" in done.stderr
    assert "Traceback" not in done.stderr


def _app(url: str, tmp_path, **settings):
    """An app on `url` (no server, no background jobs: TESTING), without the entry-point plugins."""
    config = {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "x"}
    return create_app({**config, "TESTING": True, "LOAD_ENTRYPOINT_PLUGINS": False, **settings})


def test_a_postgresql_search_says_the_database_cannot_be_reached(tmp_path):
    """The PostgreSQL search backend while the database is away (a restart; found by the crisis
    day on two servers): the app's 503 that says so, with Retry-After, as for every other read,
    not "search failed: check the extensions, then reindex", which would send an operator to fix
    what is not broken."""
    nothing_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/crisiswiki"
    client = _app(nothing_listens, tmp_path, SEARCH_BACKEND="postgresql").test_client()
    answer = client.get("/api/v1/search", query_string={"q": "water"})
    assert answer.status_code == 503 and answer.headers.get("Retry-After")
    assert answer.get_json()["error"]["code"] == "database_unavailable"
    page = client.get("/search", query_string={"q": "water"})
    assert page.status_code == 503 and page.headers.get("Retry-After")
    assert "The database cannot be reached" in page.get_data(as_text=True)
    assert "reindex" not in page.get_data(as_text=True)


@pytest.mark.skipif(
    find_bindir() is None, reason="PostgreSQL's server binaries are not installed (make test installs them)"
)
def test_a_read_whose_connection_is_cut_before_the_request_ends_still_answers(postgres_server, tmp_path):
    """A read's transaction is still open when the request ends (the session's close rolls it
    back); PostgreSQL cut the connection meanwhile (a restart's fast shutdown terminates every
    backend: pg_terminate_backend sends the same "terminating connection due to administrator
    command"). The answer already made is given, not gunicorn's bare 500 for an error escaping
    the app in its teardown (found by the crisis day on two servers: one map view during the
    PostgreSQL restart)."""
    url = create_database(postgres_server, "cut_before_the_end")
    app = _app(url, tmp_path)

    @app.get("/read-then-lose-the-connection")
    def read_then_lose_the_connection():
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()  # its transaction stays open
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (backend,))
        return "read"

    answer = app.test_client().get("/read-then-lose-the-connection")
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "read")
    with app.app_context():  # the cut connection was discarded: the next request's is a new one
        assert db.session.execute(text("SELECT 1")).scalar_one() == 1


def _create_crisis(url: str, instance) -> None:
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "x",
            "LOAD_ENTRYPOINT_PLUGINS": False,
        }
    )
    with app.app_context():
        admin = create_user("admin", "correct horse battery", role="admin")
        create_crisis(
            {"name": "Test earthquake", "slug": "quake", "bbox": "-74.5,17.9,-71.6,20.1", "start_date": "2010-01-12"},
            admin,
        )
        db.session.remove()
        db.engine.dispose()


def _rows(url: str, sql: str) -> list:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = connection.execute(text(sql)).all()
    engine.dispose()
    return rows


@pytest.mark.slow
@pytest.mark.skipif(
    find_bindir() is None, reason="PostgreSQL's server binaries are not installed (make test installs them)"
)
def test_a_postgresql_restart_during_a_surge_loses_nothing_and_needs_no_app_restart(tmp_path):
    cluster = Cluster()
    server = cluster.start()
    try:
        url = create_database(server, "restarted")
        with gunicorn(tmp_path / "served", url, workers=2, init=True, ANONYMOUS_SUBMIT_LIMIT="1000000") as base:
            _create_crisis(url, tmp_path / "setup")
            acknowledged: dict[str, int] = {}
            refusals: list[tuple[int, str, str | None]] = []  # (status, body, Retry-After)
            lock = threading.Lock()

            def client(number: int) -> None:
                session = requests.Session()
                for i in range(PER_CLIENT):
                    key = f"restart-{number}-{i}"
                    body = feature(title=f"Cholera case {key}", lon=-72.3 + number * 0.01, lat=18.5 + i * 0.0002)
                    deadline = time.monotonic() + 90
                    while time.monotonic() < deadline:  # as a phone or a gateway does: again, same key
                        try:
                            response = session.post(
                                f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": key}, timeout=60
                            )
                        except requests.RequestException as exc:
                            with lock:
                                refusals.append((0, repr(exc), None))
                            time.sleep(0.2)
                            continue
                        if response.status_code in (200, 201):
                            with lock:
                                acknowledged[key] = response.json()["id"]
                            break
                        with lock:
                            refusals.append(
                                (response.status_code, response.text[:300], response.headers.get("Retry-After"))
                            )
                        time.sleep(0.2)

            threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            while len(acknowledged) < CLIENTS * PER_CLIENT // 3 and any(t.is_alive() for t in threads):
                time.sleep(0.05)
            before = len(acknowledged)
            restart_started = time.monotonic()
            cluster.restart(down_seconds=DOWN_SECONDS)
            restart_seconds = time.monotonic() - restart_started
            for thread in threads:
                thread.join()
            after_restart = requests.get(f"{base}/api/v1/health", timeout=10)

            # The background worker (in the servers) reconnected too: every report is scored
            # into the search index (it needs the database for that).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                total = requests.get(
                    f"{base}/api/v1/search", params={"q": "cholera", "type": "report", "limit": 1}, timeout=30
                ).json()["total"]
                if total >= CLIENTS * PER_CLIENT:
                    break
                time.sleep(0.5)
        print(
            f"\nPostgreSQL down and up again in {restart_seconds:.1f} s after {before} of {CLIENTS * PER_CLIENT} reports; "
            f"answers while it was away: {Counter(status for status, _body, _retry in refusals)}"
        )
        assert before < CLIENTS * PER_CLIENT  # the restart came in the middle of the surge
        assert len(acknowledged) == CLIENTS * PER_CLIENT, refusals[-5:]
        assert after_restart.status_code == 200
        assert total == CLIENTS * PER_CLIENT
        rows = _rows(url, "SELECT id, client_id FROM reports")
        assert Counter(row.id for row in rows) == Counter(acknowledged.values())  # each exactly once
        # While the database was away: a 503 that says so and when to try again, never a 500.
        statuses = Counter(status for status, _body, _retry in refusals)
        assert set(statuses) <= {503}, refusals
        for _status, body, retry_after in refusals:
            assert "database" in body.lower() and retry_after is not None, body
    finally:
        cluster.stop()

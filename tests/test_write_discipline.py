"""One write discipline for every writer: every `crisiswiki` command that can write runs while a
surge of reports (and page saves and gradings) arrives at a real gunicorn, on SQLite and on
PostgreSQL; each succeeds, and nothing acknowledged is lost or stored twice.

The commands are enumerated from the `crisiswiki` group itself: a command that is neither run
here (COMMANDS) nor set aside with a reason (NOT_RUN) fails `test_every_command_is_accounted_for`,
so a new command is covered or noticed. Every process (servers and commands) runs with
WRITE_CHECK=raise: a write in a SQLite transaction that did not take the write lock up front
fails at once, whether or not another writer happened to be there at that moment.
"""

from __future__ import annotations

import imaplib
import json
import signal
import smtplib
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage

import click
import pytest
import requests
from sqlalchemy import create_engine, text

from tests.alerts_helpers import BOUNDARIES
from tests.fixtures import PASSWORD
from tests.imap_server import imap_server  # noqa: F401  (fixture)
from tests.postgres_cluster import create_database, free_port
from tests.reports_helpers import feature
from tests.servers import BIN, ROOT, gunicorn, server_env
from tests.smtp_helpers import smtp_server  # noqa: F401  (fixture)

# What each command is given while the surge runs (placeholders filled in by the test), and what
# it must print. Every command listed must exit with 0.
COMMANDS: dict[str, list[str]] = {
    "init-db": ["init-db", "--no-demo"],
    "create-user": ["create-user", "{user}", "--role", "verifier", "--password", PASSWORD, "--token"],
    "demo": ["demo"],
    "demo-login": ["demo-login"],
    "import-reports": ["import-reports", "{csv}", "--crisis", "quake"],
    "import-boundaries": ["import-boundaries", "{boundaries}", "--crisis", "quake", "--level", "1"],
    # reads only; the files alone (no CKAN site: tests/hdx/ publishes to one)
    "publish-hdx": [
        "publish-hdx",
        "--crisis",
        "quake",
        "--country",
        "HTI",
        "--organisation",
        "crisiswiki-test",
        "--output-dir",
        "{backup}-hdx",
    ],
    "rescore": ["rescore", "--crisis", "quake", "--quiet"],
    "discover-truth": ["discover-truth", "--crisis", "quake"],
    "reindex": ["reindex", "--quiet"],
    "send-mail": ["send-mail"],
    "send-alerts": ["send-alerts"],
    "fetch-mail": ["fetch-mail"],
    "backup": ["backup", "{backup}"],
    "restore": ["restore", "{backup}"],  # into a second, empty database (see below)
    "worker": ["worker", "--once"],
    "smtpd": ["smtpd", "--port", "{smtp_port}"],  # started, sent a mail, stopped
    "nginx-headers": ["nginx-headers"],
    "routes": ["routes"],
    "db upgrade": ["db", "upgrade"],
    "db stamp": ["db", "stamp", "heads"],
    "db current": ["db", "current"],
    "db heads": ["db", "heads"],
    "db branches": ["db", "branches"],
    "db history": ["db", "history", "-r", "0008_one_head:"],
    "db show": ["db", "show", "0008_one_head"],
    "db check": ["db", "check"],
}
# Commands not run during the surge, and why.
NOT_RUN: dict[str, str] = {
    "serve": "becomes gunicorn: the servers under test are it",
    "run": "Flask's development server",
    "shell": "interactive",
    "db downgrade": "removes the schema the servers are using (tests/test_upgrade.py runs migrations both ways)",
    "db init": "writes a migrations folder, not the database",
    "db migrate": "writes a revision file into migrations/versions, not the database",
    "db revision": "writes a revision file into migrations/versions, not the database",
    "db merge": "writes a revision file into migrations/versions, not the database",
    "db edit": "opens a revision file in an editor",
    "db list-templates": "lists Alembic's templates, no database",
}
RUNS = 10  # create-user is run this many times (the issue: 0 of 10 succeeded during an intake)
CLIENTS = 8
# Each reporter's pause after an answer: a steady intake (at most CLIENTS / REPORT_PAUSE_S reports a
# second) that overlaps every command's transactions, without growing the database so fast that
# the commands which read all of it (import, rescore, reindex, restore) take minutes on PostgreSQL.
REPORT_PAUSE_S = 0.25
NO_DATABASE_LOCKED = "database is locked"


def command_paths() -> dict[str, click.Command]:
    """Every leaf command of the `crisiswiki` program, by its path ("db upgrade")."""
    from wiki.console import main

    found: dict[str, click.Command] = {}

    def walk(group: click.Group, context: click.Context, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            if isinstance(command, click.Group):
                walk(command, click.Context(command, parent=context, info_name=name), (*prefix, name))
            elif command is not None:
                found[" ".join((*prefix, name))] = command

    # Closed at the end: looking commands up pushes the app's context onto it.
    with main.make_context("crisiswiki", ["routes"], resilient_parsing=True) as ctx:
        walk(main, ctx, ())
    return found


def test_every_command_is_accounted_for(tmp_path, monkeypatch):
    """Each command is run by the surge test below or set aside with a reason; and each either
    takes the write lock up front (the default) or says why its transactions are its own."""
    from wiki.command_policy import own_transactions_reason, runs_under_policy

    monkeypatch.setenv("CRISISWIKI_INSTANCE_PATH", str(tmp_path / "instance"))
    commands = command_paths()
    assert set(COMMANDS).isdisjoint(NOT_RUN)
    unaccounted = set(commands) - set(COMMANDS) - set(NOT_RUN)
    assert not unaccounted, f"add these commands to COMMANDS (or NOT_RUN, with a reason): {sorted(unaccounted)}"
    assert not set(COMMANDS) - set(commands), "COMMANDS names commands that do not exist"
    for path, command in commands.items():
        assert runs_under_policy(command) or own_transactions_reason(command), path
    # The commands that keep their own transactions are the servers and the background jobs' code,
    # and publish-hdx, which only reads (its upload to a CKAN site must not hold the write lock).
    assert {path for path, command in commands.items() if not runs_under_policy(command)} == {
        "publish-hdx",
        "serve",
        "run",
        "shell",
        "worker",
        "smtpd",
        "send-mail",
        "send-alerts",
        "fetch-mail",
    }


@dataclass
class Surge:
    """Reporters, an editor and a verifier working against the server until stopped."""

    base: str
    token: str  # a coordinator's (page saves)
    verifier_token: str
    stop: threading.Event = field(default_factory=threading.Event)
    accepted: dict[str, int] = field(default_factory=dict)  # idempotency key -> report id
    acknowledged_at: dict[int, float] = field(default_factory=dict)  # report id -> time.time() of its 201
    revisions: list[int] = field(default_factory=list)
    gradings: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.reporter, args=(n,)) for n in range(CLIENTS)]
        self.threads += [threading.Thread(target=self.editor), threading.Thread(target=self.verifier)]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    def reporter(self, number: int) -> None:
        session = requests.Session()
        i = 0
        while not self.stop.is_set():
            key = f"surge-{number}-{i}"
            body = feature(title=f"Surge {key} water point", lon=-72.3 + number * 0.01, lat=18.5 + (i % 400) * 0.0005)
            try:
                response = session.post(f"{self.base}/api/v1/reports", json=body, headers={"Idempotency-Key": key})
            except requests.RequestException as exc:
                self.fail(f"{key}: {exc}")
                continue  # the same key again, as a phone does
            if response.status_code == 201:
                with self.lock:
                    self.accepted[key] = response.json()["id"]
                    self.acknowledged_at[response.json()["id"]] = time.time()
            else:
                self.fail(f"{key}: {response.status_code} {response.text[:200]}")
            i += 1
            self.stop.wait(REPORT_PAUSE_S)

    def editor(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        n = 0
        while not self.stop.is_set():
            page = session.get(f"{self.base}/api/v1/pages/quake/Sitrep").json()
            saved = session.put(
                f"{self.base}/api/v1/pages/quake/Sitrep",
                json={"body": page["body"] + f"\nupdate {n}\n", "base_revision": page["base_revision"]},
            )
            if saved.status_code == 200:
                with self.lock:
                    self.revisions.append(saved.json()["revision"]["id"])
            else:
                self.fail(f"save {n}: {saved.status_code} {saved.text[:200]}")
            n += 1
            self.stop.wait(0.2)

    def verifier(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.verifier_token}"
        n = 0
        while not self.stop.is_set():
            with self.lock:
                ids = sorted(self.accepted.values())
            if ids:
                report_id = ids[(n * 7919) % len(ids)]
                graded = session.post(
                    f"{self.base}/api/v1/reports/{report_id}/assessments",
                    json={"reliability": "BC"[n % 2], "credibility": 2 + n % 3},
                )
                if graded.status_code == 201:
                    with self.lock:
                        self.gradings.append(graded.json()["id"])
                else:
                    self.fail(f"grading {n}: {graded.status_code} {graded.text[:200]}")
                n += 1
            self.stop.wait(0.3)


def _rows(url: str, sql: str, **params) -> list:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {process.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_writing_command_succeeds_during_a_surge(
    app,
    crisis,
    database_url,
    backend,
    tmp_path,
    make_user,
    token_for,
    smtp_server,  # noqa: F811
    imap_server,  # noqa: F811
    request,
):
    from wiki.extensions import db
    from wiki.mail.outbox import queue_mail

    # Everyone the surge needs exists before the servers start: this process's own writes (the
    # fixtures') are not the subject here.
    coordinator = make_user("coordinator")
    token = token_for(coordinator)
    verifier_token = token_for(make_user("verifier"))
    with app.app_context():
        queue_mail("someone@example.org", "Waiting in the outbox", "Sent by crisiswiki send-mail during the surge.")
        db.session.commit()
    box = imaplib.IMAP4(imap_server.host, imap_server.port)
    box.login(imap_server.user, imap_server.password)
    polled = EmailMessage()
    polled["From"], polled["To"], polled["Subject"] = "field@example.org", "reports+quake@wiki.test", "Bridge"
    polled["Message-ID"] = "<polled-during-surge@field>"
    polled.set_content("The bridge at Carrefour is down.")
    box.append("INBOX", None, None, polled.as_bytes())
    box.logout()
    csv = tmp_path / "reports.csv"
    csv.write_text(
        "id,title,lat,lon,sector\n"
        + "".join(f"row{n},Imported report {n},{18.5 + n * 0.001:.4f},-72.3,wash\n" for n in range(200))
    )
    boundaries = tmp_path / "adm1.geojson"
    boundaries.write_text(json.dumps(BOUNDARIES[1]))
    if backend == "sqlite":
        restored_url = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        restored_url = create_database(request.getfixturevalue("postgres_server"), "restored")
    instance = tmp_path / "served"
    settings = {"WRITE_CHECK": "raise", "ANONYMOUS_SUBMIT_LIMIT": "1000000", "LOG_LEVEL": "warning"}
    env = server_env(instance, database_url, **settings)
    env.update({f"CRISISWIKI_{k}": str(v) for k, v in {**smtp_server.settings(), **imap_server.settings()}.items()})
    smtp_port = free_port()
    places = {
        "csv": str(csv),
        "boundaries": str(boundaries),
        "backup": str(tmp_path / "backup"),
        "smtp_port": str(smtp_port),
    }
    outcomes: dict[str, tuple[int, float, str]] = {}  # command -> (exit code, seconds, output)

    def run(name: str, argv: list[str], environment: dict | None = None, **extra: str) -> subprocess.CompletedProcess:
        args = [part.format(**places, **extra) for part in argv]
        started = time.monotonic()
        done = subprocess.run(
            [str(BIN / "crisiswiki"), *args], env=environment or env, cwd=ROOT, capture_output=True, text=True
        )
        outcomes[name] = (done.returncode, time.monotonic() - started, done.stdout + done.stderr)
        return done

    with gunicorn(instance, database_url, workers=3, init=True, **settings) as base:
        made = requests.put(
            f"{base}/api/v1/pages/quake/Sitrep",
            json={"body": "# Sitrep\n"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
        surge = Surge(base, token, verifier_token)
        surge.start()
        try:
            while len(surge.accepted) < 100:  # the surge is well under way
                time.sleep(0.1)
            for n in range(RUNS):
                run(f"create-user#{n}", COMMANDS["create-user"], user=f"made-during-surge-{n}")
            for name, argv in COMMANDS.items():
                if name in ("create-user", "restore", "smtpd"):
                    continue
                if name == "backup":
                    with surge.lock:
                        before_backup = set(surge.accepted.values())
                run(name, argv)
            # restore replaces a database: into a second, empty one (with an instance folder of its
            # own) while the surge goes on against the first, from the backup made during the surge.
            restored_env = server_env(tmp_path / "restored-instance", restored_url, **settings)
            run("restore", COMMANDS["restore"], restored_env)
            # smtpd is a server: started, one mail sent to it, stopped.
            listener = subprocess.Popen(
                [str(BIN / "crisiswiki"), *[p.format(**places) for p in COMMANDS["smtpd"]]],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                _wait_for_port(smtp_port, listener)
                sent = EmailMessage()
                sent["From"], sent["To"], sent["Subject"] = "field@example.org", "quake@wiki.test", "Shelter"
                sent["Message-ID"] = "<smtpd-during-surge@field>"
                sent.set_content("The school in Carrefour shelters 200 families.")
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
                    client.send_message(sent)
            finally:
                listener.send_signal(signal.SIGTERM)
                output = listener.communicate(timeout=30)[0]
            outcomes["smtpd"] = (listener.returncode, 0.0, output)
            time.sleep(1)  # reports keep coming after the last command
        finally:
            surge.finish()
        log = (instance / "gunicorn.log").read_text()

    print(f"\n{backend}: {len(surge.accepted)} reports, {len(surge.revisions)} saves, {len(surge.gradings)} gradings")
    for name, (code, seconds, _output) in outcomes.items():
        print(f"  {name}: exit {code} in {seconds:.1f} s")
    failed = {name: output[-1500:] for name, (code, _s, output) in outcomes.items() if code != 0}
    assert not failed, failed
    assert sum(name.startswith("create-user#") for name in outcomes) == RUNS
    assert all(NO_DATABASE_LOCKED not in output for _c, _s, output in outcomes.values())
    assert NO_DATABASE_LOCKED not in log and "WriteDisciplineError" not in log, log[-3000:]
    assert surge.failures == []
    # What each command was for is done.
    usernames = {row.username for row in _rows(database_url, "SELECT username FROM users")}
    assert {f"made-during-surge-{n}" for n in range(RUNS)} <= usernames
    assert _rows(database_url, "SELECT count(*) AS n FROM crises WHERE slug = 'yolanda-2013'")[0].n == 1  # the demo's
    assert _rows(database_url, "SELECT count(*) AS n FROM reports WHERE client_id LIKE 'import:quake:row%'")[0].n == 200
    assert _rows(database_url, "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL")[0].n == 0
    assert any(b"Waiting in the outbox" in raw for _f, _t, raw in smtp_server.received)
    inbound = {row.external_id for row in _rows(database_url, "SELECT external_id FROM inbound_messages")}
    assert {"<polled-during-surge@field>", "<smtpd-during-surge@field>"} <= inbound
    # Nothing acknowledged is lost or stored twice.
    rows = _rows(database_url, "SELECT id, client_id FROM reports WHERE client_id LIKE 'surge-%'")
    assert Counter(row.client_id for row in rows) == Counter(list(surge.accepted))
    assert {row.id for row in rows} == set(surge.accepted.values())
    revisions = {row.id for row in _rows(database_url, "SELECT id FROM revisions")}
    assert set(surge.revisions) <= revisions and len(set(surge.revisions)) == len(surge.revisions)
    gradings = Counter(row.id for row in _rows(database_url, "SELECT id FROM validation_assessments"))
    assert set(surge.gradings) <= set(gradings) and len(set(surge.gradings)) == len(surge.gradings)
    # The backup taken during the surge, restored elsewhere, holds every report acknowledged before it.
    restored = {row.id for row in _rows(restored_url, "SELECT id FROM reports")}
    assert before_backup <= restored


def test_a_new_command_takes_the_write_lock_up_front(app, runner, backend):
    """A command added by anyone (here, now) runs with the write lock taken before its first read."""
    from flask.cli import with_appcontext

    from wiki.extensions import db
    from wiki.models import User

    seen = {}

    @app.cli.command("probe-transactions")
    @with_appcontext
    def probe() -> None:
        db.session.scalar(text("SELECT count(*) FROM users"))
        seen["deferred"] = db.session.connection().info.get("deferred")
        db.session.add(User(username="probe", role="volunteer", display_name="probe", password_hash="x"))
        db.session.commit()

    result = runner.invoke(args=["probe-transactions"])
    assert result.exit_code == 0, result.output
    if backend == "sqlite":
        assert seen["deferred"] is False  # BEGIN IMMEDIATE, not a plain BEGIN upgraded later


def test_a_write_outside_the_lock_fails_at_once_under_write_check_raise(app_config, backend):
    """WRITE_CHECK=raise: a write in a SQLite transaction begun without the lock fails whether or not
    another writer was there; the same write in write_transaction() is fine."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    from wiki import create_app
    from wiki.database import WriteDisciplineError, write_transaction
    from wiki.extensions import db
    from wiki.models import User

    app = create_app({**app_config, "WRITE_CHECK": "raise"})
    with app.app_context():
        db.session.scalar(text("SELECT count(*) FROM users"))
        db.session.add(User(username="late", role="volunteer", display_name="late", password_hash="x"))
        with pytest.raises(WriteDisciplineError):
            db.session.commit()
        db.session.rollback()
        with write_transaction():
            db.session.add(User(username="early", role="volunteer", display_name="early", password_hash="x"))
        assert db.session.scalar(text("SELECT count(*) FROM users WHERE username = 'early'")) == 1
        db.engine.dispose()


def test_deadlocks_on_postgresql_are_run_again_until_nothing_is_committed(app, backend):
    """Two transactions lock two rows in opposite orders: PostgreSQL kills one (40P01);
    retry_conflicts runs it again after a short wait and both get through. A unit that already
    committed a write is not run again."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's deadlock detection")
    from wiki.database import retry_conflicts
    from wiki.extensions import db
    from wiki.models import User

    with app.app_context():
        for name in ("left", "right"):
            db.session.add(User(username=name, role="volunteer", display_name=name, password_hash="x"))
        db.session.commit()
    barrier = threading.Barrier(2)
    tries: Counter = Counter()
    errors: list[BaseException] = []

    def unit(first: str, second: str) -> None:
        def work() -> None:
            tries[first] += 1
            db.session.execute(text("UPDATE users SET display_name = :n WHERE username = :u"), {"n": first, "u": first})
            if tries[first] == 1:
                barrier.wait(timeout=10)  # both hold their first row
            db.session.execute(
                text("UPDATE users SET display_name = :n WHERE username = :u"), {"n": first, "u": second}
            )
            db.session.commit()

        with app.app_context():
            try:
                retry_conflicts(work, f"unit {first}")
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=unit, args=pair) for pair in (("left", "right"), ("right", "left"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(tries.values()) == [1, 2]  # one of them ran twice

    def committed_then_deadlocked() -> None:
        db.session.execute(text("UPDATE users SET display_name = 'once' WHERE username = 'left'"))
        db.session.commit()
        raise _deadlock()

    calls = Counter()
    with app.app_context(), pytest.raises(Exception, match="deadlock"):
        retry_conflicts(lambda: calls.update(["run"]) or committed_then_deadlocked(), "committed unit")
    assert calls["run"] == 1


def _deadlock() -> Exception:
    import psycopg
    from sqlalchemy.exc import OperationalError

    error = psycopg.errors.DeadlockDetected("deadlock detected")
    return OperationalError("UPDATE ...", {}, error)

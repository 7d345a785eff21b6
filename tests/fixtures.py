"""Fixtures for every test of the project (tests/ and plugins/validation/tests/, through the root
conftest.py): every behavioural test runs on SQLite and on a real PostgreSQL server.

The schema is built once per session by running the real Alembic migrations (so the
migrations are tested too); each test then starts from empty tables: a fresh copy of the
migrated SQLite file, or TRUNCATE on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool
from werkzeug.routing import Rule

from tests.figures import add_from_worker, print_summary, send_to_controller
from tests.postgres_cluster import Cluster, create_database
from wiki import create_app
from wiki.extensions import db

# The project's shared test data (../shared/data next to the checkout), or CRISISWIKI_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get("CRISISWIKI_SHARED_DATA") or Path(__file__).resolve().parent.parent.parent / "shared" / "data"
)
PASSWORD = "correct horse battery"


def pytest_sessionfinish(session: pytest.Session) -> None:
    send_to_controller(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist (controller): a worker finished; add up its figures."""
    add_from_worker(node.config, getattr(node, "workeroutput", {}))


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    print_summary(terminalreporter, config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest test files first: pytest-xdist (--dist loadfile) hands out files in this
    order, so the load tests, the browser journeys and the security suite's matrices (minutes
    each) start at once on both processes and the many short files fill in behind them, rather
    than one long file at the end keeping one process busy while the other has nothing left to
    do. Stable: the files keep their order within each group, and the tests theirs within a file."""
    heavy = ("slow", "browser", "security")

    def weight(item: pytest.Item) -> int:
        return next((rank for rank, name in enumerate(heavy) if item.get_closest_marker(name)), len(heavy))

    heaviest: dict[Path, int] = {}
    for item in items:
        heaviest[item.path] = min(heaviest.get(item.path, len(heavy)), weight(item))
    items.sort(key=lambda item: heaviest[item.path])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="append",
        choices=["sqlite", "postgresql"],
        help="run database tests on these backends only (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = metafunc.config.getoption("db") or ["sqlite", "postgresql"]
        if "search_backend" in metafunc.fixturenames:
            # Whoosh on either database; PostgreSQL full-text search only on PostgreSQL.
            pairs = [(name, "whoosh") for name in backends] + [("postgresql", "postgresql")] * (
                "postgresql" in backends
            )
            metafunc.parametrize(("backend", "search_backend"), pairs, scope="session")
        else:
            if metafunc.definition.get_closest_marker("one_database"):
                backends = backends[:1]
            metafunc.parametrize("backend", backends, scope="session")


def migrate(url: str, instance: Path) -> None:
    """Run the Alembic migrations against `url`."""
    from wiki.migrations import upgrade_all

    # With the installed plugins loaded, so their migration branches run too.
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(instance),
            "TESTING": True,
            "LOAD_ENTRYPOINT_PLUGINS": True,
        }
    )
    with app.app_context():
        upgrade_all()
        db.engine.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    """URL of a PostgreSQL server (without the database name)."""
    external = os.environ.get("CRISISWIKI_TEST_POSTGRES_URL")
    if external:
        yield external.rstrip("/")
        return
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def shared_by_the_run(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder every test process of this run shares: under pytest-xdist the workers' common
    base folder, so what is built there once (the migrated template, the static build) serves
    both; in one process, a folder of its own."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.getbasetemp().parent / name
        folder.mkdir(exist_ok=True)
        return folder
    return tmp_path_factory.mktemp(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated SQLite file every SQLite test copies: migrated once per run (the first test
    process to need it migrates it under a lock; the others wait for it and copy it)."""
    folder = shared_by_the_run(tmp_path_factory, "sqlite-template")
    path = folder / "template.db"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            staging = folder / "migrating.db"
            staging.unlink(missing_ok=True)
            migrate(f"sqlite:///{staging}", folder)
            staging.rename(path)
    return path


@pytest.fixture(scope="session")
def postgres_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    server = request.getfixturevalue("postgres_server")
    url = create_database(server, "crisiswiki_test")
    migrate(url, tmp_path_factory.mktemp("pg-migrate"))
    return url


_ENGINES: dict[str, tuple[Engine, list[str]]] = {}


def _truncate_all(url: str) -> None:
    """Empty every table (but alembic_version) and restart every sequence, as TRUNCATE of all
    tables ... RESTART IDENTITY would; but only the tables that hold rows and the sequences that
    were used are touched: TRUNCATE gives each table and index a new file, which costs about as
    much for an empty table as for a full one, and most tests fill a handful of the fifty."""
    if url not in _ENGINES:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
        with engine.connect() as conn:
            tables = sorted(t for t in inspect(conn).get_table_names() if t != "alembic_version")
        _ENGINES[url] = (engine, tables)
    engine, tables = _ENGINES[url]
    if not tables:
        return
    holding_rows = text(" UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables))
    with engine.begin() as conn:
        full = conn.execute(holding_rows).scalars().all()
        if full:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in full) + " RESTART IDENTITY CASCADE"))
        used = conn.execute(
            text("SELECT schemaname, sequencename FROM pg_sequences WHERE last_value IS NOT NULL")
        ).all()
        for schema, sequence in used:
            conn.execute(text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "crisiswiki.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_template")
    _truncate_all(url)
    return url


@pytest.fixture(scope="session")
def static_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of the hashed, compressed static files for the whole run, shared by the test
    processes (wiki/assets.py builds under a lock, so the first app builds it and the others
    wait for it): brotli at its best quality takes seconds of CPU per build."""
    return shared_by_the_run(tmp_path_factory, "static") / "build"


@pytest.fixture(scope="session", autouse=True)
def static_build_for_every_app(static_build: Path) -> Iterator[None]:
    """Apps made without the test config (CLI commands, servers in subprocesses, apps a test
    configures itself) use the session's build too: otherwise each hashes and compresses every
    static file again into its own instance folder, tens of seconds on a busy machine."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CRISISWIKI_STATIC_BUILD_DIR", str(static_build))
    yield
    patch.undo()


@pytest.fixture
def app_config(database_url: str, tmp_path: Path, static_build: Path) -> dict:
    """Override in a test module to change settings."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "WTF_CSRF_ENABLED": False,
        "LOAD_ENTRYPOINT_PLUGINS": False,
        "SECRET_KEY": "test",
        "SERVER_NAME": "wiki.test",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "STATIC_BUILD_DIR": str(static_build),
    }


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per test process and shared by every test's app. Each test makes
    a new app, and a new app's Jinja environment compiles every template it renders again: a
    third of a small test's time. Jinja checks each template's source checksum on load, so an
    edited template is compiled afresh."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def share_url_builders() -> None:
    """Each test makes a new app, and werkzeug writes two URL-building functions for each of the
    app's ~155 routes through Python's ast and compile(): a quarter of the fast suite's CPU. Such a
    function depends only on the rule's text and parts and takes the rule as its first argument,
    so this test process compiles each one once. A rule with a default for one of its variables
    (the function embeds the converted default) is compiled as werkzeug does. A server makes its
    app once, so only the tests need this."""
    original = getattr(Rule, "_compile_builder", None)
    if original is None:  # another werkzeug: every builder compiled as usual
        return
    compiled: dict[tuple, object] = {}

    def compile_builder(rule: Rule, append_unknown: bool = True):
        trace = tuple(rule._trace)
        defaults = rule.defaults or {}
        if any(dynamic and name in defaults for dynamic, name in trace):
            return original(rule, append_unknown)
        key = (rule.rule, trace, tuple(sorted(map(str, defaults))), append_unknown)
        if key not in compiled:
            compiled[key] = original(rule, append_unknown)
        return compiled[key]

    Rule._compile_builder = compile_builder


share_url_builders()


@pytest.fixture
def app(app_config: dict):
    app = create_app(app_config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


_counter = itertools.count(1)


@dataclass
class Person:
    id: int
    username: str
    role: str
    password: str = PASSWORD


@pytest.fixture
def make_user(app: Flask):
    """make_user("coordinator") -> Person, a user with that role in the database."""

    def make(role: str, username: str | None = None) -> Person:
        from wiki.auth.accounts import create_user

        name = username or f"{role}{next(_counter)}"
        with app.app_context():
            user = create_user(name, PASSWORD, role=role)
            return Person(user.id, user.username, user.role)

    return make


@pytest.fixture
def login(client: FlaskClient):
    """login(person) logs the test client in through the real login form."""

    def do(person: Person, which: FlaskClient | None = None) -> None:
        response = (which or client).post("/login", data={"username": person.username, "password": person.password})
        assert response.status_code == 302, response.data

    return do


@pytest.fixture
def token_for(app: Flask):
    """token_for(person) -> a personal API token for Authorization: Bearer."""

    def issue(person: Person) -> str:
        from wiki.models import ApiToken, User

        with app.app_context():
            _, plain = ApiToken.issue(db.session.get(User, person.id), "test")
            db.session.commit()
            return plain

    return issue


@pytest.fixture
def crisis(app: Flask, make_user) -> str:
    """A crisis created through the service layer; returns its slug."""
    from wiki.crises.services import create_crisis
    from wiki.models import User

    admin = make_user("admin")
    with app.app_context():
        created = create_crisis(
            {"name": "Test earthquake", "slug": "quake", "bbox": "-74.5,17.9,-71.6,20.1", "start_date": "2010-01-12"},
            db.session.get(User, admin.id),
        )
        return created.slug


@pytest.fixture
def index(app: Flask, crisis: str):
    """The (empty) search index `crisiswiki init-db` builds; returns flush(), which indexes
    what the search queue holds (the tests call it where the writer thread would run)."""
    from wiki.search.indexer import build_if_missing, flush

    with app.app_context():
        build_if_missing()

    def run() -> int:
        with app.app_context():
            return flush()

    return run

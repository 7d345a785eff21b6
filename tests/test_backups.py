"""`crisiswiki backup` and `crisiswiki restore`, on SQLite and PostgreSQL.

The round trip runs under write load: threads send reports and page edits to a real gunicorn
through the API while `crisiswiki backup` runs; the backup is restored into a new instance and
database, and every report and revision acknowledged before the backup began must be there,
with the search index rebuilt.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select, text

from tests.fixtures import PASSWORD
from tests.postgres_cluster import create_database
from tests.reports_helpers import feature
from tests.servers import BIN, ROOT, gunicorn, server_env

THREADS = 3


def _url(backend: str, request, tmp_path: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / name / 'crisiswiki.db'}"
    return create_database(request.getfixturevalue("postgres_server"), name)


def crisiswiki(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / "crisiswiki"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _ids(url: str, query: str) -> set[int]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        found = set(connection.execute(text(query)).scalars())
    engine.dispose()
    return found


class Load:
    """Threads that send reports and page edits until stopped; each acknowledged one is kept with
    the time its acknowledgement arrived."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.reports: list[tuple[float, int]] = []
        self.revisions: list[tuple[float, int]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.send, args=(n,)) for n in range(THREADS)]

    def send(self, n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        base_revision = None
        count = 0
        while not self.stop.is_set():
            count += 1
            report = session.post(f"{self.base}/api/v1/reports", json=feature(title=f"load {n}-{count}"), timeout=30)
            if report.status_code == 201:
                self.reports.append((time.monotonic(), report.json()["id"]))
            else:
                self.errors.append(f"report {report.status_code} {report.text[:200]}")
            edit = {"body": f"Edit {count} by thread {n}", "comment": "load"}
            if base_revision is not None:
                edit["base_revision"] = base_revision
            page = session.put(f"{self.base}/api/v1/pages/quake/Load_{n}", json=edit, timeout=30)
            if page.status_code in (200, 201):
                base_revision = page.json()["base_revision"]
                self.revisions.append((time.monotonic(), base_revision))
            else:
                self.errors.append(f"page {page.status_code} {page.text[:200]}")

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def acknowledged_before(self, moment: float) -> tuple[set[int], set[int]]:
        return {i for t, i in self.reports if t < moment}, {i for t, i in self.revisions if t < moment}


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_backup_under_write_load_then_restore_finds_every_acknowledged_write(backend, request, tmp_path):
    instance = tmp_path / "site"
    url = _url(backend, request, tmp_path, "site")
    with gunicorn(instance, url, workers=2) as base:
        env = server_env(instance, url)
        made = crisiswiki(env, "create-user", "coord", "--role", "coordinator", "--password", PASSWORD, "--token")
        token = re.search(r"API token \(shown once\): (\S+)", made.stdout).group(1)
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.post(f"{base}/api/v1/crises", json={"name": "Quake", "slug": "quake"}, headers=headers).ok
        attachment = requests.post(
            f"{base}/api/v1/reports",
            json=feature(title="with a photo"),
            headers=headers,
            timeout=30,
        )
        assert attachment.status_code == 201
        (instance / "uploads").mkdir(exist_ok=True)
        (instance / "uploads" / "marker.bin").write_bytes(b"an upload")
        (instance / "config.py").write_text("SITE_NAME = 'restored site'\n")
        with Load(base, token) as load:
            time.sleep(1.5)
            started = time.monotonic()
            crisiswiki(env, "backup", str(tmp_path / "backup"))
            finished = time.monotonic()
            time.sleep(0.5)
        assert not load.errors, load.errors[:5]
        reports_before, revisions_before = load.acknowledged_before(started)
        during = {i for t, i in load.reports if started <= t <= finished}
        assert len(reports_before) >= 5 and revisions_before, "the load sent too little to test anything"
    manifest = (tmp_path / "backup" / "manifest.json").read_text()
    assert f'"backend": "{backend}"' in manifest
    assert (tmp_path / "backup" / "settings" / "secret_key").read_text() == (instance / "secret_key").read_text()

    restored_instance = tmp_path / "restored"
    restored_url = _url(backend, request, tmp_path, "restored")
    restored_env = server_env(restored_instance, restored_url)
    result = crisiswiki(restored_env, "restore", str(tmp_path / "backup"))
    assert "rebuilt the search index" in result.stdout
    reports = _ids(restored_url, "SELECT id FROM reports")
    revisions = _ids(restored_url, "SELECT id FROM revisions")
    assert reports_before <= reports, f"missing reports: {sorted(reports_before - reports)[:10]}"
    assert revisions_before <= revisions, f"missing revisions: {sorted(revisions_before - revisions)[:10]}"
    assert attachment.json()["id"] in reports
    print(f"backup under load: {len(reports_before)} reports acknowledged before, {len(during)} during the backup")
    assert (restored_instance / "uploads" / "marker.bin").read_bytes() == b"an upload"
    assert (restored_instance / "config.py").read_text() == "SITE_NAME = 'restored site'\n"
    assert (restored_instance / "secret_key").read_text() == (instance / "secret_key").read_text()
    # The search index was rebuilt from the restored database: the restored site finds a report.
    from wiki import create_app

    app = create_app(
        {"INSTANCE_PATH": str(restored_instance), "SQLALCHEMY_DATABASE_URI": restored_url, "TESTING": True}
    )
    found = app.test_client().get("/api/v1/search?q=photo")
    assert found.status_code == 200 and found.get_json()["total"] >= 1, found.get_json()
    from wiki.extensions import db

    with app.app_context():
        db.engine.dispose()


def _migrated(backend: str, request, tmp_path: Path, name: str) -> tuple[dict, str]:
    url = _url(backend, request, tmp_path, name)
    env = server_env(tmp_path / name, url)
    (tmp_path / name).mkdir(exist_ok=True)
    crisiswiki(env, "init-db", "--no-demo")
    return env, url


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(backend, request, tmp_path):
    env, url = _migrated(backend, request, tmp_path, "one")
    crisiswiki(env, "create-user", "amina", "--role", "coordinator", "--password", PASSWORD)
    crisiswiki(env, "backup", str(tmp_path / "saved"))
    crisiswiki(env, "create-user", "later", "--role", "volunteer", "--password", PASSWORD)

    refused = crisiswiki(env, "restore", str(tmp_path / "saved"), check=False)
    assert refused.returncode != 0
    assert "The database is not empty" in refused.stderr and "--force" in refused.stderr
    assert _ids(url, "SELECT count(*) FROM users") == {2}  # nothing changed

    crisiswiki(env, "restore", str(tmp_path / "saved"), "--force")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        names = set(connection.execute(select(text("username")).select_from(text("users"))).scalars())
    engine.dispose()
    assert names == {"amina"}


def test_bad_destinations_and_sources_are_refused_with_a_reason(backend, request, tmp_path):
    env, _database = _migrated(backend, request, tmp_path, "two")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    busy = crisiswiki(env, "backup", str(tmp_path / "full"), check=False)
    assert busy.returncode != 0 and "is not an empty folder" in busy.stderr
    (tmp_path / "not-a-backup").mkdir()
    wrong = crisiswiki(env, "restore", str(tmp_path / "not-a-backup"), check=False)
    assert wrong.returncode != 0 and "is not a crisiswiki backup" in wrong.stderr
    other = "postgresql" if backend == "sqlite" else "sqlite"
    crisiswiki(env, "backup", str(tmp_path / "ok"))
    manifest = tmp_path / "ok" / "manifest.json"
    manifest.write_text(manifest.read_text().replace(f'"backend": "{backend}"', f'"backend": "{other}"'))
    mismatch = crisiswiki(env, "restore", str(tmp_path / "ok"), check=False)
    assert mismatch.returncode != 0 and f"This backup is of a {other} database" in mismatch.stderr

"""The app served the way `make run` serves it: gunicorn, several workers, SQLite in WAL mode."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.servers import gunicorn

pytestmark = pytest.mark.slow


def test_gunicorn_serves_with_several_workers_on_sqlite_in_wal_mode(tmp_path):
    database = tmp_path / "instance" / "crisiswiki.db"
    with gunicorn(tmp_path / "instance", f"sqlite:///{database}", workers=3) as base:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: requests.get(f"{base}/api/v1/health", timeout=10).json(), range(60)))
        assert {a["status"] for a in answers} == {"ok"}
        assert (tmp_path / "instance" / "gunicorn.log").read_text().count("Booting worker") == 3
        home = requests.get(base + "/", timeout=10)
        assert home.status_code == 200 and "crisiswiki" in home.text
        assert (
            home.headers["X-Content-Type-Options"] == "nosniff"
            and "script-src 'self'" in home.headers["Content-Security-Policy"]
        )
    assert sqlite3.connect(database).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

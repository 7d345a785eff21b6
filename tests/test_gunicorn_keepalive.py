"""gunicorn closes a keep-alive connection after CRISISWIKI_KEEPALIVE_REQUESTS requests, so a
client whose connection waits in the listen backlog is let in while busy clients keep sending
(wiki/gunicorn_config.py's pre_request hook; gunicorn itself has no such setting). Without it, in
tests/test_load_and_crash.py's surge of 32 clients on 3 workers × 8 connections, clients whose
connection waited in the backlog were not answered within 120 s."""

from __future__ import annotations

import http.client
import shutil
from pathlib import Path

import pytest

from tests.servers import gunicorn

pytestmark = pytest.mark.slow


def _connection_header(conn: http.client.HTTPConnection) -> str:
    """GET /healthz on an open connection; the response's Connection header."""
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    response.read()
    return response.getheader("Connection", "").lower()


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "crisiswiki.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def test_a_keep_alive_connection_is_closed_after_its_quota_of_requests(database, tmp_path):
    with gunicorn(tmp_path / "served", database, workers=1, init=False, KEEPALIVE_REQUESTS="3") as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        assert _connection_header(conn) == "keep-alive"
        assert _connection_header(conn) == "keep-alive"
        assert _connection_header(conn) == "close"  # the third: the quota
        assert conn.sock is None  # and the client has let the connection go
        conn.close()

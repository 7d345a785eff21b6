"""Behind a real reverse proxy: Debian's nginx in front of gunicorn, PROXY_FIX_X_FOR=1.

Clients connect from different loopback addresses (127.0.0.2, 127.0.0.3: their sockets are
bound to them), so nginx sees different client addresses and passes them on in
X-Forwarded-For. Each address must get its own anonymous report limit and its own login
throttle, and a client that sends its own X-Forwarded-For must not escape its limit: ProxyFix
trusts only the address nginx appended.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.fixtures import PASSWORD
from tests.postgres_cluster import free_port
from tests.reports_helpers import feature
from tests.servers import BIN, ROOT, gunicorn, server_env, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
if NGINX is None:
    pytest.skip("nginx is not installed (make test installs Debian's nginx-light)", allow_module_level=True)

A, B = "127.0.0.2", "127.0.0.3"
SETTINGS = {"PROXY_FIX_X_FOR": "1", "ANONYMOUS_SUBMIT_LIMIT": "2", "LOGIN_ADDRESS_FREE_ATTEMPTS": "3"}


class SourceAddress(HTTPAdapter):
    """Connections from a chosen local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddress(address))
    return session


NGINX_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """gunicorn behind nginx; yields the proxy's URL, a coordinator's token and the database path."""
    tmp = tmp_path_factory.mktemp("nginx")
    instance = tmp / "instance"
    database = instance / "crisiswiki.db"
    with gunicorn(instance, f"sqlite:///{database}", workers=2, **SETTINGS) as upstream:
        env = server_env(instance, f"sqlite:///{database}", **SETTINGS)
        created = subprocess.run(
            [
                str(BIN / "crisiswiki"),
                "create-user",
                "coord",
                "--role",
                "coordinator",
                "--password",
                PASSWORD,
                "--token",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        token = re.search(r"API token \(shown once\): (\S+)", created.stdout).group(1)
        port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(tmp=tmp, port=port, upstream=upstream, user="user root;" if os.geteuid() == 0 else "")
        )
        nginx = subprocess.Popen(
            [NGINX, "-e", str(tmp / "error.log"), "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if requests.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if nginx.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {(tmp / 'error.log').read_text()}")
                time.sleep(0.1)
            made = requests.post(
                f"{base}/api/v1/crises",
                json={"name": "Quake", "slug": "quake"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert made.status_code == 201, made.text
            yield base, database
        finally:
            stop(nginx)


def submit(session: requests.Session, base: str, **headers) -> requests.Response:
    return session.post(f"{base}/api/v1/reports", json=feature(), headers=headers, timeout=10)


def test_each_client_address_has_its_own_anonymous_submission_limit(site):
    base, _database = site
    a, b = client_from(A), client_from(B)
    assert [submit(a, base).status_code for _ in range(2)] == [201, 201]
    refused = submit(a, base)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert submit(b, base).status_code == 201  # nginx's own address is not what is counted
    # A forged X-Forwarded-For comes first in the header nginx passes on; ProxyFix takes the last.
    assert submit(a, base, **{"X-Forwarded-For": "198.51.100.23"}).status_code == 429
    assert submit(client_from(B), base, **{"X-Forwarded-For": A}).status_code == 201


def login(session: requests.Session, base: str, username: str, password: str, **headers) -> requests.Response:
    form = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return session.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )


def test_each_client_address_has_its_own_login_throttle(site):
    base, database = site
    a = client_from(A)
    assert [login(a, base, f"nobody{n}", "wrong").status_code for n in range(3)] == [401, 401, 401]
    refused = login(a, base, "coord", PASSWORD)
    assert refused.status_code == 429 and "from your address" in refused.text and "Retry-After" in refused.headers
    assert login(a, base, "coord", PASSWORD, **{"X-Forwarded-For": "198.51.100.24"}).status_code == 429
    assert login(client_from(B), base, "coord", PASSWORD).status_code == 302
    with sqlite3.connect(database) as connection:
        failures = dict(connection.execute("SELECT key, failures FROM login_throttle WHERE key LIKE 'login-address:%'"))
    # Counted against the clients' own addresses: not nginx's 127.0.0.1, not the forged one.
    assert failures == {f"login-address:{A}": 3, f"login-address:{B}": 0}


def test_over_plain_http_through_the_proxy_there_is_no_hsts_and_no_secure_cookie(site):
    base, _database = site
    response = client_from(A).get(f"{base}/login", timeout=10)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers
    assert "secure" not in response.headers["Set-Cookie"].lower()

"""The production layout of deploy/, on loopback: Debian's nginx with deploy/nginx's own files in
front of two app servers (gunicorn, WORKER_IN_SERVERS=false) and one `crisiswiki worker`
process, all on one PostgreSQL with SEARCH_BACKEND=postgresql.

Clients connect from different loopback addresses (127.0.0.2, .3, .4: their sockets are bound
to them), so nginx and the apps see different client addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.alerts_helpers import webhook_receiver  # noqa: F401 (a fixture)
from tests.fixtures import PASSWORD
from tests.postgres_cluster import create_database, free_port
from tests.reports_helpers import feature
from tests.servers import BIN, ROOT, gunicorn, server_env, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
if NGINX is None:
    pytest.skip("nginx is not installed (make test installs Debian's nginx-light)", allow_module_level=True)

DEPLOY = ROOT / "deploy" / "nginx"
SETTINGS = {
    "SEARCH_BACKEND": "postgresql",
    "WORKER_IN_SERVERS": "false",
    "PROXY_FIX_X_FOR": "1",
    "TRUSTED_PROXIES": "127.0.0.1",
    "ANONYMOUS_SUBMIT_LIMIT": "3",
    "ALERT_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
}
NGINX_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 128; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {snippets}/crisiswiki-maps.conf;
    upstream crisiswiki {{
        server {app_a};
        server {app_b};
    }}
    server {{
        listen 127.0.0.1:{port};
        include {snippets}/crisiswiki-locations.conf;
    }}
}}
"""


class SourceAddress(HTTPAdapter):
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


def crisiswiki(env: dict, *args: str) -> str:
    done = subprocess.run([str(BIN / "crisiswiki"), *args], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def wait_for(check, timeout: float = 30, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(message)
        time.sleep(0.2)


class Site:
    def __init__(self, tmp: Path, database_url: str) -> None:
        self.tmp = tmp
        self.instance = tmp / "instance"
        self.url = database_url
        self.env = server_env(self.instance, database_url, **SETTINGS)
        self.apps = ExitStack()
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        self.instance.mkdir(parents=True)
        crisiswiki(self.env, "init-db", "--no-demo")
        made = crisiswiki(self.env, "create-user", "coord", "--role", "coordinator", "--password", PASSWORD, "--token")
        self.token = re.search(r"API token \(shown once\): (\S+)", made).group(1)
        self.app_a = self.apps.enter_context(gunicorn(self.instance, self.url, workers=2, init=False, **SETTINGS))
        self.app_b = self.apps.enter_context(gunicorn(self.instance, self.url, workers=2, init=False, **SETTINGS))
        worker_log = open(self.tmp / "worker.log", "ab")  # noqa: SIM115 (the process holds it)
        self.worker = subprocess.Popen(
            [str(BIN / "crisiswiki"), "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(self.worker)
        self._start_nginx()

    def _start_nginx(self) -> None:
        snippets = self.tmp / "snippets"
        snippets.mkdir()
        for name in ("crisiswiki-maps.conf", "crisiswiki-proxy.conf", "crisiswiki-locations.conf"):
            text = (DEPLOY / name).read_text()
            text = text.replace("/var/lib/crisiswiki/instance", str(self.instance))
            text = text.replace("/etc/nginx/snippets", str(snippets))
            if build := self.env.get("CRISISWIKI_STATIC_BUILD_DIR"):  # the test session's, as STATIC_BUILD_DIR would
                text = text.replace(f"{self.instance}/static-build/", f"{build.rstrip('/')}/")
            (snippets / name).write_text(text)
        (snippets / "crisiswiki-security-headers.conf").write_text(crisiswiki(self.env, "nginx-headers"))
        port = free_port()
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                tmp=self.tmp,
                snippets=snippets,
                port=port,
                app_a=self.app_a.removeprefix("http://"),
                app_b=self.app_b.removeprefix("http://"),
                user="user root;" if os.geteuid() == 0 else "",
            )
        )
        tested = subprocess.run([NGINX, "-t", "-e", str(self.tmp / "error.log"), "-c", str(conf), "-p", str(self.tmp)])
        assert tested.returncode == 0, (self.tmp / "error.log").read_text()
        self.nginx = subprocess.Popen(
            [NGINX, "-e", str(self.tmp / "error.log"), "-c", str(conf), "-p", str(self.tmp), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(self.nginx)
        self.base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, 20, "nginx did not start")

    def stop_apps(self) -> None:
        self.apps.close()

    def close(self) -> None:
        for process in self.processes:
            stop(process)
        self.apps.close()

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory, postgres_server):
    site = Site(tmp_path_factory.mktemp("deploy"), create_database(postgres_server, "deploy"))
    try:
        site.start()
        made = requests.post(f"{site.base}/api/v1/crises", json={"name": "Quake", "slug": "quake"}, headers=site.auth)
        assert made.status_code == 201, made.text
        page = requests.put(
            f"{site.base}/api/v1/pages/quake/Main",
            json={"body": "# Shelters\nThe stadium takes families.", "title": "Main"},
            headers=site.auth,
        )
        assert page.status_code == 201, page.text
        yield site
    finally:
        site.close()


def test_page_views_and_the_cache_nginx_serves_with_the_apps_headers(site):
    reader = client_from("127.0.0.2")
    first = reader.get(f"{site.base}/c/quake/wiki/Main")
    assert first.status_code == 200 and "The stadium takes families." in first.text
    assert first.headers["X-Page-Cache"] == "miss"  # the app rendered it and stored it
    asked = {"X-Request-ID": "probe-1"}
    from_nginx = reader.get(f"{site.base}/c/quake/wiki/Main", headers=asked)
    from_app = requests.get(f"{site.app_b}/c/quake/wiki/Main", headers=asked)
    assert from_nginx.text == from_app.text == first.text
    compared = {
        "Content-Type",
        "Cache-Control",
        "Vary",
        "ETag",
        "Last-Modified",
        "X-Page-Cache",
        "X-Request-ID",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Frame-Options",
        "Permissions-Policy",
    }
    assert {name: from_nginx.headers.get(name) for name in compared} == {
        name: from_app.headers.get(name) for name in compared
    }
    assert "Strict-Transport-Security" not in from_nginx.headers  # plain HTTP
    revalidated = reader.get(f"{site.base}/c/quake/wiki/Main", headers={"If-None-Match": from_nginx.headers["ETag"]})
    assert revalidated.status_code == 304
    # Languages as the app picks them: the switcher's cookie, or Accept-Language.
    for language, headers in [
        ("fr", {"Accept-Language": "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"}),
        ("es", {"Accept-Language": "es,en;q=0.5"}),
        ("ar", {"Cookie": "lang=ar", "Accept-Language": "fr"}),
        ("en", {"Accept-Language": "de-DE,de;q=0.9"}),  # no exact rule in nginx: the app answers
    ]:
        for _ in range(2):
            answer = reader.get(f"{site.base}/c/quake/", headers=headers)
            assert answer.status_code == 200 and f'lang="{language}"' in answer.text, (language, headers)
    # Credentials are never answered from the cache (nor is any cookie but the language's, by nginx).
    assert "X-Page-Cache" not in reader.get(f"{site.base}/c/quake/wiki/Main", headers=site.auth).headers
    # Static files by nginx, with the security headers.
    css = re.search(r'href="(/static/[^"]+\.css)"', first.text).group(1)
    style = reader.get(f"{site.base}{css}")
    assert style.status_code == 200 and "immutable" in style.headers["Cache-Control"]
    assert style.headers["X-Content-Type-Options"] == "nosniff"


def test_a_save_is_seen_at_once_through_nginx(site):
    reader = client_from("127.0.0.2")
    reader.get(f"{site.base}/c/quake/wiki/Main")
    assert reader.get(f"{site.base}/c/quake/wiki/Main").headers["X-Page-Cache"] == "hit"
    current = requests.get(f"{site.app_a}/api/v1/pages/quake/Main", headers=site.auth).json()
    saved = requests.put(
        f"{site.app_a}/api/v1/pages/quake/Main",
        json={"body": "# Shelters\nThe school is full.", "base_revision": current["base_revision"]},
        headers=site.auth,
    )
    assert saved.status_code == 200, saved.text
    after = reader.get(f"{site.base}/c/quake/wiki/Main")
    assert "The school is full." in after.text


def test_reports_through_nginx_and_across_servers_and_search_by_the_worker(site):
    sent = requests.post(
        f"{site.base}/api/v1/reports", json=feature(title="Bridge down near Jacmel"), headers=site.auth
    )
    assert sent.status_code == 201, sent.text
    on_a = requests.post(f"{site.app_a}/api/v1/reports", json=feature(title="Cholera suspected Carrefour"))
    assert on_a.status_code == 201, on_a.text
    # Sent to one server, found through the other.
    found = requests.get(f"{site.app_b}/api/v1/reports/{on_a.json()['id']}", headers=site.auth)
    assert found.status_code == 200 and found.json()["properties"]["title"] == "Cholera suspected Carrefour"

    def indexed() -> bool:
        hits = requests.get(
            f"{site.base}/api/v1/search", params={"q": "cholera"}, headers={"Cache-Control": "no-cache"}
        )
        return hits.status_code == 200 and hits.json()["total"] >= 1

    # The servers run no background work: the worker process indexes (PostgreSQL full-text).
    wait_for(indexed, 30, "the worker did not index the report")
    ready = requests.get(f"{site.base}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["search_index"]["backend"] == "postgresql"


def test_rate_limits_count_the_real_client_address(site):
    a, b = client_from("127.0.0.3"), client_from("127.0.0.4")
    statuses = [a.post(f"{site.base}/api/v1/reports", json=feature()).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert b.post(f"{site.base}/api/v1/reports", json=feature()).status_code == 201
    forged = a.post(f"{site.base}/api/v1/reports", json=feature(), headers={"X-Forwarded-For": "198.51.100.1"})
    assert forged.status_code == 429
    # Past the proxy, straight to an app server: not a trusted proxy, so its X-Forwarded-For is
    # not believed (each forged address would otherwise get its own limit).
    direct = client_from("127.0.0.5")
    past = [
        direct.post(
            f"{site.app_a}/api/v1/reports", json=feature(), headers={"X-Forwarded-For": f"198.51.100.{n}"}
        ).status_code
        for n in range(4)
    ]
    assert past == [201, 201, 201, 429]


def test_metrics_add_up_every_process_and_are_for_this_host_only(site):
    assert client_from("127.0.0.2").get(f"{site.base}/metrics").status_code == 403  # nginx: deny
    text = requests.get(f"{site.base}/metrics").text
    received = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("crisiswiki_reports_received_total")
    )
    # Reports taken in so far by both servers (4 processes): 2 + 3 + 1 + 3 in the tests above.
    assert received == 9, [line for line in text.splitlines() if "received" in line]
    assert 'crisiswiki_backlog_oldest_seconds{queue="search_index"}' in text
    assert 'endpoint="api.create_report"' in text


def test_alerts_are_delivered_by_the_worker(site, webhook_receiver):  # noqa: F811 (the fixture)
    """A subscription made through nginx, a matching report sent to one app server, the alert
    delivered by the `crisiswiki worker` process (the servers run no background work), signed
    with the subscription's secret, and counted in /metrics."""
    made = requests.post(
        f"{site.base}/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"webhook": webhook_receiver.url}, "sectors": ["health"]},
        headers=site.auth,
    )
    assert made.status_code == 201, made.text
    subscription = made.json()
    assert subscription["state"] == "active"
    sent = requests.post(
        f"{site.app_b}/api/v1/reports",
        json=feature(title="Clinic flooded in Delmas", sector="health"),
        headers=site.auth,
    )
    assert sent.status_code == 201, sent.text
    report_id = sent.json()["id"]

    def delivered() -> bool:
        return any(report_id in [a["id"] for a in r.json.get("alerts", [])] for r in webhook_receiver.received)

    wait_for(
        delivered, 60, f"the worker delivered no alert; worker log: {(site.tmp / 'worker.log').read_text()[-2000:]}"
    )
    [message] = [r for r in webhook_receiver.received if report_id in [a["id"] for a in r.json["alerts"]]]
    expected = hmac.new(
        subscription["webhook_secret"].encode(),
        message.headers["X-Crisiswiki-Timestamp"].encode() + b"." + message.body,
        hashlib.sha256,
    ).hexdigest()
    assert message.headers["X-Crisiswiki-Signature"] == f"sha256={expected}"
    log = requests.get(f"{site.base}/api/v1/subscriptions/{subscription['id']}/deliveries", headers=site.auth)
    assert log.status_code == 200 and log.json()["messages"][0]["state"] == "sent"
    metrics = requests.get(f"{site.base}/metrics").text
    counted = [line for line in metrics.splitlines() if line.startswith("crisiswiki_alert_deliveries_total")]
    assert any('channel="webhook"' in line and float(line.rsplit(" ", 1)[1]) >= 1 for line in counted), counted


def test_nginx_answers_cached_pages_with_the_apps_stopped(site):
    """Last: stops the app servers. nginx answers a cached page without reaching the app."""
    reader = client_from("127.0.0.2")
    reader.get(f"{site.base}/c/quake/wiki/Main")
    warm = reader.get(f"{site.base}/c/quake/wiki/Main")
    site.stop_apps()
    cold = reader.get(f"{site.base}/c/quake/wiki/Main")
    assert cold.status_code == 200 and cold.text == warm.text
    assert cold.headers["X-Page-Cache"] == "hit"
    assert reader.get(f"{site.base}/c/quake/pages").status_code == 502  # never cached: needs the app

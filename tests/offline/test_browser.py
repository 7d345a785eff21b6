"""The offline report app in a real browser (issue 24): Debian's chromium through Playwright, with
service workers on, against gunicorn serving the app as `make run` does (SQLite; the server side
of each step is tested on both databases by tests/offline/test_offline.py and the report tests).

- A volunteer opens the form once online; offline, opens it again in a new tab (from the service
  worker's cache), finds a place by its name in the gazetteer kept on the phone, sees it on the
  offline basemap with the crisis's boundaries, attaches a photo (resized on the phone), sends,
  closes the tab; back online, opening any page of the site: the report is in the API exactly
  once within 30 s, with its photo and at the place chosen. The phone keeps its number, not the
  contact, the photo or (it was sensitive) the place.
- The connection dies half-way through sending a report (nothing stored), then after the server
  took it and before its answer came back (a proxy cuts it each time): the phone keeps it, sends
  it again, and it is still one report.
- Without the service worker (blocked), a report kept offline leaves with the next page visited.
- A new release (a static file changed, so the asset hash) replaces the cache in one step.
- "Forget this phone" leaves no report text in IndexedDB, the caches or localStorage.
- A page behind a login is never served from the cache, during the session or after logout.
- Page weights: the form's first visit, service worker's copy included (the basemap aside), at
  most 150 KB; a later visit at most 5 KB; and a later visit on emulated 3G on a 360 px screen.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.browser_helpers import chromium, require_chromium, watched_page
from tests.servers import BIN, ROOT, gunicorn, server_env, stop

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]
require_chromium()

PASSWORD = "correct horse battery"
BBOX = [-74.5, 17.9, -71.6, 20.1]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "service_workers": "allow",
}
MAX_SIDE = 320  # REPORT_PHOTO_MAX_SIDE for these tests: the 640 x 480 test photo is resized on the phone
FIRST_VISIT_BUDGET = 150 * 1024
LATER_VISIT_BUDGET = 5 * 1024
OUTPUT = ROOT / "docs" if os.environ.get("CRISISWIKI_DOCS") == "1" else ROOT / "test-artifacts"
SCREENSHOTS = OUTPUT / "screenshots"
PAGE_WEIGHTS = OUTPUT / "page-weights.json"
ADM1 = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"adm1_pcode": "HT09", "adm1_name": "Sud-Est Qx"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-73.0, 18.0], [-72.0, 18.0], [-72.0, 18.45], [-73.0, 18.45], [-73.0, 18.0]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"adm1_pcode": "HT01", "adm1_name": "Ouest Qx"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-73.0, 18.45], [-71.7, 18.45], [-71.7, 19.2], [-73.0, 19.2], [-73.0, 18.45]]],
            },
        },
    ],
}

OUTBOX = """() => new Promise((resolve, reject) => {
    const open = indexedDB.open('crisiswiki-outbox');
    open.onerror = () => reject(open.error);
    open.onupgradeneeded = () => {};
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('reports')) { db.close(); resolve([]); return; }
      const request = db.transaction('reports').objectStore('reports').getAll();
      request.onsuccess = () => { db.close(); resolve(request.result.map((r) => ({
        client_id: r.client_id, state: r.state, report_id: r.report_id || null, fields: r.fields || [],
        photos: (r.photos || []).length, reason: r.reason || '', text: JSON.stringify(r) }))); };
    };
  })"""
CACHES = """() => caches.keys().then((names) => Promise.all(names.map((name) => caches.open(name)
    .then((cache) => cache.keys()).then((requests) => [name, requests.map((r) => new URL(r.url).pathname + new URL(r.url).search)]))))"""
CACHED_TEXT = """() => caches.keys().then((names) => Promise.all(names.map((name) => caches.open(name)
    .then((cache) => cache.keys().then((requests) => Promise.all(requests.map((r) => cache.match(r).then((response) => response.text()))))))))
    .then((texts) => texts.flat().join('\\n'))"""


# ---- the site -----------------------------------------------------------------------------------


class Site:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {token}"

    def reports(self, title: str) -> list[dict]:
        response = self.api.get(f"{self.base}/api/v1/reports", params={"crisis": "quake", "q": title, "limit": 100})
        assert response.status_code == 200, response.text
        return [r for r in response.json()["features"] if r["properties"]["title"] == title]


def _accounts(instance: Path, database_url: str) -> str:
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.models import ApiToken

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        cora = create_user("cora", PASSWORD, role="coordinator", display_name="Cora Coordinator")
        create_user("valmira", PASSWORD, role="volunteer", display_name="Valmira Volunteer")
        create_user("ada", PASSWORD, role="admin")  # import-boundaries acts as an administrator
        _, token = ApiToken.issue(cora, "offline")
        db.session.commit()
        db.engine.dispose()
    return token


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A copy of static/ (the release test changes a file of it), the database and the instance."""
    root = tmp_path_factory.mktemp("offline")
    static = root / "static"
    shutil.copytree(ROOT / "static", static)
    instance = root / "instance"
    database_url = f"sqlite:///{root / 'crisiswiki.db'}"
    # Its own static build too: built into the run's shared one (CRISISWIKI_STATIC_BUILD_DIR), a
    # copy whose files differ replaced that build under the other tests' servers (their pages hung
    # or were cut off when a file they had listed vanished).
    settings = {
        "MAP_TILE_URL": "",
        "REPORT_PHOTO_MAX_SIDE": str(MAX_SIDE),
        "STATIC_FOLDER": str(static),
        "STATIC_BUILD_DIR": str(root / "static-build"),
    }
    with gunicorn(instance, database_url, workers=2, **settings) as base:
        token = _accounts(instance, database_url)
        site = Site(base, token)
        created = site.api.post(
            f"{base}/api/v1/crises", json={"name": "Coastal earthquake", "slug": "quake", "bbox": BBOX}
        )
        assert created.status_code == 201, created.text
        boundaries = root / "adm1.geojson"
        boundaries.write_text(json.dumps(ADM1))
        imported = subprocess.run(
            [str(BIN / "crisiswiki"), "import-boundaries", str(boundaries), "--crisis", "quake", "--level", "1"],
            env=server_env(instance, database_url, **settings),
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
        world = {
            "site": site,
            "process": base.process,
            "instance": instance,
            "database_url": database_url,
            "settings": settings,
            "static": static,
        }
        try:
            yield world
        finally:
            if world.get("restarted") is not None:  # the release test started it again
                world["restarted"].__exit__(None, None, None)


@pytest.fixture(scope="module")
def site(world) -> Site:
    return world["site"]


@pytest.fixture(scope="module")
def browser(world):
    with chromium() as browser:
        yield browser


@pytest.fixture
def photo(tmp_path) -> Path:
    from PIL import Image

    path = tmp_path / "bridge.jpg"
    image = Image.new("RGB", (640, 480))
    image.putdata([(x % 256, y % 256, 120) for y in range(480) for x in range(640)])
    image.save(path, "JPEG", quality=80)
    return path


def poll(check, timeout: float = 30.0, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def phone_online_once(browser, base: str, **options):
    """A phone that opened the report form online, until the service worker kept it."""
    context = browser.new_context(**{**PHONE, **options})
    page = watched_page(context, base, route=False)  # Playwright's routing would take the requests from the worker
    page.goto(f"{base}/c/quake/report")
    page.wait_for_selector("#report-form[data-offline-ready=yes]", timeout=30000)
    return context, page


def ignore_offline(problems: list[str]) -> list[str]:
    return [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p and "Failed to fetch" not in p]


def screenshot(page, name: str, **options) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), animations="disabled", caret="hide", **options)


# ---- 1. offline, from a new tab, to the API exactly once ----------------------------------------


def test_a_report_made_offline_in_a_new_tab_arrives_once_with_its_photo_when_any_page_is_opened(browser, site, photo):
    base = site.base
    context, first = phone_online_once(browser, base)
    assert first.evaluate("() => !!navigator.serviceWorker.controller")
    first.close()

    context.set_offline(True)
    tab = watched_page(context, base, route=False)
    tab.goto(f"{base}/c/quake/report")  # from the service worker's cache: there is no network
    assert tab.locator("h1").inner_text() == "Report from the field"
    assert tab.evaluate("() => navigator.onLine") is False
    tab.fill("#title", "Offline: the clinic in Jacmel has no water")
    tab.fill("#description", "Tanks empty since yesterday.")
    tab.select_option("#sector", "wash")
    # A place by its name, from the gazetteer kept on the phone
    tab.fill("#place_name", "jacmel")
    tab.wait_for_function("() => document.getElementById('place-found').textContent.includes('Jacmel')")
    place_id = tab.locator("#report-form").get_attribute("data-place")
    assert place_id and place_id.startswith("geonames:")
    # ... and on the map: the offline basemap, the crisis's boundaries and the place's circle
    tab.locator("#open-map-picker").tap()
    tab.wait_for_selector("#map-picker[data-basemap=drawn] .leaflet-basemap-pane path.basemap-land")
    tab.wait_for_selector("#map-picker[data-admin-areas='2']")
    tab.wait_for_selector("#map-picker path.place-found")
    tab.set_input_files("#photos", str(photo))
    tab.fill("#name", "Ines Offline")
    tab.fill("#contact", "+509 3100 7777")
    tab.check("input[name=sensitive]")
    # From the heading to the place found: the form as it opened offline, the map picker included
    top, bottom = tab.evaluate("""() => [document.querySelector('h1').getBoundingClientRect().top + scrollY - 8,
                                         document.getElementById('place-found').getBoundingClientRect().bottom + scrollY + 12]""")
    screenshot(
        tab, "offline-form-phone.png", full_page=True, clip={"x": 0, "y": top, "width": 360, "height": bottom - top}
    )
    tab.locator("#report-form button[type=submit]").tap()
    queued = tab.locator("#report-form").get_attribute("data-queued")
    tab.wait_for_function("(text) => document.getElementById('draft-status').textContent === text", arg=queued)
    [record] = tab.evaluate(OUTBOX)
    assert record["state"] == "queued" and record["photos"] == 1
    tab.close()
    assert site.reports("Offline: the clinic in Jacmel has no water") == []

    context.set_offline(False)
    other = watched_page(context, base, route=False)
    other.goto(f"{base}/c/quake/")  # any page of the site
    arrived = poll(lambda: site.reports("Offline: the clinic in Jacmel has no water"), timeout=30)
    assert len(arrived) == 1, "the report did not arrive within 30 s"
    time.sleep(1.5)  # the page and the service worker may both have tried: still one
    [stored] = site.reports("Offline: the clinic in Jacmel has no water")
    properties = stored["properties"]
    assert properties["client_id"] == record["client_id"] and properties["sector"] == "wash"
    assert properties["location"]["ref"] == place_id and properties["sensitive"] is True
    assert len(properties["photos"]) == 1
    original = site.api.get(f"{base}/reports/photos/{properties['photos'][0]['id']}/original")
    assert original.status_code == 200
    from io import BytesIO

    from PIL import Image

    assert max(Image.open(BytesIO(original.content)).size) == MAX_SIDE  # resized on the phone

    # The phone keeps the number, not the contact, the name, the photo or the sensitive place
    [kept] = poll(lambda: [r for r in other.evaluate(OUTBOX) if r["state"] == "delivered"]) or [None]
    assert kept["report_id"] == stored["id"] and kept["photos"] == 0
    names = {name for name, _ in kept["fields"]}
    assert not names & {"name", "contact", "lat", "lon", "place_name", "place_choice"}, names
    assert "+509 3100 7777" not in kept["text"] and "Ines Offline" not in kept["text"]

    # "Sent from this phone", offline too
    context.set_offline(True)
    other.goto(f"{base}/sent")
    other.wait_for_selector("#sent[data-ready=yes]")
    item = other.locator(f"li.sent-item[data-client-id='{record['client_id']}']")
    assert item.get_attribute("data-state") == "delivered"
    assert item.locator("a.report-number").inner_text() == str(stored["id"])
    screenshot(other, "offline-sent-phone.png", full_page=True)
    context.set_offline(False)
    assert ignore_offline(other.problems) == []
    context.close()


# ---- 2. the connection dies on the way there, then on the way back -----------------------------


class CuttingProxy:
    """A TCP proxy in front of the server. While `cut_request` is set it passes half of a report's
    POST and drops the connection (the server never gets the whole report); while `cut` is set it
    passes the POST and drops the connection instead of passing the answer back (the report was
    taken, the phone never heard so)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut = False  # the answer to a report's POST is lost
        self.cut_request = False  # a report's POST dies half-way to the server
        self.cuts = 0
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            state = {"cutting": False}
            threading.Thread(target=self._pipe, args=(client, upstream, state, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, state, False), daemon=True).start()

    def _pipe(self, source, sink, state, to_server: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if to_server and self.cut_request and b"POST /c/quake/report" in data:
                    sink.sendall(data[: len(data) // 2])
                    self.cuts += 1
                    break  # half a request: the server stores nothing
                if to_server and self.cut and b"POST /c/quake/report" in data:
                    state["cutting"] = True
                if not to_server and state["cutting"]:
                    self.cuts += 1
                    break  # the server answered: the phone never gets it
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.stopped = True
        self.server.close()


def test_a_send_that_dies_on_the_way_there_or_back_is_still_one_report(browser, site):
    target = int(site.base.rsplit(":", 1)[1])
    proxy = CuttingProxy(target)
    base = f"http://127.0.0.1:{proxy.port}"  # another origin: a phone of its own
    try:
        context, page = phone_online_once(browser, base)
        # First the request dies half-way: nothing reaches the database, the phone keeps it
        proxy.cut_request = True
        page.fill("#title", "Cut on the way back: road to Marigot blocked")
        page.fill("#lat", "18.23")
        page.fill("#lon", "-72.31")
        page.locator("#report-form button[type=submit]").tap()
        queued = page.locator("#report-form").get_attribute("data-queued")
        page.wait_for_function("(text) => document.getElementById('draft-status').textContent === text", arg=queued)
        assert proxy.cuts >= 1 and site.reports("Cut on the way back: road to Marigot blocked") == []
        [record] = page.evaluate(OUTBOX)
        # Then, sent again, it reaches the server and the answer is lost
        proxy.cut_request, proxy.cut, proxy.cuts = False, True, 0
        assert poll(lambda: proxy.cuts >= 1, timeout=30), "the phone did not send it again"
        # The server has it (on a loaded machine the first answer cut may have been a refusal, e.g.
        # a busy server's 503, which the phone retries: every answer stays cut until one stores it)
        assert poll(lambda: len(site.reports("Cut on the way back: road to Marigot blocked")) == 1, timeout=60)
        assert page.evaluate(OUTBOX)[0]["state"] in ("queued", "sending")  # the phone does not know
        proxy.cut = False
        page.goto(f"{base}/c/quake/")  # the next page sends it again
        assert poll(lambda: [r for r in page.evaluate(OUTBOX) if r["state"] == "delivered"], timeout=30)
        [stored] = site.reports("Cut on the way back: road to Marigot blocked")
        assert stored["properties"]["client_id"] == record["client_id"]
        assert page.evaluate(OUTBOX)[0]["report_id"] == stored["id"]
        context.close()
    finally:
        proxy.close()


# ---- 3. without a service worker, the next page sends it ------------------------------------------


def test_without_a_service_worker_the_next_page_visited_sends_the_outbox(browser, site):
    base = site.base
    context = browser.new_context(**{**PHONE, "service_workers": "block"})
    page = watched_page(context, base, route=False)
    page.goto(f"{base}/c/quake/report")
    context.set_offline(True)
    page.fill("#title", "No worker: bakery in Léogâne collapsed")
    page.fill("#place_name", "Léogâne")
    page.locator("#report-form button[type=submit]").tap()
    queued = page.locator("#report-form").get_attribute("data-queued")
    page.wait_for_function("(text) => document.getElementById('draft-status').textContent === text", arg=queued)
    page.close()
    context.set_offline(False)
    other = watched_page(context, base, route=False)
    other.goto(f"{base}/c/quake/wiki")
    assert len(poll(lambda: site.reports("No worker: bakery in Léogâne collapsed"), timeout=30)) == 1
    context.close()


# ---- 4. a new release replaces the cache in one step --------------------------------------------


def test_a_new_release_replaces_the_cache_in_one_step(browser, world, tmp_path):
    site = world["site"]
    context, page = phone_online_once(browser, site.base)
    [(first_cache, first_urls)] = page.evaluate(CACHES)
    first_release = page.locator("#report-form").get_attribute("data-offline-release")
    assert first_cache == f"crisiswiki-{first_release}"
    assert any(re.search(r"/static/css/wiki\.[0-9a-f]{12}\.css$", url) for url in first_urls)

    # The new release: a stylesheet changed, so its hash and the release's; the server restarts
    css = world["static"] / "css" / "wiki.css"
    css.write_text(css.read_text() + "\n/* the next release */\n")
    port = int(site.base.rsplit(":", 1)[1])
    try:
        _restart(world, port)
        page.goto(f"{site.base}/c/quake/report")
        page.wait_for_function(
            "(old) => { const f = document.getElementById('report-form');"
            " return f.dataset.offlineReady === 'yes' && f.dataset.offlineRelease && f.dataset.offlineRelease !== old; }",
            arg=first_release,
            timeout=30000,
        )
        second_release = page.locator("#report-form").get_attribute("data-offline-release")
        caches = poll(lambda: (found := page.evaluate(CACHES)) and len(found) == 1 and found)
        [(second_cache, second_urls)] = caches
        assert second_cache == f"crisiswiki-{second_release}" != first_cache  # the old cache is gone, whole
        new_css = [url for url in second_urls if re.search(r"/static/css/wiki\.[0-9a-f]{12}\.css$", url)]
        assert len(new_css) == 1 and new_css[0] not in first_urls
        # Offline, the form comes from the new release, with the new stylesheet
        context.set_offline(True)
        tab = watched_page(context, site.base, route=False)
        tab.goto(f"{site.base}/c/quake/report")
        assert tab.locator("link[rel=stylesheet]").first.get_attribute("href") == new_css[0]
        context.set_offline(False)
    finally:
        context.close()


def _restart(world, port: int) -> None:
    """Stop the module's gunicorn and start it again on the same port (the same origin for the phone)."""
    stop(world["process"])
    server = gunicorn(world["instance"], world["database_url"], workers=2, init=False, port=port, **world["settings"])
    world["process"] = server.__enter__().process
    world["restarted"] = server


# ---- 5. forget this phone ----------------------------------------------------------------------


def test_forget_this_phone_leaves_no_report_text_on_it(browser, site):
    base = site.base
    context, page = phone_online_once(browser, base)
    page.fill("#title", "Forgettable: shelter list at the church")
    page.fill("#contact", "+509 3999 1234")
    page.locator("#report-form button[type=submit]").tap()
    page.wait_for_url(re.compile(r"/reports/\d+/thanks$"))
    context.set_offline(True)
    page.goto(f"{base}/c/quake/report")
    page.fill("#title", "Forgettable: still waiting to be sent")
    page.fill("#description", "Forgettable details")
    page.locator("#report-form button[type=submit]").tap()
    queued = page.locator("#report-form").get_attribute("data-queued")
    page.wait_for_function("(text) => document.getElementById('draft-status').textContent === text", arg=queued)
    page.fill("#title", "Forgettable: a draft")  # a draft in localStorage
    assert "Forgettable" in json.dumps(page.evaluate(OUTBOX))
    page.goto(f"{base}/sent")
    page.wait_for_selector("#sent[data-ready=yes]")
    assert page.locator("li.sent-item").count() == 2
    page.click("#forget")
    page.click("#forget-confirm")
    page.wait_for_selector("#sent[data-forgotten=yes]")
    held = {
        "indexeddb": json.dumps(page.evaluate(OUTBOX)),
        "caches": page.evaluate(CACHED_TEXT),
        "cache names": json.dumps(page.evaluate("() => caches.keys()")),
        "localStorage": json.dumps(page.evaluate("() => Object.entries(localStorage)")),
        "sessionStorage": json.dumps(page.evaluate("() => Object.entries(sessionStorage)")),
    }
    for where, text in held.items():
        assert "Forgettable" not in text and "+509 3999" not in text, where
    assert held["cache names"] == "[]"
    assert page.evaluate("() => navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0
    context.set_offline(False)
    context.close()


# ---- 6. pages behind a login ----------------------------------------------------------------------


def test_a_page_behind_a_login_is_never_served_from_the_cache(browser, site):
    base = site.base
    context, page = phone_online_once(browser, base)
    page.goto(f"{base}/login")
    page.fill("#username", "valmira")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_selector("nav.account .who")
    page.goto(f"{base}/account")
    assert "Valmira Volunteer" in page.content()
    page.goto(f"{base}/c/quake/report")  # the form, while logged in, refreshes the phone's copy
    page.wait_for_selector("#report-form[data-offline-ready=yes]")
    cached = page.evaluate(CACHED_TEXT)
    assert "Valmira" not in cached and "valmira" not in cached
    assert not any("/account" in url for _, urls in page.evaluate(CACHES) for url in urls)
    page.goto(f"{base}/account")
    page.click("nav.account button[type=submit]")  # log out
    page.wait_for_selector("nav.account a[href^='/login']")
    response = page.goto(f"{base}/account")
    assert not response.from_service_worker and response.status in (200, 401)
    assert "Valmira Volunteer" not in page.content() and page.locator("nav.account .who").count() == 0
    context.set_offline(True)
    with pytest.raises(Exception):  # noqa: B017 (the browser's own error: nothing was kept)
        page.goto(f"{base}/account")
    context.set_offline(False)
    context.close()


# ---- 7. page weights and a later visit on 3G --------------------------------------------------------


class Wire:
    """Bytes over the wire of everything a context fetches, its service worker's requests included
    (Playwright reports those in Chromium): response headers and encoded body of each finished
    request that was not answered by the service worker itself or by the HTTP cache."""

    def __init__(self, context) -> None:
        self.items: list[dict] = []
        context.on("requestfinished", self._finished)

    def _finished(self, request) -> None:
        response = request.response()
        if response is None or response.from_service_worker:
            return
        sizes = request.sizes()
        size = max(0, sizes["responseBodySize"]) + max(0, sizes["responseHeadersSize"])
        path = re.sub(r"\.[0-9a-f]{12}\.", ".", request.url.split("://", 1)[1].split("/", 1)[1])
        self.items.append(
            {
                "path": "/" + path.split("?")[0],
                "bytes": size,
                "status": response.status,
                "by": "service worker" if request.service_worker else "page",
                "encoding": response.headers.get("content-encoding", ""),
            }
        )

    def take(self) -> dict:
        items, self.items = sorted(self.items, key=lambda item: -item["bytes"]), []
        return {"bytes": sum(item["bytes"] for item in items), "requests": len(items), "resources": items}


def basemap(item: dict) -> bool:
    return "/vendor/world-atlas/" in item["path"]


class SlowLink:
    """A 3G link in front of the server, for the page and its service worker alike (Chromium's own
    network emulation applies to a page, not to its service worker): each connection costs a round
    trip to open, each chunk half a round trip each way, and bytes flow at `kbit` per second."""

    def __init__(self, target_port: int, rtt: float = 0.4, kbit: int | None = 400) -> None:
        self.target_port, self.rtt, self.rate = target_port, rtt, (kbit * 1000 / 8 if kbit else None)
        self.down = 0  # bytes the server sent the browser (headers and bodies as on the wire)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._open, args=(client,), daemon=True).start()

    def _open(self, client) -> None:
        time.sleep(self.rtt)  # the TCP handshake
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
        self._pipe(upstream, client, True)

    def _pipe(self, source, sink, down: bool) -> None:
        try:
            while True:
                data = source.recv(16384)
                if not data:
                    break
                delay = self.rtt / 2 + (len(data) / self.rate if self.rate else 0)
                if delay:
                    time.sleep(delay)
                if down:
                    self.down += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.stopped = True
        self.server.close()


def write_page_weights(key: str, weights: dict) -> None:
    PAGE_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(PAGE_WEIGHTS.read_text()) if PAGE_WEIGHTS.exists() else {}
    data.setdefault("pages", {})[key] = weights
    PAGE_WEIGHTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def test_the_offline_form_weighs_little_on_a_first_visit_and_almost_nothing_later(browser, site):
    counter = SlowLink(int(site.base.rsplit(":", 1)[1]), rtt=0, kbit=None)  # counts what reaches the phone
    try:
        _weights(browser, site, f"http://127.0.0.1:{counter.port}", counter)
    finally:
        counter.close()


def _weights(browser, site, base: str, counter: SlowLink) -> None:
    context = browser.new_context(**PHONE)
    wire = Wire(context)
    page = watched_page(context, base, route=False)
    page.goto(f"{base}/c/quake/report")
    page.wait_for_selector("#report-form[data-offline-ready=yes]", timeout=30000)
    page.wait_for_load_state("networkidle")
    time.sleep(0.5)
    first = wire.take()
    first["bytes_on_the_wire"], counter.down = counter.down, 0
    cache = page.evaluate(
        """() => caches.keys().then((names) => Promise.all(names.map((name) => caches.open(name)
        .then((cache) => cache.keys().then((requests) => Promise.all(requests.map((r) => cache.match(r)
        .then((response) => response.arrayBuffer()).then((body) => body.byteLength))))))))
        .then((sizes) => sizes.flat().reduce((a, b) => a + b, 0))"""
    )
    listed = page.evaluate("() => fetch('/c/quake/offline.json').then((r) => r.json())")
    page.close()
    time.sleep(0.5)
    wire.take()
    counter.down = 0
    without_basemap = first["bytes_on_the_wire"] - sum(item["bytes"] for item in first["resources"] if basemap(item))
    assert without_basemap <= FIRST_VISIT_BUDGET, first

    later_page = watched_page(context, base, route=False)
    later_page.goto(f"{base}/c/quake/report")
    later_page.wait_for_selector("#report-form[data-offline-ready=yes]", timeout=30000)
    later_page.wait_for_load_state("networkidle")
    time.sleep(0.5)
    later = wire.take()
    later["bytes_on_the_wire"] = counter.down
    assert later["bytes_on_the_wire"] <= LATER_VISIT_BUDGET and later["bytes"] <= LATER_VISIT_BUDGET, later
    later_page.close()
    context.close()

    # A later visit on 3G (400 kbit/s, 400 ms round trip) on a 360 px screen: usable (the form is
    # drawn and its script ready) within 3 s
    link = SlowLink(int(site.base.rsplit(":", 1)[1]))
    slow_base = f"http://127.0.0.1:{link.port}"
    try:
        slow = browser.new_context(**PHONE)
        warm = watched_page(slow, slow_base, route=False)
        warm.goto(f"{slow_base}/c/quake/report", timeout=120000)
        warm.wait_for_selector("#report-form[data-offline-ready=yes]", timeout=120000)
        warm.close()
        timings = []
        for _ in range(3):
            tab = watched_page(slow, slow_base, route=False)
            started = time.monotonic()
            tab.goto(f"{slow_base}/c/quake/report", wait_until="commit")
            tab.wait_for_function(
                "() => { const f = document.getElementById('report-form');"
                " return f && f.elements.client_id.value !== ''; }"
            )
            timings.append(round(time.monotonic() - started, 2))
            tab.close()
        slow.close()
    finally:
        link.close()
    usable = sorted(timings)[1]
    assert usable < 3.0, timings
    write_page_weights(
        "report_form_offline_app",
        {
            "path": "/c/quake/report",
            "measured_by": (
                "tests/offline/test_browser.py: bytes_on_the_wire counted by a TCP proxy between chromium and "
                "gunicorn (everything the server sent, to the page and its service worker); resources: Playwright's "
                "request sizes (headers and encoded body) of each request not answered by the service worker "
                "(a file the HTTP cache gave the worker still counts its headers there)"
            ),
            "first_visit": first,
            "first_visit_bytes_without_basemap": without_basemap,
            "later_visit": later,
            "cache_bytes_stored": cache,
            "precache_list": {key: listed[key] for key in ("bytes", "basemap_bytes", "budget_bytes", "left_out")},
            "later_visit_3g": {
                "conditions": "400 kbit/s each way, 400 ms round trip (a proxy in front of the server), 360 px screen",
                "usable_seconds": timings,
                "median_seconds": usable,
            },
        },
    )

"""The user journeys of issue 7 in a real browser (Debian's chromium through Playwright): a
coordinator, a volunteer on a phone, a verifier and a responder, each end to end, with axe-core
checking the main pages on the way and a screenshot kept for the README.

The app runs under gunicorn exactly as `make run` serves it, on SQLite only: the journeys are
about what the browser does, and the server side of each step (pages and conflicts, reports,
scores, search, map data) is tested on both SQLite and PostgreSQL by the other modules through
the `app` fixture, so PostgreSQL variants of the journeys would add minutes and little coverage.
The browser may reach only that server (maps have no tile server; other requests are aborted or
cannot resolve), so nothing here touches the internet.

Screenshots and page weights (bytes over the wire of the report form and the crisis map) go to
test-artifacts/ (ignored by git), or, with CRISISWIKI_DOCS=1, to docs/screenshots/*.png and
docs/page-weights.json, which the README shows: `CRISISWIKI_DOCS=1 make test PYTEST_ARGS=tests/test_journeys.py`.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.browser_helpers import chromium, require_chromium, watched_page
from tests.servers import ROOT, gunicorn

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
require_chromium()

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
OUTPUT = ROOT / "docs" if os.environ.get("CRISISWIKI_DOCS") == "1" else ROOT / "test-artifacts"
SCREENSHOTS = OUTPUT / "screenshots"
PAGE_WEIGHTS = OUTPUT / "page-weights.json"
PASSWORD = "correct horse battery"
BBOX = [-74.5, 17.9, -71.6, 20.1]
DESKTOP = {"viewport": {"width": 1200, "height": 900}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
MAX_POINTS = 20  # above this many reports in view the map gets clusters from the server
FORM_BUDGET = 50 * 1024  # the report form (without the map) on a first visit, over the wire
BLOCKING = ("serious", "critical")
AXE_SEEN: dict[str, dict[str, int]] = {}


@dataclass
class Site:
    base: str
    api: requests.Session  # the coordinator's bearer token

    def reports(self, **params) -> list[dict]:
        response = self.api.get(f"{self.base}/api/v1/reports", params={"crisis": "quake", "limit": 1000, **params})
        assert response.status_code == 200, response.text
        return response.json()["features"]

    def post_report(self, title: str, lon: float, lat: float, **properties) -> int:
        response = self.api.post(
            f"{self.base}/api/v1/reports",
            json={
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"title": title, "crisis": "quake", **properties},
            },
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]


PEOPLE = (
    ("cora", "coordinator", "Cora Coordinator"),
    ("colin", "coordinator", "Colin Coordinator"),
    ("vera", "verifier", "Vera Verifier"),
    ("remy", "volunteer", "Rémy Responder"),
)


def _accounts(instance: Path, database_url: str, people=PEOPLE) -> str:
    """The journeys' users (username, role, display name), made in this process (the command
    line starts Python once per user); returns an API token of the first (a coordinator)."""
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
        users = [create_user(name, PASSWORD, role=role, display_name=display) for name, role, display in people]
        _, token = ApiToken.issue(users[0], "journeys")
        db.session.commit()
        db.engine.dispose()
    return token


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    instance = tmp_path_factory.mktemp("journeys")
    database_url = f"sqlite:///{instance / 'crisiswiki.db'}"
    with gunicorn(instance, database_url, workers=2, MAP_TILE_URL="", MAP_MAX_POINTS=str(MAX_POINTS)) as base:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {_accounts(instance, database_url)}"
        created = api.post(f"{base}/api/v1/crises", json={"name": "Coastal earthquake", "slug": "quake", "bbox": BBOX})
        assert created.status_code == 201, created.text
        yield Site(base, api)
    print("\naxe-core violations by impact, per page:")
    for name, counts in AXE_SEEN.items():
        print(f"  {name}: {dict(counts) or 'none'}")


@pytest.fixture(scope="module")
def browser(site):
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


# ---- helpers --------------------------------------------------------------------------------


def check_accessibility(page, name: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation (the others are printed)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated, not added as a <script>: the site's Content-Security-Policy forbids inline scripts.
        page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    violations = result["violations"]
    AXE_SEEN[name] = Counter(v["impact"] for v in violations)
    for v in violations:
        if v["impact"] not in BLOCKING:
            print(f"axe {name}: {v['impact']} {v['id']} ({len(v['nodes'])}x): {v['help']}")
    blocking = [
        f"{v['impact']} {v['id']}: {v['help']} at {[node['target'] for node in v['nodes']][:5]}"
        for v in violations
        if v["impact"] in BLOCKING
    ]
    assert not blocking, f"axe on {name}:\n" + "\n".join(blocking)


def screenshot(page, name: str, **options) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), animations="disabled", caret="hide", **options)


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")  # the form is submitted from the keyboard
    page.wait_for_selector("nav.account .who")


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has the focus: it is reachable from the keyboard, in order."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached with Tab")


def unexpected(problems: list[str], *expected: str) -> list[str]:
    return [p for p in problems if not any(text in p for text in expected)]


def poll(check, timeout: float = 15.0, interval: float = 0.2):
    """The first truthy result of `check()`, for what happens in another process (the search
    index writer, the outbox sending from the page) and has no event to wait on."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


class Transfer:
    """Bytes on the wire for one page load, from Chromium's Network domain: encodedDataLength of
    every finished request (headers included; 0 for what came from the cache)."""

    def __init__(self, context, page) -> None:
        self.requests: dict[str, dict] = {}
        self.cdp = context.new_cdp_session(page)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.send("Network.enable")

    def _response(self, event) -> None:
        response = event["response"]
        if response["url"].startswith("data:"):  # drawn by the browser (its date picker's icon), never fetched
            return
        self.requests[event["requestId"]] = {
            "path": re.sub(r"\.[0-9a-f]{12}\.", ".", urlsplit(response["url"]).path),  # hashed names vary
            "encoding": {k.lower(): v for k, v in response["headers"].items()}.get("content-encoding", ""),
            "cached": bool(response.get("fromDiskCache") or response.get("fromMemoryCache")),
            "bytes": 0,
        }

    def _finished(self, event) -> None:
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["bytes"] = int(event["encodedDataLength"])

    def summary(self) -> dict:
        resources = sorted(self.requests.values(), key=lambda r: -r["bytes"])
        return {"bytes": sum(r["bytes"] for r in resources), "requests": len(resources), "resources": resources}


def measure(context, base: str, path: str, ready: str) -> dict:
    """Transferred bytes of `path` on a first visit (the context's cache empty) and a second one
    (a new tab of the same context, as a volunteer opening the form again)."""
    visits = {}
    for visit in ("first_visit", "second_visit"):
        page = watched_page(context, base, route=False)  # Playwright's routing would turn the HTTP cache off
        transfer = Transfer(context, page)
        page.goto(f"{base}{path}", wait_until="networkidle")
        page.wait_for_selector(ready)
        visits[visit] = transfer.summary()
        assert page.problems == []
        page.close()
    return {"path": path, **visits}


def measure_map_picker(context, base: str, path: str) -> dict:
    """Bytes the report form's map picker fetches when it is opened (Leaflet, the offline basemap),
    on top of the form, on a first visit; and the size the form states under its button."""
    page = watched_page(context, base, route=False)
    transfer = Transfer(context, page)
    page.goto(f"{base}{path}", wait_until="networkidle")
    form = transfer.summary()
    stated = page.locator("#map-picker-size").inner_text()
    seen = set(transfer.requests)
    page.locator("#open-map-picker").tap()
    page.wait_for_selector("#map-picker[data-basemap=drawn]")
    page.wait_for_load_state("networkidle")
    added = {key: value for key, value in transfer.requests.items() if key not in seen}
    resources = sorted(added.values(), key=lambda r: -r["bytes"])
    assert page.problems == []
    page.close()
    return {
        "path": path,
        "form_first_visit_bytes": form["bytes"],
        "stated": stated,
        "opening_the_map": {
            "bytes": sum(r["bytes"] for r in resources),
            "requests": len(resources),
            "resources": resources,
        },
    }


def write_page_weights(key: str, weights: dict) -> None:
    PAGE_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(PAGE_WEIGHTS.read_text()) if PAGE_WEIGHTS.exists() else {}
    data["measured_by"] = (
        "tests/test_journeys.py: Chromium's Network.loadingFinished encodedDataLength (bytes over the "
        "wire, response headers included), app under gunicorn on loopback, static files from WhiteNoise"
    )
    data.setdefault("pages", {})[key] = weights
    PAGE_WEIGHTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# ---- 1. the coordinator ---------------------------------------------------------------------

SHELTERS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Shelter: Lycée Pétion", "marker-color": "#0b5cad"},
            "geometry": {"type": "Point", "coordinates": [-72.33, 18.54]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Camp Champ de Mars", "fill": "#1a7f37", "fill-opacity": 0.3},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-72.36, 18.53], [-72.32, 18.53], [-72.32, 18.56], [-72.36, 18.56], [-72.36, 18.53]]],
            },
        },
    ],
}
CONFLICT = re.compile(r"<<<<<<< [^\n]*\n.*?=======\n.*?>>>>>>> [^\n]*\n", re.DOTALL)


def test_coordinator_writes_a_sitrep_with_photo_layer_and_map_and_resolves_an_edit_conflict(
    browser, site, photo, tmp_path
):
    base = site.base
    context = browser.new_context(**DESKTOP)
    page = watched_page(context, base)
    page.goto(f"{base}/login")
    check_accessibility(page, "login")
    login(page, base, "cora")

    page.goto(f"{base}/crises/new")
    check_accessibility(page, "new crisis")
    page.fill("#name", "Southern cyclone")
    page.fill("#slug", "cyclone")
    page.fill("#bbox", ",".join(str(v) for v in BBOX))
    page.fill("#start_date", "2024-03-01")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/c/cyclone/")
    check_accessibility(page, "crisis home")

    # The situation report from the template
    page.click("a[href='/c/cyclone/new-sitrep']")
    assert page.input_value("#title") == "Situation Report No. 1"
    body = page.input_value("#body")
    assert "## Highlights" in body and "### Water, Sanitation and Hygiene" in body
    check_accessibility(page, "new sitrep")
    body = body.replace(
        "## Highlights\n- \n- \n- \n",
        "## Highlights\n- The coast road is cut at Km 12.\n"
        "- 2,300 people sheltering in schools.\n- Cholera cases reported in Carrefour.\n",
        1,
    )
    body = body.replace("## Situation overview\n\n", "## Situation overview\nRoads to the coast are cut.\n\n", 1)
    page.fill("#body", body)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/c/cyclone/wiki/Situation_Report_No\._1$"))
    sitrep = page.url
    slug = sitrep.rsplit("/", 1)[1]

    # A photo, attached to the page
    page.set_input_files("#file", str(photo))
    page.click("#attachments button[type=submit]")
    page.wait_for_selector("#attachments img[alt='bridge.jpg']")
    image_markdown = re.search(r"!\[bridge\.jpg\]\([^)]+\)", page.locator(".flash").inner_text()).group(0)

    # A GeoJSON layer, for the page
    geojson = tmp_path / "shelters.geojson"
    geojson.write_text(json.dumps(SHELTERS))
    page.goto(f"{base}/c/cyclone/layers/new?page={slug}")
    check_accessibility(page, "layer upload")
    page.fill("#title", "Shelters")
    page.fill("#source", "Shelter cluster")
    page.set_input_files("#file", str(geojson))
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/c/cyclone/layers/\d+$"))
    layer_id = int(page.url.rsplit("/", 1)[1])

    # The map and the photo go into the page
    page.goto(f"{sitrep}/edit")
    check_accessibility(page, "page edit")
    body = page.input_value("#body")
    block = f"```map\ncrisis: cyclone\nlayers: {layer_id}\ncenter: 18.545, -72.34\nzoom: 13\nheight: 320\n```\n\n"
    body = body.replace("## Key figures", block + "## Key figures", 1)
    body = body.replace("Roads to the coast are cut.\n", f"Roads to the coast are cut.\n\n{image_markdown}\n", 1)
    page.fill("#body", body)
    page.fill("#comment", "Map of the shelters and a photo")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(sitrep)
    page.wait_for_selector("div.crisiswiki-map.leaflet-container path.leaflet-interactive")
    assert page.locator(".wiki-content img[alt='bridge.jpg']").count() == 1

    # Two coordinators edit the same line; the second resolves the conflict
    other_context = browser.new_context(**DESKTOP)
    other = watched_page(other_context, base)
    login(other, base, "colin")
    page.goto(f"{sitrep}/edit")
    other.goto(f"{sitrep}/edit")
    page.fill(
        "#body",
        page.input_value("#body").replace(
            "Roads to the coast are cut.", "Roads to the coast are cut; the bridge at Km 12 is down.", 1
        ),
    )
    page.fill("#comment", "Bridge at Km 12")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(sitrep)
    other.fill(
        "#body",
        other.input_value("#body").replace(
            "Roads to the coast are cut.", "Roads to the coast are cut; fuel is short in Jacmel.", 1
        ),
    )
    other.fill("#comment", "Fuel in Jacmel")
    other.click("form.stack button[type=submit]")
    other.wait_for_selector("section.conflict h2#conflict-title")
    check_accessibility(other, "edit conflict")
    merged = other.input_value("#body")
    assert "<<<<<<<" in merged and "the bridge at Km 12 is down" in merged and "fuel is short in Jacmel" in merged
    resolved = CONFLICT.sub(
        "Roads to the coast are cut; the bridge at Km 12 is down and fuel is short in Jacmel.\n", merged, count=1
    )
    assert "<<<<<<<" not in resolved and ">>>>>>>" not in resolved
    other.fill("#body", resolved)
    other.fill("#comment", "Fuel in Jacmel (merged with the bridge)")
    other.click("form.stack button[type=submit]")
    other.wait_for_url(sitrep)
    assert "the bridge at Km 12 is down and fuel is short in Jacmel" in other.locator(".wiki-content").inner_text()

    page.goto(f"{sitrep}/history")
    history = page.locator("main").inner_text()
    assert "Bridge at Km 12" in history and "Fuel in Jacmel (merged with the bridge)" in history
    assert "Cora Coordinator" in history and "Colin Coordinator" in history

    page.goto(sitrep)
    embed = page.wait_for_selector("div.crisiswiki-map.leaflet-container")
    page.wait_for_selector("div.crisiswiki-map path.leaflet-interactive")
    page.wait_for_function("() => document.querySelector('div.crisiswiki-map').dataset.total !== undefined")
    assert embed.evaluate("el => el.getBoundingClientRect().height") == pytest.approx(320, abs=2)
    check_accessibility(page, "page view with map")
    screenshot(page, "coordinator-page.png")
    # A page answering 409 is logged by the browser as a failed resource: that is the conflict itself.
    assert unexpected(other.problems, "409") == [] and page.problems == []
    other_context.close()
    context.close()


# ---- 2. the volunteer on a phone --------------------------------------------------------------


def test_volunteer_on_a_phone_reports_with_and_without_javascript_and_while_offline(browser, site, photo):
    base = site.base
    # Without the service worker: these are the form's own weights and behaviour; the offline app
    # (what the worker keeps, a form opened with no network) is tests/offline/test_browser.py's.
    phone = browser.new_context(
        **PHONE,
        geolocation={"latitude": 18.5401, "longitude": -72.3402},
        permissions=["geolocation"],
        service_workers="block",
    )

    # What the form and the map weigh over the wire, first and second visit
    form_weight = measure(phone, base, "/c/quake/report", "#report-form")
    assert form_weight["first_visit"]["bytes"] < FORM_BUDGET, form_weight
    write_page_weights("report_form", form_weight)
    picker_weight = measure_map_picker(phone, base, "/c/quake/report")
    write_page_weights("report_form_map_picker", picker_weight)
    # The form says what opening the map costs (brotli sizes of the files it fetches, as served)
    stated = picker_weight["stated"]
    opened = picker_weight["opening_the_map"]["bytes"]
    assert 150 * 1024 < opened < 400 * 1024 and stated, picker_weight

    # JavaScript on: the phone's location, then a tap on the map picker
    page = watched_page(phone, base)
    page.goto(f"{base}/c/quake/report")
    check_accessibility(page, "report form (phone)")
    assert page.locator("#map-picker").is_hidden()
    page.locator("#title").tap()
    page.keyboard.type("Bridge on the coast road collapsed")
    page.fill("#description", "The bridge at Km 12 fell into the river; no cars can pass.")
    page.select_option("#sector", "logistics")
    page.locator("#use-location").tap()
    page.wait_for_function("() => document.getElementById('lat').value !== ''")
    assert (page.input_value("#lat"), page.input_value("#lon")) == ("18.54010", "-72.34020")
    page.locator("#open-map-picker").tap()
    picker = page.wait_for_selector("#map-picker.leaflet-container")
    page.wait_for_selector("#map-picker[data-basemap=drawn] .leaflet-basemap-pane path.basemap-land")
    assert page.locator("#open-map-picker").is_hidden()
    page.wait_for_selector("#map-picker .leaflet-marker-icon")  # the phone's position, shown
    box = picker.bounding_box()
    page.locator("#map-picker").tap(position={"x": box["width"] * 0.3, "y": box["height"] * 0.6})
    page.wait_for_function("() => document.getElementById('lat').value !== '18.54010'")
    tapped = float(page.input_value("#lat")), float(page.input_value("#lon"))
    assert BBOX[1] < tapped[0] < BBOX[3] and BBOX[0] < tapped[1] < BBOX[2]
    check_accessibility(page, "report form with the map picker (phone)")
    page.set_input_files("#photos", str(photo))
    client_id = page.input_value("input[name=client_id]")
    # From the heading to the coordinates: the form as the volunteer fills it, map picker included
    top, bottom = page.evaluate("""() => [document.querySelector('h1').getBoundingClientRect().top + scrollY - 8,
                                          document.getElementById('lon').getBoundingClientRect().bottom + scrollY + 12]""")
    screenshot(
        page, "volunteer-form-phone.png", full_page=True, clip={"x": 0, "y": top, "width": 360, "height": bottom - top}
    )
    page.locator("#report-form button[type=submit]").tap()
    page.wait_for_url(re.compile(r"/reports/\d+/thanks(#content)?$"))
    check_accessibility(page, "report thanks (phone)")
    [stored] = site.reports(q="Bridge on the coast road collapsed")
    assert stored["properties"]["client_id"] == client_id and stored["properties"]["sector"] == "logistics"
    assert len(stored["properties"]["photos"]) == 1
    assert stored["geometry"]["coordinates"] == pytest.approx([tapped[1], tapped[0]], abs=1e-4)
    assert page.problems == []

    # JavaScript off: the plain HTML form, filled and sent from the keyboard
    plain_context = browser.new_context(**PHONE, java_script_enabled=False)
    plain = watched_page(plain_context, base)
    plain.goto(f"{base}/c/quake/report")
    assert plain.locator("#use-location").is_hidden() and plain.locator("#open-map-picker").is_hidden()
    plain.set_input_files("#photos", str(photo))  # a file chooser is the one thing typed keys cannot fill
    plain.focus("body")
    plain.keyboard.press("Tab")  # the skip link ...
    plain.keyboard.press("Enter")  # ... to the content
    for selector, text in (
        ("#title", "Water point at Carrefour dry"),
        ("#description", "The pump is broken."),
        ("#lat", "18.53"),
        ("#lon", "-72.41"),
    ):
        tab_to(plain, selector)
        plain.keyboard.type(text)
    plain.keyboard.press("Enter")
    plain.wait_for_url(re.compile(r"/reports/\d+/thanks(#content)?$"))
    [stored] = site.reports(q="Water point at Carrefour dry")
    assert stored["geometry"]["coordinates"] == [-72.41, 18.53] and len(stored["properties"]["photos"]) == 1
    assert stored["properties"]["channel"] == "web"
    plain_context.close()

    # Offline: the form keeps the report in the outbox and sends it, once, when the phone is back online
    page.goto(f"{base}/c/quake/report")
    page.fill("#title", "Shelter at the stadium is full")
    page.fill("#lat", "18.55")
    page.fill("#lon", "-72.30")
    phone.set_offline(True)
    page.locator("#report-form button[type=submit]").tap()
    queued = page.locator("#report-form").get_attribute("data-queued")
    page.wait_for_function("(text) => document.getElementById('draft-status').textContent === text", arg=queued)
    outbox = """() => new Promise((resolve, reject) => {
        const open = indexedDB.open('crisiswiki-outbox');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction('reports').objectStore('reports').getAll();
          request.onsuccess = () => { open.result.close();
            resolve(request.result.filter((item) => item.state === 'queued' || item.state === 'sending').map((item) => item.client_id)); };
        };
      })"""
    assert len(page.evaluate(outbox)) == 1
    # A copy of the outbox as it was, to send it again later
    page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('crisiswiki-outbox');
        open.onsuccess = () => {
          const request = open.result.transaction('reports').objectStore('reports').getAll();
          request.onsuccess = () => { window.__outboxCopy = request.result; open.result.close(); resolve(); };
        };
      })""")
    assert site.reports(q="Shelter at the stadium is full") == []
    phone.set_offline(False)
    assert poll(lambda: page.evaluate(outbox) == []), "the outbox was not sent"
    assert len(site.reports(q="Shelter at the stadium is full")) == 1

    # The page sends the same entry again (as after a reply lost on the way): still one report
    page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('crisiswiki-outbox');
        open.onsuccess = () => {
          const tx = open.result.transaction('reports', 'readwrite');
          window.__outboxCopy.forEach((item) => tx.objectStore('reports').put(item));
          tx.oncomplete = () => { open.result.close(); resolve(); };
        };
      })""")
    assert len(page.evaluate(outbox)) == 1
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    assert poll(lambda: page.evaluate(outbox) == []), "the copy was not sent"
    assert len(site.reports(q="Shelter at the stadium is full")) == 1
    assert unexpected(page.problems, "ERR_INTERNET_DISCONNECTED") == []
    phone.close()

    # The coordinator's queue has all three
    desk = browser.new_context(**DESKTOP)
    coordinator = watched_page(desk, base)
    login(coordinator, base, "cora")
    coordinator.goto(f"{base}/c/quake/reports")
    queue = coordinator.locator("table.reports").inner_text()
    for title in (
        "Bridge on the coast road collapsed",
        "Water point at Carrefour dry",
        "Shelter at the stadium is full",
    ):
        assert title in queue
    check_accessibility(coordinator, "reports queue")
    assert coordinator.problems == []
    desk.close()


# ---- 3. the verifier ----------------------------------------------------------------------------


def popup_score(page, base: str, lat: float, lon: float) -> str:
    """The score the crisis map shows for the one report at (lat, lon): in its popup, on its marker."""
    page.goto(f"{base}/c/quake/map?lat={lat}&lon={lon}&zoom=14")
    marker = page.wait_for_selector("#crisis-map .map-marker.by-score")
    assert marker.inner_text().startswith("N")  # the status as a letter (new) ...
    badge = marker.query_selector(".map-marker-score").inner_text()  # ... and the score as text
    marker.click()
    popup = page.wait_for_selector(".leaflet-popup-content").inner_text()
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )  # faded in
    score = re.search(r"score (\d\.\d\d)", popup).group(1)
    assert badge == f"{round(float(score) * 100)}%"  # the same score as text on the marker: not colour alone
    return score


def popup_not_assessed(page, base: str, lat: float, lon: float) -> None:
    """The crisis map draws the one report at (lat, lon) as not yet assessed: a neutral marker with
    its status letter and no score, said in words in its title and popup, and in the legend."""
    page.goto(f"{base}/c/quake/map?lat={lat}&lon={lon}&zoom=14")
    marker = page.wait_for_selector("#crisis-map .map-marker.not-assessed")
    assert marker.inner_text().startswith("N") and marker.query_selector(".map-marker-score") is None
    assert "by-score" not in marker.get_attribute("class")
    assert "not yet assessed" in page.locator("#crisis-map .leaflet-marker-icon").first.get_attribute("title")
    assert page.locator(".map-assessment-legend").is_visible()
    marker.click()
    popup = page.wait_for_selector(".leaflet-popup-content").inner_text()
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )  # faded in
    assert "not yet assessed" in popup and "score" not in popup


def test_verifier_grades_a_report_from_the_queue_and_its_score_on_the_map_changes(browser, site):
    lat, lon = 19.95, -73.95  # alone in the north-west of the crisis area
    report_id = site.post_report(
        "Landslide blocks the road to Jean-Rabel",
        lon,
        lat,
        sector="logistics",
        source={"name": "Driver", "channel": "sms"},
    )
    # Scored, and with nothing known of it (a first-time source, no other report): no score, no verdict.
    assert poll(
        lambda: "score_updated_at" in site.api.get(f"{site.base}/api/v1/reports/{report_id}").json()["properties"]
    )
    properties = site.api.get(f"{site.base}/api/v1/reports/{report_id}").json()["properties"]
    assert properties["assessment"]["state"] == "not_assessed" and properties["score"] is None
    context = browser.new_context(**DESKTOP)
    page = watched_page(context, site.base)
    login(page, site.base, "vera")
    popup_not_assessed(page, site.base, lat, lon)
    check_accessibility(page, "crisis map (verifier)")

    page.goto(f"{site.base}/c/quake/verify")
    row = page.locator(f"tr[data-report-id='{report_id}']")
    assert "Landslide blocks the road to Jean-Rabel" in row.inner_text()
    assert "Not yet assessed" in row.inner_text() and row.locator("td.cell.selected").count() == 0
    check_accessibility(page, "verify queue")
    screenshot(page, "verifier-queue.png")
    row.locator("a").first.click()
    page.wait_for_url(f"{site.base}/reports/{report_id}")
    assert "Not yet assessed" in page.locator("section.validation .score-line").inner_text()
    check_accessibility(page, "report page (verifier)")

    # Nothing is preselected: graded from the keyboard, B (usually reliable), 2 (probably true)
    assert page.locator("form.assess input[type=radio]:checked").count() == 0
    tab_to(page, "#a-reliability-A")
    page.keyboard.press("ArrowDown")
    tab_to(page, "#a-credibility-1")
    page.keyboard.press("ArrowDown")
    tab_to(page, "#a-note")
    page.keyboard.type("Confirmed by the road authority.")
    tab_to(page, "form.assess button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("ol.assessments")
    assert "B2" in page.locator(".flash").inner_text()

    after = popup_score(page, site.base, lat, lon)
    assert float(after) > 0.5, after
    assert page.problems == []
    context.close()


# ---- 4. the responder ---------------------------------------------------------------------------


def test_responder_searches_filters_the_map_opens_a_report_from_a_cluster_and_shares_the_view(browser, site):
    # 30 health reports of March 2024 in the south-west, with others that the filters leave out
    for i in range(30):
        title = "Cholera cases at the Léogâne clinic" if i == 0 else f"Health post {i} short of supplies"
        site.post_report(
            title,
            -73.6 + (i % 6) * 0.2,
            18.2 + (i // 6) * 0.17,
            sector="health",
            occurred_at=f"2024-03-{1 + i % 20:02d}T10:00:00Z",
        )
    for i in range(8):
        site.post_report(
            f"Water trucking point {i}", -73.5 + i * 0.1, 18.3, sector="wash", occurred_at="2024-03-05T10:00:00Z"
        )
    for i in range(5):
        site.post_report(
            f"Earlier health alert {i}", -73.5 + i * 0.1, 18.5, sector="health", occurred_at="2024-02-10T10:00:00Z"
        )
    fresh = browser.new_context(**DESKTOP)
    write_page_weights("crisis_map", measure(fresh, site.base, "/c/quake/map", "#crisis-map[data-total]"))
    fresh.close()

    context = browser.new_context(**DESKTOP)
    page = watched_page(context, site.base)
    login(page, site.base, "remy")
    page.goto(f"{site.base}/c/quake/")
    page.fill("#site-search-q", "cholera")
    page.press("#site-search-q", "Enter")
    page.wait_for_url(re.compile(r"/search\?"))

    def found():
        if page.locator("ol.search-results li.result-report").count():
            return True
        page.reload()  # the search index is written by the server's writer thread, just after the report
        return False

    assert poll(found, timeout=20), "the report never appeared in the search results"
    assert "Cholera cases at the Léogâne clinic" in page.locator("ol.search-results").inner_text()
    check_accessibility(page, "search")

    page.goto(f"{site.base}/c/quake/map")
    page.wait_for_function("() => document.querySelector('#crisis-map').dataset.total !== undefined")
    page.select_option("#mf-sector", "health")
    page.fill("#mf-since", "2024-03-01")
    page.fill("#mf-until", "2024-03-31")
    page.click("#map-filters button[type=submit]")
    page.wait_for_function("() => document.querySelector('#crisis-map').dataset.total === '30'")
    assert page.locator("#crisis-map").get_attribute("data-mode") == "clusters"
    page.wait_for_function("() => document.querySelectorAll('#map-list li').length === 30")
    page.wait_for_function("() => new URL(location.href).searchParams.get('sector') === 'health'")
    check_accessibility(page, "crisis map (filtered, clusters)")
    screenshot(page, "crisis-map.png")

    # Into a cluster until single reports show, then one of them
    for _ in range(6):
        if page.locator("#crisis-map .map-marker").count():
            break
        zoom = parse_qs(urlsplit(page.url).query)["zoom"][0]
        page.locator("#crisis-map .map-cluster, #crisis-map .marker-cluster").first.click()
        page.wait_for_function(f"() => new URL(location.href).searchParams.get('zoom') !== '{zoom}'")
        page.wait_for_function("() => !document.getElementById('map-status').textContent.endsWith('…')")
    tab_to(page, "#crisis-map .map-marker-wrap", limit=80)  # markers are reached and opened from the keyboard too
    page.keyboard.press("Enter")
    popup_title = page.wait_for_selector(".leaflet-popup-content .map-popup-title")
    title = popup_title.inner_text()
    shared = page.url  # the view, as a responder would copy it from the address bar
    query = parse_qs(urlsplit(shared).query)
    assert query["sector"] == ["health"] and query["since"] == ["2024-03-01"] and query["until"] == ["2024-03-31"]
    total = page.locator("#crisis-map").get_attribute("data-total")
    popup_title.click()
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    assert page.locator("h1").inner_text() == title
    check_accessibility(page, "report page")

    # Someone else opens the shared address: the same place, zoom and filters
    colleague_context = browser.new_context(**DESKTOP)
    colleague = watched_page(colleague_context, site.base)
    colleague.goto(shared)
    colleague.wait_for_function(f"() => document.querySelector('#crisis-map').dataset.total === '{total}'")
    again = parse_qs(urlsplit(colleague.url).query)
    assert {key: again[key] for key in ("lat", "lon", "zoom")} == {key: query[key] for key in ("lat", "lon", "zoom")}
    assert colleague.input_value("#mf-sector") == "health"
    assert (colleague.input_value("#mf-since"), colleague.input_value("#mf-until")) == ("2024-03-01", "2024-03-31")
    assert colleague.locator("#map-list li a", has_text=title).count() == 1
    assert page.problems == [] and colleague.problems == []
    colleague_context.close()
    context.close()

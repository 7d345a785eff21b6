"""The README's walkthroughs, in chromium, on the demo as `make run` loads it: each user's main
pages open without errors, show the demo's data, and are kept as screenshots for the README
(test-artifacts/screenshots/, or docs/screenshots/ with CRISISWIKI_DOCS=1:
`CRISISWIKI_DOCS=1 .venv/bin/pytest tests/demo/test_walkthrough.py`).

The server is gunicorn as `make run` serves it, with the validation plugin from its entry point
and no tile server (the offline basemap); the browser may reach only it.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.browser_helpers import chromium, require_chromium, watched_page
from tests.servers import BIN, ROOT, gunicorn, server_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]
require_chromium()

OUTPUT = ROOT / "docs" if os.environ.get("CRISISWIKI_DOCS") == "1" else ROOT / "test-artifacts"
SCREENSHOTS = OUTPUT / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
LOGIN = re.compile(r"username (\S+), password (\S+)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    instance = tmp_path_factory.mktemp("demo-walkthrough")
    database_url = f"sqlite:///{instance / 'crisiswiki.db'}"
    env = server_env(instance, database_url, MAP_TILE_URL="")
    loaded = subprocess.run(
        [str(BIN / "crisiswiki"), "init-db"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert loaded.returncode == 0, loaded.stderr
    logins = dict(
        LOGIN.findall(
            subprocess.run(
                [str(BIN / "crisiswiki"), "demo-login"], env=env, cwd=ROOT, capture_output=True, text=True
            ).stdout
        )
    )
    with gunicorn(instance, database_url, workers=2, init=False, MAP_TILE_URL="") as base:
        yield {"base": base, "logins": logins, "output": loaded.stdout}


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as browser:
        yield browser


def shot(page, name: str, **options) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), animations="disabled", caret="hide", **options)


def logged_in(browser, site, username: str, **context):
    page = watched_page(browser.new_context(**(context or DESKTOP)), site["base"])
    page.goto(f"{site['base']}/login")
    page.fill("#username", username)
    page.fill("#password", site["logins"][username])
    page.press("#password", "Enter")
    page.wait_for_selector("nav.account .who")
    return page


def test_coordinator_sitrep_with_live_maps_and_the_inbox(browser, site):
    page = logged_in(browser, site, "cora")
    page.goto(f"{site['base']}/c/yolanda-2013/wiki/Situation_Report_No._2")
    page.wait_for_selector("div.crisiswiki-map[data-basemap=drawn]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('div.crisiswiki-map')].every((m) => m.dataset.total !== undefined)"
    )
    page.wait_for_selector("div.crisiswiki-map path.leaflet-interactive")  # a layer's sites
    shot(page, "demo-coordinator-sitrep.png", full_page=True)
    page.goto(f"{site['base']}/c/yolanda-2013/inbox")
    assert page.locator("text=+63 918 555").count() > 0
    shot(page, "demo-coordinator-inbox.png")
    assert page.problems == []


def test_volunteer_reports_on_a_phone_with_the_offline_map(browser, site):
    page = logged_in(browser, site, "val", **PHONE)
    page.goto(f"{site['base']}/c/yolanda-2013/report")
    assert "downloads about" in page.locator("#map-picker-size").inner_text()
    page.fill("#title", "Water point at the Astrodome broken")
    page.locator("#open-map-picker").tap()
    page.wait_for_selector("#map-picker[data-basemap=drawn] path.basemap-admin")  # land and the regions
    shot(page, "demo-volunteer-form.png", full_page=True)
    assert page.problems == []


def test_verifier_queue_with_scores_and_gradings(browser, site):
    page = logged_in(browser, site, "vera")
    page.goto(f"{site['base']}/c/yolanda-2013/verify")
    assert page.locator("text=Tacloban").count() > 0
    shot(page, "demo-verifier-queue.png")
    assert page.problems == []


def test_responder_map_and_alerts(browser, site):
    page = logged_in(browser, site, "remy")
    page.goto(f"{site['base']}/c/yolanda-2013/map?lat=11.1&lon=124.9&zoom=8&sector=health")
    page.wait_for_selector("#crisis-map[data-basemap=drawn]")
    page.wait_for_function("() => document.querySelector('#crisis-map').dataset.total !== undefined")
    assert int(page.locator("#crisis-map").get_attribute("data-total")) > 10
    page.wait_for_selector("#crisis-map[data-admin-areas='17']")
    shot(page, "demo-responder-map.png")
    page.goto(f"{site['base']}/account/alerts")
    assert page.locator("text=PH08").count() > 0
    shot(page, "demo-responder-alerts.png")
    assert page.problems == []


def test_administrator_users_and_health(browser, site):
    page = logged_in(browser, site, "admin")
    page.goto(f"{site['base']}/admin/users")
    for username in ("cora", "vera", "val", "remy"):
        assert page.locator(f"text={username}").count() > 0
    shot(page, "demo-admin-users.png")
    assert page.problems == []

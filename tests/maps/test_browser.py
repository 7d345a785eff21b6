"""The crisis map in a real browser (Debian's chromium through Playwright): it draws reports and
layers on the offline basemap (no tile server, no network: the land is there), clusters above the threshold, keeps the view in the URL, keeps
script out of popups, and live maps embedded in pages work.

The app runs under gunicorn exactly as `make run` serves it; the browser may reach only that
server (every other request is aborted), so nothing here touches the internet.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.browser_helpers import chromium, keep_local, require_chromium, watched_page
from tests.servers import BIN, ROOT, gunicorn, server_env

XSS = "<img src=x onerror=window.__pwned=1>"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
require_chromium()


def _token(instance: Path, database_url: str, username: str, role: str) -> str:
    env = server_env(instance, database_url)
    result = subprocess.run(
        [
            str(BIN / "crisiswiki"),
            "create-user",
            username,
            "--role",
            role,
            "--password",
            "correct horse battery",
            "--token",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return result.stdout.strip().split()[-1]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _logged_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    login = session.get(f"{base}/login")
    response = session.post(
        f"{base}/login",
        data={"csrf_token": _csrf(login.text), "username": username, "password": "correct horse battery"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return session


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A served site with a crisis, reports (one with script in its title), a sensitive report,
    a styled layer with script in a property, and a page embedding a map."""
    instance = tmp_path_factory.mktemp("browser-map")
    database_url = f"sqlite:///{instance / 'crisiswiki.db'}"
    with gunicorn(instance, database_url, workers=2, MAP_TILE_URL="", MAP_MAX_POINTS="25") as base:
        token = _token(instance, database_url, "mapper", "coordinator")
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        created = api.post(
            f"{base}/api/v1/crises", json={"name": "Quake", "slug": "quake", "bbox": [-74.5, 17.9, -71.6, 20.1]}
        )
        assert created.status_code == 201, created.text
        # Reports come in anonymously, as from the field (the default allows it).
        for i in range(12):  # near Port-au-Prince
            title = XSS if i == 0 else f"Report {i}"
            response = requests.post(
                f"{base}/api/v1/reports",
                json={
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [-72.34 + (i % 4) * 0.01, 18.54 + (i // 4) * 0.01]},
                    "properties": {"title": title, "crisis": "quake", "sector": "health"},
                },
            )
            assert response.status_code == 201, response.text
        report_ids = [r["id"] for r in api.get(f"{base}/api/v1/reports?crisis=quake&limit=100").json()["features"]]
        assert api.patch(f"{base}/api/v1/reports/{report_ids[0]}", json={"status": "verified"}).status_code == 200
        layer = api.post(
            f"{base}/api/v1/layers",
            json={
                "title": "Camps",
                "crisis": "quake",
                "style": {"stroke": "#c00"},
                "geojson": {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"name": XSS, "fill": "#0a0", "fill-opacity": 0.4},
                            "geometry": {
                                "type": "Polygon",
                                "coordinates": [
                                    [[-72.6, 18.4], [-72.5, 18.4], [-72.5, 18.5], [-72.6, 18.5], [-72.6, 18.4]]
                                ],
                            },
                        },
                        {
                            "type": "Feature",
                            "properties": {"name": "Water point", "marker-color": "#00f"},
                            "geometry": {"type": "Point", "coordinates": [-72.55, 18.45]},
                        },
                    ],
                },
            },
        )
        assert layer.status_code == 201, layer.text
        editor = _logged_in(base, "mapper")
        form = editor.get(f"{base}/c/quake/new")
        page = editor.post(
            f"{base}/c/quake/new",
            data={
                "csrf_token": _csrf(form.text),
                "title": "Health map",
                "body": f"Health facilities:\n\n```map\ncrisis: quake\nlayers: {layer.json()['metadata']['id']}\nheight: 300\n```\n",
            },
            allow_redirects=False,
        )
        assert page.status_code == 302, page.text
        form = editor.get(f"{base}/c/quake/new")
        broken = editor.post(
            f"{base}/c/quake/new",
            data={
                "csrf_token": _csrf(form.text),
                "title": "Missing layer map",
                "body": "```map\ncrisis: quake\nlayers: 999\n```\n",
            },
            allow_redirects=False,
        )
        assert broken.status_code == 302, broken.text
        yield {"base": base, "layer": layer.json()["metadata"]["id"], "reports": len(report_ids), "api": api}


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield watched_page(context, site["base"])
    context.close()


def test_the_map_draws_reports_and_layers_on_the_offline_basemap(page, site):
    page.goto(f"{site['base']}/c/quake/map?layers={site['layer']}")
    page.wait_for_function("() => (document.querySelector('#crisis-map').dataset.mode !== undefined)")
    page.wait_for_selector(
        "#crisis-map .leaflet-overlay-pane path.leaflet-interactive"
    )  # the layer's polygon and point
    page.wait_for_selector("#crisis-map[data-basemap=drawn]")
    assert page.locator("#crisis-map").evaluate("el => el.classList.contains('map-basemap')")
    assert page.locator("#crisis-map .leaflet-tile").count() == 0
    assert page.locator("#crisis-map").get_attribute("data-mode") == "points"
    assert page.locator("#crisis-map").get_attribute("data-total") == str(site["reports"])
    page.wait_for_function(f"() => (document.querySelectorAll('#map-list li').length === {site['reports']})")
    # markercluster groups nearby reports; every report is either a marker or inside a cluster icon
    markers = page.locator("#crisis-map .map-marker").count()
    clustered = sum(
        int(text)
        for text in page.locator("#crisis-map .marker-cluster span").all_inner_texts()
        if text.strip().isdigit()
    )
    assert markers + clustered == site["reports"]
    paths = page.locator("#crisis-map path.leaflet-interactive")
    assert paths.count() == 2
    assert paths.first.get_attribute("stroke") == "#c00"  # the layer's default style
    assert page.locator("#map-list li a", has_text="Report 3").count() == 1
    assert page.locator("#map-list .map-marker.status-verified").count() == 1  # letter + colour in the list too
    assert page.locator(".map-layer-toggle").first.is_checked()
    assert page.evaluate("window.__pwned") is None
    assert page.problems == []


def test_script_in_titles_and_properties_stays_text_in_popups(page, site):
    page.goto(f"{site['base']}/c/quake/map?layers={site['layer']}&lat=18.45&lon=-72.55&zoom=12")
    polygon = page.wait_for_selector("#crisis-map path.leaflet-interactive[fill='#0a0']")
    polygon.click(position={"x": 6, "y": 6})  # a corner: the water point sits in the middle
    popup = page.wait_for_selector(".leaflet-popup-content")
    assert XSS in popup.inner_text()
    assert page.locator(".leaflet-popup-content img").count() == 0
    page.goto(f"{site['base']}/c/quake/map?q=onerror")
    page.wait_for_function("() => (document.querySelectorAll('#map-list li').length === 1)")
    assert page.locator("#map-list li a").inner_text() == XSS
    page.locator("#crisis-map .map-marker").first.click()
    assert XSS in page.wait_for_selector(".leaflet-popup-content").inner_text()
    assert page.locator("#crisis-map img[src='x']").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.problems == []


def test_filters_update_the_map_the_list_and_the_url_which_reopens_the_view(page, site):
    page.goto(f"{site['base']}/c/quake/map")
    page.wait_for_function("() => (document.querySelectorAll('#map-list li').length > 0)")
    page.select_option("#mf-status", "verified")
    page.click("#map-filters button[type=submit]")
    page.wait_for_function("() => (document.querySelectorAll('#map-list li').length === 1)")
    assert page.locator("#crisis-map").get_attribute("data-total") == "1"
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#crisis-map").evaluate("el => el.scrollIntoView()")
    page.keyboard.press("Escape")
    page.locator(".leaflet-control-zoom-in").click()
    page.wait_for_function(
        "() => (new URL(location.href).searchParams.get('status') === 'verified' && /zoom=\\d+/.test(location.search))"
    )
    page.wait_for_timeout(400)  # the URL is written after the move settles
    shared = page.url
    query = parse_qs(urlsplit(shared).query)
    assert query["status"] == ["verified"] and {"lat", "lon", "zoom"} <= set(query)
    again = page.context.new_page()
    keep_local(again, site["base"], page.problems)
    again.goto(shared)
    again.wait_for_function("() => (document.querySelector('#crisis-map').dataset.total === '1')")
    assert again.locator("#mf-status").input_value() == "verified"
    centre = again.evaluate(
        "(() => { const q = new URL(location.href).searchParams; return [q.get('lat'), q.get('lon'), q.get('zoom')]; })()"
    )
    assert centre == [query["lat"][0], query["lon"][0], query["zoom"][0]]
    assert page.problems == []


def test_above_the_threshold_the_browser_draws_server_clusters_that_zoom_in(page, site):
    points = [[-73.5 + (i % 10) * 0.02, 19.2 + (i // 10) * 0.02] for i in range(30)]
    for lon, lat in points:
        assert (
            requests.post(
                f"{site['base']}/api/v1/reports",
                json={
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"title": "Far", "crisis": "quake"},
                },
            ).status_code
            == 201
        )
    page.goto(f"{site['base']}/c/quake/map?lat=19&lon=-73&zoom=7")
    page.wait_for_function("() => (document.querySelector('#crisis-map').dataset.mode === 'clusters')")
    counts = [int(text) for text in page.locator("#crisis-map .map-cluster").all_inner_texts()]
    singles = page.locator("#crisis-map .map-marker").count()
    total = int(page.locator("#crisis-map").get_attribute("data-total"))
    assert sum(counts) + singles == total == site["reports"] + 30
    page.wait_for_function(
        f"() => (document.querySelectorAll('#map-list li').length === {min(total, 50)})"
    )  # from the reports API
    assert page.locator("#map-status").inner_text() == f"{total} reports in view."
    biggest = page.locator("#crisis-map .map-cluster").first
    before = parse_qs(urlsplit(page.url).query)["zoom"][0]
    biggest.click()
    page.wait_for_function(f"() => (new URL(location.href).searchParams.get('zoom') !== '{before}')")
    assert int(parse_qs(urlsplit(page.url).query)["zoom"][0]) > int(before)
    assert page.problems == []


def test_a_map_embedded_in_a_page_draws_the_layer_and_the_reports(page, site):
    page.goto(f"{site['base']}/c/quake/wiki/Health_map")
    embed = page.wait_for_selector("div.crisiswiki-map.leaflet-container")
    assert embed.evaluate("el => el.getBoundingClientRect().height") == pytest.approx(300, abs=2)
    page.wait_for_selector("div.crisiswiki-map path.leaflet-interactive")
    page.wait_for_function("() => (document.querySelector('div.crisiswiki-map').dataset.total !== undefined)")
    assert int(embed.get_attribute("data-total")) > 0
    assert page.locator("a.map-embed-link").get_attribute("href").startswith("/c/quake/map?layers=")
    assert page.problems == []


def test_the_csp_blocks_nothing_the_map_needs(page, site):
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"{site['base']}/c/quake/layers/{site['layer']}")
    page.wait_for_selector("div.crisiswiki-map path.leaflet-interactive")
    assert violations == [] and page.problems == []
    assert re.search(
        r"style-src 'self'", requests.get(f"{site['base']}/c/quake/map").headers["Content-Security-Policy"]
    )
    assert (
        json.loads(page.locator("#crisiswiki-map-config").get_attribute("data-i18n"))["statuses"]["verified"]
        == "verified"
    )


def test_an_embed_whose_layer_is_gone_says_so_and_still_draws_the_reports(page, site):
    page.goto(f"{site['base']}/c/quake/wiki/Missing_layer_map")
    page.wait_for_function("() => (document.querySelector('div.crisiswiki-map').dataset.total !== undefined)")
    assert page.locator(".map-embed-problems").inner_text() == "Layer 999 could not be loaded."
    assert (
        page.locator(
            "div.crisiswiki-map .map-marker, div.crisiswiki-map .marker-cluster, div.crisiswiki-map .map-cluster"
        ).count()
        > 0
    )
    page.problems[:] = [p for p in page.problems if "404" not in p]  # the missing layer's own 404 is expected
    assert page.problems == []


LAND = (0xF2, 0xEF, 0xE6)  # static/js/basemap.js: land fill and water background
WATER = (0xC6, 0xDB, 0xE9)


def _share_of(image, colour, tolerance: int = 6) -> float:
    """The share of the image's pixels within `tolerance` of `colour` in each channel."""
    import numpy

    pixels = numpy.asarray(image.convert("RGB"), dtype=int)
    return float((numpy.abs(pixels - numpy.array(colour)) <= tolerance).all(axis=2).mean())


def test_with_no_network_the_map_shows_land_sea_and_borders_from_the_vendored_basemap(browser, site, tmp_path):
    from PIL import Image

    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = watched_page(context, site["base"])  # every request elsewhere is aborted and noted
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    # Hispaniola and the sea around it, with no report in view (they are all near Port-au-Prince).
    page.goto(f"{site['base']}/c/quake/map?lat=19.0&lon=-70.5&zoom=7")
    page.wait_for_selector("#crisis-map[data-basemap=drawn]")
    page.wait_for_function("() => document.querySelector('#crisis-map').dataset.mode !== undefined")
    # Land and coastlines, and the borders between countries: two paths in the lowest pane.
    assert page.locator("#crisis-map .leaflet-basemap-pane path.basemap-land").count() == 1
    assert page.locator("#crisis-map .leaflet-basemap-pane path.basemap-border").count() == 1
    assert page.locator("#crisis-map .leaflet-tile").count() == 0
    assert "Natural Earth" in page.locator("#crisis-map .leaflet-control-attribution").inner_text()
    shot = tmp_path / "basemap.png"
    page.locator("#crisis-map").screenshot(path=str(shot), animations="disabled")
    image = Image.open(shot)
    if os.environ.get("CRISISWIKI_KEEP_SHOTS"):
        image.save(os.environ["CRISISWIKI_KEEP_SHOTS"])
    land, water = _share_of(image, LAND), _share_of(image, WATER)
    # The Dominican Republic and Haiti fill a good part of the view, the Caribbean the rest.
    assert land > 0.15 and water > 0.25, (land, water)
    assert all(url.startswith(site["base"]) for url in requested), requested
    assert any("/static/vendor/world-atlas/countries-50m." in url for url in requested)
    assert page.problems == []
    context.close()

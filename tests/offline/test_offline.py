"""The offline report app's routes (wiki/offline), without a browser: the service worker and its
scope, the manifest, the list of what a phone keeps for a crisis, the page shells (the same for
everyone: no token, no session, no name), the form answering the outbox in JSON, the CSRF token
for a report sent later, and the crisis's public gazetteer. tests/offline/test_browser.py drives
all of it in chromium."""

from __future__ import annotations

import io
import json

from tests.reports_helpers import jpeg_with_gps

FORM = {"title": "Bridge down", "description": "At Km 12.", "sector": "logistics", "lat": "18.54", "lon": "-72.34"}


def test_the_service_worker_is_served_at_the_root_with_its_scope_and_never_cached(client):
    response = client.get("/sw.js?release=abc")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.mimetype == "text/javascript"
    assert b"importScripts" in response.data and b"crisiswiki-" in response.data
    again = client.get("/sw.js?release=abc", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_manifest_starts_at_the_crisis_report_form_standalone_with_icons(app, client, crisis):
    response = client.get(f"/c/{crisis}/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["start_url"] == f"/c/{crisis}/report" and manifest["display"] == "standalone"
    assert manifest["scope"] == "/" and "Test earthquake" in manifest["name"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon
    assert client.get("/c/nowhere/manifest.webmanifest").status_code == 404
    form = client.get(f"/c/{crisis}/report").data.decode()
    assert f'<link rel="manifest" href="/c/{crisis}/manifest.webmanifest">' in form


def test_the_precache_list_names_what_the_form_needs_within_the_budget(app, client, crisis):
    response = client.get(f"/c/{crisis}/offline.json", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    listed = json.loads(response.data)
    with app.app_context():
        release = app.extensions["static_release"]
    assert listed["release"] == release and listed["crisis"] == crisis
    assert listed["pages"] == [f"/c/{crisis}/report?shell=1", "/sent"]
    urls = listed["urls"]
    for expected in (
        "js/sw",
        "css/wiki.",
        "js/outbox.",
        "js/report-offline.",
        "vendor/leaflet/leaflet.",
        "countries-50m.",
        "/boundaries?level=1&v=",
        "/gazetteer?v=",
    ):
        if expected == "js/sw":
            assert not any("sw." in url for url in urls)  # the worker itself is not in its cache
            continue
        assert any(expected in url for url in urls), expected
    assert 0 < listed["bytes"] <= listed["budget_bytes"] and listed["left_out"] == []
    assert listed["basemap_bytes"] > 150_000
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert (
        client.get(f"/c/{crisis}/offline.json", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    )


def test_an_over_budget_gazetteer_is_left_out(app, client, crisis):
    app.config["OFFLINE_BUDGET_BYTES"] = 1000
    listed = json.loads(client.get(f"/c/{crisis}/offline.json", headers={"Accept-Encoding": "identity"}).data)
    assert set(listed["left_out"]) == {"boundaries", "gazetteer"}
    assert not any("gazetteer" in url for url in listed["urls"])


def test_the_form_shell_is_the_same_for_everyone_and_holds_no_token_session_or_name(
    app, client, crisis, make_user, login
):
    volunteer = make_user("volunteer", "valentina")
    login(volunteer)
    shell = client.get(f"/c/{crisis}/report?shell=1", headers={"Accept-Encoding": "identity"})
    assert shell.status_code == 200 and shell.headers["X-Offline-Shell"] == "1"
    html = shell.data.decode()
    assert (
        "valentina" not in html
        and "csrf_token" not in html
        and 'csrf-token" content' not in html
        and 'name="client_id" value=""' in html
    )
    assert "Set-Cookie" not in shell.headers and shell.headers["Cache-Control"] == "no-cache"
    anonymous = app.test_client().get(f"/c/{crisis}/report?shell=1", headers={"Accept-Encoding": "identity"})
    assert anonymous.data == shell.data and "Set-Cookie" not in anonymous.headers
    assert (
        app.test_client()
        .get(f"/c/{crisis}/report?shell=1", headers={"If-None-Match": shell.headers["ETag"]})
        .status_code
        == 304
    )
    compressed = app.test_client().get(f"/c/{crisis}/report?shell=1", headers={"Accept-Encoding": "br"})
    assert compressed.headers["Content-Encoding"] == "br" and len(compressed.data) < len(shell.data) / 2
    # The page itself, online, is still the person's own, with its token
    assert "valentina" in client.get(f"/c/{crisis}/report").data.decode()


def test_the_sent_page_is_a_shell(app, client, make_user, login):
    login(make_user("volunteer", "vittorio"))
    response = client.get("/sent", headers={"Accept-Encoding": "identity"})
    html = response.data.decode()
    assert response.status_code == 200 and "vittorio" not in html and "csrf" not in html.lower()
    assert 'id="forget"' in html and "Sent from this phone" in html


def test_the_form_answers_the_outbox_in_json_exactly_once_per_client_id(app, client, crisis):
    data = {**FORM, "client_id": "abc123", "photos": [(io.BytesIO(jpeg_with_gps((80, 60))), "p.jpg")]}
    first = client.post(
        f"/c/{crisis}/report", data=data, content_type="multipart/form-data", headers={"Accept": "application/json"}
    )
    assert first.status_code == 201, first.data
    body = first.get_json()
    assert body["created"] is True and body["thanks"] == f"/reports/{body['id']}/thanks"
    assert "report_receipt" in first.headers["Set-Cookie"]
    again = client.post(
        f"/c/{crisis}/report",
        data={**FORM, "client_id": "abc123"},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 200 and again.get_json()["id"] == body["id"] and again.get_json()["created"] is False
    refused = client.post(
        f"/c/{crisis}/report",
        data={**FORM, "title": "", "client_id": "other"},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 422 and refused.get_json()["error"]["message"]


def test_a_fresh_csrf_token_for_a_report_sent_later(app_config, crisis):
    from wiki import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    token = client.get("/csrf-token")
    assert token.headers["Cache-Control"] == "no-store"
    value = token.get_json()["token"]
    posted = client.post(
        f"/c/{crisis}/report",
        data={**FORM, "client_id": "late1", "csrf_token": value},
        headers={"Accept": "application/json"},
    )
    assert posted.status_code == 201, posted.data
    forged = app.test_client().post(
        f"/c/{crisis}/report", data={**FORM, "client_id": "late2"}, headers={"Accept": "application/json"}
    )
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "csrf"


def test_the_gazetteer_is_public_place_names_only(app, client, crisis, make_user, token_for):
    coordinator = make_user("coordinator")
    api = {"Authorization": f"Bearer {token_for(coordinator)}"}
    sent = client.post(
        "/api/v1/reports",
        headers=api,
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]},
            "properties": {"crisis": crisis, "title": "x", "place_name": "Secretplace Zqx"},
        },
    )
    assert sent.status_code == 201, sent.data
    response = client.get(f"/api/v1/crises/{crisis}/gazetteer")
    assert response.status_code == 200
    data = response.get_json()
    assert data["crisis"] == crisis and data["version"]
    assert "Secretplace" not in response.data.decode()
    names = {place["name"] for place in data["places"]}
    assert "Port-au-Prince" in names  # a GeoNames city in the crisis's area
    place = next(p for p in data["places"] if p["name"] == "Port-au-Prince")
    assert "port au prince" in place["keys"] and place["id"].startswith("geonames:")
    assert place["label"] == "town or city"
    assert (
        client.get(
            f"/api/v1/crises/{crisis}/gazetteer", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )

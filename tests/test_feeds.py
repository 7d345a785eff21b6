"""Atom feeds of a crisis's newly verified reports and of its layers: real Atom (read back with
an XML parser, checked against RFC 4287's required elements), autodiscovered from the reports
and map pages, polite to pollers (ETag, Last-Modified, 304), and public outputs: the anonymous
reader sees only what wiki.visibility lets the public see."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from tests.maps_helpers import point_layer
from wiki.extensions import db
from wiki.models import Report

ATOM = "{http://www.w3.org/2005/Atom}"
FORM = {
    "title": "Water point broken",
    "description": "The pump at the market is broken.",
    "sector": "wash",
    "place_name": "Léogâne market",
    "lat": "18.5111",
    "lon": "-72.6339",
    "name": "Marie",
    "contact": "+509 3700 0001",
}


def parse_atom(body: bytes) -> ET.Element:
    """The feed, after checking what RFC 4287 requires of a feed and of each entry."""
    feed = ET.fromstring(body)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{name}").text, name
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{name}").text, name
        assert entry.find(f"{ATOM}link").get("href").startswith("http")
    return feed


def titles(feed: ET.Element) -> list[str]:
    return [entry.find(f"{ATOM}title").text for entry in feed.findall(f"{ATOM}entry")]


def send(client, title: str, **fields) -> int:
    client.post("/c/quake/report", data={**FORM, "title": title, **fields})
    with client.application.app_context():
        return db.session.scalar(select(Report.id).where(Report.title == title))


def test_the_feed_has_an_entry_when_a_report_becomes_verified_newest_first(app, client, crisis, make_user, login):
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)
    first = send(client, "Bridge down")
    second = send(client, "Clinic flooded", sector="health")
    send(client, "Never verified")
    empty = parse_atom(client.get("/c/quake/reports/verified.atom").data)
    assert titles(empty) == []
    coordinator.post(f"/reports/{second}/edit", data={"status": "verified"})
    coordinator.post(f"/reports/{first}/edit", data={"status": "verified"})
    response = client.get("/c/quake/reports/verified.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = parse_atom(response.data)
    assert titles(feed) == ["Bridge down", "Clinic flooded"]
    entry = feed.findall(f"{ATOM}entry")[1]
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/reports/{second}")
    assert entry.find(f"{ATOM}category").get("term") == "health"
    assert "Health" in entry.find(f"{ATOM}summary").text and "Léogâne market" in entry.find(f"{ATOM}summary").text
    # A report refuted and verified again moves to the top, once.
    coordinator.post(f"/reports/{second}/edit", data={"status": "refuted"})
    coordinator.post(f"/reports/{second}/edit", data={"status": "verified"})
    assert titles(parse_atom(client.get("/c/quake/reports/verified.atom").data)) == ["Clinic flooded", "Bridge down"]


def test_the_anonymous_feed_shows_no_exact_sensitive_point_no_withdrawn_report_and_no_contact(
    app, client, crisis, make_user, login
):
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)
    sensitive = send(client, "Sensitive one", sensitive="1")
    withdrawn = send(client, "Withdrawn one")
    unpublished = send(client, "Not published")
    for report_id in (sensitive, withdrawn):
        coordinator.post(f"/reports/{report_id}/edit", data={"status": "verified"})
    coordinator.post(f"/reports/{unpublished}/edit", data={"status": "verified", "published_present": "1"})
    assert coordinator.post(f"/reports/{withdrawn}/withdraw", data={"reason": "threats"}).status_code == 302
    body = client.get("/c/quake/reports/verified.atom").data
    assert titles(parse_atom(body)) == ["Sensitive one"]
    for secret in (b"18.5111", b"-72.6339", b"18.51110", b"L\xc3\xa9og\xc3\xa2ne", b"3700 0001", b"Marie"):
        assert secret not in body, secret
    # The coordinator sees the exact place (and nothing withdrawn), in a feed no shared cache keeps.
    theirs = coordinator.get("/c/quake/reports/verified.atom")
    assert b"18.51110, -72.63390" in theirs.data and b"Withdrawn one" not in theirs.data
    assert b"3700 0001" not in theirs.data and "private" in theirs.headers["Cache-Control"]


def test_feeds_answer_304_until_something_changes(app, client, crisis, make_user, login):
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)
    report_id = send(client, "Bridge down")
    coordinator.post(f"/reports/{report_id}/edit", data={"status": "verified"})
    for url in ("/c/quake/reports/verified.atom", "/c/quake/layers.atom"):
        first = client.get(url)
        etag, modified = first.headers["ETag"], first.headers.get("Last-Modified")
        assert "public" in first.headers["Cache-Control"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        if modified:
            assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    etag = client.get("/c/quake/reports/verified.atom").headers["ETag"]
    coordinator.post(f"/reports/{send(client, 'Road open')}/edit", data={"status": "verified"})
    changed = client.get("/c/quake/reports/verified.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Road open" in titles(parse_atom(changed.data))


def test_the_layers_feed_has_an_entry_per_revision_and_none_for_deleted_layers(app, client, crisis, make_user, login):
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)

    def upload(title: str) -> int:
        body = {"title": title, "crisis": "quake", "geojson": point_layer(), "comment": "first upload"}
        response = coordinator.post("/api/v1/layers", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["metadata"]["id"]

    clinics = upload("Clinics")
    camps = upload("Camps")
    edited = coordinator.post(
        f"/c/quake/layers/{clinics}/edit", data={"title": "Clinics open", "comment": "two reopened"}
    )
    assert edited.status_code == 302
    feed = parse_atom(client.get("/c/quake/layers.atom").data)
    assert titles(feed) == ["Clinics open: two reopened", "Camps: first upload", "Clinics: first upload"]
    ids = [entry.find(f"{ATOM}id").text for entry in feed.findall(f"{ATOM}entry")]
    assert len(set(ids)) == 3 and ids[0].endswith(f"/c/quake/layers/{clinics}#revision-2")
    assert coordinator.post(f"/c/quake/layers/{camps}/delete").status_code == 302
    assert titles(parse_atom(client.get("/c/quake/layers.atom").data)) == [
        "Clinics open: two reopened",
        "Clinics: first upload",
    ]


def test_the_reports_and_map_pages_announce_their_feeds(app, client, crisis):
    discovery = b'<link rel="alternate" type="application/atom+xml"'
    reports_page = client.get("/c/quake/reports").data
    assert discovery in reports_page and b'href="/c/quake/reports/verified.atom"' in reports_page
    map_page = client.get("/c/quake/map").data
    assert b'href="/c/quake/reports/verified.atom"' in map_page and b'href="/c/quake/layers.atom"' in map_page
    assert b'href="/c/quake/layers.atom"' in client.get("/c/quake/layers").data


def test_a_feed_of_an_unknown_crisis_is_404(client, crisis):
    assert client.get("/c/nowhere/reports/verified.atom").status_code == 404
    assert client.get("/c/nowhere/layers.atom").status_code == 404

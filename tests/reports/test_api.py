"""Submitting field reports through the API: what is stored, what is refused, retries."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.reports_helpers import feature, jpeg_with_gps
from wiki.extensions import db
from wiki.media.storage import path_for
from wiki.models import Report, ReportPhoto, Source


def count(app, model=Report) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_feature_is_stored_and_returned_as_a_feature(app, client, crisis):
    response = client.post(
        "/api/v1/reports",
        json=feature(
            description="The coast road is cut at the river.",
            occurred_at="2010-01-13T08:00:00-05:00",
            place_name="Léogâne",
        ),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["type"] == "Feature" and body["geometry"] == {"type": "Point", "coordinates": [-72.34, 18.54]}
    props = body["properties"]
    assert props["title"] == "Bridge collapsed" and props["status"] == "new" and props["sector"] == "logistics"
    assert props["occurred_at"] == "2010-01-13T13:00:00+00:00" and props["place_name"] == "Léogâne"
    assert response.headers["Location"].endswith(f"/api/v1/reports/{body['id']}")
    assert client.get(f"/api/v1/reports/{body['id']}").get_json()["properties"]["title"] == "Bridge collapsed"


def test_full_cluster_names_are_accepted_as_sectors(client, crisis):
    response = client.post("/api/v1/reports", json=feature(sector="Water, Sanitation and Hygiene"))
    assert response.status_code == 201 and response.get_json()["properties"]["sector"] == "wash"


def test_the_crisis_can_be_left_out_when_one_crisis_covers_the_point(client, crisis):
    response = client.post("/api/v1/reports", json=feature(crisis=None))
    assert response.status_code == 201 and response.get_json()["properties"]["crisis"] == "quake"
    far_away = client.post("/api/v1/reports", json=feature(crisis=None, lon=10.0, lat=50.0))
    assert far_away.status_code == 422 and far_away.get_json()["error"]["field"] == "crisis"


BAD_FEATURES = [
    # Without coordinates a report is located by its place, or filed with its location unknown;
    # but then nothing says which crisis it belongs to unless it says so.
    ("no geometry and no crisis", {"type": "Feature", "properties": {"title": "x"}}, 422, "crisis"),
    (
        "a place nobody knows",
        {"type": "Feature", "properties": {"title": "x", "crisis": "quake", "place": "Zzyzx"}},
        422,
        "place",
    ),
    ("latitude 91", feature(lat=91), 422, "geometry.coordinates"),
    ("latitude -90.5", feature(lat=-90.5), 422, "geometry.coordinates"),
    ("longitude 181", feature(lon=181), 422, "geometry.coordinates"),
    ("longitude -200", feature(lon=-200), 422, "geometry.coordinates"),
    (
        "coordinates as strings",
        {**feature(), "geometry": {"type": "Point", "coordinates": ["-72", "18"]}},
        422,
        "geometry.coordinates",
    ),
    (
        "one coordinate",
        {**feature(), "geometry": {"type": "Point", "coordinates": [-72.0]}},
        422,
        "geometry.coordinates",
    ),
    (
        "a polygon",
        {**feature(), "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
        422,
        "geometry.type",
    ),
    ("not a feature", {"type": "FeatureCollection", "features": []}, 422, "type"),
    ("no title", feature(title=""), 422, "title"),
    ("title is a number", feature(title=5), 422, "title"),
    ("unknown sector", feature(sector="rumours"), 422, "sector"),
    ("far future", feature(occurred_at=(datetime.now(UTC) + timedelta(days=30)).isoformat()), 422, "occurred_at"),
    ("not a date", feature(occurred_at="yesterday"), 422, "occurred_at"),
    ("year 1066", feature(occurred_at="1066-10-14T09:00:00Z"), 422, "occurred_at"),
    ("sensitive as text", feature(sensitive="yes"), 422, "sensitive"),
    ("unknown crisis", feature(crisis="atlantis"), 422, "crisis"),
    ("unknown channel", feature(source={"channel": "pigeon"}), 422, "source.channel"),
    ("oversize title", feature(title="x" * 201), 413, "title"),
    ("oversize description", feature(description="x" * 10001), 413, "description"),
    ("oversize contact", feature(source={"contact": "1" * 300}), 413, "source.contact"),
]


@pytest.mark.parametrize(("name", "body", "status", "field"), BAD_FEATURES, ids=[b[0] for b in BAD_FEATURES])
def test_bad_reports_are_refused_with_the_field_named_and_nothing_stored(
    app, client, crisis, name, body, status, field
):
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == field and error["message"]
    assert count(app) == 0 and count(app, Source) == 0


def test_malformed_json_is_400_and_other_content_types_are_415(app, client, crisis):
    bad = client.post("/api/v1/reports", data='{"type": "Feature",', content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
    xml = client.post("/api/v1/reports", data="<report/>", content_type="application/xml")
    assert xml.status_code == 415
    assert count(app) == 0


def test_same_idempotency_key_twice_stores_one_report_and_returns_it_again(app, client, crisis):
    first = client.post("/api/v1/reports", json=feature(), headers={"Idempotency-Key": "phone-42-1"})
    again = client.post("/api/v1/reports", json=feature(), headers={"Idempotency-Key": "phone-42-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(app) == 1


@pytest.mark.parametrize("role", [None, "coordinator"])
def test_the_201_is_the_report_as_read_back(app, client, crisis, make_user, login, role):
    """The answer to a new report is the same JSON as the report read back, and as an idempotent
    retry's answer (loaded afresh). With the validation plugin: plugins/validation/tests/test_api.py."""
    if role:
        login(make_user(role))
    headers = {"Idempotency-Key": f"same-body-{role}"}
    created = client.post("/api/v1/reports", json=feature(place_name="Léogâne"), headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert ("source" in body["properties"]) == (role == "coordinator")
    again = client.post("/api/v1/reports", json=feature(place_name="Léogâne"), headers=headers)
    assert again.status_code == 200 and again.get_json() == body
    assert client.get(f"/api/v1/reports/{body['id']}").get_json() == body


def test_client_id_property_works_like_the_header(app, client, crisis):
    client.post("/api/v1/reports", json=feature(client_id="sms-7781"))
    client.post("/api/v1/reports", json=feature(client_id="sms-7781"))
    assert count(app) == 1


def test_a_reused_key_with_a_different_report_is_refused(app, client, crisis):
    client.post("/api/v1/reports", json=feature(), headers={"Idempotency-Key": "k"})
    other = client.post("/api/v1/reports", json=feature(title="Something else"), headers={"Idempotency-Key": "k"})
    assert other.status_code == 422 and other.get_json()["error"]["field"] == "client_id"
    assert count(app) == 1


def test_a_returning_contact_is_one_source_with_a_track_record(app, client, crisis, make_user, login):
    client.post("/api/v1/reports", json=feature(source={"name": "Jean", "contact": "+509 3456 7890", "channel": "sms"}))
    client.post("/api/v1/reports", json=feature(title="Second", source={"contact": "+50934567890", "channel": "sms"}))
    client.post("/api/v1/reports", json=feature(title="Third", source={"contact": "Jean@Example.org"}))
    client.post("/api/v1/reports", json=feature(title="Fourth", source={"contact": "jean@example.org"}))
    client.post("/api/v1/reports", json=feature(title="Anonymous"))
    with app.app_context():
        sources = db.session.scalars(select(Source).order_by(Source.id)).all()
        assert len(sources) == 3  # the phone, the e-mail, and one for the report without a contact
        assert sources[0].channel == "sms" and sources[0].name == "Jean"
        by_source = dict(db.session.execute(select(Report.source_id, func.count()).group_by(Report.source_id)).all())
        assert sorted(by_source.values()) == [1, 2, 2]


def test_a_logged_in_volunteer_is_their_own_source(app, client, crisis, make_user, login):
    volunteer = make_user("volunteer")
    login(volunteer)
    client.post("/api/v1/reports", json=feature())
    client.post("/api/v1/reports", json=feature(title="Again"))
    with app.app_context():
        source = db.session.scalar(select(Source))
        assert source.user_id == volunteer.id and count(app, Source) == 1


def test_photos_are_stripped_of_gps_resized_and_served(app, client, crisis):
    data = {"feature": json.dumps(feature()), "photos": [(io.BytesIO(jpeg_with_gps()), "IMG_0001.jpg")]}
    response = client.post("/api/v1/reports", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()["properties"]["photos"][0]
    assert (photo["width"], photo["height"]) == (1600, 1200)
    # The answer is what a later read returns (it is built from the report just written).
    assert response.get_json() == client.get(f"/api/v1/reports/{response.get_json()['id']}").get_json()
    with app.app_context():
        record = db.session.scalar(select(ReportPhoto))
        for digest, longest in ((record.sha256, 1600), (record.display_sha256, 1280), (record.thumb_sha256, 320)):
            stored = Image.open(path_for(digest))
            assert max(stored.size) == longest
            assert not stored.getexif() and 0x8825 not in stored.getexif() and "exif" not in stored.info
    served = client.get(photo["thumbnail"].replace("http://wiki.test", ""))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(served.data)).size == (320, 240)


def test_a_non_image_photo_is_415_and_stores_nothing(app, client, crisis):
    data = {"feature": json.dumps(feature()), "photos": [(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "photo.jpg")]}
    response = client.post("/api/v1/reports", data=data, content_type="multipart/form-data")
    assert response.status_code == 415 and response.get_json()["error"]["field"] == "photos"
    assert count(app) == 0


def test_an_oversize_photo_is_413_and_stores_nothing(app, client, crisis):
    app.config["REPORT_PHOTO_MAX_BYTES"] = 10_000
    data = {"feature": json.dumps(feature()), "photos": [(io.BytesIO(jpeg_with_gps()), "big.jpg")]}
    response = client.post("/api/v1/reports", data=data, content_type="multipart/form-data")
    assert response.status_code == 413 and response.get_json()["error"]["field"] == "photos"
    assert count(app) == 0


def test_too_many_photos_is_422(app, client, crisis):
    app.config["REPORT_MAX_PHOTOS"] = 1
    photos = [(io.BytesIO(jpeg_with_gps((40, 30))), f"p{i}.jpg") for i in range(2)]
    response = client.post(
        "/api/v1/reports", data={"feature": json.dumps(feature()), "photos": photos}, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and count(app) == 0


def test_anonymous_submission_is_rate_limited_per_address_with_retry_after(app, client, crisis, make_user, login):
    app.config["ANONYMOUS_SUBMIT_LIMIT"] = 3
    statuses = [client.post("/api/v1/reports", json=feature(title=f"r{i}")).status_code for i in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    limited = client.post("/api/v1/reports", json=feature(title="again"))
    assert 1 <= int(limited.headers["Retry-After"]) <= app.config["ANONYMOUS_SUBMIT_WINDOW"]
    assert limited.get_json()["error"]["code"] == "rate_limited"
    other_address = client.post(
        "/api/v1/reports", json=feature(title="elsewhere"), environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other_address.status_code == 201
    login(make_user("volunteer"))  # logged-in volunteers are not held to the anonymous limit
    assert client.post("/api/v1/reports", json=feature(title="volunteer")).status_code == 201
    assert count(app) == 5


def test_anonymous_submission_can_be_switched_off(app, client, crisis):
    app.config["ANONYMOUS_SUBMIT"] = False
    response = client.post("/api/v1/reports", json=feature())
    assert response.status_code == 401 and count(app) == 0


def test_list_filters_and_keyset_pagination(app, client, crisis):
    for i, (sector, lon) in enumerate([("health", -72.3), ("wash", -72.3), ("health", -73.5), ("food", -72.31)]):
        client.post(
            "/api/v1/reports",
            json=feature(title=f"report {i}", sector=sector, lon=lon, occurred_at=f"2010-01-1{i + 2}T12:00:00Z"),
        )
    health = client.get("/api/v1/reports?sector=health").get_json()["features"]
    assert [f["properties"]["title"] for f in health] == ["report 2", "report 0"]
    boxed = client.get("/api/v1/reports?bbox=-72.5,18,-72,19").get_json()["features"]
    assert {f["properties"]["title"] for f in boxed} == {"report 0", "report 1", "report 3"}
    timed = client.get("/api/v1/reports?since=2010-01-13&until=2010-01-14T23:59:59Z").get_json()["features"]
    assert {f["properties"]["title"] for f in timed} == {"report 1", "report 2"}
    words = client.get("/api/v1/reports?q=REPORT%203").get_json()["features"]
    assert [f["properties"]["title"] for f in words] == ["report 3"]
    page1 = client.get("/api/v1/reports?limit=3").get_json()
    page2 = client.get(f"/api/v1/reports?limit=3&cursor={page1['next_cursor']}").get_json()
    titles = [f["properties"]["title"] for f in page1["features"] + page2["features"]]
    assert titles == ["report 3", "report 2", "report 1", "report 0"] and page2["next_cursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        "bbox=1,2,3",
        "bbox=0,10,5,5",
        "sector=rumours",
        "status=lost",
        "since=soon",
        "limit=0",
        "limit=abc",
        "cursor=xyz",
    ],
)
def test_bad_list_filters_are_422(client, crisis, query):
    response = client.get(f"/api/v1/reports?{query}")
    assert response.status_code == 422 and response.get_json()["error"]["field"]


def test_coordinators_patch_status_and_fields_with_history(app, client, crisis, make_user, token_for):
    report_id = client.post("/api/v1/reports", json=feature()).get_json()["id"]
    headers = {"Authorization": f"Bearer {token_for(make_user('coordinator'))}"}
    response = client.patch(
        f"/api/v1/reports/{report_id}",
        json={"status": "verified", "sector": "shelter", "comment": "checked by phone"},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.get_json()["properties"]["status"] == "verified"
    assert response.get_json()["properties"]["sector"] == "shelter"
    bad = client.patch(f"/api/v1/reports/{report_id}", json={"status": "maybe"}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "status"
    unknown = client.patch(f"/api/v1/reports/{report_id}", json={"source_id": 3}, headers=headers)
    assert unknown.status_code == 422
    from wiki.models import ReportChange

    with app.app_context():
        changes = db.session.scalars(select(ReportChange)).all()
        assert len(changes) == 1 and changes[0].changes["status"] == ["new", "verified"]
        assert changes[0].comment == "checked by phone"


def test_merging_a_duplicate_through_the_api(app, client, crisis, make_user, token_for):
    first = client.post("/api/v1/reports", json=feature()).get_json()["id"]
    second = client.post("/api/v1/reports", json=feature(title="Bridge down")).get_json()["id"]
    third = client.post("/api/v1/reports", json=feature(title="The bridge fell")).get_json()["id"]
    headers = {"Authorization": f"Bearer {token_for(make_user('coordinator'))}"}
    merged = client.patch(f"/api/v1/reports/{second}", json={"duplicate_of": first}, headers=headers).get_json()
    assert merged["properties"]["status"] == "duplicate" and merged["properties"]["duplicate_of"] == first
    # A duplicate of a duplicate points at the original.
    chained = client.patch(f"/api/v1/reports/{third}", json={"duplicate_of": second}, headers=headers).get_json()
    assert chained["properties"]["duplicate_of"] == first
    loop = client.patch(f"/api/v1/reports/{first}", json={"duplicate_of": third}, headers=headers)
    assert loop.status_code == 422
    itself = client.patch(f"/api/v1/reports/{first}", json={"duplicate_of": first}, headers=headers)
    assert itself.status_code == 422

"""ODK Collect and KoboCollect submit reports through the OpenRosa API (wiki/openrosa): the requests
here are shaped as Collect sends them (X-OpenRosa-Version and Date headers, a HEAD before the POST,
multipart with the instance in `xml_submission_file` as text/xml and the photo as image/jpeg)."""

from __future__ import annotations

import base64
import io
import uuid
import xml.etree.ElementTree as ET
from email.utils import formatdate

import pytest
from sqlalchemy import func, select

from tests.live_server import serve
from tests.reports_helpers import jpeg_with_gps
from wiki.extensions import db
from wiki.models import Report

FORMS = "{http://openrosa.org/xforms/xformsList}"
RESPONSE = "{http://openrosa.org/http/response}"
XFORMS = "{http://www.w3.org/2002/xforms}"
# lat, lon as ODK writes a geopoint; near a corner of its grid cell (see tests/security/test_privacy_canary.py)
EXACT = (18.543219, -72.318765)


def collect_headers(**extra: str) -> dict[str, str]:
    return {"X-OpenRosa-Version": "1.0", "Date": formatdate(usegmt=True), **extra}


def instance(
    instance_id: str,
    form: str = "crisiswiki-quake-report",
    title: str = "Bridge on the main road collapsed",
    location: str = f"{EXACT[0]} {EXACT[1]} 42.0 5.0",
    photo: str = "",
    sensitive: str = "no",
) -> bytes:
    return (
        f'<?xml version="1.0" ?><data xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{form}" version="1">'
        f"<title>{title}</title><description>Trucks cannot pass</description>"
        f"<location>{location}</location><place_name>Carrefour</place_name>"
        f"<occurred_at>2026-11-13T08:30:00.000-05:00</occurred_at><sector>logistics</sector>"
        f"<reporter>Marie</reporter><contact>+50937000001</contact><sensitive>{sensitive}</sensitive>"
        f"<photo>{photo}</photo><meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def parts(xml: bytes, photo: tuple[str, bytes] | None = None) -> dict:
    data = {"xml_submission_file": (io.BytesIO(xml), "instance.xml", "text/xml")}
    if photo:
        data[photo[0]] = (io.BytesIO(photo[1]), photo[0], "image/jpeg")
    return data


def submit(client, xml: bytes, photo=None, **headers):
    return client.post(
        "/openrosa/quake/submission",
        data=parts(xml, photo),
        content_type="multipart/form-data",
        headers=collect_headers(**headers),
    )


def message(response) -> str:
    return ET.fromstring(response.data).find(f"{RESPONSE}message").text


def basic(token: str, user: str = "reporter") -> str:
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


def test_form_list_names_the_crisis_form_and_the_form_is_an_xform(client, crisis):
    listing = client.get("/openrosa/quake/formList", headers=collect_headers())
    assert listing.status_code == 200 and listing.headers["X-OpenRosa-Version"] == "1.0"
    assert listing.mimetype == "text/xml"
    [entry] = ET.fromstring(listing.data).findall(f"{FORMS}xform")
    assert entry.find(f"{FORMS}formID").text == "crisiswiki-quake-report"
    assert entry.find(f"{FORMS}hash").text.startswith("md5:")
    url = entry.find(f"{FORMS}downloadUrl").text
    assert url == "http://wiki.test/openrosa/quake/forms/report.xml"
    form = client.get(url, headers=collect_headers())
    assert form.status_code == 200 and form.headers["X-OpenRosa-Version"] == "1.0"
    root = ET.fromstring(form.data)
    binds = {b.get("nodeset"): b for b in root.iter(f"{XFORMS}bind")}
    assert binds["/data/location"].get("type") == "geopoint"
    assert binds["/data/photo"].get("type") == "binary"
    assert binds["/data/occurred_at"].get("type") == "dateTime"
    assert binds["/data/title"].get("required") == "true()"
    assert binds["/data/meta/instanceID"].get("{http://openrosa.org/javarosa}preload") == "uid"
    sectors = root.find(f".//{XFORMS}select1[@ref='/data/sector']")
    assert "logistics" in [v.text for v in sectors.iter(f"{XFORMS}value")]
    import hashlib

    assert entry.find(f"{FORMS}hash").text == "md5:" + hashlib.md5(form.data).hexdigest()


def test_head_before_submitting_says_how_much_may_be_sent(client, crisis):
    response = client.head("/openrosa/quake/submission", headers=collect_headers())
    assert response.status_code == 204
    assert int(response.headers["X-OpenRosa-Accept-Content-Length"]) >= 10 * 1024 * 1024


def test_a_submission_with_a_photo_is_one_report_and_a_resubmission_is_the_same_one(app, client, crisis):
    instance_id = f"uuid:{uuid.uuid4()}"
    xml = instance(instance_id, photo="1733380000000.jpg")
    photo = ("1733380000000.jpg", jpeg_with_gps())
    first = submit(client, xml, photo)
    assert first.status_code == 201, first.data
    assert first.headers["X-OpenRosa-Version"] == "1.0" and "received" in message(first)
    again = submit(client, xml, photo)  # the app did not see the answer and sends the form again
    assert again.status_code == 202 and again.headers["Location"] == first.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1
        report = db.session.scalar(select(Report))
        assert report.client_id == instance_id and report.channel == "odk"
        assert (report.lat, report.lon) == pytest.approx(EXACT)
        assert report.title == "Bridge on the main road collapsed" and report.sector == "logistics"
        assert report.source.name == "Marie"
        assert len(report.photos) == 1 and report.photos[0].content_type == "image/jpeg"
    feature = client.get(f"/api/v1/reports/{report.id}").get_json()
    assert feature["properties"]["photos"]


def test_bad_submissions_are_refused_with_an_openrosa_message_and_store_nothing(app, client, crisis):
    cases = [
        (b"<data id='crisiswiki-quake-report'><title>x</title", 400),
        (instance("uuid:1", form="someone-elses-form"), 422),
        (instance("uuid:2", title=""), 422),
        (instance("uuid:3", location="north of here"), 422),
        (instance(""), 422),
        (instance("uuid:4", photo="missing.jpg"), 422),
        (b'<!DOCTYPE d [<!ENTITY a "aaaa">]><data id="crisiswiki-quake-report">&a;</data>', 400),
    ]
    for xml, status in cases:
        response = submit(client, xml)
        assert response.status_code == status, (xml, response.data)
        assert response.headers["X-OpenRosa-Version"] == "1.0" and message(response)
    no_part = client.post(
        "/openrosa/quake/submission",
        data={"other": (io.BytesIO(b"x"), "x.xml", "text/xml")},
        content_type="multipart/form-data",
        headers=collect_headers(),
    )
    assert no_part.status_code == 400 and "xml_submission_file" in message(no_part)
    unknown = client.post("/openrosa/nowhere/submission", data=parts(instance("uuid:5")), headers=collect_headers())
    assert unknown.status_code == 404 and message(unknown)
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0


def test_without_anonymous_reports_collect_is_challenged_and_a_token_as_password_submits(
    app, client, crisis, make_user, token_for
):
    app.config["ANONYMOUS_SUBMIT"] = False
    refused = client.head("/openrosa/quake/submission", headers=collect_headers())
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic ")
    assert client.get("/openrosa/quake/formList", headers=collect_headers()).status_code == 401
    wrong = submit(client, instance("uuid:w"), Authorization=basic("not-a-token"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic ")
    volunteer = make_user("volunteer")
    token = token_for(volunteer)
    listing = client.get("/openrosa/quake/formList", headers=collect_headers(Authorization=basic(token)))
    assert listing.status_code == 200
    response = submit(client, instance(f"uuid:{uuid.uuid4()}"), Authorization=basic(token, volunteer.username))
    assert response.status_code == 201, response.data
    with app.app_context():
        assert db.session.scalar(select(Report.submitted_by_id)) == volunteer.id
    # Basic is for the OpenRosa views only: elsewhere it is a malformed Authorization header.
    assert client.get("/api/v1/reports", headers={"Authorization": basic(token)}).status_code == 401


def test_a_sensitive_report_from_collect_never_shows_its_exact_point(app, client, crisis):
    response = submit(client, instance(f"uuid:{uuid.uuid4()}", sensitive="yes"))
    assert response.status_code == 201
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    exact = [f"{EXACT[0]:.4f}", f"{EXACT[1]:.4f}", f"{EXACT[0]:.3f}", f"{EXACT[1]:.3f}"]
    for url in (f"/api/v1/reports/{report_id}", "/api/v1/reports?crisis=quake", f"/reports/{report_id}"):
        body = client.get(url).get_data(as_text=True)
        assert not any(text in body for text in exact), (url, body[:2000])
    assert not any(text in response.get_data(as_text=True) for text in exact)


def test_collect_over_http_lists_fetches_and_submits_to_a_live_server(app, crisis):
    import requests

    app.config["SERVER_NAME"] = None
    with serve(app) as base:
        server = f"{base}/openrosa/quake"  # what the field team types into Collect
        listing = requests.get(f"{server}/formList", headers=collect_headers(), timeout=30)
        assert listing.status_code == 200 and listing.headers["X-OpenRosa-Version"] == "1.0"
        url = ET.fromstring(listing.content).find(f"{FORMS}xform/{FORMS}downloadUrl").text
        assert url.startswith(base)
        assert requests.get(url, headers=collect_headers(), timeout=30).status_code == 200
        head = requests.head(f"{server}/submission", headers=collect_headers(), timeout=30)
        assert head.status_code == 204
        instance_id = f"uuid:{uuid.uuid4()}"
        files = {
            "xml_submission_file": ("instance.xml", instance(instance_id, photo="p.jpg"), "text/xml"),
            "p.jpg": ("p.jpg", jpeg_with_gps((320, 240)), "image/jpeg"),
        }
        sent = requests.post(f"{server}/submission", files=files, headers=collect_headers(), timeout=30)
        assert sent.status_code == 201, sent.text
        resent = requests.post(f"{server}/submission", files=files, headers=collect_headers(), timeout=30)
        assert resent.status_code == 202
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id)).where(Report.client_id == instance_id)) == 1


def test_a_photo_that_is_not_an_image_or_a_read_only_token_stores_nothing(app, client, crisis, make_user):
    not_an_image = submit(client, instance("uuid:p", photo="p.jpg"), ("p.jpg", b"MZ\x90\x00 not a picture"))
    assert not_an_image.status_code == 415 and message(not_an_image)  # as the media storage refuses it
    from wiki.models import ApiToken, User

    volunteer = make_user("volunteer")
    with app.app_context():
        _token, plain = ApiToken.issue(db.session.get(User, volunteer.id), "read only", scope="read")
        db.session.commit()
    read_only = submit(client, instance("uuid:r"), Authorization=basic(plain, volunteer.username))
    assert read_only.status_code == 403 and message(read_only)
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0

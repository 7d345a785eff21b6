"""The one visibility rule (wiki/visibility.py): withdrawal is sticky, a sensitive report's public
place is stored once and everything derived from the place follows it, the reporter sees their
own report, and every showing of a contact is recorded for admins."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from tests.reports_helpers import feature
from wiki.extensions import db
from wiki.models import ContactView, Report, User
from wiki.visibility import coarsen

EXACT = (-72.33777, 18.54321)


def _submit(client, token=None, **properties):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    lon, lat = properties.pop("point", EXACT)
    response = client.post(
        "/api/v1/reports",
        json=feature(properties.pop("title", "Families sheltering"), lon=lon, lat=lat, **properties),
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def people(make_user, token_for):
    coordinator, verifier, volunteer = make_user("coordinator"), make_user("verifier"), make_user("volunteer")
    return {
        "coordinator": token_for(coordinator),
        "verifier": token_for(verifier),
        "volunteer": token_for(volunteer),
        "volunteer_person": volunteer,
        "coordinator_person": coordinator,
    }


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- withdrawal is sticky -------------------------------------------------------------------------


def test_a_withdrawn_report_stays_out_of_public_view_when_it_is_verified(app, client, crisis, people, index):
    report_id = _submit(client, place_name="Delmas 33")
    coordinator = _bearer(people["coordinator"])
    withdrawn = client.post(
        f"/api/v1/reports/{report_id}/withdraw",
        json={"reason": "the family was threatened"},
        headers=_bearer(people["verifier"]),
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["properties"]["withdrawn"]["reason"] == "the family was threatened"
    verified = client.patch(f"/api/v1/reports/{report_id}", json={"status": "verified"}, headers=coordinator)
    assert verified.status_code == 200
    assert verified.get_json()["properties"]["published"] is False
    index()
    assert client.get(f"/api/v1/reports/{report_id}").status_code == 404
    assert client.get(f"/reports/{report_id}").status_code == 404
    assert report_id not in [f["id"] for f in client.get(f"/api/v1/reports?crisis={crisis}").get_json()["features"]]
    # The index holds no withdrawn report at all, not even for coordinators.
    for headers in ({}, coordinator):
        found = client.get("/api/v1/search?q=families", headers=headers).get_json()
        assert report_id not in [r["id"] for r in found["results"]]


def test_publishing_a_withdrawn_report_is_a_conflict_and_changes_nothing(app, client, crisis, people):
    report_id = _submit(client)
    coordinator = _bearer(people["coordinator"])
    client.post(f"/api/v1/reports/{report_id}/withdraw", json={"reason": "shield the reporter"}, headers=coordinator)
    refused = client.patch(
        f"/api/v1/reports/{report_id}", json={"published": True, "title": "Changed"}, headers=coordinator
    )
    assert refused.status_code == 409
    assert "republish" in refused.get_json()["error"]["message"]
    after = client.get(f"/api/v1/reports/{report_id}", headers=coordinator).get_json()["properties"]
    assert after["published"] is False and after["title"] == "Families sheltering"


def test_only_a_coordinator_republishes_and_only_with_a_reason(app, client, crisis, people):
    report_id = _submit(client)
    client.post(
        f"/api/v1/reports/{report_id}/withdraw", json={"reason": "shield"}, headers=_bearer(people["coordinator"])
    )
    assert (
        client.post(
            f"/api/v1/reports/{report_id}/republish", json={"reason": "safe now"}, headers=_bearer(people["verifier"])
        ).status_code
        == 403
    )
    missing = client.post(
        f"/api/v1/reports/{report_id}/republish", json={"reason": "  "}, headers=_bearer(people["coordinator"])
    )
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "reason"
    assert client.get(f"/api/v1/reports/{report_id}").status_code == 404
    done = client.post(
        f"/api/v1/reports/{report_id}/republish",
        json={"reason": "the family has left the area"},
        headers=_bearer(people["coordinator"]),
    )
    assert done.status_code == 200
    assert client.get(f"/api/v1/reports/{report_id}").status_code == 200
    with app.app_context():
        from wiki.models import ReportChange

        comments = db.session.scalars(
            select(ReportChange.comment).where(ReportChange.report_id == report_id).order_by(ReportChange.id)
        ).all()
    assert comments == ["shield", "the family has left the area"]
    again = client.post(
        f"/api/v1/reports/{report_id}/republish", json={"reason": "twice"}, headers=_bearer(people["coordinator"])
    )
    assert again.status_code == 409


def test_the_database_refuses_a_withdrawn_report_that_is_published(app, client, crisis, people):
    report_id = _submit(client)
    client.post(
        f"/api/v1/reports/{report_id}/withdraw", json={"reason": "shield"}, headers=_bearer(people["coordinator"])
    )
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(update(Report).where(Report.id == report_id).values(published=True))
            db.session.commit()
        db.session.rollback()
        assert db.session.get(Report, report_id).published is False


def test_the_web_page_withdraws_and_republishes(app, client, crisis, people, login):
    report_id = _submit(client)
    login(people["coordinator_person"])
    assert client.post(f"/reports/{report_id}/withdraw", data={"reason": ""}).status_code == 422
    assert client.post(f"/reports/{report_id}/withdraw", data={"reason": "protect the nurse"}).status_code == 302
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "Withdrawn from public view" in page and "protect the nurse" in page and "Republish" in page
    # The triage form cannot publish it by the checkbox either.
    client.post(f"/reports/{report_id}/edit", data={"status": "verified", "published_present": "1", "published": "1"})
    assert app.test_client().get(f"/reports/{report_id}").status_code == 404
    assert client.post(f"/reports/{report_id}/republish", data={"reason": "moved to safety"}).status_code == 302
    assert app.test_client().get(f"/reports/{report_id}").status_code == 200


# -- a sensitive report's place ---------------------------------------------------------------------


def test_the_public_place_is_stored_once_and_follows_moves_and_the_sensitive_flag(app, client, crisis, people):
    report_id = _submit(client, sensitive=True)
    with app.app_context():
        report = db.session.get(Report, report_id)
        assert (report.public_lon, report.public_lat) == coarsen(*EXACT) != EXACT
    answers = {
        tuple(client.get(f"/api/v1/reports/{report_id}").get_json()["geometry"]["coordinates"]) for _ in range(5)
    }
    assert answers == {coarsen(*EXACT, grid_km=10.0)}  # the same cell every time: nothing to average
    coordinator = _bearer(people["coordinator"])
    client.patch(
        f"/api/v1/reports/{report_id}",
        json={"geometry": {"type": "Point", "coordinates": [-72.1, 18.7]}},
        headers=coordinator,
    )
    assert tuple(client.get(f"/api/v1/reports/{report_id}").get_json()["geometry"]["coordinates"]) == coarsen(
        -72.1, 18.7, grid_km=10.0
    )
    client.patch(f"/api/v1/reports/{report_id}", json={"sensitive": False}, headers=coordinator)
    assert client.get(f"/api/v1/reports/{report_id}").get_json()["geometry"]["coordinates"] == [-72.1, 18.7]


def test_an_import_stores_the_public_place_of_sensitive_rows(app, runner, crisis, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("title,lat,lon,sensitive\nSafe house,18.54321,-72.33777,true\nMarket,18.5,-72.3,false\n")
    result = runner.invoke(args=["import-reports", str(path), "--crisis", crisis])
    assert result.exit_code == 0, result.output
    with app.app_context():
        rows = {r.title: (r.public_lon, r.public_lat) for r in db.session.scalars(select(Report))}
    assert rows == {"Safe house": coarsen(*EXACT, grid_km=10.0), "Market": (-72.3, 18.5)}


def test_the_public_map_shows_no_place_name_or_district_of_a_sensitive_report(app, client, crisis, people):
    _submit(client, sensitive=True, place_name="Rue Capois 12")
    with app.app_context():
        db.session.execute(
            update(Report).values(adm1_pcode="HT01", adm1_name="Ouest", adm2_pcode="HT0111", adm2_name="Port-au-Prince")
        )
        db.session.commit()
    points = client.get(f"/api/v1/map/reports?crisis={crisis}&bbox=-74,17,-71,20&zoom=12").get_json()
    props = points["features"][0]["properties"]
    assert props["place_name"] == "" and props["adm2_pcode"] is None and props["adm2_name"] is None
    assert props["adm1_pcode"] == "HT01" and props["location_coarsened"] is True
    assert "Rue Capois" not in str(points)
    # The district is not found by filtering or counting either.
    assert client.get(f"/api/v1/reports?crisis={crisis}&adm=HT0111").get_json()["features"] == []
    assert len(client.get(f"/api/v1/reports?crisis={crisis}&adm=HT01").get_json()["features"]) == 1
    areas = client.get(f"/api/v1/map/areas?crisis={crisis}&level=2").get_data(as_text=True)
    assert "HT0111" not in areas or '"count": 0' in areas
    private = client.get(
        f"/api/v1/reports?crisis={crisis}&adm=HT0111", headers=_bearer(people["coordinator"])
    ).get_json()
    assert len(private["features"]) == 1 and private["features"][0]["properties"]["place_name"] == "Rue Capois 12"


def test_search_does_not_find_a_sensitive_report_by_its_place_name(app, client, crisis, people, index):
    _submit(client, title="Families sheltering", sensitive=True, place_name="Bourdon")
    index()
    assert client.get("/api/v1/search?q=bourdon").get_json()["total"] == 0
    assert client.get("/api/v1/search?q=families").get_json()["total"] == 1


# -- the reporter ---------------------------------------------------------------------------------


def test_the_reporter_sees_their_own_unpublished_report_and_nobody_else_of_their_rank(
    app, client, crisis, people, make_user, token_for
):
    app.config["REPORTS_PUBLISH"] = "after_review"
    mine = _bearer(people["volunteer"])
    report_id = _submit(
        client, people["volunteer"], sensitive=True, source={"name": "Ti Jak", "contact": "+50937000001"}
    )
    own = client.get(f"/api/v1/reports/{report_id}", headers=mine)
    assert own.status_code == 200
    assert own.get_json()["geometry"]["coordinates"] == list(EXACT)  # their own place, exactly
    assert own.get_json()["properties"]["source"]["contact"] == "+50937000001"
    assert report_id in [
        f["id"] for f in client.get(f"/api/v1/reports?crisis={crisis}", headers=mine).get_json()["features"]
    ]
    other = _bearer(token_for(make_user("volunteer")))
    assert client.get(f"/api/v1/reports/{report_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/reports/{report_id}").status_code == 404
    with app.app_context():  # a reporter reading their own contact is not someone else seeing it
        assert db.session.scalar(select(ContactView.id)) is None


# -- who saw a contact ------------------------------------------------------------------------------


def test_every_showing_of_a_contact_is_recorded_for_admins(app, client, crisis, people, make_user, login):
    report_id = _submit(client, source={"name": "Marie", "contact": "+50937000002"})
    _submit(client, title="No contact given")
    coordinator = _bearer(people["coordinator"])
    assert "+50937000002" in client.get(f"/api/v1/reports/{report_id}", headers=coordinator).get_data(as_text=True)
    client.get(f"/api/v1/reports?crisis={crisis}", headers=coordinator)
    export = client.get(f"/c/{crisis}/reports.csv", headers=coordinator)
    assert "+50937000002" in export.get_data(as_text=True)
    client.get(f"/api/v1/reports/{report_id}")  # the public sees no contact: nothing to record
    with app.app_context():
        coordinator_name = db.session.get(User, people["coordinator_person"].id).username
        rows = db.session.execute(
            select(ContactView.username, ContactView.report_id, ContactView.endpoint).order_by(ContactView.id)
        ).all()
    assert rows == [
        (coordinator_name, report_id, "api.get_report"),
        (coordinator_name, report_id, "api.list_reports"),
        (coordinator_name, report_id, "exports.csv_export"),
    ]
    admin = make_user("admin")
    other = app.test_client()
    login(admin, other)
    page = other.get(f"/admin/contacts-seen?report={report_id}").get_data(as_text=True)
    assert coordinator_name in page and "exports.csv_export" in page
    login(people["coordinator_person"])
    assert client.get("/admin/contacts-seen").status_code == 403


def test_the_report_page_and_the_triage_list_record_the_contacts_they_show(app, client, crisis, people, login):
    report_id = _submit(client, source={"name": "Marie", "contact": "+50937000003"})
    login(people["coordinator_person"])
    assert "+50937000003" in client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "+50937000003" in client.get(f"/c/{crisis}/reports").get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(text("SELECT endpoint FROM contact_views ORDER BY id")).scalars().all() == [
            "reports.view",
            "reports.index",
        ]

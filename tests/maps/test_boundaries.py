"""Admin boundaries (OCHA COD layout) and the P-codes every report gets from them."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from tests.maps_helpers import add_reports, adm1_collection, adm2_collection, as_text
from tests.reports_helpers import feature
from wiki.extensions import db
from wiki.models import AdminArea, Report

# One point in each admin-2 area of maps_helpers' boundaries, and one outside them all.
SW, NW, SE, NE, OUTSIDE = (-74.0, 18.5), (-74.0, 19.5), (-72.3, 18.5), (-72.3, 19.5), (-71.0, 18.5)


def import_file(runner, tmp_path, document, level: int, crisis: str = "quake"):
    path = tmp_path / f"adm{level}.geojson"
    path.write_text(as_text(document))
    return runner.invoke(args=["import-boundaries", str(path), "--crisis", crisis, "--level", str(level)])


def adm(app, report_id: int) -> tuple:
    with app.app_context():
        report = db.session.get(Report, report_id)
        return report.adm1_pcode, report.adm1_name, report.adm2_pcode, report.adm2_name


def submit(client, lon: float, lat: float, **properties) -> int:
    response = client.post("/api/v1/reports", json=feature(lon=lon, lat=lat, **properties))
    assert response.status_code == 201, response.data
    return response.get_json()["id"]


def test_the_cli_imports_boundaries_and_reports_get_pcodes_and_names(app, client, runner, crisis, tmp_path):
    result = import_file(runner, tmp_path, adm1_collection(), 1)
    assert result.exit_code == 0, result.output
    assert "Imported 2 admin-1 areas" in result.output
    assert import_file(runner, tmp_path, adm2_collection(), 2).exit_code == 0
    report_id = submit(client, *NE)
    assert adm(app, report_id) == ("HT02", "Est", "HT0202", "Nord-Est")
    body = client.get(f"/api/v1/reports/{report_id}").get_json()["properties"]
    assert (body["adm1_pcode"], body["adm2_pcode"], body["adm2_name"]) == ("HT02", "HT0202", "Nord-Est")
    # The answer to the submission itself carries them too (written underneath the new report).
    answer = client.post("/api/v1/reports", json=feature(lon=NE[0], lat=NE[1])).get_json()
    assert answer["properties"] == client.get(f"/api/v1/reports/{answer['id']}").get_json()["properties"]
    assert answer["properties"]["adm2_name"] == "Nord-Est"
    assert adm(app, submit(client, *SW)) == ("HT01", "Ouest", "HT0101", "Sud-Ouest")


def test_pcodes_stay_text_with_their_leading_zeros(app, runner, crisis, tmp_path):
    import_file(runner, tmp_path, adm2_collection(codes={"HT0101": "0101", "HT0202": "HT0002"}), 2)
    with app.app_context():
        codes = set(db.session.scalars(select(AdminArea.pcode)))
    assert codes == {"0101", "HT0102", "HT0201", "HT0002"}
    [report_id] = add_reports(app, "quake", [SW])
    from wiki.maps.pcodes import assign_reports

    with app.app_context():
        assign_reports([report_id])
    assert adm(app, report_id)[2] == "0101"


def test_a_numeric_pcode_is_refused_because_its_zeros_are_lost(runner, crisis, tmp_path):
    document = adm1_collection()
    document["features"][1]["properties"]["adm1_pcode"] = 102
    result = import_file(runner, tmp_path, document, 1)
    assert result.exit_code == 1 and "Feature 1" in result.output and "leading zeros" in result.output


def test_the_older_upper_case_layout_is_read_too(app, client, runner, crisis, tmp_path):
    assert import_file(runner, tmp_path, adm1_collection(upper_case=True), 1).exit_code == 0
    assert import_file(runner, tmp_path, adm2_collection(upper_case=True), 2).exit_code == 0
    assert adm(app, submit(client, *NW)) == ("HT01", "Ouest", "HT0102", "Nord-Ouest")


def test_an_admin2_file_alone_gives_the_admin1_of_its_parent_columns(app, client, runner, crisis, tmp_path):
    assert import_file(runner, tmp_path, adm2_collection(), 2).exit_code == 0
    assert adm(app, submit(client, *SE)) == ("HT02", "Est", "HT0201", "Sud-Est")


def test_reports_outside_every_area_get_none(app, client, runner, crisis, tmp_path):
    import_file(runner, tmp_path, adm1_collection(), 1)
    assert adm(app, submit(client, *OUTSIDE)) == (None, None, None, None)


def test_reimporting_boundaries_places_every_report_again(app, client, runner, crisis, tmp_path):
    ids = add_reports(app, "quake", [SW, NW, SE, NE, OUTSIDE] * 3)  # already there before any boundaries
    assert adm(app, ids[0]) == (None, None, None, None)
    import_file(runner, tmp_path, adm2_collection(), 2)
    assert [adm(app, i)[2] for i in ids[:5]] == ["HT0101", "HT0102", "HT0201", "HT0202", None]
    result = import_file(runner, tmp_path, adm2_collection(codes={"HT0101": "HT0109"}), 2)
    assert "3 reports changed admin area" in result.output
    assert [adm(app, i)[2] for i in ids[:5]] == ["HT0109", "HT0102", "HT0201", "HT0202", None]
    with app.app_context():
        assert (
            db.session.scalar(select(AdminArea.pcode).where(AdminArea.pcode == "HT0101")) is None
        )  # replaced, not added


def test_moving_a_report_moves_it_to_another_area(app, client, runner, crisis, tmp_path, make_user, login):
    import_file(runner, tmp_path, adm2_collection(), 2)
    report_id = submit(client, *SW)
    login(make_user("coordinator"))
    moved = client.patch(f"/api/v1/reports/{report_id}", json={"geometry": {"type": "Point", "coordinates": list(NE)}})
    assert moved.status_code == 200
    assert adm(app, report_id)[2] == "HT0202"


def test_bulk_imported_reports_get_their_areas(app, runner, crisis, tmp_path):
    from wiki import plugins

    import_file(runner, tmp_path, adm1_collection(), 1)
    ids = add_reports(app, "quake", [SW, SE])
    with app.test_request_context():
        from wiki.models import Crisis

        plugins.call("reports_imported", crisis=db.session.scalar(select(Crisis)), report_ids=ids)
    assert [adm(app, i)[0] for i in ids] == ["HT01", "HT02"]


def test_coordinators_import_on_the_boundaries_page(app, client, crisis, make_user, login):
    assert client.get("/c/quake/boundaries").status_code == 200
    assert client.post("/c/quake/boundaries", data={"level": "1"}).status_code == 401
    login(make_user("volunteer"))
    assert client.post("/c/quake/boundaries", data={"level": "1"}).status_code == 403
    login(make_user("coordinator"))
    page = client.get("/c/quake/boundaries")
    assert b'name="csrf_token"' in page.data and b'for="file"' in page.data and b'for="level"' in page.data
    done = client.post(
        "/c/quake/boundaries",
        data={"level": "1", "file": (io.BytesIO(as_text(adm1_collection()).encode()), "adm1.geojson")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    assert b"Imported 2 admin-1 areas" in client.get("/c/quake/boundaries").data
    broken = adm1_collection()
    broken["features"][0]["properties"] = {"name": "no code"}
    refused = client.post(
        "/c/quake/boundaries",
        data={"level": "1", "file": (io.BytesIO(as_text(broken).encode()), "x.geojson")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and b"Feature 0 has no admin-1 P-code" in refused.data


def test_boundaries_are_served_as_geojson(client, runner, crisis, tmp_path):
    import_file(runner, tmp_path, adm2_collection(), 2)
    data = client.get("/api/v1/crises/quake/boundaries?level=2&tolerance=0").get_json()
    assert data["type"] == "FeatureCollection" and [f["properties"]["pcode"] for f in data["features"]] == [
        "HT0101",
        "HT0102",
        "HT0201",
        "HT0202",
    ]
    assert data["features"][0]["properties"]["parent_pcode"] == "HT01"
    assert client.get("/api/v1/crises/quake/boundaries?level=3").status_code == 422
    assert client.get("/api/v1/crises/quake/boundaries?level=1").get_json()["features"] == []


def test_counts_per_area_filters_and_exports_use_the_pcodes(app, client, runner, crisis, tmp_path):
    import_file(runner, tmp_path, adm2_collection(), 2)
    for point, sector in ((SW, "health"), (SW, "wash"), (NW, "health"), (NE, "health"), (OUTSIDE, "health")):
        submit(client, *point, sector=sector)
    counts = client.get("/api/v1/map/areas?crisis=quake&level=2").get_json()
    assert {a["pcode"]: a["count"] for a in counts["areas"]} == {"HT0101": 2, "HT0102": 1, "HT0201": 0, "HT0202": 1}
    assert counts["unassigned"] == 1 and counts["total"] == 5
    health = client.get("/api/v1/map/areas?crisis=quake&level=1&sector=health").get_json()
    assert {a["pcode"]: a["count"] for a in health["areas"]} == {"HT01": 2, "HT02": 1}
    in_view = client.get("/api/v1/map/areas?crisis=quake&level=2&bbox=-74.5,17.9,-73.5,19.0").get_json()
    assert {a["pcode"]: a["count"] for a in in_view["areas"]}["HT0101"] == 2
    assert client.get("/api/v1/reports?adm=HT0101").get_json()["features"].__len__() == 2
    assert client.get("/api/v1/reports?adm=HT01").get_json()["features"].__len__() == 3
    assert view_total(client, adm="HT0202") == 1
    rows = list(csv.reader(io.StringIO(client.get("/c/quake/reports.csv").get_data(as_text=True))))
    header, tags = rows[0], rows[1]
    column = header.index("adm2_pcode")
    assert tags[column] == "#adm2+code" and tags[header.index("adm1_name")] == "#adm1+name"
    assert sorted(row[column] for row in rows[2:]) == ["", "HT0101", "HT0101", "HT0102", "HT0202"]


def view_total(client, **params) -> int:
    return client.get("/api/v1/map/reports", query_string={"crisis": "quake", **params}).get_json()["total"]


def test_the_map_page_offers_counts_per_area_once_boundaries_exist(client, runner, crisis, tmp_path):
    assert b"map-areas-toggle" not in client.get("/c/quake/map").data
    import_file(runner, tmp_path, adm1_collection(), 1)
    assert b'id="map-areas-toggle"' in client.get("/c/quake/map").data


@pytest.mark.parametrize(
    "document, words",
    [
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"adm1_pcode": "HT01"},
                        "geometry": {"type": "Point", "coordinates": [0, 0]},
                    }
                ],
            },
            "not a Polygon",
        ),
        ({"type": "FeatureCollection", "features": []}, "no admin areas"),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"adm1_pcode": "HT 01!"},
                        "geometry": {"type": "Point", "coordinates": [0, 0]},
                    }
                ],
            },
            "is not a P-code",
        ),
    ],
)
def test_broken_boundary_files_are_refused_and_change_nothing(app, runner, crisis, tmp_path, document, words):
    import_file(runner, tmp_path, adm1_collection(), 1)
    result = import_file(runner, tmp_path, document, 1)
    assert result.exit_code == 1 and words in result.output
    with app.app_context():
        assert len(db.session.scalars(select(AdminArea)).all()) == 2


def test_areas_drawn_in_several_pieces_are_merged(app, runner, crisis, tmp_path):
    document = adm1_collection()
    west = document["features"][0]
    half = json.loads(json.dumps(west))
    half["geometry"]["coordinates"][0] = [[-74.5, 17.9], [-74.0, 17.9], [-74.0, 20.1], [-74.5, 20.1], [-74.5, 17.9]]
    document["features"].append(half)
    assert import_file(runner, tmp_path, document, 1).exit_code == 0
    with app.app_context():
        assert sorted(db.session.scalars(select(AdminArea.pcode))) == ["HT01", "HT02"]


def test_codes_an_import_brought_are_kept_for_levels_without_boundaries(app, runner, crisis, tmp_path):
    from wiki import plugins
    from wiki.models import Crisis

    brought = {"adm1_pcode": "HT09", "adm1_name": "Imported", "adm2_pcode": "HT0901", "adm2_name": "Imported commune"}
    ids = add_reports(app, "quake", [SW, NE], **brought)

    def imported() -> None:
        with app.test_request_context():
            plugins.call("reports_imported", crisis=db.session.scalar(select(Crisis)), report_ids=ids)

    imported()  # no boundaries at all: nothing to compute, nothing lost
    assert adm(app, ids[0]) == ("HT09", "Imported", "HT0901", "Imported commune")
    import_file(runner, tmp_path, adm1_collection(), 1)  # admin 1 only: computed; admin 2 kept
    assert adm(app, ids[0]) == ("HT01", "Ouest", "HT0901", "Imported commune")
    import_file(runner, tmp_path, adm2_collection(), 2)  # both levels known now
    assert adm(app, ids[1]) == ("HT02", "Est", "HT0202", "Nord-Est")

"""Importing the files people actually have, with no column mapped by hand: a CSV saved by Excel
in Windows-1252 with semicolons and day-first dates, a workbook made by openpyxl, the exports of
KoboToolbox, ODK Central, Ushahidi v3 and v2, an HDX-style file of admin areas without
coordinates or titles, a 40,000-row file of DD/MM/YYYY dates; failures counted by kind; and a
crisis's own HXL export, which libhxl validates by URL, imported back (unchanged: nothing
changes; edited: the reports it names are updated, not doubled)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.live_server import serve
from tests.maps_helpers import adm1_collection, adm2_collection
from wiki.extensions import db
from wiki.models import AdminArea, Crisis, Report, User
from wiki.reports.import_files import detect_mapping, open_table
from wiki.reports.importer import ImportOptions, import_reports


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SERVER_NAME": None}  # served on a loopback port for libhxl


def run(app, path: Path, **options):
    """What `crisiswiki import-reports FILE` does: the detected layout and mapping, nothing by hand."""
    with app.app_context():
        table = open_table(path)
        mapping = detect_mapping(table.columns, table.layout)
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        user = db.session.scalar(select(User).where(User.role == "coordinator"))
        result = import_reports(table, crisis, mapping, filename=path.name, user=user, options=ImportOptions(**options))
        return result, table


def reports(app) -> list[Report]:
    with app.app_context():
        rows = db.session.scalars(select(Report).order_by(Report.id)).all()
        db.session.expunge_all()
        return rows


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Report))


@pytest.fixture
def coordinator(make_user):
    return make_user("coordinator")


def test_an_excel_csv_in_windows_1252_with_semicolons_and_day_first_dates(app, crisis, coordinator, tmp_path):
    text = (
        "Titre;Description;Latitude;Longitude;Date;Secteur;Lieu\r\n"
        "Pont effondré;Route côtière coupée à Léogâne;18,51;-72,63;13/11/2026;Logistique;Léogâne\r\n"
        "Clinique débordée;Blessés nombreux;18,54;-72,34;02/11/2026;Health;Carrefour\r\n"
        "Eau;Pas d'eau depuis lundi;18,55;-72,30;01/11/2026 14:30;Water, Sanitation and Hygiene;Pétion-Ville\r\n"
    )
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1252"))
    result, table = run(app, path)
    assert (table.delimiter, table.encoding) == (";", "cp1252")
    assert (result.imported, result.failed, result.day_first) == (3, 0, "day")
    bridge, clinic, water = reports(app)
    assert (bridge.title, bridge.place_name, bridge.lat, bridge.lon) == ("Pont effondré", "Léogâne", 18.51, -72.63)
    assert bridge.occurred_at.strftime("%Y-%m-%d") == "2026-11-13"
    assert clinic.occurred_at.strftime("%Y-%m-%d") == "2026-11-02"  # day-first, as the file's 13/11 shows
    assert water.occurred_at.strftime("%Y-%m-%d %H:%M") == "2026-11-01 14:30" and water.sector == "wash"
    assert clinic.sector == "health" and bridge.sector == "other"  # French cluster names are not known: Other
    assert result.notes.largest_first()[0].kind == "sector_other"


def test_times_are_read_in_the_time_zone_given(app, crisis, coordinator, tmp_path):
    path = tmp_path / "tz.csv"
    path.write_text("title,lat,lon,date\nA,18.5,-72.3,2026-11-13 10:00\n")
    run(app, path, timezone="America/Port-au-Prince")
    [report] = reports(app)
    assert report.occurred_at.strftime("%H:%M") == "15:00"  # 10:00 in Haiti (UTC-5) is 15:00 UTC


def test_a_workbook_made_by_openpyxl(app, crisis, coordinator, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from datetime import datetime

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Title", "Description", "Latitude", "Longitude", "Date", "Cluster", "ID", "adm1_pcode"])
    sheet.append(["#description+title", "#description", "#geo+lat", "#geo+lon", "#date", "#sector", "#meta+id", ""])
    sheet.append(["Shelter full", "No more room", 18.5, -72.3, datetime(2026, 11, 13, 9, 30), "shelter", 101, "HT01"])
    sheet.append(["Road cut", "", 18.6, -72.2, datetime(2026, 11, 14), "Logistics", 102, "HT01"])
    sheet.append([None, None, None, None, None, None, None, None])  # an empty row is not a report
    sheet.append(["Cholera", "Cases at the clinic", 18.4, -72.4, "13/11/2026", "Health", 103, "HT02"])
    path = tmp_path / "reports.xlsx"
    workbook.save(path)
    result, table = run(app, path)
    assert table.kind == "sheet" and table.has_hxl
    assert (result.imported, result.failed) == (3, 0), result.groups.as_list()
    shelter, road, cholera = reports(app)
    assert (shelter.title, shelter.sector, shelter.client_id) == ("Shelter full", "shelter", "import:quake:101")
    assert shelter.occurred_at.strftime("%Y-%m-%d %H:%M") == "2026-11-13 09:30"
    assert (road.sector, cholera.adm1_pcode, cholera.occurred_at.day) == ("logistics", "HT02", 13)
    again, _table = run(app, path)
    assert (again.imported, again.already_imported) == (0, 3)


KOBO = (
    "start,end,today,group_report/what_happened,group_report/category,group_report/people_affected,"
    "group_location/location,_group_location/location_latitude,_group_location/location_longitude,"
    "_id,_uuid,_submission_time,_validation_status,_notes,_status,_submitted_by,__version__,_tags,_index,"
    "_geolocation\n"
    "2026-11-13T08:01:02.000-05:00,2026-11-13T08:05:00.000-05:00,2026-11-13,"
    '"Bridge collapsed on the coast road, trucks cannot pass",logistics food_security,40,'
    "18.54 -72.34 0 5,18.54,-72.34,1001,4f1d2c3b-aaaa-4bbb-8ccc-000000000001,2026-11-13T13:06:11,,,"
    'submitted_via_web,enumerator1,vA1,,1,"[18.54, -72.34]"\n'
    "2026-11-13T09:00:00.000-05:00,2026-11-13T09:03:00.000-05:00,2026-11-13,"
    "Cholera cases at the health centre,health,12,,,,1002,4f1d2c3b-aaaa-4bbb-8ccc-000000000002,"
    '2026-11-13T14:04:00,,,submitted_via_web,enumerator2,vA1,,2,"[18.51, -72.63]"\n'
    "2026-11-13T10:00:00.000-05:00,2026-11-13T10:03:00.000-05:00,2026-11-13,"
    "No water in the camp,water_sanitation_hygiene,200,,,,1003,4f1d2c3b-aaaa-4bbb-8ccc-000000000003,"
    '2026-11-13T15:00:00,,,submitted_via_web,enumerator1,vA1,,3,"[None, None]"\n'
)


def test_a_kobotoolbox_export_imports_with_no_mapping(app, crisis, coordinator, tmp_path):
    path = tmp_path / "kobo.csv"
    path.write_text(KOBO)
    result, table = run(app, path)
    assert table.layout.name == "kobo"
    with app.app_context():
        mapping = detect_mapping(table.columns, table.layout)
    headers = [column.header for column in table.columns]
    assert headers[mapping["id"]] == "_uuid" and headers[mapping["received_at"]] == "_submission_time"
    assert "status" not in mapping  # _status is Kobo's submission state, not a report status
    assert (result.imported, result.failed) == (3, 0), result.groups.as_list()
    bridge, cholera, water = reports(app)
    assert bridge.title == "Bridge collapsed on the coast road, trucks cannot pass"  # made from the description
    assert (bridge.lat, bridge.lon, bridge.sector, bridge.status) == (18.54, -72.34, "logistics", "new")
    assert bridge.client_id == "import:quake:4f1d2c3b-aaaa-4bbb-8ccc-000000000001"
    assert bridge.received_at.strftime("%Y-%m-%d %H:%M") == "2026-11-13 13:06"
    assert (cholera.lat, cholera.lon, cholera.sector) == (18.51, -72.63, "health")  # from _geolocation
    assert (water.location_kind, water.lat, water.sector) == ("unknown", None, "wash")
    again, _table = run(app, path)
    assert (again.imported, again.already_imported) == (0, 3)  # _uuid is the idempotency key


def test_an_odk_central_export(app, crisis, coordinator, tmp_path):
    path = tmp_path / "odk.csv"
    path.write_text(
        "SubmissionDate,start,end,report-title,report-details,report-sector,report-location-Latitude,"
        "report-location-Longitude,report-location-Altitude,report-location-Accuracy,meta-instanceID,KEY,"
        "SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,"
        "FormVersion\n"
        "2026-11-13T14:00:00.000Z,2026-11-13T13:50:00.000Z,2026-11-13T13:55:00.000Z,Market burnt,"
        "Stalls lost,food_security,18.53,-72.33,0,4,uuid:aaa1,uuid:aaa1,5,collector,0,0,,approved,,0,1\n"
    )
    result, table = run(app, path)
    assert table.layout.name == "odk" and (result.imported, result.failed) == (1, 0), result.groups.as_list()
    [report] = reports(app)
    assert (report.title, report.sector, report.lat, report.lon) == ("Market burnt", "food", 18.53, -72.33)
    assert report.client_id == "import:quake:uuid:aaa1"


def test_ushahidi_v3_and_v2_exports(app, crisis, coordinator, tmp_path):
    v3 = tmp_path / "ushahidi.csv"
    v3.write_text(
        "Post ID,Survey,Post Status,Created (UTC),Updated (UTC),Post Date (UTC),Contact ID,Contact,Sets,Title,"
        "Description,Location.lat,Location.lon,Categories\n"
        "17,Incidents,published,2026-11-13 10:00:00,2026-11-13 11:00:00,2026-11-12 18:00:00,,,,Trapped people,"
        '"Family under rubble, Delmas 33",18.55,-72.30,"Search and Rescue,Health"\n'
    )
    v2 = tmp_path / "ushahidi-v2.csv"
    v2.write_text(
        "#,INCIDENT TITLE,INCIDENT DATE,LOCATION,DESCRIPTION,CATEGORY,LATITUDE,LONGITUDE,APPROVED,VERIFIED\n"
        '4052,Food shortage,2010-01-20 09:00:00,Jacmel,No food for three days,"2. Vital Lines, 2a. Food Shortage",'
        "18.23,-72.53,YES,NO\n"
    )
    first, table3 = run(app, v3)
    second, table2 = run(app, v2)
    assert (table3.layout.name, table2.layout.name) == ("ushahidi3", "ushahidi2")
    assert (first.imported, second.imported, first.failed + second.failed) == (1, 1, 0)
    trapped, food = reports(app)
    assert (trapped.title, trapped.sector, trapped.lat, trapped.client_id) == (
        "Trapped people",
        "health",  # the first category that names a cluster
        18.55,
        "import:quake:17",
    )
    assert trapped.occurred_at.strftime("%Y-%m-%d %H") == "2026-11-12 18"
    assert (food.sector, food.place_name, food.client_id) == ("food", "Jacmel", "import:quake:4052")


@pytest.fixture
def boundaries(app, crisis):
    from wiki.maps.boundaries import import_boundaries

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        quake = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        import_boundaries(quake, 1, adm1_collection(), admin)
        import_boundaries(quake, 2, adm2_collection(), admin)
        assert db.session.scalar(select(func.count()).select_from(AdminArea)) == 6


def test_an_hdx_style_file_of_admin_areas_without_coordinates_or_titles(app, boundaries, coordinator, tmp_path):
    path = tmp_path / "hdx.csv"
    path.write_text(
        "Date,Admin 1,Admin 2 P-code,Sector,Description\n"
        "#date,#adm1+name,#adm2+code,#sector,#description\n"
        "2026-11-10,Ouest,HT0101,Health,Cholera treatment centre at capacity\n"
        "2026-11-10,Est,,Food Security,\n"
        "2026-11-11,Nowhere,,WASH,Water trucking needed\n"
    )
    result, _table = run(app, path)
    assert (result.imported, result.failed) == (3, 0), result.groups.as_list()
    cholera, food, water = reports(app)
    assert (cholera.title, cholera.location_kind, cholera.location_ref) == (
        "Cholera treatment centre at capacity",
        "area",
        "pcode:HT0101",
    )
    assert cholera.lon is not None and cholera.location_radius_m > 0 and cholera.adm2_pcode == "HT0101"
    assert (food.title, food.location_kind, food.location_ref) == ("Food Security: Est", "area", "pcode:HT02")
    assert water.location_kind == "unknown" and water.lon is None  # a name nobody knows: no place, not a failure
    [unknown] = result.notes.largest_first()
    assert unknown.kind == "place_unknown" and unknown.lines == [5]


def test_failures_are_counted_by_kind_and_nothing_goes_in_unless_asked(app, crisis, coordinator, tmp_path):
    rows = ["title,lat,lon,date"] + [f"Report {i},18.5,-72.3,{(i % 28) + 1:02d}/12/2025" for i in range(400)]
    rows += ["No place,95,-72.3,01/12/2025"]
    path = tmp_path / "month.csv"
    path.write_text("\n".join(rows) + "\n")
    rejected = tmp_path / "rejected.csv"
    result, _table = run(app, path, day_first="month", rejected_path=rejected)
    day_first_only = sum(1 for i in range(400) if (i % 28) + 1 > 12)  # 13/12/2025 ... 28/12/2025
    assert (result.imported, result.failed, result.held_back, count(app)) == (
        0,
        day_first_only + 1,
        400 - day_first_only,
        0,
    )
    first, second = result.groups.largest_first()
    assert (first.kind, first.field, first.count) == ("date_day_first", "occurred_at", day_first_only)
    assert first.example.startswith("date ") and first.example.endswith("is day-first; choose day-first.")
    assert len(first.lines) == 5 and second.count == 1 and second.lines == [402]
    lines = rejected.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "title,lat,lon,date,line,reason" and len(lines) == result.failed + 1
    # Chosen as the file shows it, every row but the bad one goes in when the good rows are asked for.
    result, _table = run(app, path, day_first="day", partial=True)
    assert (result.imported, result.failed) == (400, 1)


@pytest.mark.slow  # a file of 40,001 rows: a load test, in make test and not in make test-fast
def test_forty_thousand_rows_of_day_first_dates(app, crisis, coordinator, tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "lat", "lon", "date", "sector"])
        for i in range(40_000):
            writer.writerow([f"b{i}", f"Report {i}", 18.5, -72.3, f"{i % 12 + 1:02d}/{i % 9 + 1:02d}/2025", "health"])
        writer.writerow(["b40000", "The day that shows it", 18.5, -72.3, "25/12/2025", "health"])
    result, _table = run(app, path)
    assert (result.imported, result.failed, result.day_first) == (40_001, 0, "day")
    with app.app_context():
        report = db.session.scalar(select(Report).where(Report.client_id == "import:quake:b13"))
        assert report.occurred_at.strftime("%Y-%m-%d") == "2025-05-02"  # 02/05: 2 May, day first


def export_text(client) -> str:
    response = client.get("/c/quake/reports.csv")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_crisis_export_imports_back_unchanged_and_an_edited_one_updates(
    app, client, crisis, coordinator, login, tmp_path
):
    path = tmp_path / "kobo.csv"
    path.write_text(KOBO)
    run(app, path)
    login(coordinator)
    before = export_text(client)
    exported = tmp_path / "export.csv"
    exported.write_text(before)
    result, table = run(app, exported)
    assert table.layout.name == "crisiswiki"
    assert (result.imported, result.updated, result.unchanged, result.failed) == (0, 0, 3, 0)
    assert export_text(client) == before  # export -> import -> export: the same file

    rows = list(csv.reader(io.StringIO(before)))
    header = rows[0]
    rows[2][header.index("title")] = "Bridge collapsed (checked)"
    rows[3][header.index("status")] = "verified"
    rows[4][header.index("sector")] = "Health"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    exported.write_text(buffer.getvalue())
    result, _table = run(app, exported)
    assert (result.imported, result.updated, result.unchanged, result.failed) == (0, 3, 0, 0)
    assert count(app) == 3  # updated, not doubled
    bridge, cholera, water = reports(app)
    assert (bridge.title, cholera.status, water.sector) == ("Bridge collapsed (checked)", "verified", "health")


def test_the_hxl_export_passes_libhxl_validation_read_by_url(app, client, crisis, coordinator, tmp_path):
    hxl = pytest.importorskip("hxl")
    path = tmp_path / "kobo.csv"
    path.write_text(KOBO)
    run(app, path)
    with serve(app) as base:
        import requests

        response = requests.get(f"{base}/c/quake/reports.csv", timeout=30)
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once
        source = hxl.data(f"{base}/c/quake/reports.csv", hxl.InputOptions(allow_local=True))
        tags = [column.display_tag for column in source.columns]
        rows = list(source)
        report = hxl.validate(hxl.data(f"{base}/c/quake/reports.csv", hxl.InputOptions(allow_local=True)))
    assert "#geo+lat" in tags and "#adm1+code" in tags and "#date+occurred" in tags
    assert len(rows) == 3
    assert report["is_valid"], report
    by_title = {row.get("#description+title"): row for row in rows}
    bridge = by_title["Bridge collapsed on the coast road, trucks cannot pass"]
    assert bridge.get("#sector") == "Logistics"  # the cluster's name, not our key
    assert hxl.datatypes.normalise_date(bridge.get("#date+reported")) == "2026-11-13"
    assert bridge.get("#date+reported") == "2026-11-13T13:06:11Z"

"""Importing field reports from CSV (with or without HXL hashtags) and GeoJSON: on the command
line and through the coordinators' two-step upload page."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from wiki.extensions import db
from wiki.hooks import hookimpl
from wiki.models import Crisis, Report, Source
from wiki.reports.import_files import apply_overrides, detect_mapping, open_table
from wiki.reports.importer import ImportOptions, import_reports

HXL_CSV = """\
Headline,Details,Y,X,Cluster,State,Occurred,Reported,Where,Ref,Dept
#description +title,#description,#GEO+Lat,#geo +lon,#sector,#status,#date+occurred,#date+reported,#loc+name,#meta+id,#adm1+code
Bridge down,The coast road bridge fell.,18.54,-72.34,Logistics,verified,2010-01-13,2010-01-14T08:00:00Z,Carrefour,A1,HT01
Clinic overwhelmed,,18.51,-72.63,"Water, Sanitation and Hygiene",,2010-01-13T10:00,,Léogâne,A2,HT01
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding, newline="")
    return path


def run_import(app, path: Path, overrides: dict[str, str] | None = None, encoding: str | None = None, **options):
    """The service the CLI and the upload page share, with the detected mapping."""
    with app.app_context():
        table = open_table(path, encoding=encoding)
        mapping = apply_overrides(detect_mapping(table.columns, table.layout), table.columns, overrides or {})
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        options.setdefault("options", ImportOptions(partial=True))  # the good rows even when some fail
        return import_reports(table, crisis, mapping, filename=path.name, **options)


def stored(app) -> list[Report]:
    with app.app_context():
        rows = db.session.scalars(select(Report).order_by(Report.id)).all()
        for report in rows:
            _ = report.source.name  # loaded while the session is open
        return rows


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Report))


def failures(result) -> list[tuple[int, str]]:
    return [(f.line, f.field) for f in result.failures]


def test_csv_with_an_hxl_row_is_mapped_by_hashtags_in_any_spelling(app, crisis, tmp_path):
    result = run_import(app, write(tmp_path, "hxl.csv", HXL_CSV))
    assert (result.imported, result.already_imported, result.failed) == (2, 0, 0), result.failures
    bridge, clinic = stored(app)
    assert (bridge.title, bridge.description, bridge.lat, bridge.lon) == (
        "Bridge down",
        "The coast road bridge fell.",
        18.54,
        -72.34,
    )
    assert (bridge.sector, bridge.status, bridge.place_name, bridge.adm1_pcode) == (
        "logistics",
        "verified",
        "Carrefour",
        "HT01",
    )
    assert bridge.occurred_at.isoformat() == "2010-01-13T00:00:00+00:00"
    assert bridge.received_at.isoformat() == "2010-01-14T08:00:00+00:00"  # #date+reported, not the time of import
    assert (bridge.channel, bridge.client_id, bridge.published) == ("import", "import:quake:A1", True)
    assert (clinic.sector, clinic.status, clinic.place_name) == (
        "wash",
        "new",
        "Léogâne",
    )  # a full cluster name; default status


def test_csv_without_hxl_is_mapped_by_header_names(app, crisis, tmp_path):
    text = (
        "ID,Title,Description,Latitude,Lng,Sector,Date,Place\n"
        "7,Shelter needed,Families sleeping outside,18.55,-72.30,shelter,2010-01-15,Delmas\n"
    )
    result = run_import(app, write(tmp_path, "plain.csv", text))
    assert (result.imported, result.failed) == (1, 0)
    [report] = stored(app)
    assert (report.title, report.description, report.lat, report.lon) == (
        "Shelter needed",
        "Families sleeping outside",
        18.55,
        -72.30,
    )
    assert (report.sector, report.place_name, report.client_id) == ("shelter", "Delmas", "import:quake:7")


def test_semicolon_csv_with_a_byte_order_mark_and_decimal_commas(app, crisis, tmp_path):
    text = "title;lat;lon;sector\r\nPuits contaminé;18,54;-72,34;wash\r\nÉcole détruite;18.6;-72.2;education\r\n"
    path = write(tmp_path, "excel.csv", "\ufeff" + text)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = run_import(app, path)
    assert (result.imported, result.failed) == (2, 0), result.failures
    first, second = stored(app)
    assert (first.title, first.lat, first.lon, first.sector) == ("Puits contaminé", 18.54, -72.34, "wash")
    assert second.title == "École détruite"


def test_an_explicit_mapping_overrides_hashtags_and_header_names(app, crisis, tmp_path):
    text = (
        "title,Headline,north,east,description\n"
        "#meta+x_job,#x_headline,,,#description\n"
        "Logistics officer,Road blocked at the bridge,18.5,-72.3,Trees on the road\n"
    )
    path = write(tmp_path, "custom.csv", text)
    with app.app_context():
        table = open_table(path)
        assert detect_mapping(table.columns)["title"] == 0  # by header name: no hashtag says title
    result = run_import(app, path, {"title": "Headline", "lat": "north", "lon": "east", "description": "#description"})
    assert (result.imported, result.failed) == (1, 0), result.failures
    [report] = stored(app)
    assert (report.title, report.description, report.lat, report.lon) == (
        "Road blocked at the bridge",
        "Trees on the road",
        18.5,
        -72.3,
    )


def test_a_mapping_to_a_column_the_file_lacks_is_refused(app, crisis, tmp_path):
    from wiki.errors import InvalidInput

    with pytest.raises(InvalidInput, match="no column 'Nope'"):
        run_import(app, write(tmp_path, "a.csv", HXL_CSV), {"title": "Nope"})


def test_geojson_features_are_imported_with_the_same_mapping_and_feature_indexes(app, crisis, tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": 11,
                "geometry": {"type": "Point", "coordinates": [-72.34, 18.54]},
                "properties": {
                    "title": "Market burnt",
                    "sector": "Food Security",
                    "occurred_at": "2010-01-13T12:00:00Z",
                    "source": {"name": "Jean", "contact": "+509 3456 7890"},
                },
            },
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[-72, 18], [-72.1, 18], [-72, 18.1], [-72, 18]]]},
                "properties": {"title": "An area"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]},
                "properties": {"Headline": "Needs water"},
            },
            "not a feature",
        ],
    }
    path = write(tmp_path, "reports.geojson", json.dumps(collection))
    result = run_import(app, path)
    assert result.imported == 1
    assert failures(result) == [(1, "geometry.type"), (2, "title"), (3, "type")]  # feature indexes
    [report] = stored(app)
    assert (report.title, report.sector, report.lon, report.lat, report.client_id) == (
        "Market burnt",
        "food",
        -72.34,
        18.54,
        "import:quake:11",
    )
    assert (report.source.name, report.source.contact) == ("Jean", "+509 3456 7890")
    again = run_import(app, path, {"title": "Headline"})
    assert (again.imported, again.already_imported) == (1, 0)  # the third feature, with its own title column
    assert stored(app)[-1].title == "Needs water"


def test_geojson_is_read_feature_by_feature_across_any_chunk_boundary():
    import io

    from wiki.reports.import_files import stream_features

    features = [
        {
            "type": "Feature",
            "id": i,
            "geometry": {"type": "Point", "coordinates": [-72.123456789, 18.5e0 + i]},
            "properties": {"title": f'Réport {i} "quoted"', "n": -3e-10, "ok": i % 2 == 0, "none": None},
        }
        for i in range(20)
    ]
    text = json.dumps({"features": features, "type": "FeatureCollection", "bbox": [-74.5, 17.9, -71.6, 20.1]}, indent=2)
    for chunk in (1, 2, 3, 5, 8, 13, 4096):
        assert list(stream_features(io.StringIO(text), chunk=chunk)) == features


def test_bad_rows_are_listed_with_their_line_numbers_while_good_rows_go_in(app, crisis, tmp_path):
    lines = [
        "title,description,lat,lon,sector,occurred_at,status",  # 1
        "#description+title,#description,#geo+lat,#geo+lon,#sector,#date+occurred,#status",  # 2
        "Good one,,18.5,-72.3,health,2010-01-13,",  # 3
        ",,18.5,-72.3,health,2010-01-13,",  # 4: no title, and no description to make one from
        "Too far north,,95,-72.3,health,2010-01-13,",  # 5
        'Good two,"a description',  # 6: a quoted cell runs over two physical lines
        'on two lines",18.5,-72.3,wash,2010-01-13,',  # 7
        "Too far east,,18.5,200,health,2010-01-13,",  # 8
        "Odd sector,,18.5,-72.3,astrology,2010-01-13,",  # 9
        "From the future,,18.5,-72.3,health,2099-01-01,",  # 10
        "",  # 11: a blank line is not a report
        "Words for numbers,,north,-72.3,health,2010-01-13,",  # 12
        "Odd status,,18.5,-72.3,health,2010-01-13,lost",  # 13
        "Good three,,18.5,-72.3,,,archived",  # 14
    ]
    result = run_import(app, write(tmp_path, "mixed.csv", "\n".join(lines) + "\n"))
    assert result.imported == 4
    assert failures(result) == [
        (4, "title"),
        (5, "geometry.coordinates"),
        (8, "geometry.coordinates"),
        (10, "occurred_at"),
        (12, "lat"),
        (13, "status"),
    ]
    reasons = {f.line: f.reason for f in result.failures}
    assert "95" in reasons[5] and "200" in reasons[8] and "future" in reasons[10]
    assert "'north'" in reasons[12]
    # A category that names no cluster files the report under Other, with a remark (not a failure).
    [other] = result.notes.largest_first()
    assert (other.kind, other.count, other.lines) == ("sector_other", 1, [9]) and "astrology" in other.example
    good = stored(app)
    assert [r.title for r in good] == ["Good one", "Good two", "Odd sector", "Good three"]
    assert good[1].description == "a description\non two lines" and good[3].status == "archived"
    assert good[2].sector == "other"


def test_re_importing_a_file_stores_each_report_once(app, crisis, tmp_path):
    path = write(tmp_path, "twice.csv", HXL_CSV)
    first = run_import(app, path)
    second = run_import(app, path)
    assert (first.imported, first.already_imported) == (2, 0)
    assert (second.imported, second.already_imported, second.failed) == (0, 2, 0)
    assert second.succeeded
    assert count(app) == 2


def test_an_id_used_twice_in_one_file_is_a_failure_not_a_silent_skip(app, crisis, tmp_path):
    text = "id,title,lat,lon\n5,First,18.5,-72.3\n5,Second,18.5,-72.3\n"
    result = run_import(app, write(tmp_path, "dup.csv", text))
    assert result.imported == 1 and failures(result) == [(3, "id")]
    assert "line 2" in result.failures[0].reason


def test_a_run_stopped_by_a_broken_file_is_finished_by_running_it_again(app, crisis, tmp_path):
    rows = [f"r{i},Report {i},18.5,-72.3" for i in range(2500)]
    good = "id,title,lat,lon\n" + "\n".join(rows) + "\n"
    broken = tmp_path / "broken.csv"
    broken.write_bytes(good.encode()[:-5000] + b"\xff\xfe broken\n" + good.encode()[-5000:])
    first = run_import(app, broken, batch_size=1000, encoding="utf-8")  # as chosen: UTF-8
    assert first.error is not None and "UTF-8" in first.error and not first.succeeded
    assert 2000 <= first.imported < 2500  # the finished batches and the rows read before the damage
    second = run_import(app, write(tmp_path, "fixed.csv", good), batch_size=1000)
    assert (second.already_imported, second.imported + first.imported) == (first.imported, 2500)
    assert count(app) == 2500


def test_rows_without_a_source_share_one_source_named_after_the_file(app, crisis, tmp_path):
    result = run_import(app, write(tmp_path, "ngo.csv", HXL_CSV), organisation="Red Cross")
    assert result.imported == 2
    with app.app_context():
        sources = db.session.scalars(select(Source)).all()
        assert [(s.name, s.organisation, s.channel, s.contact) for s in sources] == [
            ("import: ngo.csv", "Red Cross", "import", None)
        ]


def test_rows_with_a_contact_get_that_contacts_source(app, crisis, tmp_path):
    text = (
        "title,lat,lon,#contact+name,#contact+phone,#org+name\n"
        "A,18.5,-72.3,Marie,+509 3700 0001,\n"
        "B,18.5,-72.3,,+50937000001,\n"
        "C,18.5,-72.3,,,Oxfam\n"
    )
    with app.app_context():  # the contact reported before, through the API
        from wiki.reports.input import SourceInput
        from wiki.reports.sources import find_or_create_source

        source = find_or_create_source(SourceInput(contact="+509-3700-0001", channel="sms"), None)
        db.session.commit()
        known = source.id
    result = run_import(app, write(tmp_path, "contacts.csv", text))
    assert result.imported == 3, result.failures
    a, b, c = stored(app)
    assert a.source_id == b.source_id == known
    assert a.source.name == "Marie"  # a returning contact's missing name is filled in
    assert (c.source.name, c.source.organisation) == ("import: contacts.csv", "Oxfam")


def test_imported_contacts_are_not_shown_to_the_public(app, client, crisis, tmp_path, make_user, login):
    text = "title,lat,lon,#contact+name,#contact+phone\nWell dry,18.5,-72.3,Marie,+509 3700 0001\n"
    assert run_import(app, write(tmp_path, "private.csv", text)).imported == 1
    public = client.get("/api/v1/reports")
    assert public.status_code == 200 and len(public.json["features"]) == 1
    assert b"3700" not in public.data and b"Marie" not in public.data
    assert "source" not in public.json["features"][0]["properties"]
    login(make_user("coordinator"))
    assert client.get("/api/v1/reports").json["features"][0]["properties"]["source"]["contact"] == "+509 3700 0001"


class _Recorder:
    def __init__(self) -> None:
        self.imported: list[tuple[str, list[int]]] = []
        self.submitted = 0

    @hookimpl
    def reports_imported(self, crisis, report_ids):
        self.imported.append((crisis.slug, list(report_ids)))

    @hookimpl
    def report_submitted(self, report):
        self.submitted += 1


def test_five_thousand_rows_are_imported_in_batches_with_one_hook_call_each(app, crisis, tmp_path):
    recorder = _Recorder()
    app.extensions["crisiswiki_plugins"].register(recorder)
    rng = random.Random(5000)
    lines = [
        "id,title,description,lat,lon,sector,occurred_at,contact",
        "#meta+id,#description+title,#description,#geo+lat,#geo+lon,#sector,#date+occurred,#contact+phone",
    ]
    for i in range(5000):
        contact = f"+509 37{rng.randrange(100):02d} 0000" if i % 5 == 0 else ""
        lines.append(
            f"n{i},Report {i},Generated row {i},{rng.uniform(17.9, 20.1):.5f},{rng.uniform(-74.5, -71.6):.5f},"
            f"{rng.choice(['health', 'wash', 'shelter', 'Food Security'])},2010-01-{rng.randrange(12, 31)},{contact}"
        )
    result = run_import(app, write(tmp_path, "big.csv", "\n".join(lines) + "\n"))
    assert (result.imported, result.failed) == (5000, 0)
    assert count(app) == 5000
    assert [len(ids) for _slug, ids in recorder.imported] == [1000] * 5
    assert {slug for slug, _ids in recorder.imported} == {"quake"}
    assert recorder.submitted == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Source)) <= 101  # 100 phones + the file's own source
        all_ids = sorted(i for _slug, ids in recorder.imported for i in ids)
        assert all_ids == list(db.session.scalars(select(Report.id).order_by(Report.id)))


def test_imports_follow_the_publishing_policy(app, crisis, tmp_path):
    app.config["REPORTS_PUBLISH"] = "after_review"
    run_import(app, write(tmp_path, "a.csv", HXL_CSV))
    assert [r.published for r in stored(app)] == [False, False]


# --- The upload page ---------------------------------------------------------------------


def _imports_folder(app) -> Path:
    return Path(app.instance_path) / "imports"


def finish_import(app, client, queued):
    """The import page answers at once with the progress page; the worker does the import."""
    from wiki.workers import worker_for

    assert queued.status_code == 303, queued.data
    worker_for(app).run_until_idle(timeout=60)
    return client.get(queued.headers["Location"])


def test_the_two_step_upload_flow_for_a_coordinator(app, client, crisis, make_user, login):
    coordinator = make_user("coordinator")
    login(coordinator)
    index = client.get("/c/quake/reports")
    assert b"/c/quake/reports/import" in index.data
    page = client.get("/c/quake/reports/import")
    assert page.status_code == 200 and b'type="file"' in page.data and b'name="csrf_token"' in page.data
    body = HXL_CSV + "Missing place,,18.5,,health,,,,,A3,\n"  # half a point: fails
    import io

    upload = client.post(
        "/c/quake/reports/import",
        data={"step": "upload", "file": (io.BytesIO(body.encode()), "field.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    token = re.search(r"upload=([\w-]+)", upload.headers["Location"]).group(1)
    assert (_imports_folder(app) / token).read_text() == body  # kept on disk between the steps

    mapping = client.get(upload.headers["Location"])
    html = mapping.data.decode()
    assert mapping.status_code == 200 and "Bridge down" in html and "#geo+lat" in html  # the preview
    selected = dict(
        re.findall(
            r'<select id="map-(\w+)" name="map_\w+">.*?(?:<option value="(\d+)" selected>|</select>)', html, re.S
        )
    )
    assert selected["title"] == "0" and selected["lat"] == "2" and selected["lon"] == "3" and selected["id"] == "9"
    assert selected["source_name"] == ""
    assert html.count('<label for="map-') == html.count('<select id="map-')

    form = {f"map_{name}": value for name, value in selected.items()}
    held = finish_import(
        app,
        client,
        client.post(
            "/c/quake/reports/import", data={"step": "import", "upload": token, "organisation": "OCHA", **form}
        ),
    )
    text = held.data.decode()
    assert held.status_code == 200 and "Nothing was imported" in text and count(app) == 0  # all or nothing
    assert "Good rows held back: 2" in text and "Failed: 1" in text
    assert re.search(r"<td>1</td><td>lon</td><td>Give both latitude and longitude.</td><td>5</td>", text)
    rejected = client.get(f"/c/quake/reports/import?rejected={token}")
    assert rejected.status_code == 200 and rejected.mimetype == "text/csv"
    assert rejected.data.decode("utf-8-sig").splitlines()[-1].endswith(",5,Give both latitude and longitude.")

    result = finish_import(
        app,
        client,
        client.post(
            "/c/quake/reports/import",
            data={"step": "import", "upload": token, "organisation": "OCHA", "partial": "1", **form},
        ),
    )
    text = result.data.decode()
    assert result.status_code == 200
    assert "Imported: 2" in text and "Already imported: 0" in text and "Failed: 1" in text
    assert re.search(r"<td>1</td><td>lon</td><td>Give both latitude and longitude.</td><td>5</td>", text)
    assert not (_imports_folder(app) / token).exists()  # deleted after the import
    reports = stored(app)
    assert len(reports) == 2 and reports[0].submitted_by_id == coordinator.id
    assert (reports[0].source.name, reports[0].source.organisation) == ("import: field.csv", "OCHA")

    gone = client.post("/c/quake/reports/import", data={"step": "import", "upload": token, **form})
    assert gone.status_code == 404  # the upload is gone; importing twice needs a new upload


def test_the_mapping_page_asks_again_when_a_required_column_is_not_chosen(app, client, crisis, make_user, login):
    import io

    login(make_user("coordinator"))
    upload = client.post(
        "/c/quake/reports/import",
        data={"step": "upload", "file": (io.BytesIO(HXL_CSV.encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    token = re.search(r"upload=([\w-]+)", upload.headers["Location"]).group(1)
    again = client.post(
        "/c/quake/reports/import", data={"step": "import", "upload": token, "map_lat": "2", "map_lon": "3"}
    )
    assert again.status_code == 422 and b'id="form-error"' in again.data and b"map_title" in again.data
    assert count(app) == 0
    cancel = client.post("/c/quake/reports/import", data={"step": "cancel", "upload": token})
    assert cancel.status_code == 302 and not (_imports_folder(app) / token).exists()


def test_an_unreadable_upload_is_refused_with_a_reason(app, client, crisis, make_user, login):
    import io

    login(make_user("coordinator"))
    upload = client.post(
        "/c/quake/reports/import",
        data={"step": "upload", "file": (io.BytesIO(b"\x89PNG\r\n\x00\x00"), "x.csv")},
        content_type="multipart/form-data",
    )
    followed = client.get(upload.headers["Location"])
    assert followed.status_code == 422 and b"not a text file" in followed.data
    assert [path for path in _imports_folder(app).iterdir() if path.is_file()] == []


def test_an_upload_over_the_limit_is_413(app, client, crisis, make_user, login):
    import io

    app.config["IMPORT_MAX_BYTES"] = 1000
    login(make_user("coordinator"))
    response = client.post(
        "/c/quake/reports/import",
        data={"step": "upload", "file": (io.BytesIO(b"title,lat,lon\n" * 200), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert not _imports_folder(app).exists() or list(_imports_folder(app).iterdir()) == []


def test_volunteers_may_not_import(app, client, crisis, make_user, login):
    import io

    login(make_user("volunteer"))
    assert client.get("/c/quake/reports/import").status_code == 403
    response = client.post(
        "/c/quake/reports/import",
        data={"step": "upload", "file": (io.BytesIO(HXL_CSV.encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert b"/c/quake/reports/import" not in client.get("/c/quake/reports").data
    assert count(app) == 0


def test_another_coordinator_cannot_use_someone_elses_upload(app, client, crisis, make_user, login):
    import io

    login(make_user("coordinator"))
    upload = client.post(
        "/c/quake/reports/import",
        data={"step": "upload", "file": (io.BytesIO(HXL_CSV.encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    other = app.test_client()
    login(make_user("coordinator"), other)
    assert other.get(upload.headers["Location"]).status_code == 404


# --- The command line --------------------------------------------------------------------


def test_the_command_imports_with_a_mapping_and_reports_failures(app, runner, crisis, tmp_path, make_user):
    coordinator = make_user("coordinator")
    text = "Headline,lat,lon,Ref\nRoad cut,18.5,-72.3,1\n,18.5,-72.3,2\nBridge,95,-72.3,3\n"
    path = write(tmp_path, "cli.csv", text)
    result = runner.invoke(
        args=[
            "import-reports",
            str(path),
            "--crisis",
            "quake",
            "--map",
            "title=Headline",
            "--map",
            "id=Ref",
            "--organisation",
            "MSF",
            "--user",
            coordinator.username,
            "--partial",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Imported 1, updated 0, already imported 0, failed 2." in result.stderr
    assert "1 row: title is required. [title] (lines 3)" in result.stderr
    assert "1 row: latitude 95.0 is outside -90 to 90. [geometry.coordinates] (lines 4)" in result.stderr
    assert "row/s" in result.stderr  # the progress bar
    [report] = stored(app)
    assert (report.title, report.client_id, report.submitted_by_id) == ("Road cut", "import:quake:1", coordinator.id)
    assert report.source.organisation == "MSF"


def test_the_command_exit_code_says_whether_anything_went_in(app, runner, crisis, tmp_path):
    good = write(tmp_path, "good.csv", HXL_CSV)
    assert runner.invoke(args=["import-reports", str(good), "--crisis", "quake"]).exit_code == 0
    again = runner.invoke(args=["import-reports", str(good), "--crisis", "quake"])
    assert again.exit_code == 0 and "already imported 2" in again.stderr  # all duplicates is fine
    bad = write(tmp_path, "bad.csv", "title,lat,lon\n,1,2\nx,100,2\n")
    assert runner.invoke(args=["import-reports", str(bad), "--crisis", "quake"]).exit_code == 1
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\x00\x00\x00")
    unreadable = runner.invoke(args=["import-reports", str(binary), "--crisis", "quake"])
    assert unreadable.exit_code == 1 and "not a text file" in unreadable.stderr
    missing = runner.invoke(args=["import-reports", str(tmp_path / "nope.csv"), "--crisis", "quake"])
    assert missing.exit_code == 1 and "cannot be read" in missing.stderr
    no_title = runner.invoke(
        args=["import-reports", str(good), "--crisis", "quake", "--map", "title=", "--map", "description="]
    )
    assert no_title.exit_code == 1 and "[title]" in no_title.stderr
    assert runner.invoke(args=["import-reports", str(good), "--crisis", "nowhere"]).exit_code == 1
    assert count(app) == 2


def test_the_command_imports_geojson(app, runner, crisis, tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]},
                "properties": {"title": "From a phone app"},
            }
        ],
    }
    path = write(tmp_path, "app.geojson", json.dumps(collection, indent=1))
    result = runner.invoke(args=["import-reports", str(path), "--crisis", "quake"])
    assert result.exit_code == 0, result.output
    assert [r.title for r in stored(app)] == ["From a phone app"]

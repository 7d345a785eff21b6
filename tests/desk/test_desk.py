"""The coordinator's desk in the core: the crisis dashboard (its numbers, filters in the URL, the
links behind every number, tables and CSV, who may see it and what it never counts) and
situation reports drafted from the reports (what they cite, what they leave out, their figures,
and the diff with the draft before)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.maps_helpers import adm1_collection, adm2_collection
from wiki.extensions import db

DAY1, DAY2 = datetime(2010, 1, 13, 10, tzinfo=UTC), datetime(2010, 1, 14, 15, tzinfo=UTC)


def _report(crisis, source, **fields):
    from wiki.models import Report

    values = {
        "crisis_id": crisis.id,
        "title": "Report",
        "description": "",
        "lon": -72.34,
        "lat": 18.54,
        "place_name": "",
        "received_at": DAY1,
        "updated_at": DAY1,
        "source": source,
        "sector": "health",
        "status": "new",
        "channel": "web",
    }
    values.update(fields)
    return Report(**values)


@pytest.fixture
def world(app, crisis, make_user):
    """Reports over two days in two provinces: verified, waiting, withdrawn, a duplicate, a
    sensitive one; the admin areas imported (so the reports carry their P-codes)."""
    from wiki.maps.boundaries import import_boundaries
    from wiki.models import Crisis, Source, User

    admin = make_user("admin")
    with app.app_context():
        c = db.session.scalar(select(Crisis).where(Crisis.slug == crisis))
        source = Source(name="Ada Reporter", contact="+50937000000", channel="sms")
        db.session.add(source)
        rows = {
            "clinic": _report(
                c,
                source,
                title="Clinic damaged in Delmas",
                status="verified",
                occurred_at=DAY1,
                triaged_at=DAY1.replace(hour=14),
                place_name="Delmas 33",
                channel="sms",
            ),
            "water": _report(
                c,
                source,
                title="No water at camp",
                sector="wash",
                status="verified",
                occurred_at=DAY2,
                received_at=DAY2,
                triaged_at=DAY2.replace(hour=20),
                lon=-72.0,
                lat=19.5,
                channel="email",
            ),
            "waiting": _report(
                c, source, title="Road blocked near Léogâne", sector="logistics", occurred_at=DAY2, received_at=DAY2
            ),
            "withdrawn": _report(
                c,
                source,
                title="Names of the injured",
                status="verified",
                published=False,
                withdrawn_at=DAY2,
                withdrawn_reason="protect",
                occurred_at=DAY2,
                triaged_at=DAY2,
            ),
            "secret": _report(
                c,
                source,
                title="Shelter for women",
                sector="protection",
                status="verified",
                sensitive=True,
                place_name="Rue Secrète 4",
                occurred_at=DAY1,
                triaged_at=DAY2,
                lon=-73.9,
                lat=18.2,
            ),
            "unpublished": _report(
                c, source, title="Unconfirmed rumour", sector="health", published=False, occurred_at=DAY1
            ),
        }
        db.session.add_all(rows.values())
        db.session.flush()
        rows["copy"] = _report(
            c,
            source,
            title="Clinic damaged (again)",
            status="duplicate",
            duplicate_of_id=rows["clinic"].id,
            occurred_at=DAY1,
            triaged_at=DAY1,
        )
        db.session.add(rows["copy"])
        db.session.commit()
        author = db.session.get(User, admin.id)
        import_boundaries(c, 1, adm1_collection(), author)
        import_boundaries(c, 2, adm2_collection(), author)
        return {name: report.id for name, report in rows.items()}


def _client(app, login, person):
    client = app.test_client()
    login(person, client)
    return client


def _chart(body: dict, key: str) -> dict:
    return next(chart for chart in body["charts"] if chart["key"] == key)


def test_the_dashboard_counts_by_day_sector_status_area_and_channel_never_a_withdrawn_report(
    app, crisis, world, make_user, login
):
    coordinator = _client(app, login, make_user("coordinator"))
    body = coordinator.get(f"/api/v1/crises/{crisis}/dashboard").get_json()
    # 8 reports; the withdrawn one is never counted, not even for a coordinator.
    assert body["reports"] == 6 and body["verified"] == 3
    by_sector = _chart(body, "reports_by_sector")
    assert by_sector["categories"] == ["2010-01-13", "2010-01-14"]
    values = {series["key"]: series["values"] for series in by_sector["series"]}
    assert values == {"health": [3, 0], "logistics": [0, 1], "protection": [1, 0], "wash": [0, 1]}
    # Every number opens the reports behind it: that day and that sector.
    link = by_sector["links"][0][0]
    assert link.startswith(f"/c/{crisis}/reports?") and "sector=health" in link
    assert "since=2010-01-13T00%3A00%3A00Z" in link and "until=2010-01-13T23%3A59%3A59Z" in link
    statuses = {s["key"]: s["values"] for s in _chart(body, "reports_by_status")["series"]}
    assert statuses == {"new": [1, 1], "verified": [2, 1], "duplicate": [1, 0]}
    areas = _chart(body, "areas")
    assert areas["columns"][0]["values"] == ["HT02", "HT01"]  # ranked: most reports first
    assert [s["values"] for s in areas["series"]] == [[5, 1], [2, 1]]
    channels = _chart(body, "channels")
    assert dict(zip(channels["categories"], channels["series"][0]["values"], strict=True)) == {
        "web form": 4,
        "SMS": 1,
        "e-mail": 1,
    }


def test_the_backlog_and_time_to_verify_are_computed_in_sql(app, crisis, world, make_user, login):
    coordinator = _client(app, login, make_user("coordinator"))
    body = coordinator.get(f"/api/v1/crises/{crisis}/dashboard").get_json()
    backlog = _chart(body, "backlog")
    series = {s["key"]: s["values"] for s in backlog["series"]}
    assert backlog["categories"] == ["2010-01-13", "2010-01-14"]
    # Day 1: received the clinic, the shelter, the rumour and the copy; decided the clinic and the copy.
    assert series["arrived"] == [4, 2] and series["left"] == [2, 2]
    assert series["waiting"] == [2, 2]
    ttv = {s["key"]: s["values"] for s in _chart(body, "time_to_verify")["series"]}
    assert ttv["decided"] == [1, 2]
    # In hours, to the upper edge of the wait's bin: the clinic waited 4 hours (10:00 to 14:00);
    # on day 2 the water report waited 5 hours (bin of 6) and the shelter 29 (bin of 36).
    assert ttv["median"] == [4.0, 6.0] and ttv["p90"] == [4.0, 36.0]


def test_the_filters_live_in_the_url_and_narrow_every_chart(app, crisis, world, make_user, login):
    coordinator = _client(app, login, make_user("coordinator"))
    body = coordinator.get(f"/api/v1/crises/{crisis}/dashboard?sector=wash&adm=HT02&unit=hour&level=2").get_json()
    assert body["filters"] == {"sector": "wash", "adm": "HT02", "unit": "hour", "level": "2"}
    assert body["reports"] == 1
    by_sector = _chart(body, "reports_by_sector")
    assert by_sector["categories"] == ["2010-01-14 15:00"]
    assert "adm=HT02" in by_sector["links"][0][0] and "sector=wash" in by_sector["links"][0][0]
    assert _chart(body, "areas")["columns"][0]["values"] == ["HT0202"]
    page = coordinator.get(f"/c/{crisis}/dashboard?sector=wash&adm=HT02&unit=hour&level=2").get_data(as_text=True)
    assert '<option value="wash" selected>' in page and '<option value="hour" selected>' in page
    assert 'value="HT02" selected' in page
    for bad in ("unit=week", "level=3", "sector=nope", "since=yesterday"):
        assert coordinator.get(f"/api/v1/crises/{crisis}/dashboard?{bad}").status_code == 422, bad


def test_each_chart_has_a_table_with_links_a_canvas_and_a_csv(app, crisis, world, make_user, login):
    coordinator = _client(app, login, make_user("coordinator"))
    page = coordinator.get(f"/c/{crisis}/dashboard").get_data(as_text=True)
    for key in ("reports_by_sector", "reports_by_status", "backlog", "time_to_verify", "areas", "channels"):
        assert f'id="chart-{key}"' in page and f'id="canvas-{key}"' in page, key
        assert f"/c/{crisis}/dashboard/{key}.csv" in page
    assert 'class="dashboard-map"' in page and "vendor/chart.js/chart.umd.min" in page
    assert "<script>" not in page  # CSP: the numbers travel in data attributes
    assert re.search(r'<th scope="row"><a href="/c/quake/reports\?[^"]*adm=HT02', page)
    response = coordinator.get(f"/c/{crisis}/dashboard/areas.csv?level=1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["Area", "P-code", "Reports", "Verified"], ["Est", "HT02", "5", "2"], ["Ouest", "HT01", "1", "1"]]
    assert coordinator.get(f"/c/{crisis}/dashboard/nothing.csv").status_code == 404


def test_the_dashboard_is_for_verifiers_coordinators_and_admins(app, client, crisis, world, make_user, login):
    assert client.get(f"/c/{crisis}/dashboard").status_code in (302, 401)
    volunteer = _client(app, login, make_user("volunteer"))
    assert volunteer.get(f"/c/{crisis}/dashboard").status_code == 403
    verifier = _client(app, login, make_user("verifier"))
    assert verifier.get(f"/c/{crisis}/dashboard").status_code == 200


def _draft(client, crisis, **data):
    response = client.post(f"/api/v1/crises/{crisis}/sitrep-drafts", json=data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_sitrep_draft_cites_verified_reports_and_leaves_out_what_may_not_be_published(
    app, crisis, world, make_user, login
):
    coordinator = _client(app, login, make_user("coordinator"))
    made = _draft(coordinator, crisis, **{"from": "2010-01-13", "to": "2010-01-14"})
    assert made["slug"] == "Situation_Report_No._1" and made["url"].endswith(f"/c/{crisis}/wiki/{made['slug']}")
    # Cited: the verified reports, the sensitive one as the public sees it; never withdrawn or duplicates.
    assert set(made["cited"]) == {world["clinic"], world["water"], world["secret"]}
    body = coordinator.get(f"/api/v1/pages/{crisis}/{made['slug']}").get_json()["body"]
    for name in ("withdrawn", "copy"):
        assert f"(/reports/{world[name]})" not in body, name
    assert "Names of the injured" not in body and "Clinic damaged \\(again\\)" not in body
    assert (
        "Clinic damaged in Delmas — Delmas 33, Sud-Est, Est — Jan 13, 2010" in body
        and f"[#{world['clinic']}](/reports/{world['clinic']})" in body
    )
    # The sensitive report as the public sees it: its province only, no street, no district.
    assert "Shelter for women — Ouest" in body and "Rue Secrète" not in body and "Sud-Ouest" not in body
    assert "+50937000000" not in body and "Ada Reporter" not in body
    for heading in (
        "## Highlights",
        "## Key figures",
        "## Situation overview",
        "## Humanitarian response",
        "### Health",
        "**Needs:**",
        "**Gaps:**",
        "## Funding",
        "## Contacts",
    ):
        assert heading in body, heading
    # The figures: published reports of the period (the unpublished rumour is not for a public page).
    assert "| Reports published | 4 |" in body and "| Reports verified | 3 |" in body
    assert "| Reports awaiting verification | 1 |" in body
    assert "Unconfirmed rumour" not in body
    assert "- Health: 1 verified report, most in Est" in body
    assert "```map\ncrisis: quake\nstatus: verified\nsince: 2010-01-13\nuntil: 2010-01-14T23:59:59\n```" in body
    assert "1 report awaits verification" in body  # logistics: the blocked road
    page = coordinator.get(f"/c/{crisis}/wiki/{made['slug']}").get_data(as_text=True)
    assert 'class="crisiswiki-map"' in page


def test_drafting_for_an_area_uses_the_public_placing_and_the_crisis_language(app, crisis, world, make_user, login):
    coordinator = _client(app, login, make_user("coordinator"))
    with app.app_context():
        from wiki.models import Crisis

        db.session.scalar(select(Crisis).where(Crisis.slug == crisis)).language = "fr"
        db.session.commit()
    made = _draft(coordinator, crisis, **{"from": "2010-01-13", "to": "2010-01-14", "area": "HT0201"})
    # Only the clinic is verified in Sud-Est.
    assert made["cited"] == [world["clinic"]] and made["area"] == "HT0201"
    # The sensitive shelter lies in Sud-Ouest, which the public does not know: not drafted there.
    assert _draft(coordinator, crisis, **{"from": "2010-01-13", "to": "2010-01-14", "area": "HT0101"})["cited"] == []
    body = coordinator.get(f"/api/v1/pages/{crisis}/{made['slug']}").get_json()["body"]
    assert "## Faits saillants" in body or "Rapport de situation" in made["title"]
    refused = coordinator.post(f"/api/v1/crises/{crisis}/sitrep-drafts", json={"from": "2010-01-13", "to": "x"})
    assert refused.status_code == 422
    assert (
        coordinator.post(
            f"/api/v1/crises/{crisis}/sitrep-drafts", json={"from": "2010-01-13", "to": "2010-01-14", "area": "XX99"}
        ).status_code
        == 422
    )


def test_drafting_again_shows_what_changed_and_the_draft_is_an_ordinary_page(app, crisis, world, make_user, login):
    coordinator = _client(app, login, make_user("coordinator"))
    first = _draft(coordinator, crisis, **{"from": "2010-01-13", "to": "2010-01-13"})
    assert first["previous"] is None and first["changes_url"] is None
    page = coordinator.get(f"/api/v1/pages/{crisis}/{first['slug']}").get_json()
    edited = coordinator.put(
        f"/api/v1/pages/{crisis}/{first['slug']}",
        json={"body": page["body"] + "\nA coordinator's note.\n", "base_revision": page["base_revision"]},
    )
    assert edited.status_code == 200
    second = _draft(coordinator, crisis, **{"from": "2010-01-13", "to": "2010-01-14"})
    assert second["previous"] == first["slug"] and second["slug"] == "Situation_Report_No._2"
    diff = coordinator.get(second["changes_url"]).get_data(as_text=True)
    assert "No water at camp" in diff and "Situation Report No. 1" in diff
    view = coordinator.get(f"/c/{crisis}/wiki/{second['slug']}").get_data(as_text=True)
    assert "What changed since the last draft" in view
    volunteer = _client(app, login, make_user("volunteer"))
    assert (
        volunteer.post(
            f"/api/v1/crises/{crisis}/sitrep-drafts", json={"from": "2010-01-13", "to": "2010-01-14"}
        ).status_code
        == 403
    )


def _both_paths(app, crisis, person_id, args):
    """Every aggregate of a view from the tallies (by the day, or by the hour for the counts over
    time of a view by the hour) and from the reports."""
    from dataclasses import replace

    from wiki.desk import aggregates as agg
    from wiki.models import Crisis, User

    with app.test_request_context():
        c = db.session.scalar(select(Crisis).where(Crisis.slug == crisis))
        chosen = agg.selection(c, args, db.session.get(User, person_id), args.get("unit", "day"))
        assert chosen.over_time(), args
        found = []
        for path in (chosen, replace(chosen, tallied=False, hourly=False)):
            found.append(
                (
                    agg.counts_by_time(path),
                    agg.backlog(path),
                    agg.area_counts(path, 1),
                    agg.area_counts(path, 2),
                    agg.channel_counts(path),
                )
            )
        return found


def _hour_tallies_and_recount(app) -> tuple[dict, dict]:
    """The rows of report_hour_tallies (without the emptied ones), and the same counted again from
    the reports: {(crisis, kind, hour, sector, province, value): (reports, verified)}."""
    from sqlalchemy import case, func, literal

    from wiki.desk import aggregates as agg
    from wiki.models import Report, ReportHourTally

    with app.app_context():
        kept = {
            (t.crisis_id, t.kind, t.hour, t.sector, t.adm1, t.value): (t.n, t.v)
            for t in db.session.scalars(select(ReportHourTally))
            if t.n or t.v
        }
        adm1 = func.coalesce(Report.adm1_pcode, "")
        verified = func.sum(case((Report.status == "verified", 1), else_=0))
        waited = agg.wait_bin(agg.hours_between(Report.received_at, Report.triaged_at))
        kinds = {
            "status": (agg.event_time(), Report.status, verified, True),
            "in": (Report.received_at, literal(""), literal(0), True),
            "out": (agg.left_backlog_at(), literal(""), literal(0), agg.left_backlog_at().is_not(None)),
            "wait": (
                Report.triaged_at,
                waited,
                literal(0),
                Report.triaged_at.is_not(None) & Report.status.in_(agg.DECIDED),
            ),
        }
        counted = {}
        for kind, (moment, value, of_which, condition) in kinds.items():
            hour = agg.bucket_of(moment, "hour")
            query = (
                select(Report.crisis_id, hour, Report.sector, adm1, value, func.count(), of_which)
                .where(Report.withdrawn_at.is_(None), condition)
                .group_by(Report.crisis_id, hour, Report.sector, adm1, value)
            )
            for crisis_id, bucket, sector, province, found, count, v in db.session.execute(query):
                counted[(crisis_id, kind, bucket, sector, province, found)] = (count, int(v))
        return kept, counted


def test_the_tallies_kept_by_triggers_agree_with_the_reports_after_every_change(app, crisis, world, make_user):
    from wiki.models import Report, User
    from wiki.reports.triage import merge_duplicate, update_report, withdraw_report

    coordinator = make_user("coordinator")
    views = [{}, {"sector": "health"}, {"adm": "HT02"}, {"since": "2010-01-14", "until": "2010-01-14T23:59:59Z"}]
    views += [  # by the hour: the counts over time from the tallies by the hour (report_hour_tallies)
        {"unit": "hour"},
        {"unit": "hour", "sector": "health", "adm": "HT01"},
        {"unit": "hour", "since": "2010-01-13T14:00:00Z", "until": "2010-01-14T15:59:59Z"},
    ]
    for args in views:
        tallied, live = _both_paths(app, crisis, coordinator.id, args)
        assert tallied == live, args
    kept, counted = _hour_tallies_and_recount(app)
    assert kept == counted and len(kept) >= 10
    with app.test_request_context():
        user = db.session.get(User, coordinator.id)
        update_report(db.session.get(Report, world["waiting"]), {"status": "verified", "sector": "wash"}, user)
        update_report(
            db.session.get(Report, world["water"]), {"geometry": {"type": "Point", "coordinates": [-73.9, 18.2]}}, user
        )
        withdraw_report(db.session.get(Report, world["clinic"]), user, "to protect the nurses")
        merge_duplicate(db.session.get(Report, world["unpublished"]), db.session.get(Report, world["secret"]), user)
        db.session.delete(db.session.get(Report, world["copy"]))
        db.session.commit()
    for args in views:
        tallied, live = _both_paths(app, crisis, coordinator.id, args)
        assert tallied == live, args
    kept, counted = _hour_tallies_and_recount(app)
    assert kept == counted
    tallied, _live = _both_paths(app, crisis, coordinator.id, {})
    totals = tallied[0].totals
    assert (
        sum(totals.values()) == 4 and sum(tallied[0].by_status.values()) == 4
    )  # the clinic withdrawn, the copy deleted
    assert totals["verified"] == 3  # the road verified


def test_for_a_viewer_who_sees_less_the_numbers_leave_out_unpublished_reports_and_sensitive_districts(
    app, crisis, world
):
    """Today only verifiers, coordinators and admins open the dashboard, and they see everything
    but withdrawn reports. Its numbers still go through the visibility rule: built for the public,
    they count no unpublished report, and a sensitive report's district is unknown (no area)."""
    from flask_login import AnonymousUserMixin

    from wiki.desk.dashboard import build
    from wiki.models import Crisis, Report, User

    with app.test_request_context():
        c = db.session.scalar(select(Crisis).where(Crisis.slug == crisis))
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        district = db.session.get(Report, world["secret"]).adm2_pcode
        assert district is not None
        everything = build(c, {"level": "2"}, admin)
        public = build(c, {"level": "2"}, AnonymousUserMixin())
        assert everything.reports == 6 and public.reports == 5  # the unpublished rumour is not theirs to count

        def districts(board) -> dict[str, int]:
            chart = next(chart for chart in board.charts if chart.key == "areas")
            return dict(zip(chart.extra_columns[0][1], chart.series[0].values, strict=True))

        seen_by_all, seen_by_public = districts(everything), districts(public)
        assert seen_by_all[district] >= 1
        assert seen_by_public.get(district, 0) == seen_by_all[district] - 1  # the sensitive report is not placed there


def test_the_report_page_maps_the_report_where_its_viewer_may_see_it_and_the_reports_near_it(
    app, client, crisis, world, make_user, login
):
    """A small map on the report page: the report outlined at its position as the visibility rule
    gives it to the viewer (a sensitive report's grid cell for the public, drawn no smaller than
    the cell), the reports near it from the map's API (the same rule), on the offline basemap."""
    from wiki.models import Report
    from wiki.visibility import coarsen

    with app.app_context():
        secret = db.session.get(Report, world["secret"])
        exact = (secret.lat, secret.lon)
        cell_lon, cell_lat = coarsen(secret.lon, secret.lat)
        cell_m = app.config["SENSITIVE_GRID_KM"] * 1000 * 2**0.5 / 2

    def here(page: str) -> tuple[tuple[float, float], int]:
        box = re.search(r'<div class="crisiswiki-map report-map"[^>]*>', page).group(0)
        lat, lon = map(float, re.search(r'data-map-here="([^"]+)"', box).group(1).split(","))
        return (lat, lon), int(re.search(r'data-map-here-radius="(\d+)"', box).group(1))

    public = client.get(f"/reports/{world['secret']}").get_data(as_text=True)
    (lat, lon), radius = here(public)
    assert (round(lat, 5), round(lon, 5)) == (round(cell_lat, 5), round(cell_lon, 5)) != exact
    assert f"{exact[0]:.5f}" not in public and radius >= round(cell_m) - 1
    assert all(name in public for name in ("/js/map-embed.", "/vendor/leaflet/leaflet.", "countries-50m"))
    coordinator = _client(app, login, make_user("coordinator"))
    (lat, lon), radius = here(coordinator.get(f"/reports/{world['secret']}").get_data(as_text=True))
    assert (round(lat, 5), round(lon, 5)) == (round(exact[0], 5), round(exact[1], 5)) and radius == 0
    (lat, lon), _radius = here(client.get(f"/reports/{world['water']}").get_data(as_text=True))
    assert (lat, lon) == (19.5, -72.0)  # not sensitive: its own point for everyone

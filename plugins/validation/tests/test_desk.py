"""The verifiers' desk of the validation plugin: assignments shared through the queue, internal
notes with mentions and notices, a report's timeline, duplicate suggestions merged in one click,
grading from the queue, the claims page, and the plugin's parts of the dashboard and of a
drafted situation report (key figures from the claims, unverified information marked)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from plugins.validation.tests import helpers
from plugins.validation.tests.helpers import HAITI, WHEN
from tests.alerts_helpers import run_worker
from wiki.extensions import db
from wiki.hooks import hookimpl

app_config, field_, people = helpers.app_config, helpers.field_, helpers.people


def logged_in(app, login, person):
    client = app.test_client()
    login(person, client)
    return client


def queue_ids(client, query: str = "") -> list[int]:
    page = client.get(f"/c/quake/verify{query}").get_data(as_text=True)
    return [int(i) for i in re.findall(r'<tr id="r-\d+" data-report-id="(\d+)"', page)]


def test_two_verifiers_share_the_queue_by_taking_and_being_assigned_reports(app, field_, login, people):
    a = field_.submit("Clinic damaged", "Delmas clinic walls cracked")
    b = field_.submit("Water point dry", "No water at Champ de Mars", sector="wash", lat=HAITI[0] + 0.3)
    c = field_.submit("Road blocked", "Rubble on Route de Delmas", sector="logistics", lat=HAITI[0] - 0.3)
    first = logged_in(app, login, people["verifier"])
    second = logged_in(app, login, people["verifier2"])
    coordinator = logged_in(app, login, people["coordinator"])
    assert first.post(f"/reports/{a}/take", data={"next": "/c/quake/verify"}).status_code == 302
    assigned = coordinator.post(f"/reports/{b}/assign", data={"assignee": people["verifier2"].id})
    assert assigned.status_code == 302
    assert queue_ids(first, "?assigned=me") == [a]
    assert queue_ids(second, "?assigned=me") == [b]
    assert queue_ids(first, "?assigned=none") == [c]
    assert queue_ids(first, "?assigned=others") == [b]
    assert set(queue_ids(coordinator)) == {a, b, c}  # coordinators see the queue to assign from it
    page = coordinator.get("/c/quake/verify").get_data(as_text=True)
    assert f'id="assign-{b}"' in page and f'<option value="{people["verifier2"].id}" selected>' in page
    # The second verifier was told; a volunteer may not assign, a verifier may not assign others.
    assert "assigned you" in second.get("/notices").get_data(as_text=True)
    assert "Notices (1 new)" in second.get("/c/quake/").get_data(as_text=True)
    assert first.post(f"/reports/{c}/assign", data={"assignee": people["verifier"].id}).status_code == 403
    assert first.post(f"/reports/{b}/release").status_code == 403  # not theirs
    assert second.post(f"/reports/{b}/release").status_code == 302
    assert queue_ids(first, "?assigned=none") == [b, c] or set(queue_ids(first, "?assigned=none")) == {b, c}
    refused = coordinator.post(f"/reports/{c}/assign", data={"assignee": people["volunteer"].id})
    assert refused.status_code == 422
    assert logged_in(app, login, people["volunteer"]).get("/c/quake/verify").status_code == 403


def test_notes_mention_a_colleague_are_for_verifiers_and_coordinators_only_and_join_the_timeline(
    app, field_, login, people
):
    report = field_.submit("Bridge cracked", "Cracks on the Carrefour bridge")
    first = logged_in(app, login, people["verifier"])
    second = logged_in(app, login, people["verifier2"])
    body = f"@{people['verifier2'].username} can you call the mayor's office? <b>urgent</b>"
    assert first.post(f"/reports/{report}/notes", data={"body": body}).status_code == 302
    notices = second.get("/notices").get_data(as_text=True)
    assert "mentioned you" in notices and f"/reports/{report}#notes" in notices
    page = second.get(f"/reports/{report}").get_data(as_text=True)
    assert "can you call the mayor" in page and "&lt;b&gt;urgent&lt;/b&gt;" in page  # text, never HTML
    coordinator = logged_in(app, login, people["coordinator"])
    assert "can you call the mayor" in coordinator.get(f"/reports/{report}").get_data(as_text=True)
    for outsider in (field_.client, logged_in(app, login, people["volunteer"])):
        assert "can you call the mayor" not in outsider.get(f"/reports/{report}").get_data(as_text=True)
        assert outsider.get(f"/reports/{report}/timeline").status_code in (401, 403)
        assert outsider.post(f"/reports/{report}/notes", data={"body": "hi"}).status_code in (401, 403)
    # A withdrawn report's timeline is not revealed to them: 404, as its own page.
    hidden = field_.submit("Names of the injured", lat=HAITI[0] + 0.3)
    pulled = field_.client.post(
        f"/api/v1/reports/{hidden}/withdraw", json={"reason": "protect"}, headers=field_.as_("coordinator")
    )
    assert pulled.status_code == 200
    for outsider in (app.test_client(), logged_in(app, login, people["volunteer"])):
        assert outsider.get(f"/reports/{hidden}/timeline").status_code == 404
    assert first.get(f"/reports/{hidden}/timeline").status_code == 200
    assert second.post("/notices/read").status_code == 302
    assert "(new)" not in second.get("/notices").get_data(as_text=True)
    # The timeline: received, the note, a grading, a status change, in order.
    field_.grade(report, "B", 2)
    field_.patch(report, status="verified")
    events = first.get(f"/reports/{report}/timeline").get_data(as_text=True)
    order = [
        events.index(text)
        for text in ("Received (SMS)", "can you call the mayor", "Graded B2", "Status: new → verified")
    ]
    assert order == sorted(order)
    assert first.post(f"/reports/{report}/notes", data={"body": "  "}).status_code == 422


def test_a_likely_duplicate_is_suggested_and_merged_in_one_click_by_a_verifier(app, field_, login, people):
    first = field_.submit("Clinic collapsed in Delmas", "The Delmas 33 clinic collapsed, patients outside")
    second = field_.submit("Delmas clinic collapsed", "Clinic at Delmas 33 collapsed, patients waiting outside",
                           lat=HAITI[0] + 0.002)  # fmt: skip
    unrelated = field_.submit("Water point dry", "No water at the camp", sector="wash", lat=HAITI[0] + 0.001)
    verifier = logged_in(app, login, people["verifier"])
    queue = verifier.get("/c/quake/verify").get_data(as_text=True)
    row = re.search(rf'<tr id="r-{second}".*?</tr>', queue, re.S).group(0)
    assert f"Possible duplicate: report {first}" in row and f"report {unrelated}" not in row
    page = verifier.get(f"/reports/{first}").get_data(as_text=True)
    assert "Possible duplicates" in page and f"/reports/{first}/merge-with/{second}" in page
    merged = verifier.post(f"/reports/{first}/merge-with/{second}", data={"next": "/c/quake/verify"})
    assert merged.status_code == 302 and merged.headers["Location"].endswith("/c/quake/verify")
    later = field_.report(second)
    assert later["status"] == "duplicate" and later["duplicate_of"] == first
    assert second not in queue_ids(verifier)
    events = verifier.get(f"/reports/{first}/timeline").get_data(as_text=True)
    assert f"Report {second} was merged into this one" in events
    assert (
        logged_in(app, login, people["volunteer"]).post(f"/reports/{first}/merge-with/{unrelated}").status_code == 403
    )


def test_grading_from_the_queue_goes_back_to_the_queue_on_the_next_report(app, field_, login, people):
    one = field_.submit("Clinic damaged", "walls cracked")
    two = field_.submit("School damaged", "roof down", sector="education", lat=HAITI[0] + 0.4)
    verifier = logged_in(app, login, people["verifier"])
    page = verifier.get("/c/quake/verify?sort=oldest").get_data(as_text=True)
    next_value = re.search(rf'action="/reports/{one}/grade".*?name="next" value="([^"]+)"', page, re.S).group(1)
    assert next_value == f"/c/quake/verify?sort=oldest#r-{two}"
    graded = verifier.post(f"/reports/{one}/grade", data={"reliability": "B", "credibility": "2", "next": next_value})
    assert graded.status_code == 302 and graded.headers["Location"].endswith(f"/c/quake/verify?sort=oldest#r-{two}")
    assert queue_ids(verifier, "?sort=oldest") == [two]
    assert "queue.js" in page and 'class="matrix"' in page


def test_the_claims_page_shows_proposals_competing_values_and_their_sources(app, field_, login, people):
    first = field_.submit("Displaced in Carrefour", contact="+50936000001", name="Marie")
    second = field_.submit("Displaced in Carrefour (2)", contact="+50936000002", name="Jean", lat=HAITI[0] + 0.1)
    third = field_.submit("Displaced in Carrefour (3)", contact="+50936000003", name="Anne", lat=HAITI[0] - 0.1)
    for report, value in ((first, 12000), (second, 9000), (third, 12000)):
        response = field_.client.post(
            f"/api/v1/reports/{report}/claims",
            json={"subject": "HT0111", "attribute": "people displaced", "value": value, "as_of": "2010-01-14"},
            headers=field_.as_("verifier"),
        )
        assert response.status_code == 201
    waiting = field_.client.get("/c/quake/claims").get_data(as_text=True)
    assert "Being updated: truth discovery is re-running" in waiting
    assert "No proposal yet: truth discovery is being re-run." in waiting and "Proposed value:" not in waiting
    run_worker(app)  # the background worker re-runs truth discovery for the crisis
    public = field_.client.get("/c/quake/claims").get_data(as_text=True)
    assert "Being updated" not in public
    assert "people_displaced · HT0111 · 2010-01-14" in public and "Proposed value:" in public
    assert "12000" in public and "9000" in public and f"/reports/{first}" in public
    assert "Marie" not in public  # who a source is: for those who may see source records
    verifier = logged_in(app, login, people["verifier"])
    assert "Marie" in verifier.get("/c/quake/claims").get_data(as_text=True)
    assert field_.client.get("/c/quake/claims?attribute=nothing").status_code == 404


def test_the_dashboard_counts_scores_and_verdicts_and_lists_key_figures(app, field_, login, people):
    graded = field_.submit("Clinic damaged", "walls cracked", contact="+50936000010")
    field_.grade(graded, "B", 2)
    field_.submit("Rumour", "looting", lat=HAITI[0] + 0.3)
    field_.client.post(
        f"/api/v1/reports/{graded}/claims",
        json={"subject": "HT0111", "attribute": "people injured", "value": 40, "as_of": "2010-01-13"},
        headers=field_.as_("verifier"),
    )
    coordinator = logged_in(app, login, people["coordinator"])
    body = coordinator.get("/api/v1/crises/quake/dashboard").get_json()
    figures = next(chart for chart in body["charts"] if chart["key"] == "key_figures")
    assert "Being updated" in figures["note"] and figures["columns"][0]["values"] == ["–"]  # no run yet
    run_worker(app)
    body = coordinator.get("/api/v1/crises/quake/dashboard").get_json()
    charts = {chart["key"]: chart for chart in body["charts"]}
    assert "Being updated" not in charts["key_figures"]["note"]
    verdicts = dict(zip(charts["verdicts"]["categories"], charts["verdicts"]["series"][0]["values"], strict=True))
    assert verdicts["Accept"] == 1 and verdicts["No verdict yet"] == 1
    scores = charts["scores"]
    assert sum(scores["series"][0]["values"]) == 1  # the rumour has no score yet
    band = next(i for i, n in enumerate(scores["series"][0]["values"]) if n)
    assert "min_score=" in scores["links"][0][band] and "max_score=" in scores["links"][0][band]
    listed = coordinator.get(scores["links"][0][band]).get_data(as_text=True)
    assert "Clinic damaged" in listed and "Rumour" not in listed
    figures = charts["key_figures"]
    assert figures["categories"] == ["people_injured · HT0111 · 2010-01-13"]
    assert figures["columns"][0]["values"] == ["40"]
    # The dashboard is for verifiers and coordinators: a volunteer gets none, neither page nor JSON.
    assert coordinator.get("/c/quake/dashboard?min_score=0.5").status_code == 200
    volunteer = logged_in(app, login, people["volunteer"])
    assert volunteer.get("/c/quake/dashboard").status_code == 403
    assert volunteer.get("/api/v1/crises/quake/dashboard").status_code == 403


def test_a_drafted_sitrep_has_key_figures_from_claims_and_marks_unverified_information(app, field_, login, people):
    from wiki.models import Crisis

    verified = field_.submit("Clinic damaged", "walls cracked", contact="+50936000020", when="2010-01-13T10:00:00Z")
    field_.patch(verified, status="verified")
    strong = field_.submit("Hospital wing collapsed", "General hospital", contact="+50936000021",
                           when="2010-01-13T11:00:00Z", lat=HAITI[0] + 0.2)  # fmt: skip
    withdrawn = field_.submit("Names of the injured", contact="+50936000022", when="2010-01-13T12:00:00Z",
                              lat=HAITI[0] - 0.2)  # fmt: skip
    for report, value in ((verified, 40), (strong, 40), (withdrawn, 400)):
        assert (
            field_.client.post(
                f"/api/v1/reports/{report}/claims",
                json={"subject": "HT0111", "attribute": "people injured", "value": value, "as_of": "2010-01-13"},
                headers=field_.as_("verifier"),
            ).status_code
            == 201
        )
    field_.grade(strong, "B", 2)  # a verifier's grade gives it a score; its status stays "new"
    pulled = field_.client.post(
        f"/api/v1/reports/{withdrawn}/withdraw", json={"reason": "protect"}, headers=field_.as_("coordinator")
    )
    assert pulled.status_code == 200, pulled.get_json()
    app.config["VALIDATION_SITREP_MIN_SCORE"] = 0.0  # every scored, unverified report counts as high-scoring here
    coordinator = logged_in(app, login, people["coordinator"])
    # Before the background worker re-ran truth discovery, the draft says its figures are being computed.
    early = coordinator.post("/api/v1/crises/quake/sitrep-drafts", json={"from": "2010-01-13", "to": "2010-01-13"})
    assert early.status_code == 201, early.get_json()
    body = coordinator.get(f"/api/v1/pages/quake/{early.get_json()['slug']}").get_json()["body"]
    assert "**Being updated: truth discovery is re-running" in body
    assert "| people\\_injured | HT0111 | 2010-01-13 | being computed | – |" in body
    run_worker(app)
    made = coordinator.post("/api/v1/crises/quake/sitrep-drafts", json={"from": "2010-01-13", "to": "2010-01-13"})
    assert made.status_code == 201, made.get_json()
    made = made.get_json()
    body = coordinator.get(f"/api/v1/pages/quake/{made['slug']}").get_json()["body"]
    row = next(line for line in body.splitlines() if line.startswith("| people\\_injured | HT0111 | 2010-01-13 | 40 |"))
    assert f"(/reports/{verified})" in row and f"(/reports/{strong})" in row and "| – |" in row  # no other value
    assert "400" not in body and "Names of the injured" not in body and withdrawn not in made["cited"]
    assert "## Unverified information (not confirmed)" in body
    unverified = body.split("## Unverified information (not confirmed)")[1].split("## Funding")[0]
    assert "**NOT VERIFIED:** Hospital wing collapsed" in unverified and f"(/reports/{strong})" in unverified
    assert "Clinic damaged" not in unverified
    assert set(made["cited"]) == {verified, strong}
    with app.app_context():
        assert db.session.scalar(select(Crisis.language).where(Crisis.slug == "quake")) == "en"


def _score_tallies_and_recount(app) -> tuple[dict, dict]:
    """Every nonzero row of the score tallies, and the same rows counted again from the reports."""
    from plugins.validation.desk_tallies import band_of
    from plugins.validation.models import ReportScore, ScoreTally
    from wiki.desk.aggregates import bucket_of, event_time
    from wiki.models import Report

    with app.app_context():
        kept = {
            (row.crisis_id, row.day, row.sector, row.adm1, row.band, row.admiralty): row.n
            for row in db.session.scalars(select(ScoreTally))
            if row.n
        }
        day, band = bucket_of(event_time(), "day"), band_of(ReportScore.score)
        adm1, admiralty = func.coalesce(Report.adm1_pcode, ""), func.coalesce(ReportScore.admiralty, "")
        recount = select(Report.crisis_id, day, Report.sector, adm1, band, admiralty, func.count())
        recount = recount.join(ReportScore, ReportScore.report_id == Report.id).where(Report.withdrawn_at.is_(None))
        counted = {
            tuple(row[:6]): row[6] for row in db.session.execute(recount.group_by(*recount.selected_columns[:6]))
        }
        return kept, counted


def _score_charts_both_ways(app, person_id, args) -> tuple[list, list]:
    """The score and verdict charts of a dashboard view from the tallies and from the reports."""
    from dataclasses import replace

    from plugins.validation.desk_charts import score_charts
    from wiki.desk.dashboard import build
    from wiki.models import Crisis, User

    with app.test_request_context():
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        scope = build(crisis, args, db.session.get(User, person_id)).scope
        assert scope.tallies is not None, args
        return [
            [(chart.key, chart.series[0].values, chart.note) for chart in score_charts(path)]
            for path in (scope, replace(scope, tallies=None))
        ]


def test_the_score_tallies_agree_with_a_recount_after_inserts_gradings_changes_withdrawals_and_deletions(
    app, field_, people
):
    from wiki.models import Report, User
    from wiki.reports.triage import update_report, withdraw_report

    clinic = field_.submit("Clinic damaged", "walls cracked", contact="+50936000010")
    school = field_.submit(
        "School damaged", "roof down", sector="education", lat=HAITI[0] + 0.4, contact="+50936000011"
    )
    road = field_.submit("Road blocked", "rubble", sector="logistics", lat=HAITI[0] - 0.3, contact="+50936000012")
    rumour = field_.submit("Rumour", "looting", lat=HAITI[0] + 0.3)
    views = [{}, {"sector": "health"}, {"sector": "education", "until": "2100-01-01"}]
    coordinator = people["coordinator"].id

    def agree():
        kept, counted = _score_tallies_and_recount(app)
        assert kept == counted and kept
        for args in views:
            tallied, live = _score_charts_both_ways(app, coordinator, args)
            assert tallied == live, args

    agree()
    field_.grade(clinic, "B", 2)
    field_.grade(school, "A", 1)
    field_.grade(school, "E", 5, who="verifier2")
    agree()
    with app.test_request_context():
        user = db.session.get(User, coordinator)
        update_report(db.session.get(Report, road), {"status": "verified", "sector": "health"}, user)
        withdraw_report(db.session.get(Report, clinic), user, "to protect the nurses")
        db.session.delete(db.session.get(Report, rumour))
        db.session.commit()
    agree()
    kept, _counted = _score_tallies_and_recount(app)
    assert sum(kept.values()) == 2  # the clinic withdrawn, the rumour deleted


def test_every_twentieth_is_answered_by_bands_but_other_thresholds_are_not():
    from plugins.validation.desk_tallies import band_range, exact_band

    # Every value of the minimum-score control (0.05 steps), 0.9 included, as a URL writes it.
    assert [exact_band(f"{k / 20:g}") for k in range(21)] == list(range(21))
    assert exact_band("0.60") == 12 and exact_band("0.65") == 13 and exact_band("0.9") == 18
    assert exact_band("0.63") is None and exact_band("abc") is None and exact_band("") is None
    assert exact_band("-0.05") is None and exact_band("1.05") is None
    assert exact_band("nan") is None and exact_band("inf") is None
    assert band_range({"min_score": "0.65"}) == (13, 20)
    assert band_range({"min_score": "0.6", "max_score": "0.85"}) == (12, 16)  # max_score keeps scores below it
    assert band_range({"max_score": "1"}) == (0, 20)  # ... or at most 1; never a report without a score
    assert band_range({"min_score": "0.63"}) is None and band_range({"min_score": "0.6", "q": "water"}) is None


def _views_both_ways(app, person_id, args) -> tuple[list, list]:
    """Every core aggregate and the score charts of a dashboard view filtered by score, from the
    tallies (validation_band_tallies, validation_band_hour_tallies by the hour,
    validation_score_tallies) and from the reports."""
    from dataclasses import replace

    from plugins.validation.desk_charts import score_charts
    from wiki.desk import aggregates as agg
    from wiki.desk.dashboard import build
    from wiki.models import Crisis, User

    unit = args.get("unit", "day")
    filters = {key: value for key, value in args.items() if key != "unit"}
    with app.test_request_context():
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        viewer = db.session.get(User, person_id)
        chosen = agg.selection(crisis, filters, viewer, unit)
        assert chosen.tallied and chosen.source is not None, args
        assert chosen.hourly == (unit == "hour"), args
        scope = build(crisis, args, viewer).scope
        assert scope.tallies is not None and scope.tallies.source is not None, args
        found = []
        for path, charts in (
            (chosen, scope),
            (replace(chosen, tallied=False, hourly=False, source=None), replace(scope, tallies=None)),
        ):
            numbers = [agg.counts_by_time(path), agg.backlog(path)]
            numbers += [agg.area_counts(path, 1), agg.area_counts(path, 2), agg.channel_counts(path)]
            numbers += [(chart.key, chart.series[0].values, chart.note) for chart in score_charts(charts)]
            found.append(numbers)
        return found[0], found[1]


def _band_of(score: float) -> int:
    """A score's band as the min_score filter reads it: the highest k with score >= k / 20."""
    return max(k for k in range(21) if score >= k / 20)


def _bands_kept_and_counted(app) -> tuple[list, dict]:
    """({band: reports} of each band table (kind "in": a report once) and of the score tallies, as
    kept), and the same counted in Python from the stored scores of the reports not withdrawn."""
    from plugins.validation.models import BandHourTally, BandTally, ReportScore, ScoreTally
    from wiki.models import Report

    with app.app_context():
        kept = []
        for table, condition in ((BandTally, BandTally.kind == "in"), (BandHourTally, BandHourTally.kind == "in")):
            rows = db.session.execute(select(table.band, func.sum(table.n)).where(condition).group_by(table.band))
            kept.append({band: n for band, n in rows if n})
        rows = db.session.execute(
            select(ScoreTally.band, func.sum(ScoreTally.n)).where(ScoreTally.band >= 0).group_by(ScoreTally.band)
        )
        kept.append({band: n for band, n in rows if n})
        scores = db.session.scalars(
            select(ReportScore.score)
            .join(Report, Report.id == ReportScore.report_id)
            .where(Report.withdrawn_at.is_(None), ReportScore.score.is_not(None))
        )
        counted: dict[int, int] = {}
        for score in scores:
            counted[_band_of(score)] = counted.get(_band_of(score), 0) + 1
        return kept, counted


def _band_sums_and_core_tallies(app) -> list[tuple[dict, dict]]:
    """[(the band tallies summed over the bands, the core's tallies)] by day and by the hour:
    equal when every report has a score."""
    from plugins.validation.models import BandHourTally, BandTally
    from wiki.models import ReportHourTally, ReportTally

    pairs = []
    with app.app_context():
        for band_table, core, bucket in ((BandTally, ReportTally, "day"), (BandHourTally, ReportHourTally, "hour")):
            found = []
            for table in (band_table, core):
                keys = [table.crisis_id, table.kind, getattr(table, bucket), table.sector, table.adm1, table.value]
                rows = db.session.execute(select(*keys, func.sum(table.n), func.sum(table.v)).group_by(*keys))
                found.append({tuple(row[:6]): (row[6], row[7]) for row in rows if row[6] or row[7]})
            pairs.append((found[0], found[1]))
    return pairs


def test_the_band_tallies_answer_a_minimum_score_as_the_reports_do_after_every_change(app, field_, people):
    import math
    from datetime import datetime

    from sqlalchemy import update

    from plugins.validation.models import BandTally, ReportScore
    from wiki.models import Report, User
    from wiki.reports.triage import update_report, withdraw_report

    clinic = field_.submit("Clinic damaged", "walls cracked", contact="+50936000010")
    school = field_.submit(
        "School damaged", "roof down", sector="education", lat=HAITI[0] + 0.4, contact="+50936000011"
    )
    road = field_.submit("Road blocked", "rubble", sector="logistics", lat=HAITI[0] - 0.3, contact="+50936000012")
    rumour = field_.submit("Rumour", "looting", lat=HAITI[0] + 0.3)
    # 40 days on: a chart by the hour shows the last 400 hours only (its totals count every report).
    later = field_.submit("Aftershock", "walls fell", when="2010-02-22T12:00:00Z", contact="+50936000013")
    with app.test_request_context():  # received when they happened (an import): the backlog spans the 40 days
        for ids, received in (([clinic, school, road, rumour], WHEN), ([later], "2010-02-22T12:00:00Z")):
            moment = datetime.fromisoformat(received.replace("Z", "+00:00"))
            db.session.execute(update(Report).where(Report.id.in_(ids)).values(received_at=moment))
        db.session.commit()
    field_.grade(clinic, "B", 2)
    field_.grade(school, "A", 1)
    field_.grade(road, "E", 5)
    field_.grade(rumour, "C", 3)
    field_.grade(later, "A", 2)
    views = [{"min_score": "0.65"}, {"min_score": "0.9"}, {"min_score": "0.3", "sector": "health"}]
    views += [{"min_score": "0", "max_score": "0.55"}, {"max_score": "1", "until": "2100-01-01T23:59:59Z"}]
    views += [{"min_score": "0.65", "unit": "hour"}, {"min_score": "0.9", "unit": "hour", "sector": "health"}]
    coordinator = people["coordinator"].id

    def agree(every_report_scored=True):
        for args in views:
            tallied, live = _views_both_ways(app, coordinator, args)
            assert tallied == live, args
        kept, counted = _bands_kept_and_counted(app)
        assert kept == [counted] * 3
        if every_report_scored:
            for summed, core in _band_sums_and_core_tallies(app):
                assert summed == core and summed

    def set_scores(scores):
        with app.test_request_context():
            for report, score in scores.items():
                db.session.execute(update(ReportScore).where(ReportScore.report_id == report).values(score=score))
            db.session.commit()

    agree()
    with app.test_request_context():
        from wiki.desk import aggregates as agg
        from wiki.models import Crisis

        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        over = agg.counts_by_time(agg.selection(crisis, {"min_score": "0"}, db.session.get(User, coordinator), "hour"))
        assert len(over.labels) == agg.MAX_BUCKETS and over.labels[-1] == "2010-02-22 12"
        assert sum(over.totals.values()) == 5 and sum(over.by_status.values()) == 1
        backlog = agg.backlog(agg.selection(crisis, {"min_score": "0"}, db.session.get(User, coordinator), "hour"))
        assert len(backlog.labels) == agg.MAX_BUCKETS and backlog.labels[-1] == "2010-02-22 12"
        assert sum(received for received, _left in backlog.moves.values()) == 1
        assert backlog.earlier == 4  # received before the hours shown, none decided
    # Scores on every edge of the bands (k / 20), just below and just above it: the band of each is
    # the one the min_score filter reads (0.9's float trap: the largest score below it times 20 is 18).
    for k in range(21):
        edge = k / 20
        set_scores(
            {clinic: edge, school: math.nextafter(edge, 0), road: math.nextafter(edge, 1), rumour: (20 - k) / 20}
        )
        kept, counted = _bands_kept_and_counted(app)
        assert kept == [counted] * 3, k
    set_scores({clinic: 0.65, school: math.nextafter(0.9, 0), road: 0.9, rumour: math.nextafter(0.65, 0), later: 1.0})
    assert _bands_kept_and_counted(app)[0][0] == {12: 1, 13: 1, 17: 1, 18: 1, 20: 1}
    agree()
    with app.test_request_context():
        user = db.session.get(User, coordinator)
        update_report(db.session.get(Report, road), {"status": "verified", "sector": "health"}, user)
        update_report(db.session.get(Report, school), {"status": "refuted"}, user)
    agree()
    field_.grade(clinic, "A", 1, who="verifier2")  # a grading: the scorer writes the score again
    agree()
    with app.test_request_context():
        user = db.session.get(User, coordinator)
        withdraw_report(db.session.get(Report, clinic), user, "to protect the nurses")
        db.session.delete(db.session.get(Report, rumour))
        db.session.commit()
    agree()
    with app.app_context():
        assert db.session.scalar(select(func.sum(BandTally.n)).where(BandTally.kind == "in")) == 3


def channel_chart(key: str, scope, table):
    """A third-party plugin's chart of the channels, read from the tallies `table` narrowed to the view."""
    from wiki.toolkit import Chart, Series

    query = select(table.value, func.sum(table.n)).where(table.kind == "channel").group_by(table.value)
    query = scope.tallies.apply(query, table.crisis_id, table.day, table.sector, table.adm1)
    counts = {channel: int(n) for channel, n in db.session.execute(query) if n}
    return Chart(key, key, "bar", "Channel", list(counts), [Series("n", "n", [*counts.values()])])


class ChannelsAgain:
    """Reads the tallies the view's `scope.tallies.table` says answer it (the core's counts, or the
    validation plugin's by score band on a view with a minimum score)."""

    @hookimpl
    def dashboard_charts(self, scope):
        return None if scope.tallies is None else [channel_chart("channels_again", scope, scope.tallies.table)]


class ChannelsFromTheCoreTallies:
    """Reads the core's report_tallies whatever the view: on a view with a minimum score they
    cannot answer, and scope.tallies.apply refuses them (no over-count)."""

    @hookimpl
    def dashboard_charts(self, scope):
        from wiki.models import ReportTally

        return None if scope.tallies is None else [channel_chart("channels_core", scope, ReportTally)]


def test_a_third_party_chart_reading_scope_tallies_counts_only_the_reports_a_minimum_score_keeps(app, field_, people):
    from plugins.validation.models import BandTally, ReportScore
    from wiki.desk.dashboard import build
    from wiki.models import Crisis, Report, ReportTally, User

    app.extensions["crisiswiki_plugins"].register(ChannelsAgain(), name="channels_again")
    app.extensions["crisiswiki_plugins"].register(ChannelsFromTheCoreTallies(), name="channels_core")
    reports = [field_.submit(f"Report {n}", "text", lat=HAITI[0] + n / 10) for n in range(4)]
    for report, (reliability, credibility) in zip(reports, (("A", 1), ("B", 2), ("E", 5), ("F", 6)), strict=True):
        field_.grade(report, reliability, credibility)
    unscored = field_.submit("Not graded", "text")  # counted without a minimum score, never with one
    with app.app_context():
        scores = dict(db.session.execute(select(ReportScore.report_id, ReportScore.score)).all())
    assert any(score is not None and score >= 0.65 for score in scores.values())
    assert any(score is not None and score < 0.65 for score in scores.values()) and unscored

    def charts(args):
        with app.test_request_context():
            crisis = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
            dashboard = build(crisis, args, db.session.get(User, people["coordinator"].id))
            found = {
                chart.key: dict(zip(chart.categories, chart.series[0].values, strict=True))
                for chart in dashboard.charts
            }
            recount = dashboard.scope.where(select(Report.channel, func.count()).group_by(Report.channel))
            return dashboard.scope, found, {channel: n for channel, n in db.session.execute(recount)}

    scope, found, recount = charts({})
    assert scope.tallies.table is ReportTally
    assert found["channels_again"] == found["channels_core"] == recount and sum(recount.values()) == 5
    for threshold in ("0.65", "0.9", "0"):
        scope, found, recount = charts({"min_score": threshold})
        assert scope.tallies is not None and scope.tallies.table is BandTally, threshold
        kept = sum(1 for score in scores.values() if score is not None and score >= float(threshold))
        assert found["channels_again"] == recount and sum(recount.values()) == kept, threshold
        # The chart that reads the core's tallies is refused (logged and left out), never over-counted.
        assert "channels_core" not in found, threshold

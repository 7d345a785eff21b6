"""The verifiers' desk of the validation plugin: assignments shared through the queue, internal
notes with mentions and notices, a report's timeline, duplicate suggestions merged in one click,
grading from the queue, the claims page, and the plugin's parts of the dashboard and of a
drafted situation report (key figures from the claims, unverified information marked)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests import test_validation_helpers as helpers
from tests.alerts_helpers import run_worker
from tests.test_validation_helpers import HAITI
from wiki.extensions import db

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
    from plugins.validation.desk_charts import band_of
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


def test_a_score_in_tenths_is_answered_by_bands_but_0_9_and_other_thresholds_are_not():
    from plugins.validation.desk_tallies import band_range, exact_tenth

    assert [exact_tenth(f"{k / 10:g}") for k in range(11)] == [0, 1, 2, 3, 4, 5, 6, 7, 8, None, 10]
    assert exact_tenth("0.60") == 6 and exact_tenth("0.65") is None and exact_tenth("abc") is None
    assert exact_tenth("-0.1") is None and exact_tenth("1.1") is None and exact_tenth("") is None
    assert band_range({"min_score": "0.6"}) == (6, 10)
    assert band_range({"min_score": "0.6", "max_score": "0.8"}) == (6, 7)  # max_score keeps scores below it
    assert band_range({"max_score": "1"}) == (0, 10)  # ... or at most 1; never a report without a score
    assert band_range({"min_score": "0.9"}) is None and band_range({"min_score": "0.6", "q": "water"}) is None


def _views_both_ways(app, person_id, args) -> tuple[list, list]:
    """Every core aggregate and the score charts of a dashboard view filtered by score, from the
    tallies (validation_band_tallies, validation_score_tallies) and from the reports."""
    from dataclasses import replace

    from plugins.validation.desk_charts import score_charts
    from wiki.desk import aggregates as agg
    from wiki.desk.dashboard import build
    from wiki.models import Crisis, User

    with app.test_request_context():
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        viewer = db.session.get(User, person_id)
        chosen = agg.selection(crisis, args, viewer)
        assert chosen.tallied and chosen.source is not None, args
        scope = build(crisis, args, viewer).scope
        assert scope.tallies is not None, args
        found = []
        for path, charts in (
            (chosen, scope),
            (replace(chosen, tallied=False, source=None), replace(scope, tallies=None)),
        ):
            numbers = [agg.counts_by_time(path), agg.backlog(path), agg.waits(path)]
            numbers += [agg.area_counts(path, 1), agg.area_counts(path, 2), agg.channel_counts(path)]
            numbers += [(chart.key, chart.series[0].values, chart.note) for chart in score_charts(charts)]
            found.append(numbers)
        return found[0], found[1]


def test_the_band_tallies_answer_a_minimum_score_as_the_reports_do_after_every_change(app, field_, people):
    import math

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
    field_.grade(clinic, "B", 2)
    field_.grade(school, "A", 1)
    field_.grade(road, "E", 5)
    field_.grade(rumour, "C", 3)
    views = [{"min_score": "0.6"}, {"min_score": "0.3", "sector": "health"}, {"min_score": "0", "max_score": "0.6"}]
    views += [{"max_score": "1", "until": "2100-01-01T23:59:59Z"}]
    coordinator = people["coordinator"].id

    def agree():
        for args in views:
            tallied, live = _views_both_ways(app, coordinator, args)
            assert tallied == live, args
        with app.app_context():
            kept = dict(
                db.session.execute(
                    select(BandTally.band, func.sum(BandTally.n)).where(BandTally.kind == "in").group_by(BandTally.band)
                ).all()
            )
            band = (
                func.floor(ReportScore.score * 10) if db.engine.dialect.name == "postgresql" else ReportScore.score * 10
            )
            band = func.cast(band, db.Integer)
            counted = dict(
                db.session.execute(
                    select(band, func.count())
                    .join(Report, Report.id == ReportScore.report_id)
                    .where(Report.withdrawn_at.is_(None), ReportScore.score.is_not(None))
                    .group_by(band)
                ).all()
            )
            assert {b: n for b, n in kept.items() if n} == counted

    agree()
    with app.test_request_context():
        # Scores on the edges of the bands: exactly 0.6 (kept by min_score=0.6), just below it (not)
        # and exactly 0.3 (kept by min_score=0.3).
        for report, score in ((clinic, 0.6), (school, math.nextafter(0.6, 0)), (road, 0.3)):
            db.session.execute(update(ReportScore).where(ReportScore.report_id == report).values(score=score))
        db.session.commit()
    agree()
    with app.test_request_context():
        user = db.session.get(User, coordinator)
        update_report(db.session.get(Report, road), {"status": "verified", "sector": "health"}, user)
        update_report(db.session.get(Report, school), {"status": "refuted"}, user)
        withdraw_report(db.session.get(Report, clinic), user, "to protect the nurses")
        db.session.delete(db.session.get(Report, rumour))
        db.session.commit()
    agree()
    with app.app_context():
        assert db.session.scalar(select(func.sum(BandTally.n)).where(BandTally.kind == "in")) == 2

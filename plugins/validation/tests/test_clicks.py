"""Clicks answer at once: a verifier's grading and a coordinator's status change rescore their own
report before the answer; the other reports of the same source and the neighbours it affects
are only marked stale there (score_stale, and a note on the pages), and the scoring batches
bring them up to date behind the response, to exactly what a full rescore computes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from plugins.validation.tests import helpers
from plugins.validation.tests.helpers import HAITI
from plugins.validation.tests.test_scoring import CLAIM, FAR, assert_same_scores
from wiki.extensions import db

app_config, field_, people = helpers.app_config, helpers.field_, helpers.people

MANY = 300
CONTACT = "+50938000000"


def big_source(app) -> list[int]:
    """MANY reports of one contact, each more than a radius from the others (none corroborates
    another), scored by a full rescore; their ids, the first at HAITI."""
    from wiki.models import Crisis, Report, Source
    from wiki.models.base import utcnow
    from wiki.reports.sources import contact_hash

    with app.app_context():
        crisis_id = db.session.scalar(select(Crisis.id).where(Crisis.slug == "quake"))
        source = Source(contact=CONTACT, contact_hash=contact_hash(CONTACT), channel="sms", name="", organisation="")
        db.session.add(source)
        db.session.commit()
        when, now = datetime(2010, 1, 13, 12, tzinfo=UTC), utcnow()
        rows = [
            {
                "crisis_id": crisis_id,
                "title": f"Road report {n}",
                "description": "Road to Jacmel",
                "lat": HAITI[0] - 0.6 + 0.13 * (n % 15),
                "lon": HAITI[1] - 2.0 + 0.14 * (n // 15),
                "place_name": "",
                "occurred_at": when,
                "received_at": when,
                "updated_at": now,
                "sector": "logistics",
                "status": "new",
                "published": True,
                "sensitive": False,
                "channel": "sms",
                "source_id": source.id,
            }
            for n in range(MANY)
        ]
        rows[0].update(lat=HAITI[0], lon=HAITI[1], title=CLAIM[0], description=CLAIM[1], sector="health")
        db.session.execute(insert(Report), rows)
        db.session.commit()
        ids = db.session.scalars(select(Report.id).where(Report.source_id == source.id).order_by(Report.id)).all()
        db.session.remove()
    return list(ids)


def stored(app) -> dict[int, tuple]:
    """Every score row's (updated_at, stale), read straight from the database."""
    from plugins.validation.models import ReportScore

    with app.app_context():
        found = {
            row.report_id: (row.updated_at, row.stale)
            for row in db.session.execute(select(ReportScore.report_id, ReportScore.updated_at, ReportScore.stale))
        }
        db.session.remove()
    return found


def marked_sources(app) -> int:
    """How many sources are marked stale (validation_stale_sources)."""
    from plugins.validation.models import StaleSource

    with app.app_context():
        count = len(db.session.scalars(select(StaleSource.source_id)).all())
        db.session.remove()
    return count


@pytest.mark.parametrize("click", ["grade", "status"])
def test_a_click_on_a_big_sources_report_rescores_it_alone_and_the_batches_do_the_rest(field_, people, runner, click):
    app = field_.client.application
    ids = big_source(app)
    # Two other people's reports next to the first one: its neighbours.
    neighbours = [field_.submit(*CLAIM, lat=HAITI[0] + 0.01 * n, contact=f"+5093800010{n}") for n in (1, 2)]
    assert runner.invoke(args=["rescore", "--quiet"]).exit_code == 0
    before = stored(app)
    assert len(before) == MANY + 2 and not any(stale for _at, stale in before.values())
    clicked = ids[0]

    if click == "grade":
        response = field_.client.post(
            f"/api/v1/reports/{clicked}/assessments",
            json={"reliability": "B", "credibility": 2},
            headers=field_.as_("verifier"),
        )
        assert response.status_code == 201
    else:
        response = field_.client.patch(
            f"/api/v1/reports/{ids[1]}", json={"status": "verified"}, headers=field_.as_("coordinator")
        )
        assert response.status_code == 200
        clicked = ids[1]
    answered = response.get_json()
    assert answered.get("score_stale", answered.get("properties", {}).get("score_stale")) is False

    # In the request: one score rewritten (the clicked report's), the rest of the source and the
    # neighbours it affects only marked stale. (The response is not closed yet: nothing after it ran.)
    after = stored(app)
    rewritten = [report_id for report_id in after if after[report_id][0] != before[report_id][0]]
    assert rewritten == [clicked]
    stale = {report_id for report_id, (_at, is_stale) in after.items() if is_stale}
    expected = set(ids) - {clicked} | (set(neighbours) if click == "grade" else set())
    assert stale == expected
    assert marked_sources(app) == 1  # the source's reports: one narrow row, not MANY rewritten
    assert field_.report(ids[2])["score_stale"] is True
    page = field_.client.get(f"/reports/{clicked}", headers=field_.as_("verifier")).get_data(as_text=True)
    assert "Related scores are being updated" in page
    queue = field_.client.get("/c/quake/verify", headers=field_.as_("verifier")).get_data(as_text=True)
    assert "Related scores are being updated" in queue and "(updating)" in queue

    # The background batches (called here directly) bring every one of them up to date.
    from plugins.validation.batch import run_batch

    with app.app_context():
        batches = 1
        while run_batch(math.inf):
            batches += 1
        db.session.remove()
    assert batches <= 2  # a few hundred reports: one batch, or two
    response.close()  # the work after the response: nothing left for it
    current = field_.scores()
    assert not any(is_stale for *_rest, is_stale in current.values())
    assert marked_sources(app) == 0  # caught up: the mark is gone
    assert "Related scores are being updated" not in field_.client.get(
        f"/reports/{clicked}", headers=field_.as_("verifier")
    ).get_data(as_text=True)
    assert runner.invoke(args=["rescore", "--quiet"]).exit_code == 0
    assert_same_scores(current, field_.scores())


def marked_rows(app) -> set[int]:
    """The score rows marked stale themselves (to be scored whole, not recombined)."""
    from plugins.validation.models import ReportScore

    with app.app_context():
        found = set(db.session.scalars(select(ReportScore.report_id).where(ReportScore.marked_stale.is_(True))))
        db.session.remove()
    return found


def score_rows(app) -> dict[int, dict]:
    """Every score row as stored: its numbers, its evidence and its factors."""
    from plugins.validation.models import ReportScore

    with app.app_context():
        found = {
            row.report_id: {
                "numbers": (row.score, row.log_odds, row.source_reliability),
                "verdict": (row.admiralty, row.reliability_grade, row.credibility_grade, row.assessment),
                "neighbours": row.neighbours,
                "factors": [(f["factor"], f["value"], f["delta_log_odds"], f["sentence"]) for f in row.explanation],
            }
            for row in db.session.scalars(select(ReportScore))
        }
        db.session.remove()
    return found


def assert_same_rows(incremental: dict, rescored: dict) -> None:
    assert incremental.keys() == rescored.keys()
    for report_id, row in incremental.items():
        again = rescored[report_id]
        assert row["numbers"] == pytest.approx(again["numbers"], abs=1e-9, nan_ok=True), report_id
        assert row["verdict"] == again["verdict"], report_id
        assert row["neighbours"] == again["neighbours"], report_id
        assert len(row["factors"]) == len(again["factors"]), report_id
        for mine, theirs in zip(row["factors"], again["factors"], strict=True):
            assert mine[0] == theirs[0] and mine[3] == theirs[3], (report_id, mine, theirs)
            assert mine[2] == pytest.approx(theirs[2], abs=1e-9), (report_id, mine, theirs)


def test_scores_behind_their_sources_are_recombined_to_what_a_rescore_gives(field_, runner):
    """Two sources' states change at once; their reports hold each other's evidence, and one of
    them gains a new neighbour while it waits: the batches recombine them from their stored
    evidence (no new search), and a full rescore then changes nothing."""
    app = field_.client.application
    ids = big_source(app)
    # Another person's two reports next to the big source's first one: each holds the other's
    # evidence, and the first one's, weighed by their sources' reliability.
    pair = [field_.submit(*CLAIM, lat=HAITI[0] + 0.01 * n, contact="+50938000201") for n in (1, 2)]
    far = field_.submit(*CLAIM, lat=HAITI[0] + FAR, contact="+50938000201")
    assert runner.invoke(args=["rescore", "--quiet"]).exit_code == 0
    clicks = []
    # A grade of a report of each source, far from the others, changes both sources' states:
    # the others wait behind their sources' marks, none of them is marked stale itself.
    for report_id in (ids[5], far):
        clicks.append(
            field_.client.post(
                f"/api/v1/reports/{report_id}/assessments",
                json={"reliability": "A", "credibility": 2},
                headers=field_.as_("verifier"),
            )
        )
        assert clicks[-1].status_code == 201
    assert marked_sources(app) == 2
    assert not marked_rows(app) & {ids[0], *pair}
    # A new report next to them while they wait (its answer not closed: no batch after it yet).
    newcomer = field_.send(*CLAIM, lat=HAITI[0] - 0.01, contact="+50938000301", who="volunteer")

    from plugins.validation.batch import run_batch

    with app.app_context():
        run_batch(math.inf, stale_limit=0)  # the new report only: its evidence goes to those waiting
        while run_batch(math.inf):
            pass
        db.session.remove()
    for response in (*clicks, newcomer):
        response.close()
    incremental = score_rows(app)
    assert marked_sources(app) == 0 and len(incremental) == MANY + 4
    # The pair's reports hold the big source's first report and each other, as supporting evidence.
    assert incremental[pair[1]]["neighbours"][str(ids[0])][1] == "support"
    assert incremental[ids[0]]["neighbours"][str(pair[1])][1] == "support"
    assert str(newcomer.get_json()["id"]) in incremental[ids[0]]["neighbours"]
    assert runner.invoke(args=["rescore", "--quiet"]).exit_code == 0
    assert_same_rows(incremental, score_rows(app))


def test_the_background_scoring_leaves_the_write_lock_to_people_who_click(field_):
    """A grading counts as people acting, as a report arriving does: the batches then pace
    themselves (VALIDATION_BACKGROUND_SHARE) so that the next click rarely waits for one."""
    from plugins.validation.background import people_acting

    app = field_.client.application
    report = field_.submit(*CLAIM, contact="+50938000401")
    with app.app_context():
        assert people_acting(within_s=3600, clicks_within_s=0)  # the report
        assert not people_acting(within_s=0, clicks_within_s=3600)
        db.session.remove()
    graded = field_.client.post(
        f"/api/v1/reports/{report}/assessments",
        json={"reliability": "B", "credibility": 2},
        headers=field_.as_("verifier"),
    )
    assert graded.status_code == 201
    graded.close()
    from plugins.validation.models import Assessment
    from wiki.database import write_transaction
    from wiki.models import Report
    from wiki.models.base import utcnow

    with app.app_context():
        # Only the grading is recent: the report is made to look an hour old.
        with write_transaction():
            db.session.execute(update(Report).values(received_at=utcnow() - timedelta(hours=1)))
        assert db.session.scalar(select(Assessment.id).where(Assessment.report_id == report)) is not None
        assert people_acting(within_s=0, clicks_within_s=600)
        assert not people_acting(within_s=600, clicks_within_s=0)
        db.session.remove()

"""The scoring arithmetic on plain data: no app, no database, milliseconds.

A score is built from evidence given as plain objects (the source's track record, the
verifiers' grades, the coordinator's status, what each neighbour says), and these tests hold
it to its promises: the explanation adds up to the score, no verdict that nobody made,
corroboration and track records move it the right way only, and it stays within its bounds.
"""

from __future__ import annotations

import math
import random

import pytest

from plugins.validation.evidence import NEW_SOURCES, Grade, ReportRecord, contribution
from plugins.validation.neighbours import is_neighbour, nearest, nearest_all
from plugins.validation.propagation import STALE, settle, settle_holders
from plugins.validation.scoring import (
    ASSESSED,
    GRADED,
    NOT_ASSESSED,
    PARTLY_ASSESSED,
    combine,
    fixed_factors,
    score_report,
    sigmoid,
)
from plugins.validation.settings import Settings
from plugins.validation.similarity import words
from plugins.validation.track_record import SourceState, build_state, logit

DAY = 86400.0
T0 = 1263340800.0  # 2010-01-13 00:00 UTC
SETTINGS = Settings(
    half_life_s=30 * DAY,
    radius_km=10.0,
    window_s=48 * 3600.0,
    max_neighbours=20,
    prior_strength=2.0,
    anonymous_prior=0.35,
    channel_priors={"sms": 0.5, "web": 0.5},
    role_priors={"volunteer": 0.6},
    organisation_priors={"ifrc": 0.85},
    base_rate=0.5,
    corroboration_cap=3.0,
    pool_cap=0.7,
)
CLAIM = "Delmas clinic collapsed, patients moved outside"
FACTORS = ["base", "source", "status", "verifiers", "corroboration", "contradiction", "calibration"]


def record(
    report_id: int,
    text: str = CLAIM,
    source_id: int = 1,
    status: str = "new",
    lat: float = 18.54,
    lon: float = -72.34,
    t: float = T0,
    sector: str = "health",
    derived_from: frozenset[int] = frozenset(),
) -> ReportRecord:
    return ReportRecord(report_id, 1, sector, lat, lon, t, source_id, status, words(text), derived_from)


def source(
    source_id: int,
    outcomes=(),
    grades=(),
    user_id: int | None = None,
    contact: str | None = "+509",
    organisation: str = "",
) -> SourceState:
    """A source's state from its facts (the dependency key: one per source here)."""
    return build_state(
        source_id,
        f"s:{source_id}",
        user_id,
        "volunteer",
        contact,
        organisation,
        "sms",
        list(grades),
        outcomes,
        SETTINGS,
    )


def scored(report: ReportRecord, state: SourceState, grades=(), neighbours=(), states=None):
    states = {state.source_id: state, **(states or {})}
    return score_report(report, state, list(grades), list(neighbours), states, SETTINGS)


def random_case(rng: random.Random):
    """A report with a random source, grades, status and neighbours (other sources, some
    established, some new, some refuted or verified, some saying the opposite)."""
    texts = [
        CLAIM,
        "Delmas clinic not collapsed, it is open",
        "Water shortage at the Delmas camp",
        "Road to Jacmel blocked",
    ]
    outcomes = tuple((T0 + rng.uniform(-40, 5) * DAY, rng.choice((1, -1)), 1000 + n) for n in range(rng.randint(0, 4)))
    own = source(1, outcomes, grades=rng.sample("ABCDEF", rng.randint(0, 2)), contact=rng.choice(("+509", None)))
    report = record(1, rng.choice(texts), status=rng.choice(("new", "new", "under_review", "verified", "refuted")))
    grades = [Grade(v, rng.choice("ABCDEF"), rng.randint(1, 6)) for v in range(rng.randint(0, 3))]
    states, neighbours = {}, []
    for n in range(rng.randint(0, 8)):
        other_source = rng.choice((1, 2 + n, 2 + n, 50))  # sometimes the same source, sometimes a shared one
        if other_source not in states:
            states[other_source] = (
                own
                if other_source == 1
                else source(
                    other_source,
                    tuple(
                        (T0 - rng.uniform(1, 20) * DAY, rng.choice((1, -1)), 2000 + k)
                        for k in range(rng.choice((0, 0, 2)))
                    ),
                    user_id=rng.choice((None, 7 + n)),
                )
            )
        other = record(
            10 + n,
            rng.choice(texts),
            other_source,
            rng.choice(("new", "new", "verified", "refuted")),
            lat=18.54 + rng.uniform(-0.08, 0.08),
            t=T0 + rng.uniform(-40, 40) * 3600,
        )
        distance = is_neighbour(report, other, SETTINGS)
        if distance is not None:
            neighbours.append((distance, other))
    return report, own, grades, nearest(neighbours, SETTINGS), states


@pytest.mark.parametrize("seed", range(5))
def test_the_explanation_adds_up_to_the_score_in_log_odds_and_in_score_points(seed: int):
    rng = random.Random(seed)
    for _ in range(60):
        result = scored(*random_case(rng))
        assert [entry["factor"] for entry in result.explanation] == FACTORS
        assert sum(entry["delta_log_odds"] for entry in result.explanation) == pytest.approx(result.log_odds, abs=1e-12)
        points = sum(entry["delta_score"] for entry in result.explanation)  # each rounded to 6 decimals
        assert points == pytest.approx(sigmoid(result.log_odds), abs=len(FACTORS) * 5e-7)
        if result.score is not None:
            assert result.score == sigmoid(result.log_odds)
        assert all(entry["sentence"] and "%(" not in entry["sentence"] for entry in result.explanation)


def test_with_no_evidence_there_is_no_score_and_no_verdict():
    result = scored(record(1), source(1))  # a first-time source, no grading, nothing nearby
    assert result.score is None and result.admiralty is None
    assert (result.reliability, result.credibility, result.assessment) == (None, None, NOT_ASSESSED)
    assert result.log_odds == pytest.approx(logit(0.5))  # the sum is still kept: the prior of a contact is 0.5


def test_what_a_source_channel_suggests_is_a_prior_not_evidence():
    for state in (source(1, contact=None), source(1, user_id=3), source(1, organisation="IFRC")):
        result = scored(record(1), state)
        assert result.score is None and result.reliability is None, state.prior_basis


def test_a_track_record_alone_gives_a_letter_and_a_score_but_no_verdict():
    state = source(1, outcomes=[(T0 - DAY, 1, 99)])
    result = scored(record(1), state)
    assert result.reliability is not None and result.credibility is None and result.admiralty is None
    assert result.assessment == PARTLY_ASSESSED and result.score is not None


def test_a_reports_own_outcome_is_not_its_sources_track_record():
    state = source(1, outcomes=[(T0, 1, 1)])  # the only outcome is this report's own
    result = scored(record(1, status="verified"), state)
    assert result.reliability is None and result.credibility is not None  # the status: evidence about the information


def test_corroboration_alone_gives_a_digit_and_a_score_but_no_verdict():
    neighbour = record(2, source_id=2, lat=18.55)
    other = source(2, outcomes=[(T0 - DAY, 1, 98)])  # established: an independent voice
    result = scored(
        record(1), source(1), neighbours=[(is_neighbour(record(1), neighbour, SETTINGS), neighbour)], states={2: other}
    )
    assert result.credibility is not None and result.reliability is None and result.assessment == PARTLY_ASSESSED
    assert result.score is not None


def test_both_parts_from_evidence_give_a_derived_verdict():
    neighbour = record(2, source_id=2, lat=18.55)
    result = scored(
        record(1),
        source(1, outcomes=[(T0 - DAY, 1, 99)]),
        neighbours=[(is_neighbour(record(1), neighbour, SETTINGS), neighbour)],
        states={2: source(2, outcomes=[(T0 - DAY, 1, 98)])},
    )
    assert result.assessment == ASSESSED and result.admiralty == f"{result.reliability}{result.credibility}"


def test_a_verifiers_cannot_be_judged_is_kept_as_said_and_is_no_evidence():
    result = scored(record(1), source(1), grades=[Grade(5, "F", 6)])
    assert (result.admiralty, result.assessment, result.score) == ("F6", GRADED, None)
    graded = scored(record(1), source(1, grades=["B"]), grades=[Grade(5, "B", 2)])
    assert graded.assessment == GRADED and graded.reliability == "B" and graded.score is not None


def support(group: str, weight: float, distance: float = 1.0) -> list:
    return [group, "support", weight, distance]


def random_evidence(rng: random.Random) -> dict[str, list]:
    kinds = ("support", "verified", "refuted", "contradicts", "same_source", "derived", "unrelated")
    evidence = {}
    for n in range(rng.randint(0, 12)):
        kind = rng.choice(kinds)
        group = {
            "support": rng.choice(("s:2", "s:3", NEW_SOURCES)),
            "contradicts": rng.choice(("s:4", NEW_SOURCES)),
            "verified": f"r:{n}",
            "refuted": f"r:{n}",
        }.get(kind, "")
        weight = 0.0 if group == "" else rng.uniform(0.01, 1.5)
        evidence[str(100 + n)] = [group, kind, round(weight, 6), rng.uniform(0, 10)]
    return evidence


@pytest.mark.parametrize("seed", range(5))
def test_more_independent_corroboration_never_lowers_a_score(seed: int):
    rng = random.Random(seed)
    for _ in range(80):
        report, state, grades, _neighbours, _states = random_case(rng)
        fixed = fixed_factors(report, state, grades, SETTINGS)
        evidence = random_evidence(rng)
        before = combine(fixed, evidence, SETTINGS)
        more = dict(evidence)
        more[str(500 + rng.randint(0, 50))] = support(
            rng.choice(("s:2", "s:9", f"s:{rng.randint(10, 99)}", NEW_SOURCES)), round(rng.uniform(0.01, 1.5), 6)
        )
        after = combine(fixed, more, SETTINGS)
        assert after.log_odds >= before.log_odds - 1e-12
        if before.credibility is not None and after.credibility is not None and before.credibility < 6:
            assert after.credibility <= before.credibility  # 1 is the best


@pytest.mark.parametrize("seed", range(5))
def test_a_refuted_outcome_of_the_source_never_raises_a_score_and_a_verified_one_never_lowers_it(seed: int):
    rng = random.Random(seed)
    for _ in range(60):
        report, state, grades, neighbours, states = random_case(rng)
        before = scored(report, state, grades, neighbours, states)
        for outcome, direction in ((-1, -1), (1, 1)):
            moment = T0 + rng.uniform(-60, 60) * DAY
            learnt = SourceState(
                state.source_id,
                state.key,
                True,
                state.prior,
                state.prior_basis,
                state.grades,
                tuple(sorted((*state.outcomes, (moment, outcome, 7000)))),
            )
            after = scored(report, learnt, grades, neighbours, {**states, state.source_id: learnt})
            assert direction * (after.log_odds - before.log_odds) >= -1e-12


@pytest.mark.parametrize("seed", range(3))
def test_scores_and_parts_stay_within_their_bounds(seed: int):
    rng = random.Random(seed)
    for _ in range(80):
        result = scored(*random_case(rng))
        by_factor = {entry["factor"]: entry for entry in result.explanation}
        assert 0.0 <= by_factor["corroboration"]["delta_log_odds"] <= SETTINGS.corroboration_cap
        assert -SETTINGS.corroboration_cap <= by_factor["contradiction"]["delta_log_odds"] <= 0.0
        assert -2.0 * 1.5 <= by_factor["verifiers"]["delta_log_odds"] <= 2.2 * 1.5
        assert 0.0 < result.source_reliability < 1.0 and math.isfinite(result.log_odds)
        assert result.score is None or 0.0 < result.score < 1.0
        assert result.reliability in (None, *"ABCDEF") and result.credibility in (None, 1, 2, 3, 4, 5, 6)
        assert (result.admiralty is None) == (result.reliability is None or result.credibility is None)


def test_the_same_person_and_a_combined_assessment_are_no_corroboration():
    report = record(1)
    assert contribution(report, source(1), record(2, source_id=1), source(1), 1.0, SETTINGS)[1] == "same_source"
    combined = record(3, source_id=3, derived_from=frozenset({1}))
    assert contribution(report, source(1), combined, source(3), 1.0, SETTINGS)[1] == "derived"
    opposite = record(4, "Delmas clinic not collapsed, it is open", source_id=4)
    assert contribution(report, source(1), opposite, source(4), 1.0, SETTINGS)[1] == "contradicts"


def test_the_nearest_neighbours_found_on_the_grid_are_those_a_plain_search_finds():
    rng = random.Random(7)
    reports = [
        record(
            n,
            lat=18.5 + rng.uniform(-0.2, 0.2),
            lon=-72.3 + rng.uniform(-0.2, 0.2),
            t=T0 + rng.uniform(-3, 3) * DAY,
            sector=rng.choice(("health", "wash")),
        )
        for n in range(300)
    ]
    capped = Settings(**{**SETTINGS.__dict__, "max_neighbours": 5})
    found = nearest_all(reports[:50], reports, capped)
    for report in reports[:50]:
        plain = nearest([(d, o) for o in reports if (d := is_neighbour(report, o, capped)) is not None], capped)
        assert [o.id for _d, o in found[report.id]] == [o.id for _d, o in plain]


def test_settling_a_neighbours_new_evidence():
    stored = {"2": support("s:2", 0.5, 1.0), "3": support("s:3", 0.5, 3.0)}
    assert settle(stored, "2", support("s:2", 0.5, 1.0), 2) is None  # unchanged
    assert settle(stored, "4", support("s:4", 0.4, 2.0), 3) == {**stored, "4": support("s:4", 0.4, 2.0)}  # room for it
    assert settle(stored, "4", support("s:4", 0.4, 2.0), 2) == {
        "2": stored["2"],
        "4": support("s:4", 0.4, 2.0),
    }  # nearer
    assert settle(stored, "4", support("s:4", 0.4, 5.0), 2) is None  # full, and farther than the farthest
    assert settle(stored, "2", support("s:2", 0.9, 0.5), 2) == {**stored, "2": support("s:2", 0.9, 0.5)}  # nearer still
    assert settle(stored, "2", support("s:2", 0.5, 4.0), 2) == STALE  # moved away: another may now be nearer
    assert settle(stored, "2", None, 3) == {"3": stored["3"]}  # no longer a neighbour
    assert settle(stored, "2", None, 2) == STALE  # ... and a search must find who takes its place


def from_scratch(report: ReportRecord, reports: list[ReportRecord], states: dict, settings: Settings):
    found = nearest([(d, o) for o in reports if (d := is_neighbour(report, o, settings)) is not None], settings)
    return score_report(report, states[report.source_id], [], found, states, settings)


@pytest.mark.parametrize("seed", range(4))
def test_settled_evidence_gives_the_score_a_search_from_scratch_gives(seed: int):
    """What propagation decides for a report whose neighbour changed (moved, reworded, refuted),
    without a search, equals scoring that report again from scratch."""
    rng = random.Random(seed)
    capped = Settings(**{**SETTINGS.__dict__, "max_neighbours": 4})
    settled = 0
    for _ in range(40):
        states = {
            n: source(n, tuple((T0 - DAY * k, rng.choice((1, -1)), 900 + n * 10 + k) for k in range(rng.randint(0, 2))))
            for n in range(1, 6)
        }
        around = [
            record(
                n,
                rng.choice((CLAIM, "Delmas clinic open")),
                rng.randint(1, 5),
                rng.choice(("new", "verified")),
                lat=18.54 + rng.uniform(-0.05, 0.05),
                t=T0 + rng.uniform(-30, 30) * 3600,
            )
            for n in range(1, 9)
        ]
        holder, others = around[0], around[1:]
        changed = record(
            others[0].id,
            rng.choice((CLAIM, "Delmas clinic open")),
            others[0].source_id,
            rng.choice(("new", "refuted")),
            lat=18.54 + rng.uniform(-0.1, 0.1),
            t=others[0].t,
        )

        stored = from_scratch(holder, others, states, capped)
        updated, stale = settle_holders(
            [changed], {changed.id: {holder.id}}, {holder.id: holder}, {holder.id: stored.neighbours}, states, capped
        )
        if holder.id in stale:
            continue  # only a search can settle it: the batch scores it whole
        fresh = from_scratch(holder, [changed, *others[1:]], states, capped)
        evidence = updated.get(holder.id, stored.neighbours)
        assert evidence == fresh.neighbours
        assert combine(stored.explanation, evidence, capped).log_odds == pytest.approx(fresh.log_odds, abs=1e-12)
        settled += 1
    assert settled >= 20  # most changes are settled without a search

"""What the score must resist and mean, on small seeded cases (the pure arithmetic, seconds):
opposite claims count against each other in four languages, a Sybil flood does not outscore a
proven source, colluding accounts are one voice, and a calibrated score behaves as a
probability. bench/report_scoring.py measures the same on a full simulated crisis."""

from __future__ import annotations

import random

import pytest

from bench.report_scoring import (
    calibration_table,
    collusion,
    roc_auc,
    score_world,
    simulate,
    sybil,
)
from plugins.validation.calibration import MIN_OUTCOMES, fit
from plugins.validation.independence import tied_groups
from plugins.validation.scoring import sigmoid
from plugins.validation.similarity import contradicts, similarity, words

OPPOSITES = [
    ("Cholera cases in Carrefour", "No cholera cases in Carrefour"),
    ("Choléra à Carrefour", "Pas de choléra à Carrefour"),
    ("Aucun cas de choléra à Carrefour", "Cas de choléra à Carrefour"),
    ("Casos de cólera en Carrefour", "No hay casos de cólera en Carrefour"),
    ("Kolera nan Kafou", "Pa gen kolera nan Kafou"),
    ("Bridge on the Carrefour road open", "Bridge on the Carrefour road closed"),
]
AGREEING = [
    ("No water at the camp", "Water shortage at the camp"),
    ("Cholera cases in Carrefour", "Cholera cases confirmed in Carrefour"),
    ("Pa gen dlo nan kan an", "Manque d'eau, rupture au camp"),
]


@pytest.mark.parametrize(("one", "other"), OPPOSITES)
def test_a_claim_and_its_denial_contradict_each_other(one, other):
    a, b = words(one), words(other)
    assert similarity(a, b) >= 0.5
    assert contradicts(a, b) and contradicts(b, a)


@pytest.mark.parametrize(("one", "other"), AGREEING)
def test_saying_the_same_thing_in_other_words_is_no_contradiction(one, other):
    assert not contradicts(words(one), words(other))


def test_a_sybil_flood_does_not_outscore_a_proven_source():
    result = sybil(flood=50)
    assert result["passed"], result
    assert result["proven_score"] > 0.8


def test_without_the_defence_the_same_flood_wins():
    """The test can fail: scoring every new account as an independent voice (the old rule) lets
    the flood through."""
    from plugins.validation import evidence

    original = evidence.contribution

    def naive(report, state, other, other_state, distance_km, settings):
        entry = original(report, state, other, other_state, distance_km, settings)
        if entry[0] == evidence.NEW_SOURCES:
            entry[0] = other_state.key
        return entry

    evidence.contribution = naive
    try:
        assert not sybil(flood=50)["passed"]
    finally:
        evidence.contribution = original


def test_accounts_that_always_report_together_are_one_group_and_witnesses_are_not():
    keys, neighbourhoods = {}, {}
    report = 0
    for _event in range(8):  # a ring of three reports every event together
        ids = list(range(report, report + 3))
        for n, key in zip(ids, ("a", "b", "c"), strict=True):
            keys[n] = key
            neighbourhoods[n] = [m for m in ids if m != n]
        report += 3
    for event in range(8):  # two honest witnesses meet once in eight reports
        keys[report], keys[report + 1] = "x", "y"
        neighbourhoods[report] = [report + 1] if event == 0 else []
        neighbourhoods[report + 1] = [report] if event == 0 else []
        report += 2
    groups = tied_groups(keys, neighbourhoods)
    assert groups == {"a": "g:a", "b": "g:a", "c": "g:a"}


def test_colluders_false_reports_do_not_outscore_independent_true_ones():
    result = collusion(2010, quick=True)
    assert result["passed"], result


def test_the_calibration_fit_recovers_a_known_shift_and_leaves_few_outcomes_alone():
    rng = random.Random(4)
    xs = [rng.uniform(-4, 4) for _ in range(3000)]
    ys = [rng.random() < sigmoid(x - 1.0) for x in xs]
    found = fit(xs, ys)
    assert found.slope == 1.0 and found.intercept == pytest.approx(-1.0, abs=0.12)
    few = fit(xs[: MIN_OUTCOMES - 1], ys[: MIN_OUTCOMES - 1])
    assert few.identity and few.outcomes == MIN_OUTCOMES - 1
    assert fit(xs[:100], [True] * 100).identity  # all verified: nothing to learn the level from


def test_an_uncalibrated_score_says_why():
    from plugins.validation.calibration import Calibration
    from plugins.validation.scoring import calibration_entry

    few = calibration_entry(1.0, Calibration(outcomes=MIN_OUTCOMES - 1))
    one_kind = calibration_entry(1.0, Calibration(outcomes=40))
    fitted = calibration_entry(1.0, Calibration(1.0, -0.5, 40))
    assert few["delta_log_odds"] == one_kind["delta_log_odds"] == 0.0
    assert "fewer than" in few["text"] and "all verified or all refuted" in one_kind["text"]
    assert fitted["delta_log_odds"] == -0.5 and fitted["text"].startswith("Calibrated on")


def test_with_too_few_outcomes_the_score_says_it_is_not_calibrated_yet():
    world = simulate(2011, events=40, rumours=20, sources=15, reports=150, graded_share=0.08)
    settled = sum(r.status != "new" for r in world.reports)
    assert settled < MIN_OUTCOMES
    assert score_world(world) == score_world(world, calibrate=False)


def test_calibration_keeps_the_order_of_the_scores():
    world = simulate(2012, events=120, rumours=60, sources=40, reports=1200)
    raw = score_world(world, calibrate=False)
    calibrated = score_world(world)
    scored = [r.id for r in world.reports if raw[r.id] is not None]
    assert any(abs(calibrated[i] - raw[i]) > 0.05 for i in scored)
    by_raw = sorted(scored, key=lambda i: (raw[i], i))
    assert sorted(scored, key=lambda i: (calibrated[i], i)) == by_raw


def test_on_a_small_simulated_crisis_the_calibrated_score_is_a_probability_and_ranks_well():
    world = simulate(2011, events=120, rumours=60, sources=40, reports=1200)
    raw = score_world(world, calibrate=False)
    calibrated = score_world(world)
    chosen = [r for r in world.reports if r.status == "new" and calibrated[r.id] is not None]
    truth = [r.true for r in chosen]
    _table, ece_raw = calibration_table([raw[r.id] for r in chosen], truth)
    _table, ece = calibration_table([calibrated[r.id] for r in chosen], truth)
    assert ece < ece_raw and ece <= 0.07, (ece_raw, ece)
    assert roc_auc([calibrated[r.id] for r in chosen], truth) > 0.75


def test_the_calibration_is_an_explained_factor_and_the_sum_still_holds():
    from plugins.validation.calibration import Calibration
    from plugins.validation.evidence import ReportRecord
    from plugins.validation.scoring import combine, fixed_factors
    from plugins.validation.tests.test_arithmetic import SETTINGS, T0, source

    report = ReportRecord(1, 1, "health", 18.5, -72.3, T0, 1, "new", words("Cholera cases in Carrefour"))
    state = source(1, outcomes=[(T0 - 86400, 1, 99), (T0 - 86400, 1, 98)])
    result = combine(fixed_factors(report, state, [], SETTINGS), {}, SETTINGS, Calibration(0.5, -0.4, 100))
    entry = result.explanation[-1]
    assert entry["factor"] == "calibration" and entry["delta_log_odds"] < 0
    assert sum(e["delta_log_odds"] for e in result.explanation) == pytest.approx(result.log_odds, abs=1e-12)
    assert result.score == pytest.approx(sigmoid(result.log_odds))
    again = combine(result.explanation, {}, SETTINGS)  # a stored explanation keeps its calibration
    assert again.log_odds == pytest.approx(result.log_odds)

"""The calibration is refitted by the background worker once enough verdicts arrive, and the
scores it gives are those of a full `crisiswiki rescore`."""

from __future__ import annotations

import math
import re

import pytest

from plugins.validation import recalibration
from plugins.validation.config import DEFAULTS
from plugins.validation.tests import helpers
from plugins.validation.tests.helpers import HAITI

app_config, field_, people = helpers.app_config, helpers.field_, helpers.people


def calibration(explanation: list[dict]) -> tuple[int, float]:
    """The calibration a shown score was combined with: (outcomes it was fitted on, 0 when too
    few; its shift in log-odds)."""
    entry = next(f for f in explanation if f["factor"] == "calibration")
    fitted_on = re.search(r"(\d+) verified or refuted", entry["sentence"])
    return (int(fitted_on.group(1)) if fitted_on else 0), round(entry["delta_log_odds"], 6)


def sources_far_apart(field_, count: int) -> list[tuple[int, int]]:
    """Per source of its own, two reports, each more than the neighbourhood radius from every
    other: the first to be settled, the second (a probe) scored from its source's record."""
    pairs = []
    for n in range(count):
        lat, lon = HAITI[0] + 0.4 * (n // 6), HAITI[1] + 0.4 * (n % 6)
        contact, name = f"+50937100{n:03d}", f"Reporter {n}"
        first = field_.submit(f"Water point {n} dry", lat=lat, lon=lon, contact=contact, name=name)
        probe = field_.submit(f"Market {n} closed", lat=lat + 0.2, lon=lon, contact=contact, name=name)
        pairs.append((first, probe))
    return pairs


def settle(field_, pairs: list[tuple[int, int]], verified: int) -> None:
    for n, (report_id, _probe) in enumerate(pairs):
        field_.patch(report_id, status="verified" if n < verified else "refuted")


def fits(scores: dict) -> set[tuple[int, float]]:
    """The calibrations the scores were combined with (outcomes, intercept)."""
    return {calibration(explanation) for score, _admiralty, explanation, _stale in scores.values() if score is not None}


@pytest.mark.parametrize("chunk", [500, 7])  # one write transaction, or eleven (72 scores)
def test_the_worker_refits_the_calibration_once_enough_verdicts_arrive_as_a_rescore_would(
    field_, runner, monkeypatch, chunk
):
    monkeypatch.setattr(recalibration, "CHUNK", chunk)
    pairs = sources_far_apart(field_, 36)
    settle(field_, pairs[:26], verified=20)
    before = field_.scores()
    assert fits(before) == {(0, 0.0)}

    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    refitted = field_.scores()
    [(outcomes, intercept)] = fits(refitted)  # every score of the crisis carries the one new fit
    assert outcomes == 26 and intercept > 0  # 20 of 26 verified: the scores were too low
    for _first, probe in pairs[:26]:
        score, _admiralty, explanation, stale = refitted[probe]
        assert not stale and score > before[probe][0]
        assert score == pytest.approx(1 / (1 + math.exp(-sum(f["delta_log_odds"] for f in explanation))), abs=1e-4)

    result = runner.invoke(args=["rescore"])
    assert result.exit_code == 0, result.output
    rescored = field_.scores()
    assert fits(rescored) == fits(refitted)
    for report_id, (score, admiralty, _explanation, _stale) in rescored.items():
        assert refitted[report_id][0] == pytest.approx(score, abs=1e-6), report_id
        assert refitted[report_id][1] == admiralty


@pytest.mark.parametrize("refit_after", [DEFAULTS["VALIDATION_RECALIBRATION_REFIT_AFTER"], 4])
def test_fewer_new_verdicts_than_the_threshold_leave_the_calibration_as_it_is(app, field_, runner, refit_after):
    app.config["VALIDATION_RECALIBRATION_REFIT_AFTER"] = refit_after  # the setting an operator tunes
    pairs = sources_far_apart(field_, 36)
    settle(field_, pairs[:24], verified=18)
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    assert {outcomes for outcomes, _intercept in fits(field_.scores())} == {24}

    settle(field_, pairs[24 : 24 + refit_after - 1], verified=0)
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    # not refitted; the scores computed since carry the stored fit too
    assert {outcomes for outcomes, _intercept in fits(field_.scores())} == {24}

    settle(field_, pairs[24 + refit_after - 1 : 24 + refit_after], verified=0)
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    assert {outcomes for outcomes, _intercept in fits(field_.scores())} == {24 + refit_after}

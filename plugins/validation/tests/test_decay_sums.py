"""The source track record's decayed sums (plugins/validation/track_record.py): the O(log n)
prefix-sum form must give what the plain loop over every outcome gives."""

from __future__ import annotations

import random

import pytest

from plugins.validation.track_record import DecaySums, SourceState

DAY = 86400.0


class Settings:
    prior_strength = 2.0
    half_life_s = 30 * DAY


def looped(state: SourceState, at: float, exclude: int | None) -> tuple[float, float]:
    alpha, beta = Settings.prior_strength * state.prior, Settings.prior_strength * (1 - state.prior)
    for moment, outcome, report_id in state.outcomes:
        if report_id != exclude:
            weight = 0.5 ** (abs(at - moment) / Settings.half_life_s)
            alpha, beta = (alpha + weight, beta) if outcome > 0 else (alpha, beta + weight)
    return alpha, beta


@pytest.mark.parametrize("span_days", [1, 200, 40 * 365])  # the last one is past MAX_SPAN: the loop again
def test_prefix_sums_match_the_loop(span_days: int):
    rng = random.Random(span_days)
    start = 1.26e9
    outcomes = tuple(
        sorted(
            (start + rng.uniform(0, span_days * DAY), rng.choice((1, -1)), i)
            for i in range(DecaySums.MIN_OUTCOMES * 20)
        )
    )
    state = SourceState(1, "k", True, 0.6, "grades", 0, outcomes)
    for _ in range(200):
        at = start + rng.uniform(-60 * DAY, (span_days + 60) * DAY)
        exclude = rng.choice((None, rng.randrange(len(outcomes)), 10**9))
        assert state.evidence(at, Settings, exclude) == pytest.approx(looped(state, at, exclude), rel=1e-9)
    verified = sum(1 for _t, o, _r in outcomes if o > 0)
    assert state.counts() == (verified, len(outcomes) - verified)
    own = outcomes[0]
    assert state.counts(own[2]) == (
        (verified - 1, len(outcomes) - verified) if own[1] > 0 else (verified, len(outcomes) - verified - 1)
    )

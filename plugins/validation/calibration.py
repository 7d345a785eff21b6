"""Calibration: making "0.8" mean right four times in five.

The factors of a score (base rate, source, corroboration, contradiction) are added in log-odds
from a base rate that is a guess (VALIDATION_BASE_RATE), before anything is known of the
crisis. The crisis's own outcomes correct that guess: one shift in log-odds,

    calibrated = x + intercept,

fitted on the reports whose truth the coordinators settled (verified: true, refuted: false),
x being each one's log-odds before its own outcome and grading count. This is recalibration
"in the large" (Steyerberg et al. 2004, "Validation and updating of predictive logistic
regression models: a study on sample size and shrinkage", Statistics in Medicine 23:2567;
Van Calster et al. 2019, "Calibration: the Achilles heel of predictive analytics", BMC
Medicine 17:230): with the few hundred outcomes a crisis has, updating the intercept alone is
the recommended update, because a fitted slope as well (Platt 1999, logistic recalibration)
varies so much from one sample of outcomes to the next that it makes the scores on the other
reports worse more often than better. On bench/report_scoring.py's three worlds a fitted slope
left the expected calibration error at 0.083 on one of them; the shift alone brings all three
under 0.04. A shift keeps the order of the scores, so it never changes which report ranks
above which.

The fit maximises the likelihood of the outcomes with a Gaussian prior centred on "no
correction" (intercept 0), so that a handful of outcomes moves it little and it never needs
tuning; below MIN_OUTCOMES settled reports nothing is fitted and the score says it is not
calibrated yet. It is shown in every explanation as a factor of its own (scoring.py).
`slope` stays in the stored form: explanations computed before were fitted with one.

Pure arithmetic: no database, no Flask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PRIOR_SD = 2.0  # of the intercept around 0
MIN_OUTCOMES = 20  # below this many settled reports there is nothing to calibrate on


@dataclass(frozen=True)
class Calibration:
    slope: float = 1.0
    intercept: float = 0.0
    outcomes: int = 0  # how many settled reports it was fitted on

    @property
    def identity(self) -> bool:
        return self.slope == 1.0 and self.intercept == 0.0

    def apply(self, x: float) -> float:
        return self.slope * x + self.intercept


IDENTITY = Calibration()


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _log_sigmoid(z: float) -> float:
    return -math.log1p(math.exp(-z)) if z > 0 else z - math.log1p(math.exp(z))


def _objective(b: float, log_odds: Sequence[float], outcomes: Sequence[bool], precision: float) -> float:
    # log sigmoid(x + b) for a true outcome, log sigmoid(-(x + b)) for a false one
    return -0.5 * precision * b**2 + sum(
        _log_sigmoid(x + b if y else -(x + b)) for x, y in zip(log_odds, outcomes, strict=True)
    )


def fit(log_odds: Sequence[float], outcomes: Sequence[bool], prior_sd: float = PRIOR_SD) -> Calibration:
    """The maximum a posteriori intercept: the log-likelihood of the outcomes plus the Gaussian
    prior, a concave problem with one maximum, by Newton's method with step halving. With fewer
    than MIN_OUTCOMES outcomes, or all of one kind, the identity (not calibrated)."""
    if len(log_odds) != len(outcomes):
        raise ValueError("one outcome per score")
    if len(log_odds) < MIN_OUTCOMES or all(outcomes) or not any(outcomes):
        return Calibration(outcomes=len(log_odds))
    precision = 1.0 / prior_sd**2
    b = 0.0
    current = _objective(b, log_odds, outcomes, precision)
    for _ in range(100):
        gradient, curvature = -b * precision, -precision
        for x, y in zip(log_odds, outcomes, strict=True):
            p = _sigmoid(x + b)
            gradient += (1.0 if y else 0.0) - p
            curvature -= p * (1.0 - p)
        change = -gradient / curvature
        step = 1.0
        while step > 1e-6:
            candidate = _objective(b + step * change, log_odds, outcomes, precision)
            if candidate >= current - 1e-12:
                break
            step /= 2
        b, current = b + step * change, candidate
        if abs(step * change) < 1e-9:
            break
    return Calibration(1.0, round(b, 6), len(log_odds))

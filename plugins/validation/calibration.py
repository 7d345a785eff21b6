"""Calibration: making "0.8" mean right four times in five.

The factors of a score (base rate, source, corroboration, contradiction) are added in log-odds
as if they were independent pieces of evidence, which they are not quite: added up they are
over-confident. Platt scaling corrects the sum with one straight line in log-odds,

    calibrated = slope * x + intercept,

fitted on the reports whose truth the coordinators settled (verified: true, refuted: false),
x being each one's log-odds before its own outcome and grading count (Platt 1999, "Probabilistic
outputs for support vector machines"). The fit is a logistic regression with a Gaussian prior
centred on "no correction" (slope 1, intercept 0), so that a handful of outcomes moves it
little and it never needs tuning; it is shown in every explanation as a factor of its own.

Pure arithmetic: no database, no Flask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PRIOR_SD = 2.0  # of the slope around 1 and of the intercept around 0
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


def _objective(a: float, b: float, log_odds: Sequence[float], outcomes: Sequence[bool], precision: float) -> float:
    total = -0.5 * precision * ((a - 1.0) ** 2 + b**2)
    for x, y in zip(log_odds, outcomes, strict=True):
        z = a * x + b
        # log sigmoid(z) for a true outcome, log sigmoid(-z) for a false one, without overflow
        z = z if y else -z
        total -= math.log1p(math.exp(-z)) if z > 0 else -z + math.log1p(math.exp(z))
    return total


def fit(log_odds: Sequence[float], outcomes: Sequence[bool], prior_sd: float = PRIOR_SD) -> Calibration:
    """The maximum a posteriori (slope, intercept): the log-likelihood of the outcomes plus the
    Gaussian prior, a concave problem with one maximum, by Newton's method with step halving."""
    if len(log_odds) != len(outcomes):
        raise ValueError("one outcome per score")
    if len(log_odds) < MIN_OUTCOMES or all(outcomes) or not any(outcomes):
        return Calibration(outcomes=len(log_odds))
    precision = 1.0 / prior_sd**2
    a, b = 1.0, 0.0
    current = _objective(a, b, log_odds, outcomes, precision)
    for _ in range(100):
        ga = -(a - 1.0) * precision
        gb = -b * precision
        haa = hbb = -precision
        hab = 0.0
        for x, y in zip(log_odds, outcomes, strict=True):
            p = _sigmoid(a * x + b)
            r = (1.0 if y else 0.0) - p
            w = p * (1.0 - p)
            ga += r * x
            gb += r
            haa -= w * x * x
            hab -= w * x
            hbb -= w
        det = haa * hbb - hab * hab  # > 0: the prior keeps the Hessian negative definite
        da = -(hbb * ga - hab * gb) / det
        db = -(-hab * ga + haa * gb) / det
        step = 1.0
        while step > 1e-6:
            candidate = _objective(a + step * da, b + step * db, log_odds, outcomes, precision)
            if candidate >= current - 1e-12:
                break
            step /= 2
        a, b, current = a + step * da, b + step * db, candidate
        if abs(step * da) < 1e-9 and abs(step * db) < 1e-9:
            break
    return Calibration(round(a, 6), round(b, 6), len(log_odds))

"""How reliable a source is: a Beta posterior over "its reports turn out accurate".

The prior comes from the verifiers' reliability grades of the source's reports when there are
any, else from what is known of the source (an account, a known organisation, a contact to
ask again, or nothing at all). Each outcome of one of its reports (verified: for, refuted:
against) then adds evidence, weighted by how far in time it lies from the report being judged:
an outcome one half-life away counts half (VALIDATION_HALF_LIFE_DAYS). A report's own outcome
is never part of its own source's track record; it is a factor of its own.

Pure arithmetic on plain data: source_states.py reads the facts from the database and keeps
each source's state there.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .settings import Settings

GRADE_RELIABILITY = {"A": 0.95, "B": 0.8, "C": 0.65, "D": 0.45, "E": 0.2}  # F: cannot be judged
OUTCOMES = {"verified": 1, "refuted": -1}


@dataclass(frozen=True)
class SourceState:
    source_id: int
    key: str  # one per person: reports sharing a key are dependent evidence
    established: bool  # an account, a track record or a verifier's grade
    prior: float
    prior_basis: str
    grades: int
    outcomes: tuple[tuple[float, int, int], ...]  # (event time, +1/-1, report id), oldest first

    def evidence(self, at: float, settings: Settings, exclude_report: int | None = None) -> tuple[float, float]:
        """(alpha, beta) of the posterior for a report at time `at` (epoch seconds).

        Each outcome weighs 0.5 ** (|at - t| / half-life). A source can have tens of thousands
        of outcomes (an organisation's imported reports), and this is asked once per neighbour
        of every report scored, so the sums come from prefix sums over the sorted outcomes
        (DecaySums): O(log n) instead of a loop over all of them."""
        alpha = settings.prior_strength * self.prior
        beta = settings.prior_strength * (1.0 - self.prior)
        if len(self.outcomes) < DecaySums.MIN_OUTCOMES:
            for moment, outcome, report_id in self.outcomes:
                if report_id == exclude_report:
                    continue
                weight = 0.5 ** (abs(at - moment) / settings.half_life_s)
                if outcome > 0:
                    alpha += weight
                else:
                    beta += weight
            return alpha, beta
        sums = self._decay_sums(settings.half_life_s)
        plus, minus = sums.at(at)
        if exclude_report is not None:
            own = self._own_outcomes().get(exclude_report)
            if own is not None:
                weight = 0.5 ** (abs(at - own[0]) / settings.half_life_s)
                if own[1] > 0:
                    plus -= weight
                else:
                    minus -= weight
        return alpha + max(plus, 0.0), beta + max(minus, 0.0)

    def counts(self, exclude_report: int | None = None) -> tuple[int, int]:
        """(verified, refuted) outcomes of the source's reports, leaving out `exclude_report`'s."""
        cache = self.__dict__.setdefault("_cache", {})
        if "counts" not in cache:
            cache["counts"] = (
                sum(1 for _t, o, _r in self.outcomes if o > 0),
                sum(1 for _t, o, _r in self.outcomes if o < 0),
            )
        verified, refuted = cache["counts"]
        own = self._own_outcomes().get(exclude_report) if exclude_report is not None else None
        if own is not None:
            return (verified - 1, refuted) if own[1] > 0 else (verified, refuted - 1)
        return verified, refuted

    def _own_outcomes(self) -> dict[int, tuple[float, int]]:
        cache = self.__dict__.setdefault("_cache", {})
        if "by_report" not in cache:
            cache["by_report"] = {report_id: (moment, outcome) for moment, outcome, report_id in self.outcomes}
        return cache["by_report"]

    def _decay_sums(self, half_life_s: float) -> DecaySums:
        cache = self.__dict__.setdefault("_cache", {})
        key = ("sums", half_life_s)
        if key not in cache:
            cache[key] = DecaySums(self.outcomes, half_life_s)
        return cache[key]

    def reliability(self, at: float, settings: Settings, exclude_report: int | None = None) -> float:
        if not self.outcomes:
            return self.prior
        alpha, beta = self.evidence(at, settings, exclude_report)
        return alpha / (alpha + beta)

    def has_basis(self, exclude_report: int | None = None) -> bool:
        """Is there real evidence about the source: a verifier's reliability grade of one of its
        reports, or a track record (outcomes of its reports other than `exclude_report`)? What
        its channel, account or organisation suggest sets the prior, but is no evidence."""
        return self.prior_basis == "grades" or any(report_id != exclude_report for _t, _o, report_id in self.outcomes)


class DecaySums:
    """Sums of 0.5 ** (|at - t| / h) over a source's outcomes, for any `at`, in O(log n).

    With the outcomes sorted by time t_i and u_i = (t_i - t_0) / h:
    sum over t_i <= at of 0.5 ** ((at - t_i) / h) = 0.5 ** ((at - t_0) / h) * sum 2 ** u_i, and
    sum over t_i > at of 0.5 ** ((t_i - at) / h) = 2 ** ((at - t_0) / h) * sum 0.5 ** u_i, so
    prefix sums of 2 ** u_i and suffix sums of 0.5 ** u_i (for verified and refuted apart)
    answer each question with one bisection. Outcomes spread over more than MAX_SPAN
    half-lives would overflow a float: then the plain loop is used."""

    MIN_OUTCOMES = 32  # below this the loop is as fast
    MAX_SPAN = 900.0

    def __init__(self, outcomes: tuple[tuple[float, int, int], ...], half_life_s: float) -> None:
        ordered = sorted(outcomes)
        self.h = half_life_s
        self.t0 = ordered[0][0] if ordered else 0.0
        self.times = [moment for moment, _o, _r in ordered]
        self.usable = bool(ordered) and (self.times[-1] - self.t0) / half_life_s <= self.MAX_SPAN
        self.ordered = ordered
        n = len(ordered)
        self.left = [(0.0, 0.0)] * (n + 1)  # sums of 2 ** u over the first i outcomes
        self.right = [(0.0, 0.0)] * (n + 1)  # sums of 0.5 ** u over outcomes i..n-1
        if not self.usable:
            return
        plus = minus = 0.0
        for i, (moment, outcome, _r) in enumerate(ordered):
            grow = 2.0 ** ((moment - self.t0) / half_life_s)
            plus, minus = (plus + grow, minus) if outcome > 0 else (plus, minus + grow)
            self.left[i + 1] = (plus, minus)
        plus = minus = 0.0
        for i in range(n - 1, -1, -1):
            moment, outcome, _r = ordered[i]
            shrink = 0.5 ** ((moment - self.t0) / half_life_s)
            plus, minus = (plus + shrink, minus) if outcome > 0 else (plus, minus + shrink)
            self.right[i] = (plus, minus)

    def at(self, at: float) -> tuple[float, float]:
        """(sum for verified, sum for refuted) of the decayed weights seen from `at`."""
        if not self.usable or abs(at - self.t0) / self.h > self.MAX_SPAN:
            plus = minus = 0.0
            for moment, outcome, _r in self.ordered:
                weight = 0.5 ** (abs(at - moment) / self.h)
                plus, minus = (plus + weight, minus) if outcome > 0 else (plus, minus + weight)
            return plus, minus
        i = bisect.bisect_right(self.times, at)
        offset = (at - self.t0) / self.h
        before, after = 0.5**offset, 2.0**offset
        return (
            before * self.left[i][0] + after * self.right[i][0],
            before * self.left[i][1] + after * self.right[i][1],
        )


def event_time(occurred_at: datetime | None, received_at: datetime) -> float:
    """When a report says something happened (else when it arrived), in epoch seconds."""
    return (occurred_at or received_at).timestamp()


def build_state(
    source_id: int,
    key: str,
    user_id: int | None,
    role: str | None,
    contact: str | None,
    organisation: str,
    channel: str,
    grades: list[str],
    outcomes: Iterable[tuple[float, int, int]],
    settings: Settings,
) -> SourceState:
    """The state of one source from its facts: `key` is its dependency key (one per person,
    source_states.dependency_key), `grades` the verifiers' reliability grades of its reports
    (each verifier's latest per report), `outcomes` (event time, +1/-1, report id)."""
    judged = [GRADE_RELIABILITY[g] for g in grades if g in GRADE_RELIABILITY]
    known_org = settings.organisation_priors.get((organisation or "").strip().lower())
    if judged:
        prior, basis = sum(judged) / len(judged), "grades"
    elif known_org is not None:
        prior, basis = float(known_org), "organisation"
    elif user_id is not None:
        prior, basis = float(settings.role_priors.get(role or "volunteer", 0.6)), "account"
    elif contact:
        prior, basis = float(settings.channel_priors.get(channel, 0.5)), "channel"
    else:
        prior, basis = settings.anonymous_prior, "anonymous"
    ordered = tuple(sorted(outcomes))
    established = user_id is not None or bool(judged) or bool(ordered) or known_org is not None
    return SourceState(source_id, key, established, prior, basis, len(judged), ordered)


def latest_reliability_grades(rows: Iterable[tuple[int, int | None, int, str, int]]) -> dict[int, list[str]]:
    """{source id: [reliability grade, ...]} keeping each verifier's latest grade of each report,
    from rows (source id, verifier id, assessment id, reliability, report id) in any order."""
    latest: dict[tuple[int, int | None], tuple[int, int, str]] = {}
    for source_id, verifier_id, assessment_id, grade, report_id in rows:
        key = (report_id, verifier_id)
        if key not in latest or latest[key][0] < assessment_id:
            latest[key] = (assessment_id, source_id, grade)
    grades: dict[int, list[str]] = {}
    for _assessment_id, source_id, grade in sorted(latest.values()):
        grades.setdefault(source_id, []).append(grade)
    return grades


def history(state: SourceState, settings: Settings) -> list[dict]:
    """The source's estimated reliability just after each of its outcomes (for its record page)."""
    points = []
    for index, (moment, outcome, report_id) in enumerate(state.outcomes):
        partial = SourceState(
            state.source_id,
            state.key,
            state.established,
            state.prior,
            state.prior_basis,
            state.grades,
            state.outcomes[: index + 1],
        )
        points.append(
            {
                "at": moment,
                "report_id": report_id,
                "outcome": "verified" if outcome > 0 else "refuted",
                "reliability": round(partial.reliability(moment, settings), 4),
            }
        )
    return points


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))

"""The score: the estimated probability that a report is accurate, with a reason for each part.

Factors are added in log-odds, starting from the base rate, so that each one's contribution can
be read on its own:

1. source: the source's track record (`reliability.SourceState`), as logit(reliability) -
   logit(base rate).
2. status: a coordinator's verdict on this report (verified or refuted) outweighs the rest.
3. verifiers: the credibility grades of the verifiers who assessed it (each verifier's latest);
   they look at the same information, so several count for a little more than one, and
   disagreement between them weakens the effect (and is shown).
4. corroboration: reports of the same sector near in space and time from *other people*, each
   weighted by its source's reliability, by how alike the two texts are and by closeness.
   Reports from one person (same source, contact or account) count once, as the strongest of
   them; all reports from new, unestablished sources count together as one weak group, so a
   burst of fresh anonymous sources cannot outvote one source with a verified track record.
   Verified neighbours count strongly and on their own.
5. contradiction: refuted reports that say the same thing, and reports that say the opposite,
   grouped the same way, lower the score.
6. calibration: the sum of 1, 4 and 5 (and the base rate) shifted in log-odds by an amount
   fitted on the verifiers' outcomes in the crisis (calibration.py), so that a score of 0.8
   means right about four times in five; its delta is shown like any other factor's. Until
   the crisis has enough outcomes it is zero and says the score is not calibrated yet.

No verdict that nobody made: the Admiralty code is derived only from parts that have a basis.
The letter needs evidence about the source (a verifier's reliability grade of its reports, or a
track record), the digit evidence about the information (a verifier's credibility grade, a
coordinator's verified/refuted, or independent reports that corroborate or contradict it).
What the source's channel, account or organisation suggest is a prior, not evidence. A part
without a basis is unknown (None), never F or 6: those are a verifier's statement ("cannot be
judged") and are kept exactly when every verifier who graded the report said so. With either
part unknown there is no verdict, and with no evidence at all there is no score either (see
`assessment_state`).

Pure arithmetic on plain data (evidence.py): no database, no Flask, no config lookups. Every
way a score is computed (a click, the background batches, `crisiswiki rescore`) ends here, so
they all give the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .calibration import IDENTITY, MIN_OUTCOMES, Calibration
from .evidence import KINDS, NEW_SOURCES, OPPOSING_KINDS, SUPPORTING_KINDS, Grade, ReportRecord, evidence_entry
from .settings import Settings
from .track_record import SourceState, logit


def N_(text: str) -> str:  # noqa: N802 (the name pybabel extracts)
    """Marks an explanation's text for the catalogues: stored in English, translated when shown."""
    return text


STATUS_LOG_ODDS = {"verified": 4.0, "refuted": -4.0}
CREDIBILITY_LOG_ODDS = {1: 2.2, 2: 1.1, 3: 0.3, 4: -0.8, 5: -2.0}  # 6: cannot be judged, no effect
FIXED_FACTORS = ("base", "source", "status", "verifiers")
# What a report's own outcome and grading leave out: the log-odds calibration is fitted on and applied to.
EVIDENCE_FACTORS = ("base", "source", "corroboration", "contradiction")

# How far a report has been assessed (ReportScore.assessment, `assessment.state` in the API).
NOT_ASSESSED = "not_assessed"  # nothing known of the source or the information: no score, no verdict
PARTLY_ASSESSED = "partly_assessed"  # one part known: a score, but no verdict
ASSESSED = "assessed"  # both parts derived from evidence: a score and a verdict
GRADED = "graded"  # a verifier graded it
ASSESSMENT_STATES = (NOT_ASSESSED, PARTLY_ASSESSED, ASSESSED, GRADED)


@dataclass
class ScoreResult:
    score: float | None  # None: no evidence about the source or the information
    log_odds: float  # the factors' sum, kept even when there is no score
    admiralty: str | None  # only when both parts are known
    reliability: str | None  # A-F, None when unknown
    credibility: int | None  # 1-6, None when unknown
    assessment: str  # one of ASSESSMENT_STATES
    source_reliability: float
    explanation: list[dict]  # the factors in the order they were added; they sum to log_odds
    neighbours: dict[str, list]  # neighbour report id (text) -> [group, kind, weight, distance km]


def score_report(
    report: ReportRecord,
    state: SourceState,
    grades: list[Grade],
    neighbours: list[tuple[float, ReportRecord]],
    states: dict[int, SourceState],
    settings: Settings,
    calibration: Calibration = IDENTITY,
) -> ScoreResult:
    """Score a report from scratch: its source's state, the verifiers' grades (each one's
    latest), and its nearest neighbours (distance km, record) with their sources' states."""
    evidence = {
        str(other.id): evidence_entry(report, state, other, states[other.source_id], distance, settings)
        for distance, other in neighbours
    }
    return combine(fixed_factors(report, state, grades, settings), evidence, settings, calibration)


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _entry(factor: str, value, delta: float, text: str, **params) -> dict:
    return {"factor": factor, "value": value, "delta_log_odds": delta, "text": text, "params": params}


def fixed_factors(report: ReportRecord, state: SourceState, grades: list[Grade], settings: Settings) -> list[dict]:
    """The factors that do not depend on the neighbours: base rate, source, status, verifiers."""
    base = logit(settings.base_rate)
    entries = [_entry("base", settings.base_rate, base, N_("Starting point: a report about which nothing is known."))]
    entries.append(source_factor(report.id, report.t, state, settings))
    status_delta = STATUS_LOG_ODDS.get(report.status, 0.0)
    entries.append(
        _entry(
            "status",
            report.status,
            status_delta,
            {
                "verified": N_("A coordinator verified this report."),
                "refuted": N_("A coordinator refuted this report."),
            }.get(report.status, N_("Not verified or refuted yet.")),
        )
    )
    judged = [g.credibility for g in grades if g.credibility in CREDIBILITY_LOG_ODDS]
    codes = [f"{g.reliability}{g.credibility}" for g in grades]
    if judged:
        spread = max(judged) - min(judged)
        mean = sum(CREDIBILITY_LOG_ODDS[c] for c in judged) / len(judged)
        delta = mean * (1.0 + 0.25 * (min(len(judged), 3) - 1)) * max(0.4, 1.0 - 0.15 * spread)
        text = (
            N_("Verifiers disagree (%(codes)s); their judgement counts for less.")
            if spread >= 2
            else N_("Verifiers' grading: %(codes)s.")
        )
    else:
        spread, delta = 0, 0.0
        text = (
            N_("Verifiers graded it %(codes)s but could not judge the information.")
            if codes
            else N_("No verifier has graded it yet.")
        )
    # "Cannot be judged" (F, 6) is a verifier's statement: it stands when every verifier said it.
    entries.append(
        _entry(
            "verifiers",
            len(grades),
            delta,
            text,
            codes=", ".join(codes),
            spread=spread,
            disagreement=spread >= 2,
            judged=len(judged),
            source_unjudged=bool(grades) and all(g.reliability == "F" for g in grades),
            information_unjudged=bool(grades) and all(g.credibility == 6 for g in grades),
        )
    )
    return entries


def source_factor(report_id: int, t: float, state: SourceState, settings: Settings) -> dict:
    """The source's factor for its report `report_id` (event time `t`): its state's reliability
    then, the report's own outcome left out. The only factor a change of the source's state
    changes (batch.recombine_for_sources puts a new one in a stored explanation)."""
    base = logit(settings.base_rate)
    reliability = state.reliability(t, settings, exclude_report=report_id)
    verified, refuted = state.counts(exclude_report=report_id)
    return _entry(
        "source",
        round(reliability, 6),
        logit(reliability) - base,
        SOURCE_TEXTS[state.prior_basis]
        if not (verified or refuted)
        else N_(
            "Track record of the source: %(verified)d verified and %(refuted)d refuted reports, "
            "recent ones weighing more."
        ),
        verified=verified,
        refuted=refuted,
        basis=state.prior_basis,
        grades=state.grades,
        established=state.established,
        has_basis=state.has_basis(report_id),
    )


def with_source_factor(explanation: list[dict], factor: dict) -> list[dict]:
    """A stored explanation's fixed factors (scoring.FIXED_FACTORS), its source factor replaced by `factor`."""
    return [factor if e["factor"] == "source" else e for e in explanation if e["factor"] in FIXED_FACTORS]


SOURCE_TEXTS = {
    "grades": N_("No track record yet; the verifiers' reliability grades of the source set its prior."),
    "organisation": N_("No track record yet; the source's organisation sets its prior."),
    "account": N_("No track record yet; the source has an account on this site."),
    "channel": N_("No track record yet; the source left a contact and can be asked again."),
    "anonymous": N_("A new anonymous source: no track record and no way to ask again."),
}


def _saturate(total: float, cap: float) -> float:
    return cap * (1.0 - math.exp(-total / cap)) if cap > 0 else 0.0


def corroboration(neighbours: dict[str, list], settings: Settings) -> tuple[list[dict], bool]:
    """The corroboration and contradiction factors from the neighbours' evidence, and whether an
    independent established source or a verified report confirms it."""
    support: dict[str, list[float]] = {}
    against: dict[str, list[float]] = {}
    counts = dict.fromkeys(KINDS, 0)
    new_support = 0
    for key in sorted(neighbours, key=int):
        group, kind, weight = neighbours[key][:3]
        counts[kind] = counts.get(kind, 0) + 1
        if kind in SUPPORTING_KINDS:
            support.setdefault(group, []).append(weight)
            new_support += group == NEW_SOURCES
        elif kind in OPPOSING_KINDS:
            against.setdefault(group, []).append(weight)

    def total(groups: dict[str, list[float]]) -> float:
        values = [
            _saturate(sum(ws), settings.pool_cap) if group == NEW_SOURCES else max(ws)
            for group, ws in sorted(groups.items())
        ]
        return _saturate(sum(values), settings.corroboration_cap)

    plus, minus = total(support), total(against)
    independent = len([g for g in support if g != NEW_SOURCES])
    entries = [
        _entry(
            "corroboration",
            independent + (1 if new_support else 0),
            plus,
            N_(
                "%(independent)d independent source(s) nearby agree; %(new)d report(s) from new sources "
                "counted together "
                "as one weak voice; %(same)d from the same source not counted."
            )
            if (support or counts["same_source"])
            else N_("No other report of this sector nearby in space and time."),
            independent=independent,
            new=new_support,
            same=counts["same_source"],
            verified=counts["verified"],
            reports=sum(len(ws) for ws in support.values()),
        ),
        _entry(
            "contradiction",
            len(against),
            -minus,
            N_("%(refuted)d similar report(s) nearby were refuted; %(contradicts)d say the opposite.")
            if against
            else N_("Nothing nearby contradicts it."),
            refuted=counts["refuted"],
            contradicts=counts["contradicts"],
        ),
    ]
    confirmed = independent > 0 or counts["verified"] > 0
    return entries, confirmed


def evidence_log_odds(explanation: list[dict]) -> float:
    """The log-odds of a report before its own outcome, its grading and the calibration."""
    return sum(e["delta_log_odds"] for e in explanation if e["factor"] in EVIDENCE_FACTORS)


def calibration_entry(before: float, calibration: Calibration) -> dict:
    delta = calibration.apply(before) - before
    if calibration.identity and calibration.outcomes >= MIN_OUTCOMES:
        text = N_(
            "Not calibrated yet: the %(outcomes)d verified or refuted reports of this crisis are all "
            "verified or all refuted, which says nothing about how often a score is right."
        )
    elif calibration.identity:
        text = N_("Not calibrated: fewer than %(minimum)d reports of this crisis have been verified or refuted.")
    else:
        text = N_(
            "Calibrated on %(outcomes)d verified or refuted reports of this crisis, so that the score "
            "is right as often as it says."
        )
    return _entry(
        "calibration",
        round(calibration.apply(before), 6),
        delta,
        text,
        slope=calibration.slope,
        intercept=calibration.intercept,
        outcomes=calibration.outcomes,
        minimum=MIN_OUTCOMES,
    )


def stored_calibration(explanation: list[dict]) -> Calibration:
    """The calibration an explanation was computed with (none: the identity)."""
    for entry in explanation:
        if entry["factor"] == "calibration":
            params = entry["params"]
            return Calibration(float(params["slope"]), float(params["intercept"]), int(params["outcomes"]))
    return IDENTITY


def combine(
    fixed: list[dict], neighbours: dict[str, list], settings: Settings, calibration: Calibration | None = None
) -> ScoreResult:
    """Add up the factors; returns the score, the derived Admiralty code and the explanation.
    Without `calibration`, the one `fixed` (a stored explanation) was computed with is kept."""
    if calibration is None:
        calibration = stored_calibration(fixed)
    entries = [dict(e) for e in fixed if e["factor"] in FIXED_FACTORS]
    corroborating, confirmed = corroboration(neighbours, settings)
    entries += corroborating
    entries.append(calibration_entry(evidence_log_odds(entries), calibration))
    log_odds = 0.0
    previous = None
    for entry in entries:
        log_odds += entry["delta_log_odds"]
        now = sigmoid(log_odds)
        entry["delta_score"] = round(now - previous, 6) if previous is not None else round(now, 6)
        entry["sentence"] = entry["text"] % entry["params"] if "%(" in entry["text"] else entry["text"]
        previous = now
    score = sigmoid(log_odds)
    by_factor = {e["factor"]: e for e in entries}
    source = by_factor["source"]
    verifiers = by_factor["verifiers"]
    status = by_factor["status"]["value"]
    source_evidence = bool(source["params"]["has_basis"])
    information_evidence = (
        verifiers["params"]["judged"] > 0
        or status in STATUS_LOG_ODDS
        or by_factor["corroboration"]["delta_log_odds"] > 0
        or by_factor["contradiction"]["delta_log_odds"] < 0
    )
    letter: str | None = None  # unknown until there is a basis for it
    if verifiers["params"].get("source_unjudged"):
        letter = "F"
    elif source_evidence:
        letter = reliability_letter(source["value"])
    digit: int | None = None
    if verifiers["params"].get("information_unjudged"):
        digit = 6
    elif information_evidence:
        digit = credibility_digit(score, confirmed or status == "verified")
    state = assessment_state(verifiers["value"] > 0, letter, digit)
    return ScoreResult(
        score if source_evidence or information_evidence else None,
        log_odds,
        f"{letter}{digit}" if letter and digit else None,
        letter,
        digit,
        state,
        source["value"],
        entries,
        neighbours,
    )


def assessment_state(graded: bool, reliability: str | None, credibility: int | None) -> str:
    if graded:
        return GRADED
    if reliability and credibility:
        return ASSESSED
    return PARTLY_ASSESSED if reliability or credibility else NOT_ASSESSED


def reliability_letter(reliability: float) -> str:
    """The A-E letter for an estimated reliability (only asked when there is a basis for it:
    F, "cannot be judged", is a verifier's statement, never derived)."""
    for letter, floor in (("A", 0.9), ("B", 0.75), ("C", 0.6), ("D", 0.4)):
        if reliability >= floor:
            return letter
    return "E"


def credibility_digit(score: float, confirmed: bool) -> int:
    """The 1-5 digit for a score (only asked when there is evidence about the information: 6,
    "cannot be judged", is a verifier's statement, never derived): 1 only when independent
    sources or a coordinator confirmed it."""
    if score >= 0.9 and confirmed:
        return 1
    for digit, floor in ((2, 0.7), (3, 0.5), (4, 0.3)):
        if score >= floor:
            return digit
    return 5

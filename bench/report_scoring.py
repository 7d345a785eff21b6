"""The report score measured against a simulated crisis with ground truth.

A seeded simulation (`simulate`): real events and false rumours in a ~50 km area around
Port-au-Prince over ten days; ~80 sources of varied true reliability (reliable, mixed, poor),
some of them people with several accounts; ~3,000 reports with positional and time jitter,
each either an accurate report of a real event or a rumour (some rumours deny a real event:
"no cholera cases in Carrefour" where there are); verifiers grade a random 10% of the reports
with noise (the coordinator's verified/refuted is wrong 5% of the time; the Admiralty letter
and digit are noisy too).

Every report is then scored by the validation plugin's own arithmetic, as `crisiswiki rescore`
does (batch.rescore_all): source states from the facts, nearest neighbours, score_report,
and the calibration fitted on the verifiers' outcomes. Measured on the reports no verifier
graded: ROC AUC of the score against the truth, Brier score, a calibration table (reliability
diagram) and expected calibration error, precision among the top fifth and recall of false
reports among the bottom fifth, beside the baselines a coordinator would otherwise use:
The Matrix's grade alone (the verifiers' reliability letters for the source's other reports),
a count of nearby reports, the source's graded accuracy alone (Laplace-smoothed), a constant.

Manipulation, in the same arithmetic (`sybil`, `collusion`, `liar`):
- a Sybil flood: 50 brand-new accounts, each with its own name and contact, repeating one false
  claim at one place, beside one proven source (20 verified reports) saying the opposite;
- collusion: 5 accounts that always report together, true and false;
- a source that builds a good record and then lies: how many refuted lies until its new
  reports score below 0.5, and how many unverified lies (contradicted by others) until then.

Usage: python bench/report_scoring.py [--seed 2010] [--seeds 3] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.validation.calibration import fit  # noqa: E402
from plugins.validation.evidence import Grade, ReportRecord  # noqa: E402
from plugins.validation.independence import tied_groups  # noqa: E402
from plugins.validation.neighbours import nearest_all  # noqa: E402
from plugins.validation.scoring import combine, evidence_log_odds, score_report  # noqa: E402
from plugins.validation.settings import Settings  # noqa: E402
from plugins.validation.similarity import words  # noqa: E402
from plugins.validation.track_record import GRADE_RELIABILITY, SourceState, build_state  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "results" / "report_scoring.json"
DAY = 86400.0
T0 = 1263340800.0  # 2010-01-13 00:00 UTC
CENTRE = (18.54, -72.34)
HALF_KM = 25.0  # the area: 50 km across
SETTINGS = Settings(  # the plugin's defaults (config.py)
    half_life_s=30 * DAY,
    radius_km=10.0,
    window_s=48 * 3600.0,
    max_neighbours=20,
    prior_strength=2.0,
    anonymous_prior=0.35,
    channel_priors={"web": 0.5, "api": 0.5, "sms": 0.5, "email": 0.5, "import": 0.55},
    role_priors={"admin": 0.75, "coordinator": 0.75, "verifier": 0.75, "volunteer": 0.6},
    organisation_priors={},
    base_rate=0.5,
    corroboration_cap=3.0,
    pool_cap=0.7,
)
PLACES = (
    "Carrefour",
    "Delmas",
    "Petion-Ville",
    "Cite Soleil",
    "Martissant",
    "Bel Air",
    "Tabarre",
    "Croix-des-Bouquets",
    "Gressier",
    "Kenscoff",
    "Canape Vert",
    "Turgeau",
    "Bourdon",
    "Fort National",
    "Solino",
    "Pacot",
)
# (sector, affirmative text, its denial): what an event says, and what a rumour denying it says.
TOPICS = (
    ("health", "cholera cases at the {p} clinic", "no cholera cases at the {p} clinic"),
    ("health", "the {p} hospital is overwhelmed with injured", "the {p} hospital is not overwhelmed"),
    ("wash", "water point at {p} contaminated", "water point at {p} not contaminated, it is safe"),
    ("wash", "latrines overflowing in the {p} camp", "latrines in the {p} camp are working"),
    ("logistics", "bridge on the {p} road collapsed", "bridge on the {p} road is open"),
    ("logistics", "fuel shortage at {p} station", "fuel available at {p} station"),
    ("food", "food distribution at {p} market today", "no food distribution at {p} market today"),
    ("shelter", "families sleeping outside in {p}", "families in {p} are not sleeping outside"),
    ("shelter", "houses collapsed in {p}", "houses in {p} did not collapse"),
    ("protection", "looting reported in {p}", "no looting in {p}"),
    ("cccm", "new camp formed at {p} square", "no new camp at {p} square"),
    ("health", "doctors needed urgently at {p}", "doctors not needed at {p}"),
)
EXTRAS = ("urgent", "please help", "people say", "seen this morning", "confirmed by neighbours", "many people", "")


@dataclass
class Claim:
    """A thing that can be reported: a real event (true) or a rumour (false)."""

    id: int
    sector: str
    lat: float
    lon: float
    t: float
    text: str
    true: bool
    popularity: float
    topic: int = -1  # index in TOPICS
    place: str = ""


@dataclass
class SimSource:
    id: int
    person: int  # several accounts can be one person
    reliability: float  # the true chance that a report of theirs is of a real event
    kind: str  # reliable, mixed, poor
    user_id: int | None
    contact: str | None
    established: bool = True


@dataclass
class SimReport:
    id: int
    source: int
    claim: int
    sector: str
    lat: float
    lon: float
    t: float
    text: str
    true: bool
    status: str = "new"  # verified / refuted when a verifier graded it
    grades: list[Grade] = field(default_factory=list)
    group: str = ""  # scenario membership (sybil, proven, colluder, ...)


@dataclass
class World:
    sources: dict[int, SimSource]
    reports: list[SimReport]
    claims: list[Claim]


def _offset(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    return lat + north_km / 111.195, lon + east_km / (111.195 * math.cos(math.radians(lat)))


def simulate(
    seed: int = 2010,
    events: int = 350,
    rumours: int = 150,
    sources: int = 80,
    reports: int = 3000,
    graded_share: float = 0.10,
    verifier_error: float = 0.05,
    days: float = 10.0,
) -> World:
    """The seeded crisis (see the module's docstring)."""
    rng = random.Random(seed)
    claims: list[Claim] = []
    for n in range(events):
        topic = rng.randrange(len(TOPICS))
        sector, text, _denial = TOPICS[topic]
        lat, lon = _offset(*CENTRE, rng.uniform(-HALF_KM, HALF_KM), rng.uniform(-HALF_KM, HALF_KM))
        place = rng.choice(PLACES)
        claims.append(
            Claim(
                n,
                sector,
                lat,
                lon,
                T0 + rng.uniform(0, days) * DAY,
                text.format(p=place),
                True,
                rng.paretovariate(1.5),
                topic,
                place,
            )
        )
    for n in range(rumours):
        if rng.random() < 0.5:  # a denial of a real event, where and when it happened
            event = rng.choice(claims[:events])
            text = TOPICS[event.topic][2].format(p=event.place)
            lat, lon = _offset(event.lat, event.lon, rng.gauss(0, 0.5), rng.gauss(0, 0.5))
            claims.append(
                Claim(
                    events + n,
                    event.sector,
                    lat,
                    lon,
                    event.t + rng.gauss(0, 6 * 3600),
                    text,
                    False,
                    rng.paretovariate(1.5),
                )
            )
        else:  # an invention
            sector, text, _denial = rng.choice(TOPICS)
            lat, lon = _offset(*CENTRE, rng.uniform(-HALF_KM, HALF_KM), rng.uniform(-HALF_KM, HALF_KM))
            claims.append(
                Claim(
                    events + n,
                    sector,
                    lat,
                    lon,
                    T0 + rng.uniform(0, days) * DAY,
                    text.format(p=rng.choice(PLACES)),
                    False,
                    rng.paretovariate(1.5),
                )
            )
    people = []
    for n in range(sources):
        kind = rng.choices(("reliable", "mixed", "poor"), weights=(0.35, 0.4, 0.25))[0]
        low, high = {"reliable": (0.85, 0.97), "mixed": (0.55, 0.75), "poor": (0.15, 0.4)}[kind]
        people.append((n, kind, rng.uniform(low, high)))
    world_sources: dict[int, SimSource] = {}
    accounts_of: dict[int, list[int]] = {}
    for person, kind, reliability in people:
        # Some people use several accounts (more often the poor ones): nothing links them.
        count = rng.choice((2, 3, 4)) if rng.random() < (0.25 if kind == "poor" else 0.08) else 1
        for _ in range(count):
            sid = len(world_sources) + 1
            account = rng.random() < 0.5
            world_sources[sid] = SimSource(
                sid,
                person,
                reliability,
                kind,
                user_id=1000 + sid if account else None,
                contact=f"+509 3{sid:06d}" if not account or rng.random() < 0.5 else None,
            )
            accounts_of.setdefault(person, []).append(sid)
    activity = {sid: rng.lognormvariate(0, 0.8) for sid in world_sources}
    ids = list(activity)
    weights = [activity[i] for i in ids]
    true_claims = [c for c in claims if c.true]
    false_claims = [c for c in claims if not c.true]
    out: list[SimReport] = []
    for n in range(reports):
        sid = rng.choices(ids, weights=weights)[0]
        source = world_sources[sid]
        pool = true_claims if rng.random() < source.reliability else false_claims
        claim = rng.choices(pool, weights=[c.popularity for c in pool])[0]
        out.append(_report(rng, n + 1, sid, claim))
    _grade(rng, out, world_sources, graded_share, verifier_error)
    return World(world_sources, out, claims)


def _report(rng: random.Random, report_id: int, sid: int, claim: Claim, group: str = "") -> SimReport:
    lat, lon = _offset(claim.lat, claim.lon, rng.gauss(0, 0.8), rng.gauss(0, 0.8))
    t = claim.t + rng.expovariate(1 / (6 * 3600))
    extra = rng.choice(EXTRAS)
    text = f"{claim.text}, {extra}" if extra else claim.text
    return SimReport(
        report_id, sid, claim.id, claim.sector, lat, lon, t, text[0].upper() + text[1:], claim.true, group=group
    )


def _grade(rng: random.Random, reports: list[SimReport], sources: dict[int, SimSource], share: float, error: float):
    """Verifiers grade a random share: verified/refuted (wrong `error` of the time), and an
    Admiralty code whose letter follows the source's true reliability and whose digit follows
    the truth, both with noise."""
    for report in reports:
        if rng.random() >= share:
            continue
        said_true = report.true if rng.random() >= error else not report.true
        report.status = "verified" if said_true else "refuted"
        r = sources[report.source].reliability + rng.gauss(0, 0.1)
        letter = "A" if r >= 0.9 else "B" if r >= 0.75 else "C" if r >= 0.6 else "D" if r >= 0.4 else "E"
        digit = min(5, max(1, (2 if said_true else 4) + rng.choice((-1, 0, 0, 1))))
        report.grades = [Grade(1, letter, digit)]


# ---------------------------------------------------------------------------------------------
# Scoring, as `crisiswiki rescore` does it


def states_of(world: World, settings: Settings) -> dict[int, SourceState]:
    """Each source's state from its facts: outcomes of its graded reports, the verifiers'
    reliability letters, its account or contact (batch.rescore_all via source_states)."""
    outcomes: dict[int, list] = {}
    letters: dict[int, list[str]] = {}
    for report in world.reports:
        if report.status in ("verified", "refuted"):
            outcomes.setdefault(report.source, []).append(
                (report.t, 1 if report.status == "verified" else -1, report.id)
            )
        letters.setdefault(report.source, []).extend(g.reliability for g in report.grades)
    states = {}
    for sid, source in world.sources.items():
        key = f"c:{source.contact}" if source.contact else f"u:{source.user_id}" if source.user_id else f"s:{sid}"
        states[sid] = build_state(
            sid,
            key,
            source.user_id,
            "volunteer" if source.user_id else None,
            source.contact,
            "",
            "sms" if source.contact else "web",
            letters.get(sid, []),
            outcomes.get(sid, []),
            settings,
        )
    return states


def records_of(world: World) -> list[ReportRecord]:
    return [
        ReportRecord(r.id, 1, r.sector, r.lat, r.lon, r.t, r.source, r.status, words(r.text)) for r in world.reports
    ]


def score_world(world: World, settings: Settings = SETTINGS, calibrate: bool = True) -> dict[int, float | None]:
    """{report id: score} for every report, by the plugin's arithmetic as batch.rescore_all
    runs it: every report scored, the calibration fitted on the verified and refuted ones, and
    every score combined again with it."""
    records = records_of(world)
    states = states_of(world, settings)
    neighbourhoods = nearest_all(records, records, settings)
    groups = tied_groups(
        {r.id: states[r.source_id].key for r in records},
        {report_id: [other.id for _d, other in found] for report_id, found in neighbourhoods.items()},
    )
    states = {sid: replace(state, key=groups.get(state.key, state.key)) for sid, state in states.items()}
    grades = {r.id: r.grades for r in world.reports}
    results = {
        record.id: score_report(
            record, states[record.source_id], grades[record.id], neighbourhoods[record.id], states, settings
        )
        for record in records
    }
    if not calibrate:
        return {report_id: result.score for report_id, result in results.items()}
    settled = [r for r in records if r.status in ("verified", "refuted")]
    calibration = fit(
        [evidence_log_odds(results[r.id].explanation) for r in settled], [r.status == "verified" for r in settled]
    )
    return {
        report_id: (
            None
            if result.score is None
            else combine(result.explanation, result.neighbours, settings, calibration).score
        )
        for report_id, result in results.items()
    }


# ---------------------------------------------------------------------------------------------
# Baselines


def matrix_grade(world: World) -> dict[int, float]:
    """The Matrix's grade alone: the mean reliability the verifiers' letters give the source's
    other reports (A 0.95 ... E 0.2), 0.5 when none is graded."""
    letters: dict[int, list[tuple[int, float]]] = {}
    for r in world.reports:
        for g in r.grades:
            if g.reliability in GRADE_RELIABILITY:
                letters.setdefault(r.source, []).append((r.id, GRADE_RELIABILITY[g.reliability]))
    out = {}
    for r in world.reports:
        own = [v for rid, v in letters.get(r.source, []) if rid != r.id]
        out[r.id] = sum(own) / len(own) if own else 0.5
    return out


def nearby_count(world: World, settings: Settings = SETTINGS) -> dict[int, float]:
    """How many other reports of the same sector lie within the radius and time window."""
    records = records_of(world)
    found = nearest_all(records, records, Settings(**{**settings.__dict__, "max_neighbours": 10**6}))
    return {rid: float(len(neighbours)) for rid, neighbours in found.items()}


def graded_accuracy(world: World) -> dict[int, float]:
    """The source's graded accuracy alone, Laplace-smoothed: (verified + 1) / (graded + 2) over
    its other reports."""
    tally: dict[int, list[int]] = {}
    for r in world.reports:
        if r.status in ("verified", "refuted"):
            tally.setdefault(r.source, []).append((r.id, r.status == "verified"))
    out = {}
    for r in world.reports:
        own = [ok for rid, ok in tally.get(r.source, []) if rid != r.id]
        out[r.id] = (sum(own) + 1) / (len(own) + 2)
    return out


# ---------------------------------------------------------------------------------------------
# Metrics


def roc_auc(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """The probability that a random true report outscores a random false one (ties: half)."""
    pairs = sorted(zip(scores, truth, strict=True))
    positives = sum(truth)
    negatives = len(truth) - positives
    if not positives or not negatives:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + j + 1) / 2  # ranks i+1..j
        rank_sum += average_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def brier(scores: Sequence[float], truth: Sequence[bool]) -> float:
    return sum((s - t) ** 2 for s, t in zip(scores, truth, strict=True)) / len(truth)


def calibration_table(scores: Sequence[float], truth: Sequence[bool], bins: int = 10) -> tuple[list[dict], float]:
    """The reliability diagram (equal-width bins of the score) and the expected calibration
    error: the bins' |mean score - share true|, weighted by their size."""
    table, ece = [], 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            (s, t) for s, t in zip(scores, truth, strict=True) if low <= s < high or (b == bins - 1 and s == 1.0)
        ]
        if not members:
            continue
        mean = sum(s for s, _t in members) / len(members)
        share = sum(t for _s, t in members) / len(members)
        ece += len(members) / len(scores) * abs(mean - share)
        table.append(
            {
                "bin": f"{low:.1f}-{high:.1f}",
                "reports": len(members),
                "mean_score": round(mean, 3),
                "true": round(share, 3),
            }
        )
    return table, ece


def fifths(scores: Sequence[float], truth: Sequence[bool]) -> tuple[float, float]:
    """(share true among the top fifth, share of all false reports that are in the bottom fifth);
    ties broken by report order, so that a constant gives the base rates."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    fifth = max(1, len(scores) // 5)
    top, bottom = order[-fifth:], order[:fifth]
    false_total = sum(1 for t in truth if not t)
    precision = sum(truth[i] for i in top) / len(top)
    recall = sum(1 for i in bottom if not truth[i]) / false_total if false_total else float("nan")
    return precision, recall


def evaluate(name: str, scores: dict[int, float], world: World, probability: bool) -> dict:
    """The figures on the reports no verifier graded (and that have a score)."""
    chosen = [r for r in world.reports if r.status == "new" and scores.get(r.id) is not None]
    values = [float(scores[r.id]) for r in chosen]
    truth = [r.true for r in chosen]
    precision, recall = fifths(values, truth)
    out = {
        "method": name,
        "reports": len(chosen),
        "unscored": sum(1 for r in world.reports if r.status == "new" and scores.get(r.id) is None),
        "auc": round(roc_auc(values, truth), 4),
        "precision_top_fifth": round(precision, 4),
        "false_recall_bottom_fifth": round(recall, 4),
    }
    if probability:
        table, ece = calibration_table(values, truth)
        out.update(brier=round(brier(values, truth), 4), ece=round(ece, 4), calibration=table)
    return out


# ---------------------------------------------------------------------------------------------
# Manipulation


def sybil(seed: int = 7, flood: int = 50, settings: Settings = SETTINGS, scorer: Callable | None = None) -> dict:
    """50 brand-new accounts, each with its own name and contact, repeat one false claim at one
    place; one proven source (20 verified reports, none refuted) says the opposite."""
    rng = random.Random(seed)
    scorer = scorer or score_world
    sources = {1: SimSource(1, 1, 0.95, "reliable", user_id=501, contact="+509 31000001")}
    reports: list[SimReport] = []
    bridge = Claim(0, "logistics", *CENTRE, T0 + 5 * DAY, "Bridge on the Carrefour road is open", True, 1.0)
    for n in range(20):  # the proven source's record, elsewhere and earlier
        old = Claim(
            n + 1,
            "health",
            *_offset(*CENTRE, rng.uniform(-20, 20), 30 + rng.uniform(0, 10)),
            T0 + rng.uniform(0, 4) * DAY,
            "Clinic at Kenscoff open",
            True,
            1.0,
        )
        report = _report(rng, len(reports) + 1, 1, old, "record")
        report.status = "verified"
        reports.append(report)
    proven = _report(rng, len(reports) + 1, 1, bridge, "proven")
    reports.append(proven)
    lie = Claim(100, "logistics", *CENTRE, T0 + 5 * DAY, "Bridge on the Carrefour road collapsed, closed", False, 1.0)
    for n in range(flood):
        sid = 2 + n
        sources[sid] = SimSource(sid, sid, 0.0, "sybil", user_id=600 + n, contact=f"+509 32{n:06d}")
        reports.append(_report(rng, len(reports) + 1, sid, lie, "sybil"))
    world = World(sources, reports, [bridge, lie])
    scores = scorer(world)
    flood_scores = [scores[r.id] for r in reports if r.group == "sybil"]
    best_flood = max((s for s in flood_scores if s is not None), default=None)
    return {
        "proven_score": _round(scores[proven.id]),
        "best_sybil_score": _round(best_flood),
        "sybil_unscored": sum(s is None for s in flood_scores),
        "passed": scores[proven.id] is not None and (best_flood is None or best_flood < scores[proven.id]),
    }


def collusion(
    seed: int = 2010, settings: Settings = SETTINGS, scorer: Callable | None = None, quick: bool = False
) -> dict:
    """Five accounts that always report together, half true and half false, added to the
    simulated crisis: their false reports must not outscore independent true ones."""
    rng = random.Random(seed + 1)
    world = simulate(seed, **(QUICK if quick else {}))
    scorer = scorer or score_world
    first = max(world.sources) + 1
    ring = list(range(first, first + 5))
    for sid in ring:
        world.sources[sid] = SimSource(sid, sid, 0.5, "colluder", user_id=700 + sid, contact=f"+509 33{sid:06d}")
    next_id = max(r.id for r in world.reports) + 1
    added = []
    for _ in range(12 if quick else 30):
        claim = rng.choice(world.claims)
        for sid in ring:
            report = _report(rng, next_id, sid, claim, "colluder")
            next_id += 1
            added.append(report)
    _grade(rng, added, world.sources, 0.10, 0.05)
    world.reports += added
    scores = scorer(world)
    ring_false = [scores[r.id] for r in added if not r.true and r.status == "new" and scores[r.id] is not None]
    ring_true = [scores[r.id] for r in added if r.true and r.status == "new" and scores[r.id] is not None]
    independent_true = [
        scores[r.id]
        for r in world.reports
        if r.group == "" and r.true and r.status == "new" and scores[r.id] is not None
    ]
    mean = lambda values: sum(values) / len(values) if values else float("nan")  # noqa: E731
    median_true = sorted(independent_true)[len(independent_true) // 2]
    return {
        "ring_false_mean": round(mean(ring_false), 4),
        "ring_true_mean": round(mean(ring_true), 4),
        "independent_true_mean": round(mean(independent_true), 4),
        "ring_false_above_median_independent_true": round(sum(s > median_true for s in ring_false) / len(ring_false), 4)
        if ring_false
        else None,
        "passed": mean(ring_false) < mean(independent_true),
    }


def liar(seed: int = 3, settings: Settings = SETTINGS, scorer: Callable | None = None) -> dict:
    """A source builds a record (20 verified reports), then lies. Two cases: each lie is refuted
    by a verifier before the next; or no lie is graded, but each is contradicted by an
    independent proven source. How many lies until its next report scores below 0.5?"""
    scorer = scorer or score_world
    out = {}
    for case in ("refuted", "contradicted"):
        rng = random.Random(seed)
        sources = {
            1: SimSource(1, 1, 0.9, "liar", user_id=801, contact="+509 34000001"),
            2: SimSource(2, 2, 0.95, "reliable", user_id=802, contact="+509 34000002"),
        }
        reports: list[SimReport] = []
        for n in range(20):
            old = Claim(n, "wash", *_offset(*CENTRE, rng.uniform(-20, 20), rng.uniform(-20, 20)), T0 + n * 3600 * 6,
                        "Water point at Delmas working", True, 1.0)  # fmt: skip
            report = _report(rng, len(reports) + 1, 1, old, "record")
            report.status = "verified"
            reports.append(report)
        for n in range(20):  # the honest witness's own record, elsewhere
            old = Claim(100 + n, "food", *_offset(*CENTRE, -40, rng.uniform(-20, 20)), T0 + n * 3600 * 6,
                        "Food distribution at Solino market", True, 1.0)  # fmt: skip
            report = _report(rng, len(reports) + 1, 2, old, "record")
            report.status = "verified"
            reports.append(report)
        found = None
        for lies in range(0, 31):
            probe_claim = Claim(1000 + lies, "logistics", *_offset(*CENTRE, 40 + 0.0, lies * 1.5), T0 + 6 * DAY + lies * 3600 * 4,
                                f"Bridge number {lies} on the Gressier road collapsed", False, 1.0)  # fmt: skip
            probe = _report(rng, len(reports) + 1, 1, probe_claim, "probe")
            world = World(sources, [*reports, probe], [])
            score = scorer(world)[probe.id]
            if score is not None and score < 0.5:
                found = lies
                break
            lie = _report(rng, len(reports) + 1, 1, probe_claim, "lie")
            reports.append(lie)
            if case == "refuted":
                lie.status = "refuted"
            else:
                witness = Claim(2000 + lies, "logistics", probe_claim.lat, probe_claim.lon, probe_claim.t,
                                f"Bridge number {lies} on the Gressier road is open", True, 1.0)  # fmt: skip
                reports.append(_report(rng, len(reports) + 1, 2, witness, "witness"))
        out[case] = found
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


QUICK = {"events": 120, "rumours": 80, "sources": 40, "reports": 1000}


def run(seed: int, quick: bool) -> dict:
    started = time.perf_counter()
    world = simulate(seed, **(QUICK if quick else {}))
    ours = score_world(world)
    rows = [
        evaluate("score (ours)", ours, world, True),
        evaluate("The Matrix's grade alone", matrix_grade(world), world, True),
        evaluate("nearby reports (count)", nearby_count(world), world, False),
        evaluate("source's graded accuracy (Laplace)", graded_accuracy(world), world, True),
        evaluate("constant 0.5", {r.id: 0.5 for r in world.reports}, world, True),
    ]
    true_share = sum(r.true for r in world.reports) / len(world.reports)
    return {
        "seed": seed,
        "reports": len(world.reports),
        "sources": len(world.sources),
        "graded": sum(r.status != "new" for r in world.reports),
        "true_share": round(true_share, 4),
        "methods": rows,
        "seconds": round(time.perf_counter() - started, 2),
    }


def markdown(result: dict) -> str:
    lines = []
    for world in result["worlds"]:
        lines += [
            f"Seed {world['seed']}: {world['reports']:,} reports from {world['sources']} accounts, "
            f"{world['graded']} graded, {world['true_share']:.0%} true; measured on the ungraded ones.",
            "",
            "| method | AUC | Brier | ECE | precision, top fifth | false reports in the bottom fifth | unscored |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in world["methods"]:
            brier_cell = f"{row['brier']:.3f}" if "brier" in row else "—"
            ece_cell = f"{row['ece']:.3f}" if "ece" in row else "—"
            lines.append(
                f"| {row['method']} | {row['auc']:.3f} | {brier_cell} | {ece_cell} | {row['precision_top_fifth']:.3f} | "
                f"{row['false_recall_bottom_fifth']:.3f} | {row['unscored']} |"
            )
        ours = world["methods"][0]
        lines += [
            "",
            "Calibration of our score (reliability diagram):",
            "",
            "| score | reports | mean score | true |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {b['bin']} | {b['reports']} | {b['mean_score']:.3f} | {b['true']:.3f} |" for b in ours["calibration"]
        ]
        lines.append("")
    s, c, li = result["sybil"], result["collusion"], result["liar"]
    lines += [
        "Manipulation:",
        "",
        f"- Sybil flood (50 new accounts vs one proven source): proven {s['proven_score']}, best Sybil "
        f"{s['best_sybil_score']} ({s['sybil_unscored']} unscored): {'passed' if s['passed'] else 'FAILED'}",
        f"- Collusion (5 accounts always together): their false reports {c['ring_false_mean']}, their true ones "
        f"{c['ring_true_mean']}, independent true reports {c['independent_true_mean']} (share of their false reports "
        f"above the median independent true one: {c['ring_false_above_median_independent_true']}): "
        f"{'passed' if c['passed'] else 'FAILED'}",
        f"- A good record, then lies: its next report scores below 0.5 after {li['refuted']} refuted lies; "
        f"after {li['contradicted']} lies nobody graded but a proven source contradicted",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--seeds", type=int, default=3, help="how many worlds (seed, seed+1, ...)")
    parser.add_argument("--quick", action="store_true", help="one smaller world")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    seeds = [args.seed] if args.quick else [args.seed + k for k in range(args.seeds)]
    result = {
        "benchmark": "report scores on a simulated crisis with ground truth",
        "worlds": [run(seed, args.quick) for seed in seeds],
        "sybil": sybil(),
        "collusion": collusion(args.seed, quick=args.quick),
        "liar": liar(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["markdown"] = markdown(result)
    print(result["markdown"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {args.out} in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

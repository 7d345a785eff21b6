"""The plain data a score is made from: a report as scoring sees it, a verifier's grade, and what
one nearby report says about another (`contribution`: how alike, how near in space and time,
how independent, and how much that is worth).

Pure: no database, no Flask. records.py builds these from the database."""

from __future__ import annotations

from dataclasses import dataclass

from .settings import Settings
from .similarity import Words, contradicts, similarity
from .track_record import SourceState

CORROBORATION_WEIGHT = 1.0  # an agreeing report from a perfectly reliable source, at the same place and time
VERIFIED_WEIGHT = 1.5
REFUTED_WEIGHT = 1.5
CONTRADICTION_SIMILARITY = 0.25  # below this, two reports are about different things
NEW_SOURCES = "new"  # the group of every source with no track record and no verifier's grade
# What a neighbour is to a report (the `kind` of its evidence).
SUPPORTING_KINDS = ("support", "verified")
OPPOSING_KINDS = ("refuted", "contradicts")
KINDS = (*SUPPORTING_KINDS, *OPPOSING_KINDS, "same_source", "derived", "unrelated")


@dataclass(frozen=True)
class ReportRecord:
    """What scoring needs to know of a report."""

    id: int
    crisis_id: int
    sector: str
    lat: float | None  # None: the report's location is unknown (it then has no neighbours)
    lon: float | None
    t: float  # event time, epoch seconds
    source_id: int
    status: str
    words: Words
    derived_from: frozenset[int] = frozenset()  # for a combined assessment: the reports it was made from


@dataclass(frozen=True)
class Grade:
    """One verifier's (latest) grading of a report: reliability A-F, credibility 1-6."""

    verifier_id: int | None
    reliability: str
    credibility: int

    @property
    def code(self) -> str:
        """The Admiralty code, e.g. "B2"."""
        return f"{self.reliability}{self.credibility}"


def contribution(
    report: ReportRecord,
    state: SourceState,
    other: ReportRecord,
    other_state: SourceState,
    distance_km: float,
    settings: Settings,
) -> list:
    """[group, kind, weight]: what `other`, `distance_km` away, says about `report` (the stored
    evidence adds the distance). Reports in one group are one person's (or all new sources'):
    they count once together (scoring.corroboration)."""
    if other_state.key == state.key:
        return ["", "same_source", 0.0]
    if report.id in other.derived_from:
        return ["", "derived", 0.0]  # a combined assessment made from this report is not new evidence for it
    alike = similarity(report.words, other.words)
    near = (1.0 - 0.5 * distance_km / settings.radius_km) * (1.0 - 0.5 * abs(report.t - other.t) / settings.window_s)
    opposite = alike >= CONTRADICTION_SIMILARITY and contradicts(report.words, other.words)
    related = (0.3 + 0.7 * alike) * near
    if other.status == "refuted":
        if opposite or alike == 0.0:
            return ["", "unrelated", 0.0]
        return [f"r:{other.id}", "refuted", round(REFUTED_WEIGHT * alike * near, 6)]
    if other.status == "verified":
        return [f"r:{other.id}", "contradicts" if opposite else "verified", round(VERIFIED_WEIGHT * related, 6)]
    reliability = other_state.reliability(report.t, settings, exclude_report=other.id)
    # An independent voice needs evidence about it (a track record or a verifier's grade): an
    # account, a name or a contact costs nothing to make, so fifty brand-new ones are one voice.
    group = other_state.key if other_state.has_basis(other.id) else NEW_SOURCES
    return [group, "contradicts" if opposite else "support", round(CORROBORATION_WEIGHT * reliability * related, 6)]


def evidence_entry(
    report: ReportRecord,
    state: SourceState,
    other: ReportRecord,
    other_state: SourceState,
    distance_km: float,
    settings: Settings,
) -> list:
    """The stored form of `other`'s evidence for `report`: [group, kind, weight, distance km]."""
    return [*contribution(report, state, other, other_state, distance_km, settings), distance_km]

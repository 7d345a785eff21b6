"""Running truth discovery over a crisis's claims, keeping its proposals, and showing them.

Which claims count:
- a report marked as a duplicate adds nothing (it repeats another report);
- a source that made several claims about one subject (through several reports) counts once,
  with its latest value: repeating oneself is not corroboration;
- sources nobody can tie to a person (no account, no contact) are pooled into one source,
  "anonymous", whose claims about a subject share one unit of weight: fifty anonymous voices
  weigh as one, not as fifty, and the pool earns one reliability, like any source.
Each identified source's prior reliability is the validation plugin's track record of it,
when there is one (floored at one half: a poor record makes claims count for nothing, not
against); the anonymous pool starts below a source that can be asked again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from wiki.auth.permissions import can
from wiki.extensions import db
from wiki.models import Crisis, Report, Source
from wiki.models.base import utcnow
from wiki.visibility import report_visible

from .discovery import Claim, Discovery, Settings, discover
from .models import NUMERIC, ClaimSourceReliability, ClaimSubject, ReportClaim

PRIOR_STRENGTH_CAP = 10.0  # a track record informs the prior; the claims still speak
ANONYMOUS = "anonymous"  # the pooled source of every claim nobody can tie to a person
INFORMATIVE_BASES = frozenset({"grades", "organisation", "account"})  # see ..reliability.build_state

CONFIG_DEFAULTS = {
    # A source's reliability before any agreement is seen, worth this many claims.
    "VALIDATION_TRUTH_PRIOR_RELIABILITY": 0.7,
    "VALIDATION_TRUTH_PRIOR_STRENGTH": 4.0,
    "VALIDATION_TRUTH_ANONYMOUS_PRIOR": 0.6,  # the anonymous pool's prior reliability
    "VALIDATION_TRUTH_NUMERIC_TOLERANCE": 0.1,  # numbers this far apart (relative) agree
    # The model guard (discovery.py, `_model_guard`: confusion matrices, one-coin model or plain
    # vote, per attribute) refits two models once per fold: a run costs about twice this many
    # fits and one; fewer than 2 turns the guard off.
    "VALIDATION_TRUTH_GUARD_FOLDS": 10,
    "VALIDATION_TRUTH_MAX_ITERATIONS": 500,  # EM iterations per fit at most
    # Truth discovery re-runs in the background worker (refresh.py): it waits this long after
    # it finds a crisis's claims changed, so that a burst of clicks costs one run ...
    "VALIDATION_TRUTH_RERUN_DELAY_MS": 1000,
    # ... and looks for changed crises this often when no request woke it (a worker of its own).
    "VALIDATION_TRUTH_POLL_SECONDS": 2.0,
}


@dataclass(frozen=True)
class ClaimRow:
    id: int
    subject_id: int
    kind: str
    attribute: str
    source_id: int
    report_id: int
    status: str
    value: float | str  # a number, or the folded text
    text: str | None  # as written
    anonymous: bool
    updated_at: Any


@dataclass(frozen=True)
class Run:
    discovery: Discovery
    subjects: int
    claims: int
    seconds: float


def settings_from_config() -> Settings:
    config = current_app.config
    return Settings(
        prior_reliability=float(config["VALIDATION_TRUTH_PRIOR_RELIABILITY"]),
        prior_strength=float(config["VALIDATION_TRUTH_PRIOR_STRENGTH"]),
        numeric_tolerance=float(config["VALIDATION_TRUTH_NUMERIC_TOLERANCE"]),
        guard_folds=int(config["VALIDATION_TRUTH_GUARD_FOLDS"]),
        max_iterations=int(config["VALIDATION_TRUTH_MAX_ITERATIONS"]),
    )


def _rows(condition) -> list[ClaimRow]:
    query = (
        select(
            ReportClaim.id,
            ReportClaim.subject_id,
            ClaimSubject.kind,
            ClaimSubject.attribute,
            Report.source_id,
            Report.id.label("report_id"),
            Report.status,
            ReportClaim.number,
            ReportClaim.text,
            ReportClaim.text_key,
            Source.user_id,
            Source.contact_hash,
            ReportClaim.updated_at,
        )
        .join(ClaimSubject, ClaimSubject.id == ReportClaim.subject_id)
        .join(Report, Report.id == ReportClaim.report_id)
        .join(Source, Source.id == Report.source_id)
        .where(condition)
        .order_by(ReportClaim.id)
    )
    return [
        ClaimRow(
            id=r.id,
            subject_id=r.subject_id,
            kind=r.kind,
            attribute=r.attribute,
            source_id=r.source_id,
            report_id=r.report_id,
            status=r.status,
            value=r.number if r.kind == NUMERIC else r.text_key,
            text=r.text,
            anonymous=r.user_id is None and r.contact_hash is None,
            updated_at=r.updated_at,
        )
        for r in db.session.execute(query)
    ]


def counted(rows: Iterable[ClaimRow]) -> dict[int, float]:
    """The claims that count (claim id -> weight), by the rules in this module's docstring."""
    latest: dict[tuple[int, int], ClaimRow] = {}
    for row in rows:
        if row.status == "duplicate":
            continue
        key = (row.source_id, row.subject_id)
        if key not in latest or (row.updated_at, row.id) > (latest[key].updated_at, latest[key].id):
            latest[key] = row
    anonymous_per_subject: dict[int, int] = {}
    for row in latest.values():
        if row.anonymous:
            anonymous_per_subject[row.subject_id] = anonymous_per_subject.get(row.subject_id, 0) + 1
    return {row.id: (1.0 / anonymous_per_subject[row.subject_id] if row.anonymous else 1.0) for row in latest.values()}


def _track_record_priors(source_ids: set[int]) -> dict[int, tuple[float, float]]:
    """Each source's reliability from the outcomes of its reports, the verifiers' grades, its
    organisation or its account (the validation plugin's scoring keeps it), as the prior for
    truth discovery; sources known only by the channel they used keep the default prior."""
    try:
        from ..models import SourceReliability
    except ImportError:  # the scoring side of the plugin is not there
        return {}
    if not source_ids:
        return {}
    records = db.session.scalars(select(SourceReliability).where(SourceReliability.source_id.in_(source_ids)))
    return {
        record.source_id: (max(record.reliability, 0.5), min(record.alpha + record.beta, PRIOR_STRENGTH_CAP))
        for record in records
        if record.prior_basis in INFORMATIVE_BASES or record.verified or record.refuted
    }


def discover_crisis(crisis: Crisis, settings: Settings | None = None) -> Run:
    """Run truth discovery over every claim in `crisis`, store each subject's proposal and each
    source's reliability, and commit (`crisiswiki discover-truth`, in one write transaction; the
    servers leave it to the background worker, refresh.py).

    Two runs for one crisis at once may collide on PostgreSQL when both insert the sources'
    rows; the loser runs again on what the winner committed."""
    for attempt in range(3):
        try:
            started = time.perf_counter()
            inputs = read_inputs(crisis.id)
            discovery = discover(inputs.claims, settings or settings_from_config(), inputs.priors)
            store_discovery(crisis.id, inputs, discovery, current=True)
            db.session.commit()
            return Run(discovery, len(discovery.subjects), len(inputs.claims), time.perf_counter() - started)
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Inputs:
    """What one run of truth discovery over a crisis rests on: its claim rows, the claims that
    count with their weights, and the sources' priors."""

    rows: tuple[ClaimRow, ...]
    weights: dict[int, float]
    claims: tuple[Claim, ...]
    priors: dict[Any, tuple[float, float]]


def claim_rows(crisis_id: int) -> tuple[ClaimRow, ...]:
    """Every claim of the crisis, as truth discovery reads them."""
    return tuple(_rows(ClaimSubject.crisis_id == crisis_id))


def read_inputs(crisis_id: int) -> Inputs:
    rows = claim_rows(crisis_id)
    weights = counted(rows)
    claims = tuple(
        Claim(
            subject=row.subject_id,
            source=ANONYMOUS if row.anonymous else row.source_id,
            value=row.value,
            attribute=row.attribute,
            weight=weights[row.id],
        )
        for row in rows
        if row.id in weights
    )
    priors: dict[Any, tuple[float, float]] = dict(
        _track_record_priors({claim.source for claim in claims if claim.source != ANONYMOUS})
    )
    priors[ANONYMOUS] = (
        float(current_app.config["VALIDATION_TRUTH_ANONYMOUS_PRIOR"]),
        float(current_app.config["VALIDATION_TRUTH_PRIOR_STRENGTH"]),
    )
    return Inputs(rows, weights, claims, priors)


def store_discovery(crisis_id: int, inputs: Inputs, discovery: Discovery, current: bool) -> None:
    """Write a run's proposals and reliabilities (the caller commits). `current`: the run rests
    on the crisis's claims as they now are, and its subjects stop being pending; otherwise
    (claims changed while it ran) its values are kept but every subject stays pending, for the
    next run (refresh.py)."""
    rows = inputs.rows
    weights = inputs.weights
    spelling: dict[str, str] = {}
    for row in rows:
        if row.text is not None:
            spelling.setdefault(row.value, row.text)
    claimed_values: dict[int, set] = {}
    for row in rows:
        claimed_values.setdefault(row.subject_id, set()).add(row.value)
    now = utcnow()
    for subject in db.session.scalars(select(ClaimSubject).where(ClaimSubject.crisis_id == crisis_id)):
        estimate = discovery.subjects.get(subject.id)
        if estimate is None:
            subject.proposed, subject.confidence, subject.distribution = None, None, []
        else:
            keep = claimed_values.get(subject.id, set()) | {estimate.proposed}
            subject.proposed = None if estimate.proposed is None else {"value": _shown(estimate.proposed, spelling)}
            subject.confidence = estimate.confidence
            subject.distribution = sorted(
                (
                    {"value": _shown(value, spelling), "key": value, "probability": round(p, 6), "supports": supports}
                    for value, p, supports in zip(
                        estimate.values, estimate.probabilities, estimate.supporting, strict=True
                    )
                    if value in keep
                ),
                key=lambda item: -item["probability"],
            )
        subject.computed_at = now if current else None
    db.session.execute(delete(ClaimSourceReliability).where(ClaimSourceReliability.crisis_id == crisis_id))
    # Every source gets a row; an anonymous one carries the pool's reliability and its own weight.
    weight_of_source: dict[int, float] = {}
    pooled: set[int] = set()
    for row in rows:
        if row.id in weights:
            weight_of_source[row.source_id] = weight_of_source.get(row.source_id, 0.0) + weights[row.id]
            if row.anonymous:
                pooled.add(row.source_id)
    db.session.add_all(
        ClaimSourceReliability(
            crisis_id=crisis_id,
            source_id=source,
            claims=weight,
            computed_at=now,
            reliability=discovery.reliability[ANONYMOUS if source in pooled else source],
        )
        for source, weight in weight_of_source.items()
    )


def _shown(value: float | str | None, spelling: dict[str, str]) -> float | int | str | None:
    if isinstance(value, str):
        return spelling.get(value, value)
    if value is not None and float(value).is_integer():
        return int(value)
    return value


def subject_views(subjects: list[ClaimSubject], viewer) -> list[dict[str, Any]]:
    """What `viewer` may see of each subject: the proposal, and every competing value with the
    claims behind it and their sources' reliability. Who a source is (id, name, organisation)
    only for those who may see source records; contact details never. Claims on reports the
    viewer may not see are left out, and so is a value (or a whole subject) only they support."""
    if not subjects:
        return []
    subject_ids = [subject.id for subject in subjects]
    rows = _rows(ReportClaim.subject_id.in_(subject_ids))
    weights = counted(rows)
    reports = {
        report.id: report
        for report in db.session.scalars(select(Report).where(Report.id.in_({row.report_id for row in rows})))
    }
    source_ids = {row.source_id for row in rows}
    reliability = {
        (r.crisis_id, r.source_id): r.reliability
        for r in db.session.scalars(
            select(ClaimSourceReliability).where(
                ClaimSourceReliability.crisis_id.in_({s.crisis_id for s in subjects}),
                ClaimSourceReliability.source_id.in_(source_ids),
            )
        )
    }
    pending = pending_crises({subject.crisis_id for subject in subjects})
    show_sources = can("view_source_record", viewer)
    sources = (
        {source.id: source for source in db.session.scalars(select(Source).where(Source.id.in_(source_ids)))}
        if show_sources
        else {}
    )
    by_subject: dict[int, list[ClaimRow]] = {}
    for row in rows:
        if report_visible(reports[row.report_id], viewer):
            by_subject.setdefault(row.subject_id, []).append(row)
    views = []
    for subject in subjects:
        visible = by_subject.get(subject.id)
        if not visible:
            continue
        claims = []
        for row in visible:
            claim: dict[str, Any] = {
                "id": row.id,
                "report_id": row.report_id,
                "counted": row.id in weights,
                "weight": round(weights.get(row.id, 0.0), 6),
                "source_reliability": _rounded(reliability.get((subject.crisis_id, row.source_id))),
            }
            if show_sources:
                source = sources[row.source_id]
                claim["source"] = {
                    "id": source.id,
                    "name": source.name,
                    "organisation": source.organisation,
                    "anonymous": source.is_anonymous,
                }
            claims.append((row, claim))
        views.append(_subject_view(subject, claims, subject.crisis_id in pending))
    return views


def _subject_view(
    subject: ClaimSubject, claims: list[tuple[ClaimRow, dict[str, Any]]], pending: bool
) -> dict[str, Any]:
    values: dict[Any, dict[str, Any]] = {}
    supports: set = set()
    for item in subject.distribution or []:
        values[item["key"]] = {"value": item["value"], "probability": item["probability"], "claims": []}
        if item.get("supports"):
            supports.add(item["key"])
    for row, claim in claims:
        entry = values.setdefault(
            row.value, {"value": _shown(row.value, {row.value: row.text or ""}), "probability": None, "claims": []}
        )
        entry["claims"].append(claim)
    shown = [entry for entry in values.values() if entry["claims"]]
    proposed = subject.proposed
    # A proposal that rests only on claims the viewer may not see is not shown to them.
    withheld = proposed is not None and not any(row.value in supports for row, _claim in claims)
    return {
        "id": subject.id,
        "crisis": subject.crisis.slug,
        "subject": subject.subject,
        "attribute": subject.attribute,
        "as_of": subject.as_of.isoformat(),
        "kind": subject.kind,
        "unit": subject.unit,
        "proposed_value": None if proposed is None or withheld else proposed["value"],
        "confidence": None if withheld else _rounded(subject.confidence),
        "computed_at": subject.computed_at.isoformat() if subject.computed_at else None,
        # A re-run of the crisis's truth discovery is waiting (claims changed since the values
        # shown were computed, by the last run; a subject it never ran on has none yet).
        "pending": pending,
        "values": sorted(shown, key=lambda entry: -(entry["probability"] or 0.0)),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def subjects_page(
    crisis: Crisis, limit: int, after: int | None = None, attribute: str | None = None, subject: str | None = None
) -> tuple[list[ClaimSubject], int | None]:
    """A page of `crisis`'s subjects in id order, and the id to continue after (or None)."""
    from .claims import fold

    query = select(ClaimSubject).where(ClaimSubject.crisis_id == crisis.id).order_by(ClaimSubject.id)
    if after is not None:
        query = query.where(ClaimSubject.id > after)
    if attribute:
        query = query.where(ClaimSubject.attribute == "_".join(attribute.lower().split()))
    if subject:
        query = query.where(ClaimSubject.subject_key == fold(subject))
    found = db.session.scalars(query.limit(limit + 1)).all()
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1].id if more else None)


def pending_crises(crisis_ids: Iterable[int]) -> set[int]:
    """The crises among `crisis_ids` whose truth discovery waits for a re-run: a subject of theirs
    has no computed_at (a claim was recorded or a report's status changed since the last run)."""
    crisis_ids = set(crisis_ids)
    if not crisis_ids:
        return set()
    return set(
        db.session.scalars(
            select(ClaimSubject.crisis_id)
            .where(ClaimSubject.crisis_id.in_(crisis_ids), ClaimSubject.computed_at.is_(None))
            .distinct()
        )
    )

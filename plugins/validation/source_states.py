"""Each source's state (track_record.SourceState) in the database: computed from the facts (the
source, the outcomes of its reports, the verifiers' reliability grades) and kept in
validation_source_reliability, so that scoring a report reads one row per source instead of
the source's whole history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from sqlalchemy import delete, insert, select, update

from wiki.models import Report, Source, User
from wiki.models.base import utcnow
from wiki.reports.sources import contact_hash

from .database import connection
from .models import Assessment, SourceReliability
from .settings import Settings
from .track_record import OUTCOMES, SourceState, build_state, event_time, latest_reliability_grades

TABLE = SourceReliability.__table__
CHUNK = 900  # SQLite allows a limited number of bound parameters


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def dependency_key(source_id: int, user_id: int | None, contact: str | None) -> str:
    """Reports from one person share a key: the same contact (also across an account and an SMS
    number), else the same account, else the same source."""
    if contact:
        return "c:" + contact_hash(contact)[:40]
    if user_id is not None:
        return f"u:{user_id}"
    return f"s:{source_id}"


def compute_states(source_ids: Iterable[int], settings: Settings) -> dict[int, SourceState]:
    """Compute sources' states from the facts (three queries per 900 sources)."""
    ids = sorted(set(source_ids))
    facts, outcome_rows, grade_rows = [], [], []
    conn = connection()
    for chunk in _chunks(ids):
        facts += conn.execute(
            select(Source.id, Source.user_id, User.role, Source.contact, Source.organisation, Source.channel)
            .outerjoin(User, User.id == Source.user_id)
            .where(Source.id.in_(chunk))
        ).all()
        outcome_rows += conn.execute(
            select(Report.source_id, Report.id, Report.status, Report.occurred_at, Report.received_at).where(
                Report.source_id.in_(chunk), Report.status.in_(tuple(OUTCOMES))
            )
        ).all()
        grade_rows += conn.execute(
            select(
                Report.source_id, Assessment.verifier_id, Assessment.id, Assessment.reliability, Assessment.report_id
            )
            .join(Report, Report.id == Assessment.report_id)
            .where(Report.source_id.in_(chunk))
        ).all()
    outcomes: dict[int, list[tuple[float, int, int]]] = {}
    for source_id, report_id, status, occurred_at, received_at in outcome_rows:
        outcomes.setdefault(source_id, []).append((event_time(occurred_at, received_at), OUTCOMES[status], report_id))
    grades = latest_reliability_grades(grade_rows)
    return {
        row.id: build_state(
            row.id,
            dependency_key(row.id, row.user_id, row.contact),
            row.user_id,
            row.role,
            row.contact,
            row.organisation,
            row.channel,
            grades.get(row.id, []),
            outcomes.get(row.id, []),
            settings,
        )
        for row in facts
    }


def state_from_row(row) -> SourceState:
    return SourceState(
        row.source_id,
        row.key,
        row.established,
        row.prior,
        row.prior_basis,
        row.grades,
        tuple((float(t), int(o), int(r)) for t, o, r in row.outcomes),
    )


def row_values(state: SourceState, settings: Settings) -> dict:
    """Column values for a SourceReliability row: the state, and the posterior as of its latest
    outcome (alpha and beta, for display; scores decay the outcomes to each report's own time)."""
    latest = state.outcomes[-1][0] if state.outcomes else 0.0
    alpha, beta = state.evidence(latest, settings)
    verified, refuted = state.counts()
    return {
        "source_id": state.source_id,
        "key": state.key,
        "established": state.established,
        "prior": state.prior,
        "prior_basis": state.prior_basis,
        "grades": state.grades,
        "verified": verified,
        "refuted": refuted,
        "alpha": alpha,
        "beta": beta,
        "outcomes": [list(o) for o in state.outcomes],
        "updated_at": utcnow(),
    }


def load_states(source_ids: Iterable[int], settings: Settings) -> dict[int, SourceState]:
    """States of these sources from the stored rows; those without a row are computed and stored
    (a source seen for the first time)."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    conn = connection()
    states = {}
    for chunk in _chunks(ids):
        for row in conn.execute(select(TABLE).where(TABLE.c.source_id.in_(chunk))):
            states[row.source_id] = state_from_row(row)
    missing = set(ids) - states.keys()
    if missing:
        computed = compute_states(missing, settings)
        conn.execute(insert(TABLE), [row_values(state, settings) for state in computed.values()])
        states.update(computed)
    return states


def refresh_states(source_ids: Iterable[int], settings: Settings) -> dict[int, tuple[SourceState | None, SourceState]]:
    """Recompute these sources' states from the facts and store them; returns
    {source id: (old state or None, new state)} so that callers can see what changed."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    conn = connection()
    old = {}
    for chunk in _chunks(ids):
        for row in conn.execute(select(TABLE).where(TABLE.c.source_id.in_(chunk)).with_for_update()):
            old[row.source_id] = state_from_row(row)
    changed = {}
    for source_id, state in compute_states(ids, settings).items():
        previous = old.get(source_id)
        if previous is not None and previous.key.startswith("g:"):
            state = replace(state, key=previous.key)  # a group found by the last rescore (independence.py)
        values = row_values(state, settings)
        if source_id in old:
            conn.execute(update(TABLE).where(TABLE.c.source_id == source_id).values(values))
        else:
            conn.execute(insert(TABLE), [values])
        changed[source_id] = (old.get(source_id), state)
    return changed


def replace_states(states: dict[int, SourceState], settings: Settings) -> None:
    """Store these states in place of the rows of their sources (the full rescore)."""
    conn = connection()
    ids = sorted(states)
    for chunk in _chunks(ids):
        conn.execute(delete(TABLE).where(TABLE.c.source_id.in_(chunk)))
    rows = [row_values(states[source_id], settings) for source_id in ids]
    for start in range(0, len(rows), 2000):
        conn.execute(insert(TABLE), rows[start : start + 2000])

"""Reading reports as scoring sees them (evidence.ReportRecord) and the verifiers' grades, many at
a time: a few queries for a whole batch, never one per report.

They run in every scoring transaction, so they are SQLAlchemy Core statements (no ORM objects,
no autoflush) on the scoring connection (database.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import select

from wiki.models import Report

from .database import connection
from .evidence import Grade, ReportRecord
from .models import Assessment, CombinedAssessment, CombinedSource
from .similarity import words
from .track_record import event_time

COLUMNS = (
    Report.id,
    Report.crisis_id,
    Report.sector,
    Report.lat,
    Report.lon,
    Report.occurred_at,
    Report.received_at,
    Report.source_id,
    Report.status,
    Report.title,
    Report.description,
)
CHUNK = 900  # SQLite allows a limited number of bound parameters


def chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def report_rows(*where):
    """Report rows with `combined`: the id of the combined assessment the report is, if any."""
    return (
        select(*COLUMNS, CombinedAssessment.id.label("combined"))
        .outerjoin(CombinedAssessment, CombinedAssessment.report_id == Report.id)
        .where(*where)
    )


def record_from_row(row, derived_from: frozenset[int] = frozenset()) -> ReportRecord:
    return ReportRecord(
        row.id,
        row.crisis_id,
        row.sector,
        row.lat,
        row.lon,
        event_time(row.occurred_at, row.received_at),
        row.source_id,
        row.status,
        words(f"{row.title}\n{row.description}"),
        derived_from,
    )


def derived_from(report_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """{combined report id: the report ids it was made from} for those of `report_ids` that are
    combined assessments."""
    found: dict[int, set[int]] = {}
    for chunk in chunks(report_ids):
        for combined_id, source_id in connection().execute(
            select(CombinedAssessment.report_id, CombinedSource.report_id)
            .join(CombinedSource, CombinedSource.assessment_id == CombinedAssessment.id)
            .where(CombinedAssessment.report_id.in_(chunk))
        ):
            found.setdefault(combined_id, set()).add(source_id)
    return {k: frozenset(v) for k, v in found.items()}


def records_from_rows(rows) -> list[ReportRecord]:
    """Records from rows of `report_rows()` (or of any query with COLUMNS and `combined`)."""
    combined = [row.id for row in rows if row.combined is not None]
    links = derived_from(combined) if combined else {}
    return [record_from_row(row, links.get(row.id, frozenset())) for row in rows]


def load_records(report_ids: Iterable[int]) -> dict[int, ReportRecord]:
    rows = []
    for chunk in chunks(report_ids):
        rows += connection().execute(report_rows(Report.id.in_(chunk))).all()
    return {record.id: record for record in records_from_rows(rows)}


def load_all(crisis_id: int | None) -> list[ReportRecord]:
    """Every report (of one crisis, or all), in id order: one query."""
    query = report_rows().order_by(Report.id)
    if crisis_id is not None:
        query = query.where(Report.crisis_id == crisis_id)
    return records_from_rows(connection().execute(query).all())


def latest_grades(report_ids: Iterable[int]) -> dict[int, list[Grade]]:
    """{report id: each verifier's latest grade}, oldest verifier first."""
    latest: dict[tuple[int, int | None], tuple[int, Grade]] = {}
    for chunk in chunks(report_ids):
        for assessment_id, report_id, verifier_id, reliability, credibility in connection().execute(
            select(
                Assessment.id,
                Assessment.report_id,
                Assessment.verifier_id,
                Assessment.reliability,
                Assessment.credibility,
            ).where(Assessment.report_id.in_(chunk))
        ):
            key = (report_id, verifier_id)
            if key not in latest or latest[key][0] < assessment_id:
                latest[key] = (assessment_id, Grade(verifier_id, reliability, credibility))
    grades: dict[int, list[Grade]] = {}
    for (report_id, _verifier), (_id, grade) in sorted(latest.items(), key=lambda item: item[1][0]):
        grades.setdefault(report_id, []).append(grade)
    return grades


def source_reports(source_id: int) -> list[int]:
    """The ids of every report of a source."""
    return list(connection().execute(select(Report.id).where(Report.source_id == source_id)).scalars())


def sources_of(report_ids: Iterable[int]) -> dict[int, int]:
    """{report id: its source's id}, without reading the reports' words."""
    found = {}
    for chunk in chunks(report_ids):
        found.update(connection().execute(select(Report.id, Report.source_id).where(Report.id.in_(chunk))).all())
    return found

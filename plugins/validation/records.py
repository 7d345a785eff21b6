"""Reading what scoring needs from the database: report records, their neighbours (a box query
on the reports' (lat, lon) index, then the exact distance), who counts a report as a
neighbour, and the verifiers' grades.

These run on every submission, so they are SQLAlchemy Core statements (no ORM objects, no
autoflush) on the scoring transaction's connection (database.py); the writes go the same way."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select

from wiki.models import Report

from .config import Settings
from .database import connection
from .geo import KM_PER_DEGREE_LAT, bounding_box, haversine_km
from .models import Assessment, CombinedAssessment, CombinedSource, ReportScore
from .reliability import event_time
from .scoring import Grade, ReportRecord, is_neighbour
from .similarity import words

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
APPROX_SLACK, APPROX_MARGIN_KM = 1.02, 0.05  # the equirectangular distance lies within this of the true one


def _reports(*where):
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
    ids = list(report_ids)
    found: dict[int, set[int]] = {}
    for start in range(0, len(ids), CHUNK):
        for combined_id, source_id in connection().execute(
            select(CombinedAssessment.report_id, CombinedSource.report_id)
            .join(CombinedSource, CombinedSource.assessment_id == CombinedAssessment.id)
            .where(CombinedAssessment.report_id.in_(ids[start : start + CHUNK]))
        ):
            found.setdefault(combined_id, set()).add(source_id)
    return {k: frozenset(v) for k, v in found.items()}


def records_from_rows(rows) -> list[ReportRecord]:
    combined = [row.id for row in rows if row.combined is not None]
    links = derived_from(combined) if combined else {}
    return [record_from_row(row, links.get(row.id, frozenset())) for row in rows]


def load_records(report_ids: Iterable[int]) -> dict[int, ReportRecord]:
    ids = sorted(set(report_ids))
    rows = []
    for start in range(0, len(ids), CHUNK):
        rows += connection().execute(_reports(Report.id.in_(ids[start : start + CHUNK]))).all()
    return {record.id: record for record in records_from_rows(rows)}


def _time_bound(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _box(lat: float, lon: float, radius_km: float, lat_column, lon_column):
    south, north, west, east = bounding_box(lat, lon, radius_km)
    lon_clause = lon_column.between(west, east) if west <= east else or_(lon_column >= west, lon_column <= east)
    return and_(lat_column.between(south, north), lon_clause)


def nearest_neighbours(report: ReportRecord, settings: Settings) -> list[tuple[float, ReportRecord]]:
    """The report's nearest VALIDATION_MAX_NEIGHBOURS neighbours (same crisis and sector, within
    VALIDATION_RADIUS_KM and VALIDATION_WINDOW_HOURS), nearest first: the evidence its score
    counts. A box query on the reports' (lat, lon) index, then the exact distance; the box
    starts small and grows only while the nearest could still lie outside it, so a crowded
    place costs about as much as a quiet one. A report without a point (its location is
    unknown) has no neighbours."""
    if report.lat is None or report.lon is None:
        return []
    moment = func.coalesce(Report.occurred_at, Report.received_at)
    filters = (
        Report.crisis_id == report.crisis_id,
        Report.sector == report.sector,
        Report.id != report.id,
        moment >= _time_bound(report.t - settings.window_s - 1),
        moment <= _time_bound(report.t + settings.window_s + 1),
    )
    for step in (settings.radius_km / 16, settings.radius_km / 4, settings.radius_km):
        rows = (
            connection().execute(_reports(_box(report.lat, report.lon, step, Report.lat, Report.lon), *filters)).all()
        )
        found = []
        for row in rows:
            distance = haversine_km(report.lat, report.lon, row.lat, row.lon)
            if (
                distance <= settings.radius_km
                and abs(event_time(row.occurred_at, row.received_at) - report.t) <= settings.window_s
            ):
                found.append((distance, row.id, row))
        found.sort(key=lambda item: item[:2])
        chosen = found[: settings.max_neighbours]
        # Every neighbour within `step` is in this box: stop once the nearest ones all are.
        if step >= settings.radius_km or (len(chosen) == settings.max_neighbours and chosen[-1][0] <= step):
            records = records_from_rows([row for _d, _i, row in chosen])
            return [(distance, record) for (distance, _i, _row), record in zip(chosen, records, strict=True)]
    return []


def holders(report: ReportRecord, settings: Settings) -> list[tuple[float, ReportRecord]]:
    """The neighbours that may count `report` among their nearest: those whose stored evidence
    is not full or reaches at least as far as `report` (ReportScore.reach_km). Read from the
    plugin's own index of scored reports (crisis, sector, place, reach, time), then checked
    exactly. Reports never scored are left to `crisiswiki rescore`."""
    if report.lat is None or report.lon is None:
        return []
    dy = (ReportScore.lat - report.lat) * KM_PER_DEGREE_LAT
    dx = (ReportScore.lon - report.lon) * (KM_PER_DEGREE_LAT * math.cos(math.radians(report.lat)))
    reach = ReportScore.reach_km * APPROX_SLACK + APPROX_MARGIN_KM
    query = select(ReportScore.report_id).where(
        ReportScore.crisis_id == report.crisis_id,
        ReportScore.sector == report.sector,
        _box(report.lat, report.lon, settings.radius_km, ReportScore.lat, ReportScore.lon),
        ReportScore.t.between(report.t - settings.window_s - 1, report.t + settings.window_s + 1),
        ReportScore.report_id != report.id,
    )
    _south, _north, west, east = bounding_box(report.lat, report.lon, settings.radius_km)
    if west <= east:  # (across the antimeridian the approximation does not hold: all are checked exactly)
        query = query.where(dy * dy + dx * dx <= reach * reach)
    ids = connection().execute(query).scalars().all()
    found = []
    for other in load_records(ids).values():
        distance = is_neighbour(report, other, settings)
        if distance is not None:
            found.append((distance, other))
    return sorted(found, key=lambda pair: (pair[0], pair[1].id))


def latest_grades(report_ids: Iterable[int]) -> dict[int, list[Grade]]:
    """{report id: each verifier's latest grade}, oldest verifier first."""
    ids = sorted(set(report_ids))
    latest: dict[tuple[int, int | None], tuple[int, Grade]] = {}
    for start in range(0, len(ids), CHUNK):
        for assessment_id, report_id, verifier_id, reliability, credibility in connection().execute(
            select(
                Assessment.id,
                Assessment.report_id,
                Assessment.verifier_id,
                Assessment.reliability,
                Assessment.credibility,
            ).where(Assessment.report_id.in_(ids[start : start + CHUNK]))
        ):
            key = (report_id, verifier_id)
            if key not in latest or latest[key][0] < assessment_id:
                latest[key] = (assessment_id, Grade(verifier_id, reliability, credibility))
    grades: dict[int, list[Grade]] = {}
    for (report_id, _verifier), (_id, grade) in sorted(latest.items(), key=lambda item: item[1][0]):
        grades.setdefault(report_id, []).append(grade)
    return grades

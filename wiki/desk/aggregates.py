"""The crisis dashboard's numbers, each computed by one SQL aggregate over the reports a view
selects (the viewer's visible reports, never withdrawn ones, with the shared filters of
wiki.reports.queries). Python only receives the grouped rows: a few per time bucket, sector,
status, channel or admin area, never one per report. The covering index `ix_reports_desk` lets
SQLite answer them from the index alone.

Time buckets are text, the same on SQLite and PostgreSQL: "2010-01-13" for a day,
"2010-01-13 14" for an hour (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Float, Integer, String, case, cast, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from ..extensions import db
from ..models import AdminArea, Crisis, Report
from ..reports.queries import ReportFilters
from ..visibility import sees_exact_locations

UNITS = ("day", "hour")
MAX_BUCKETS = 400  # time charts show at most this many buckets: the most recent ones
DECIDED = ("verified", "refuted")  # a decision on the information (time to verify)
AWAITING = ("new", "under_review")


def _dialect() -> str:
    return db.engine.dialect.name


def bucket_of(column, unit: str) -> ColumnElement[str]:
    """SQL: the UTC day ("YYYY-MM-DD") or hour ("YYYY-MM-DD HH") of a datetime column."""
    if _dialect() == "postgresql":
        pattern = "YYYY-MM-DD" if unit == "day" else "YYYY-MM-DD HH24"
        return func.to_char(func.timezone("UTC", column), pattern, type_=String)
    # SQLite keeps UTC datetimes as text, "YYYY-MM-DD HH:MM:SS.ffffff".
    return func.substr(cast(column, String), 1, 10 if unit == "day" else 13, type_=String)


def seconds_between(start, end) -> ColumnElement[float]:
    if _dialect() == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def event_time():
    """When a report's event happened, as the filters' since/until read it."""
    return func.coalesce(Report.occurred_at, Report.received_at)


def parse_bucket(label: str, unit: str) -> datetime:
    return datetime.strptime(label, "%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H").replace(tzinfo=UTC)


def bucket_range(label: str, unit: str) -> tuple[str, str]:
    """since and until (both inclusive, as the filters read them) of one bucket."""
    start = parse_bucket(label, unit)
    end = start + (timedelta(days=1) if unit == "day" else timedelta(hours=1)) - timedelta(seconds=1)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")


def all_buckets(found: set[str], unit: str) -> list[str]:
    """Every bucket from the first to the last found (zeros included), at most MAX_BUCKETS, the latest."""
    if not found:
        return []
    first, last = parse_bucket(min(found), unit), parse_bucket(max(found), unit)
    step = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    count = min(int((last - first) / step) + 1, MAX_BUCKETS)
    start = last - step * (count - 1)
    fmt = "%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H"
    return [(start + step * index).strftime(fmt) for index in range(count)]


@dataclass(frozen=True)
class Selection:
    """The reports of one dashboard view: conditions on Report for a query of the viewer's."""

    crisis: Crisis
    filters: ReportFilters
    viewer: object

    def where(self, query):
        query = query.where(Report.crisis_id == self.crisis.id, Report.withdrawn_at.is_(None))
        return self.filters.apply(query, self.viewer)

    def ids(self):
        return self.where(select(Report.id))


def selection(crisis: Crisis, args: Mapping, viewer) -> Selection:
    filters = replace(ReportFilters.from_args(args), crisis=None)
    return Selection(crisis, filters, viewer)


def counts_by_time(chosen: Selection, unit: str, column) -> dict[tuple[str, str], int]:
    """{(bucket, value of `column`): reports}, by the event time."""
    bucket = bucket_of(event_time(), unit).label("bucket")
    query = chosen.where(select(bucket, column.label("value"), func.count()).group_by(bucket, column))
    return {(row[0], row[1]): row[2] for row in db.session.execute(query)}


def backlog(chosen: Selection, unit: str) -> dict[str, tuple[int, int, int]]:
    """{bucket: (arrived, left, waiting at the bucket's end)}. A report arrives when it is
    received and leaves the backlog when it first left new/under_review (triaged_at); one that
    arrived already decided (an import) leaves when it arrives. The running total is SQL's."""
    left_at = case(
        (Report.triaged_at.is_not(None), Report.triaged_at),
        (Report.status.in_(AWAITING), None),
        else_=Report.received_at,
    )
    arrivals = chosen.where(
        select(
            bucket_of(Report.received_at, unit).label("bucket"), literal(1).label("arrived"), literal(0).label("left")
        )
    )
    departures = chosen.where(
        select(bucket_of(left_at, unit).label("bucket"), literal(0).label("arrived"), literal(1).label("left"))
    ).where(left_at.is_not(None))
    moves = union_all(arrivals, departures).subquery()
    arrived, left = func.sum(moves.c.arrived), func.sum(moves.c.left)
    running = func.sum(arrived - left).over(order_by=moves.c.bucket)
    query = select(moves.c.bucket, arrived, left, running).group_by(moves.c.bucket).order_by(moves.c.bucket)
    return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in db.session.execute(query)}


def time_to_verify(chosen: Selection, unit: str) -> dict[str, tuple[int, float, float]]:
    """{bucket of the decision: (decisions, median hours, 90th percentile hours)} from receipt to
    the first decision of the reports now verified or refuted. Percentiles by nearest rank,
    computed with window functions (the same on SQLite and PostgreSQL)."""
    hours = (seconds_between(Report.received_at, Report.triaged_at) / 3600.0).label("hours")
    bucket = bucket_of(Report.triaged_at, unit).label("bucket")
    ranked = (
        chosen.where(
            select(
                bucket,
                hours,
                func.row_number().over(partition_by=bucket, order_by=hours).label("rank"),
                func.count().over(partition_by=bucket).label("n"),
            )
        )
        .where(Report.triaged_at.is_not(None), Report.status.in_(DECIDED))
        .subquery()
    )
    rank, n = ranked.c.rank, cast(ranked.c.n, Float)
    median_rank = cast(func.ceil(n * 0.5), Integer) if _dialect() == "postgresql" else _ceil(n * 0.5)
    p90_rank = cast(func.ceil(n * 0.9), Integer) if _dialect() == "postgresql" else _ceil(n * 0.9)
    query = (
        select(
            ranked.c.bucket,
            func.max(ranked.c.n),
            func.max(case((rank == median_rank, ranked.c.hours))),
            func.max(case((rank == p90_rank, ranked.c.hours))),
        )
        .group_by(ranked.c.bucket)
        .order_by(ranked.c.bucket)
    )
    return {
        row[0]: (int(row[1]), round(float(row[2] or 0.0), 2), round(float(row[3] or 0.0), 2))
        for row in db.session.execute(query)
    }


def _ceil(value):
    """ceil() for SQLite builds without the math functions: a whole part, plus one if any rest."""
    whole = cast(value, Integer)
    return whole + case((value > whole, 1), else_=0)


def area_counts(chosen: Selection, level: int) -> dict[str | None, tuple[int, int]]:
    """{P-code: (reports, verified reports)} at admin level 1 or 2. For a viewer who sees
    sensitive reports only at their grid cell, their district is unknown (counted as no area)."""
    code = Report.adm1_pcode if level == 1 else Report.adm2_pcode
    if level != 1 and not sees_exact_locations(chosen.viewer):
        code = case((Report.sensitive.is_(True), None), else_=Report.adm2_pcode)
    code = code.label("pcode")
    verified = func.sum(case((Report.status == "verified", 1), else_=0))
    query = chosen.where(select(code, func.count(), verified).group_by(code))
    return {row[0]: (int(row[1]), int(row[2] or 0)) for row in db.session.execute(query)}


def channel_counts(chosen: Selection) -> dict[str, int]:
    query = chosen.where(select(Report.channel, func.count()).group_by(Report.channel))
    return {row[0]: int(row[1]) for row in db.session.execute(query)}


def total(chosen: Selection) -> tuple[int, int]:
    """(reports, verified reports) of the view."""
    verified = func.sum(case((Report.status == "verified", 1), else_=0))
    row = db.session.execute(chosen.where(select(func.count(), verified))).one()
    return int(row[0]), int(row[1] or 0)


def area_names(crisis: Crisis, level: int) -> dict[str, str]:
    """{P-code: name} of the crisis's admin areas of a level (without their shapes)."""
    query = select(AdminArea.pcode, AdminArea.name).where(AdminArea.crisis_id == crisis.id, AdminArea.level == level)
    return dict(db.session.execute(query).all())

"""The crisis dashboard's numbers. Each is one SQL aggregate, read from one of two places:

- the tallies (`report_tallies`, kept current by database triggers on every insert, change and
  deletion of a report: see migration 0011_desk and wiki.models.ReportTally), a few rows per
  day, sector, province and value, for the views they can answer: a viewer who sees every
  report (verifiers, coordinators, admins), by day, filtered by sector, province and whole days;
- the reports themselves (the covering index `ix_reports_desk`) for every other view: by hour,
  by district, with a minimum score or any other filter of wiki.reports.queries, and for viewers
  who see only some reports (the filters apply the visibility rule).

Both give the same numbers (tests/desk/test_desk.py checks it on both databases). Python only
receives grouped rows, never one per report. Withdrawn reports are never counted.

Time buckets are text, the same on SQLite and PostgreSQL: "2010-01-13" for a day,
"2010-01-13 14" for an hour (UTC). The reports over time, per area and per channel are
counted by when their event happened (the filters' since/until); the backlog by when reports
were received and when they left it, the time to verify by when they were decided, and the
period filter selects those moments for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Float, String, case, cast, func, select

from ..extensions import db
from ..models import AdminArea, Crisis, Report, ReportTally
from ..reports.queries import ReportFilters
from ..visibility import sees_exact_locations, sees_unpublished
from .charts import TallyFilter

UNITS = ("day", "hour")
MAX_BUCKETS = 400  # time charts show at most this many buckets: the most recent ones
DECIDED = ("verified", "refuted")  # a decision on the information (time to verify)
AWAITING = ("new", "under_review")
# A report's wait from receipt to decision, in hours: the upper edges of the bins the time to
# verify is counted in (the last bin is open). The same list as migration 0011_desk's triggers.
WAIT_BINS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 144, 192, 336)


def _dialect() -> str:
    return db.engine.dialect.name


def bucket_of(column, unit: str):
    """SQL: the UTC day ("YYYY-MM-DD") or hour ("YYYY-MM-DD HH") of a datetime column."""
    if _dialect() == "postgresql":
        pattern = "YYYY-MM-DD" if unit == "day" else "YYYY-MM-DD HH24"
        return func.to_char(func.timezone("UTC", column), pattern, type_=String)
    # SQLite keeps UTC datetimes as text, "YYYY-MM-DD HH:MM:SS.ffffff".
    return func.substr(cast(column, String), 1, 10 if unit == "day" else 13, type_=String)


def hours_between(start, end):
    if _dialect() == "postgresql":
        return cast(func.extract("epoch", end - start), Float) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def wait_bin(hours):
    """SQL: the bin of a wait (as the triggers write it: "00" ... "18")."""
    return case(
        *[(hours <= edge + 1e-6, f"{index:02d}") for index, edge in enumerate(WAIT_BINS)],
        else_=f"{len(WAIT_BINS):02d}",
    )


def event_time():
    """When a report's event happened, as the filters' since/until read it."""
    return func.coalesce(Report.occurred_at, Report.received_at)


def left_backlog_at():
    """When a report left the backlog: its first decision; on arrival, for one that came in
    decided (an import); never (NULL) while it waits."""
    return case(
        (Report.triaged_at.is_not(None), Report.triaged_at),
        (Report.status.in_(AWAITING), None),
        else_=Report.received_at,
    )


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
    """The reports of one dashboard view, and whether the tallies can answer for it."""

    crisis: Crisis
    filters: ReportFilters
    viewer: object
    unit: str
    tallied: bool
    province: str | None = None  # the admin-1 P-code of an `adm` filter the tallies answer

    def where(self, query, filters: ReportFilters | None = None):
        query = query.where(Report.crisis_id == self.crisis.id, Report.withdrawn_at.is_(None))
        return (filters or self.filters).apply(query, self.viewer)

    def ids(self):
        return self.where(select(Report.id))

    def where_moment(self, query, column):
        """The view's filters, with its period applied to `column` instead of the event time."""
        query = self.where(query, replace(self.filters, since=None, until=None))
        if self.filters.since:
            query = query.where(column >= self.filters.since)
        if self.filters.until:
            query = query.where(column <= self.filters.until)
        return query

    def tally_filter(self) -> TallyFilter | None:
        """The view's filters on tallies by day, sector and province, when they can answer it."""
        if not self.tallied:
            return None
        return TallyFilter(
            crisis_id=self.crisis.id,
            sectors=tuple(self.filters.sectors or ()),
            province=self.province,
            first_day=self.filters.since.strftime("%Y-%m-%d") if self.filters.since else None,
            last_day=self.filters.until.strftime("%Y-%m-%d") if self.filters.until else None,
        )

    def tally(self, kind: str, *columns):
        """SELECT from the tallies of `kind`, with the view's sectors, province and days."""
        query = select(*columns).where(ReportTally.kind == kind)
        return self.tally_filter().apply(
            query, ReportTally.crisis_id, ReportTally.day, ReportTally.sector, ReportTally.adm1
        )


def _whole_days(filters: ReportFilters) -> bool:
    since_ok = filters.since is None or filters.since.timetz().replace(tzinfo=None) == time.min
    until_ok = filters.until is None or filters.until.time().replace(microsecond=0) == time(23, 59, 59)
    return since_ok and until_ok


def selection(crisis: Crisis, args: Mapping, viewer, unit: str = "day") -> Selection:
    filters = replace(ReportFilters.from_args(args), crisis=None)
    province = None
    simple = not (filters.q or filters.bbox or filters.statuses or filters.channels)
    if filters.adm:
        level = db.session.scalar(
            select(AdminArea.level).where(AdminArea.crisis_id == crisis.id, AdminArea.pcode == filters.adm).limit(1)
        )
        province = filters.adm if level == 1 else None
        simple = simple and province is not None
    # Plugins' own filters (a minimum score) are only known to the reports' queries.
    known = {"sector", "since", "until", "adm", "unit", "level"}
    simple = simple and not any(value for key, value in args.items() if key not in known)
    tallied = (
        simple and unit == "day" and _whole_days(filters) and sees_unpublished(viewer) and sees_exact_locations(viewer)
    )
    return Selection(crisis, filters, viewer, unit, tallied, province)


def counts_by_time(chosen: Selection) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """({(bucket, sector): reports}, {(bucket, status): reports}) by the event time, from one
    aggregate by bucket, sector and status."""
    if chosen.tallied:
        query = chosen.tally(
            "status", ReportTally.day, ReportTally.sector, ReportTally.value, func.sum(ReportTally.n)
        ).group_by(ReportTally.day, ReportTally.sector, ReportTally.value)
    else:
        bucket = bucket_of(event_time(), chosen.unit).label("bucket")
        query = chosen.where(
            select(bucket, Report.sector, Report.status, func.count()).group_by(bucket, Report.sector, Report.status)
        )
    by_sector: dict[tuple[str, str], int] = {}
    by_status: dict[tuple[str, str], int] = {}
    for bucket, sector, status, count in db.session.execute(query):
        if count:
            by_sector[(bucket, sector)] = by_sector.get((bucket, sector), 0) + int(count)
            by_status[(bucket, status)] = by_status.get((bucket, status), 0) + int(count)
    return by_sector, by_status


def backlog(chosen: Selection) -> dict[str, tuple[int, int]]:
    """{bucket: (received, left the backlog)}."""
    moves: dict[str, list[int]] = {}
    if chosen.tallied:
        for kind, index in (("in", 0), ("out", 1)):
            query = chosen.tally(kind, ReportTally.day, func.sum(ReportTally.n)).group_by(ReportTally.day)
            for bucket, count in db.session.execute(query):
                moves.setdefault(bucket, [0, 0])[index] += int(count)
    else:
        for column, index in ((Report.received_at, 0), (left_backlog_at(), 1)):
            bucket = bucket_of(column, chosen.unit).label("bucket")
            query = chosen.where_moment(select(bucket, func.count()), column).where(column.is_not(None))
            for found, count in db.session.execute(query.group_by(bucket)):
                moves.setdefault(found, [0, 0])[index] += int(count)
    return {bucket: (counts[0], counts[1]) for bucket, counts in moves.items() if counts != [0, 0]}


def waits(chosen: Selection) -> dict[str, dict[int, int]]:
    """{bucket of the decision: {wait bin: reports}} for the reports now verified or refuted."""
    found: dict[str, dict[int, int]] = {}
    if chosen.tallied:
        query = chosen.tally("wait", ReportTally.day, ReportTally.value, func.sum(ReportTally.n)).group_by(
            ReportTally.day, ReportTally.value
        )
    else:
        bucket = bucket_of(Report.triaged_at, chosen.unit).label("bucket")
        binned = wait_bin(hours_between(Report.received_at, Report.triaged_at)).label("bin")
        query = (
            chosen.where_moment(select(bucket, binned, func.count()), Report.triaged_at)
            .where(Report.triaged_at.is_not(None), Report.status.in_(DECIDED))
            .group_by(bucket, binned)
        )
    for bucket, index, count in db.session.execute(query):
        if count:
            found.setdefault(bucket, {})[int(index)] = int(count)
    return found


def percentile_hours(histogram: Mapping[int, int], share: float) -> float:
    """The wait (the upper edge of its bin, in hours) within which `share` of the reports were
    decided (nearest rank over the bins; the open last bin counts as its lower edge)."""
    total = sum(histogram.values())
    rank, seen = max(1, math.ceil(share * total)), 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return float(WAIT_BINS[min(index, len(WAIT_BINS) - 1)])
    return float(WAIT_BINS[-1])


def area_counts(chosen: Selection, level: int) -> dict[str | None, tuple[int, int]]:
    """{P-code: (reports, verified reports)} at admin level 1 or 2. For a viewer who sees
    sensitive reports only at their grid cell, their district is unknown (counted as no area)."""
    if chosen.tallied:
        code = ReportTally.adm1 if level == 1 else ReportTally.value
        query = chosen.tally(
            "status" if level == 1 else "district", code, func.sum(ReportTally.n), func.sum(ReportTally.v)
        ).group_by(code)
        found: dict[str | None, tuple[int, int]] = {}
        for pcode, count, verified in db.session.execute(query):
            if count:
                found[pcode or None] = (int(count), int(verified or 0))
        return found
    code = Report.adm1_pcode if level == 1 else Report.adm2_pcode
    if level != 1 and not sees_exact_locations(chosen.viewer):
        code = case((Report.sensitive.is_(True), None), else_=Report.adm2_pcode)
    code = code.label("pcode")
    verified = func.sum(case((Report.status == "verified", 1), else_=0))
    query = chosen.where(select(code, func.count(), verified).group_by(code))
    return {row[0]: (int(row[1]), int(row[2] or 0)) for row in db.session.execute(query)}


def channel_counts(chosen: Selection) -> dict[str, int]:
    if chosen.tallied:
        query = chosen.tally("channel", ReportTally.value, func.sum(ReportTally.n)).group_by(ReportTally.value)
    else:
        query = chosen.where(select(Report.channel, func.count()).group_by(Report.channel))
    return {row[0]: int(row[1]) for row in db.session.execute(query) if row[1]}


def area_names(crisis: Crisis, level: int) -> dict[str, str]:
    """{P-code: name} of the crisis's admin areas of a level (without their shapes)."""
    query = select(AdminArea.pcode, AdminArea.name).where(AdminArea.crisis_id == crisis.id, AdminArea.level == level)
    return dict(db.session.execute(query).all())

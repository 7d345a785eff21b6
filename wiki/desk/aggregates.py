"""The crisis dashboard's numbers. Each is one SQL aggregate, read from one of two places:

- the tallies (`report_tallies` by the day and `report_hour_tallies` by the hour, kept current by
  database triggers on every insert, change and deletion of a report: see migrations 0011_desk
  and 0014_desk_hours, wiki.models.ReportTally and ReportHourTally), a few rows per day (or
  hour), sector, province and value, for the views they can answer: a viewer who sees every
  report (verifiers, coordinators, admins), filtered by sector, province and a period of whole
  days (whole hours, for the counts over time by the hour);
- the reports themselves (the covering index `ix_reports_desk`) for every other view: by
  district, with a minimum score or any other filter of wiki.reports.queries, and for viewers
  who see only some reports (the filters apply the visibility rule).

Both give the same numbers (tests/desk/test_desk.py checks it on both databases). Python only
receives grouped rows, never one per report. Withdrawn reports are never counted. The charts over
time show at most MAX_BUCKETS buckets, the latest: the tallies are read for those only (and for
the totals, and the backlog before them), as a chart by the hour over two months shows 400 of
1,440 hours; the reports are read once and cut the same way.

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
from sqlalchemy.sql.functions import FunctionElement

from .. import plugins
from ..extensions import db
from ..models import AdminArea, Crisis, Report, ReportHourTally, ReportTally
from ..reports.queries import ReportFilters
from ..visibility import sees_exact_locations, sees_unpublished
from .charts import TallyFilter, TallySource

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
    """since and until (both inclusive, as the filters read them) of one bucket ("2010-01-13" or
    "2010-01-13 14"), from its text (a chart by the hour has hundreds)."""
    if unit == "day":
        return f"{label}T00:00:00Z", f"{label}T23:59:59Z"
    return f"{label[:10]}T{label[11:13]}:00:00Z", f"{label[:10]}T{label[11:13]}:59:59Z"


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
    tallied: bool  # the tallies by the day answer (a period of whole days)
    province: str | None = None  # the admin-1 P-code of an `adm` filter the tallies answer
    hourly: bool = False  # the tallies by the hour answer the counts over time (by the hour, whole hours)
    source: TallySource | None = None  # a plugin's tallies that answer its filters (in place of report_tallies)

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
        return self._narrowed("day") if self.tallied else None

    def _narrowed(self, unit: str) -> TallyFilter:
        fmt = "%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H"  # a bucket of the tallies by `unit`
        since, until = self.filters.since, self.filters.until
        return TallyFilter(
            crisis_id=self.crisis.id,
            sectors=tuple(self.filters.sectors or ()),
            province=self.province,
            first_day=since.strftime(fmt) if since else None,
            last_day=until.strftime(fmt) if until else None,
            source=self.source,
        )

    def tallies(self, unit: str):
        """(table, its bucket column) of the tallies that answer the view's counts by `unit`
        ("day": also those that are not over time), or None. With a plugin's filters, the
        plugin's tallies (its condition on them: TallyFilter.apply)."""
        if unit == "day" and self.tallied:
            table = ReportTally if self.source is None else self.source.table
            return table, table.day
        if unit == "hour" and self.hourly:
            table = ReportHourTally if self.source is None else self.source.hour_table
            return table, table.hour
        return None

    def over_time(self):
        return self.tallies(self.unit)

    def tally(
        self,
        kind: str,
        columns,
        unit: str = "day",
        first: str | None = None,
        nonzero: bool = False,
        before: str | None = None,
    ):
        """SELECT from the tallies by `unit` of `kind` (columns: a function of the table and its
        bucket column, giving the keys and then the sums), with the view's sectors, province and
        period, grouped by the keys; from the bucket `first` on only, or `before` it only; of the
        rows that count reports only (`nonzero`: a row that went back to zero stays)."""
        table, bucket = self.tallies(unit)
        wanted = columns(table, bucket)
        keys = [column for column in wanted if not isinstance(column, FunctionElement)]
        query = select(*wanted).where(table.kind == kind).group_by(*keys)
        if first is not None:
            query = query.where(bucket >= first)
        if before is not None:
            query = query.where(bucket < before)
        if nonzero:
            query = query.where(table.n != 0)
        return self._narrowed(unit).apply(query, table.crisis_id, bucket, table.sector, table.adm1)


def _whole(filters: ReportFilters, unit: str) -> bool:
    """Whether the period starts and ends on whole days (or hours), as the tallies count them."""
    since, until = filters.since, filters.until
    if unit == "day":
        since_ok = since is None or since.timetz().replace(tzinfo=None) == time.min
        until_ok = until is None or until.time().replace(microsecond=0) == time(23, 59, 59)
    else:
        since_ok = since is None or (since.minute, since.second, since.microsecond) == (0, 0, 0)
        until_ok = until is None or (until.minute, until.second) == (59, 59)
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
    simple = simple and sees_unpublished(viewer) and sees_exact_locations(viewer)
    # Plugins' own filters (a minimum score) are known to the reports' queries, and to the
    # tallies of the plugin that keeps them, when it says they answer the view exactly.
    known = {"sector", "since", "until", "adm", "unit", "level"}
    own = {key: str(value) for key, value in args.items() if key not in known and value}
    source = None
    if own and simple:
        found = plugins.call("dashboard_tallies", args=own, viewer=viewer)
        source = found[0] if len(found) == 1 else None
        simple = source is not None
    tallied = simple and _whole(filters, "day")
    hourly = simple and unit == "hour" and _whole(filters, "hour") and (source is None or source.hour_table is not None)
    return Selection(crisis, filters, viewer, unit, tallied, province, hourly, source)


@dataclass(frozen=True)
class OverTime:
    """The reports over time of a view, in the buckets its charts show (at most MAX_BUCKETS: a
    chart by the hour over two months shows the last 400 of 1,440), and its totals."""

    labels: list[str]  # every bucket shown, from the first to the last (zeros included)
    by_sector: dict[tuple[str, str], int]  # {(bucket, sector): reports}, in those buckets
    by_status: dict[tuple[str, str], int]  # {(bucket, status): reports}, in those buckets
    totals: dict[str, int]  # {status: reports} of the whole view


def counts_by_time(chosen: Selection) -> OverTime:
    """The view's reports by the event time. From the tallies: the first and last bucket, then one
    aggregate by bucket and sector and one by bucket and status over the buckets shown only, and
    the totals by status; from the reports, one aggregate by bucket, sector and status (one
    reading of the reports), cut to the buckets shown."""
    if chosen.over_time():
        span = chosen.tally(
            "status", lambda table, bucket: (func.min(bucket), func.max(bucket)), chosen.unit, nonzero=True
        )
        labels = all_buckets({found for found in db.session.execute(span).one() if found is not None}, chosen.unit)
        found = []
        for key in ("sector", "value"):
            query = chosen.tally(
                "status",
                lambda table, bucket, key=key: (bucket, getattr(table, key), func.sum(table.n)),
                chosen.unit,
                first=labels[0] if labels else None,
            )
            found.append({(bucket, value): int(count) for bucket, value, count in db.session.execute(query) if count})
        query = chosen.tally("status", lambda table, _bucket: (table.value, func.sum(table.n)), chosen.unit)
        totals = {status: int(count) for status, count in db.session.execute(query) if count}
        return OverTime(labels, found[0], found[1], totals)
    bucket = bucket_of(event_time(), chosen.unit).label("bucket")
    query = chosen.where(
        select(bucket, Report.sector, Report.status, func.count()).group_by(bucket, Report.sector, Report.status)
    )
    by_sector: dict[tuple[str, str], int] = {}
    by_status: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {}
    for bucket, sector, status, count in db.session.execute(query):
        if count:
            by_sector[(bucket, sector)] = by_sector.get((bucket, sector), 0) + int(count)
            by_status[(bucket, status)] = by_status.get((bucket, status), 0) + int(count)
            totals[status] = totals.get(status, 0) + int(count)
    labels = all_buckets({bucket for bucket, _sector in by_sector}, chosen.unit)
    shown = labels[0] if labels else ""
    return OverTime(
        labels,
        {key: count for key, count in by_sector.items() if key[0] >= shown},
        {key: count for key, count in by_status.items() if key[0] >= shown},
        totals,
    )


@dataclass(frozen=True)
class Backlog:
    """The verification backlog of a view and its time to verify, in the buckets its charts show
    (at most MAX_BUCKETS, the latest, of the moments reports were received, left the backlog and
    were decided)."""

    labels: list[str]  # every bucket shown, from the first to the last (zeros included)
    moves: dict[str, tuple[int, int]]  # {bucket: (received, left the backlog)}, in those buckets
    earlier: int  # received less left the backlog, in the buckets before them
    waits: dict[str, dict[int, int]]  # {bucket of the decision: {wait bin: reports}}, in those buckets


def backlog(chosen: Selection) -> Backlog:
    """From the tallies: the first and last bucket of the moves and decisions, then the moves and
    the waits of the buckets shown and the sum of the moves before them; from the reports, every
    bucket (cut after reading). Waits: of the reports now verified or refuted."""
    if chosen.over_time():
        ends: set[str] = set()
        for kind in ("in", "out", "wait"):
            span = chosen.tally(
                kind, lambda _t, bucket: (func.min(bucket), func.max(bucket)), chosen.unit, nonzero=True
            )
            ends.update(found for found in db.session.execute(span).one() if found is not None)
        labels = all_buckets(ends, chosen.unit)
        first = labels[0] if labels else None
        moves: dict[str, list[int]] = {}
        earlier = 0
        for kind, index in (("in", 0), ("out", 1)):
            query = chosen.tally(kind, lambda table, bucket: (bucket, func.sum(table.n)), chosen.unit, first=first)
            for bucket, count in db.session.execute(query):
                moves.setdefault(bucket, [0, 0])[index] += int(count)
            if first is not None:
                before = chosen.tally(kind, lambda table, _bucket: (func.sum(table.n),), chosen.unit, before=first)
                earlier += (1 if index == 0 else -1) * int(db.session.scalar(before) or 0)
        query = chosen.tally(
            "wait", lambda table, bucket: (bucket, table.value, func.sum(table.n)), chosen.unit, first=first
        )
        waits: dict[str, dict[int, int]] = {}
        for bucket, index, count in db.session.execute(query):
            if count:
                waits.setdefault(bucket, {})[int(index)] = int(count)
        shown = {bucket: (counts[0], counts[1]) for bucket, counts in moves.items() if counts != [0, 0]}
        return Backlog(labels, shown, earlier, waits)
    every_move: dict[str, list[int]] = {}
    for column, index in ((Report.received_at, 0), (left_backlog_at(), 1)):
        bucket = bucket_of(column, chosen.unit).label("bucket")
        query = chosen.where_moment(select(bucket, func.count()), column).where(column.is_not(None))
        for found, count in db.session.execute(query.group_by(bucket)):
            every_move.setdefault(found, [0, 0])[index] += int(count)
    bucket = bucket_of(Report.triaged_at, chosen.unit).label("bucket")
    binned = wait_bin(hours_between(Report.received_at, Report.triaged_at)).label("bin")
    query = (
        chosen.where_moment(select(bucket, binned, func.count()), Report.triaged_at)
        .where(Report.triaged_at.is_not(None), Report.status.in_(DECIDED))
        .group_by(bucket, binned)
    )
    every_wait: dict[str, dict[int, int]] = {}
    for found, index, count in db.session.execute(query):
        if count:
            every_wait.setdefault(found, {})[int(index)] = int(count)
    moved = {bucket: counts for bucket, counts in every_move.items() if counts != [0, 0]}
    labels = all_buckets(set(moved) | set(every_wait), chosen.unit)
    first = labels[0] if labels else ""
    return Backlog(
        labels,
        {bucket: (a, b) for bucket, (a, b) in moved.items() if bucket >= first},
        sum(a - b for bucket, (a, b) in moved.items() if bucket < first),
        {bucket: bins for bucket, bins in every_wait.items() if bucket >= first},
    )


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
        query = chosen.tally(
            "status" if level == 1 else "district",
            lambda table, _day: (table.adm1 if level == 1 else table.value, func.sum(table.n), func.sum(table.v)),
        )
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
        query = chosen.tally("channel", lambda table, _day: (table.value, func.sum(table.n)))
    else:
        query = chosen.where(select(Report.channel, func.count()).group_by(Report.channel))
    return {row[0]: int(row[1]) for row in db.session.execute(query) if row[1]}


def area_names(crisis: Crisis, level: int) -> dict[str, str]:
    """{P-code: name} of the crisis's admin areas of a level (without their shapes)."""
    query = select(AdminArea.pcode, AdminArea.name).where(AdminArea.crisis_id == crisis.id, AdminArea.level == level)
    return dict(db.session.execute(query).all())

"""The crisis dashboard: the charts of one view (crisis, filters, time unit, admin level), the
core's from wiki.desk.aggregates and the plugins' from the `dashboard_charts` hook, in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlencode

from flask import url_for
from flask_babel import gettext as _

from .. import plugins
from ..errors import InvalidInput
from ..models import Crisis
from ..models.reports import SECTORS, STATUSES
from ..vocabulary import label
from . import aggregates as agg
from .charts import Chart, Scope, Series, link_matrix

# The filters a dashboard view keeps in its URL (the map's and the search's), and its own settings.
FILTER_PARAMS = ("sector", "status", "since", "until", "adm", "min_score", "max_score", "q", "channel")
VIEW_PARAMS = ("unit", "level")


@dataclass(frozen=True)
class Dashboard:
    crisis: Crisis
    args: dict[str, str]  # the view's parameters, as in its URL
    unit: str
    level: int
    reports: int
    verified: int
    charts: list[Chart]
    scope: Scope
    list_url: str  # the report list, which the links behind the numbers narrow
    # The query strings of the charts' category filters, encoded once for the charts that share them.
    encoded: dict[tuple, str] = field(default_factory=dict)

    def links(self, chart: Chart) -> list[list[str | None]]:
        """[series][category]: the report list behind each number of `chart`."""
        view = {key: value for key, value in self.args.items() if key in FILTER_PARAMS}
        return link_matrix(chart, self.list_url, view, self.encoded)


def view_args(args: Mapping) -> dict[str, str]:
    """The dashboard's own parameters of a request (empty ones dropped), in a fixed order."""
    found = {}
    for name in FILTER_PARAMS + VIEW_PARAMS:
        value = args.get(name)
        if value not in (None, ""):
            found[name] = str(value)
    if len(found.get("until", "")) == 10:  # a day from the date field: through its end
        found["until"] += "T23:59:59Z"
    return found


def reports_link(base: str, args: Mapping[str, str], params: Mapping[str, str]) -> str:
    """The report list (`base`) with the view's filters and a chart's own (a bar, an area); a
    bucket's since and until replace the view's period."""
    merged = {key: value for key, value in args.items() if key in FILTER_PARAMS}
    merged.update(params)
    query = urlencode(merged)
    return base + ("?" + query if query else "")


def build(crisis: Crisis, request_args: Mapping, viewer) -> Dashboard:
    args = view_args(request_args)
    unit = args.get("unit", "day")
    if unit not in agg.UNITS:
        raise InvalidInput(_("unit is day or hour."), field="unit")
    level_text = args.get("level", "1")
    if level_text not in ("1", "2"):
        raise InvalidInput(_("level is 1 or 2."), field="level")
    level = int(level_text)
    chosen = agg.selection(crisis, {k: v for k, v in args.items() if k in FILTER_PARAMS}, viewer, unit)
    list_url = url_for("reports.index", crisis_slug=crisis.slug)
    scope = Scope(
        crisis=crisis,
        viewer=viewer,
        args=args,
        report_ids=chosen.ids(),
        where=chosen.where,
        unit=unit,
        bucket=lambda column: agg.bucket_of(column, unit),
        bucket_label=lambda text: text if unit == "day" else text + ":00",
        link=partial(reports_link, list_url, args),
        tallies=chosen.tally_filter(),
    )
    over_time = agg.counts_by_time(chosen)
    reports, verified = sum(over_time.totals.values()), over_time.totals.get("verified", 0)
    charts = [
        *time_charts(over_time, unit),
        *backlog_charts(chosen, unit),
        area_chart(chosen, level),
        channel_chart(chosen),
    ]
    for found in plugins.call("dashboard_charts", scope=scope):
        charts.extend(found or [])
    charts.sort(key=lambda chart: (chart.order, chart.title))
    return Dashboard(crisis, args, unit, level, reports, verified, charts, scope, list_url)


def _time_params(labels: list[str], unit: str) -> list[dict[str, str]]:
    return [dict(zip(("since", "until"), agg.bucket_range(text, unit), strict=True)) for text in labels]


def _shown(labels: list[str], unit: str) -> list[str]:
    return labels if unit == "day" else [text + ":00" for text in labels]


def time_charts(over_time: agg.OverTime, unit: str) -> list[Chart]:
    labels, by_sector, by_status = over_time.labels, over_time.by_sector, over_time.by_status
    params = _time_params(labels, unit)
    when = _("Hour (UTC)") if unit == "hour" else _("Day")
    note = _("By when it happened (or was received, when the report does not say).")
    sectors = [key for key in SECTORS if any((b, key) in by_sector for b in labels)]
    statuses = [key for key in STATUSES if any((b, key) in by_status for b in labels)]
    return [
        Chart(
            key="reports_by_sector",
            title=_("Reports over time, by sector"),
            kind="stacked_bar",
            category_label=when,
            categories=_shown(labels, unit),
            series=[
                Series(key, _(SECTORS[key]), [by_sector.get((b, key), 0) for b in labels], {"sector": key})
                for key in sectors
            ],
            category_params=params,
            unit=_("reports"),
            note=note,
            order=10,
        ),
        Chart(
            key="reports_by_status",
            title=_("Reports over time, by triage status"),
            kind="stacked_bar",
            category_label=when,
            categories=_shown(labels, unit),
            series=[
                Series(key, label("status", key), [by_status.get((b, key), 0) for b in labels], {"status": key})
                for key in statuses
            ],
            category_params=params,
            unit=_("reports"),
            note=note,
            order=20,
        ),
    ]


def backlog_charts(chosen: agg.Selection, unit: str) -> list[Chart]:
    found = agg.backlog(chosen)
    labels, moves = found.labels, found.moves
    decided = {
        bucket: (sum(h.values()), agg.percentile_hours(h, 0.5), agg.percentile_hours(h, 0.9))
        for bucket, h in found.waits.items()
    }
    when = _("Hour (UTC)") if unit == "hour" else _("Day")
    # The backlog at the end of each bucket: a running total over the buckets (at most MAX_BUCKETS;
    # the moves of earlier buckets, when there are more, are summed first).
    waiting, last = [], found.earlier
    for bucket in labels:
        arrived, left = moves.get(bucket, (0, 0))
        last += arrived - left
        waiting.append(last)
    return [
        Chart(
            key="backlog",
            title=_("Verification backlog"),
            kind="line",
            category_label=when,
            categories=_shown(labels, unit),
            series=[
                Series("waiting", _("Waiting at the end"), waiting),
                Series("arrived", _("Received"), [moves.get(b, (0, 0))[0] for b in labels]),
                Series("left", _("Left the backlog"), [moves.get(b, (0, 0))[1] for b in labels]),
            ],
            category_params=[None] * len(labels),
            unit=_("reports"),
            note=_(
                "A report waits from when it is received until it first leaves “new” and “under review”; "
                "by when it was received and decided."
            ),
            order=30,
        ),
        Chart(
            key="time_to_verify",
            title=_("Time to verify"),
            kind="line",
            category_label=when,
            categories=_shown(labels, unit),
            series=[
                Series("median", _("Median (hours)"), [decided[b][1] if b in decided else None for b in labels]),
                Series("p90", _("90th percentile (hours)"), [decided[b][2] if b in decided else None for b in labels]),
                Series("decided", _("Decisions"), [decided[b][0] if b in decided else 0 for b in labels], axis="y1"),
            ],
            category_params=[None] * len(labels),
            unit=_("hours"),
            note=_(
                "From receipt to the first decision, for reports now verified or refuted; by the day of the decision."
            ),
            order=40,
        ),
    ]


def area_chart(chosen: agg.Selection, level: int) -> Chart:
    counts = agg.area_counts(chosen, level)
    names = agg.area_names(chosen.crisis, level)
    codes = sorted((code for code in counts if code is not None), key=lambda code: (-counts[code][0], code))
    return Chart(
        key="areas",
        title=_("Reports per admin area"),
        kind="choropleth",
        category_label=_("Area"),
        categories=[names.get(code, code) for code in codes],
        series=[
            Series("reports", _("Reports"), [counts[code][0] for code in codes]),
            Series("verified", _("Verified"), [counts[code][1] for code in codes], {"status": "verified"}),
        ],
        category_params=[{"adm": code} for code in codes],
        extra_columns=[(_("P-code"), codes)],
        unit=_("reports"),
        note=_("%(n)d reports have no admin area.", n=counts.get(None, (0, 0))[0]) if None in counts else "",
        order=50,
        area_level=level,
    )


def channel_chart(chosen: agg.Selection) -> Chart:
    counts = agg.channel_counts(chosen)
    channels = sorted(counts, key=lambda key: (-counts[key], key))
    return Chart(
        key="channels",
        title=_("Channel mix"),
        kind="bar",
        category_label=_("Channel"),
        categories=[label("channel", key) for key in channels],
        series=[Series("reports", _("Reports"), [counts[key] for key in channels])],
        category_params=[{"channel": key} for key in channels],
        unit=_("reports"),
        order=60,
    )

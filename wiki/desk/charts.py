"""What a dashboard chart is: categories (the x axis, or the rows of its table), series of numbers
(one per stack or bar colour), and for each number the filters that open the reports behind it.

Every chart is data only: the server computes the numbers (wiki.desk.aggregates, and plugins
through the `dashboard_charts` hook); the page shows each as a table and hands the same numbers to
Chart.js (static/js/dashboard.js), and the CSV download writes the table. Nothing is drawn by hand.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select

from ..models import Crisis, ReportTally

KINDS = ("stacked_bar", "bar", "hbar", "line", "choropleth", "table")


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: list[float | int | None]
    # Filters that narrow the reports to this series (e.g. {"sector": "health"}), for the links.
    params: Mapping[str, str] = field(default_factory=dict)
    axis: str = "y"  # "y1": drawn against a second scale (e.g. a count beside hours)


@dataclass(frozen=True)
class Chart:
    key: str  # unique on the page: its anchor, its CSV's name
    title: str
    kind: str  # one of KINDS
    category_label: str  # the header of the table's first column
    categories: list[str]  # as shown
    series: list[Series]
    # Filters that narrow the reports to each category (e.g. {"since": ..., "until": ...}); None:
    # no list of reports matches it (a median, a backlog at a moment).
    category_params: list[Mapping[str, str] | None] = field(default_factory=list)
    unit: str = ""  # what the numbers count, e.g. "reports", "hours"
    note: str = ""  # a sentence under the chart: how the numbers are made
    order: int = 100  # charts are shown by this, then by title
    extra_columns: list[tuple[str, list[str]]] = field(default_factory=list)  # text columns of the table only
    area_level: int | None = None  # a choropleth's admin level

    def cell_params(self, category: int, series: int) -> dict[str, str] | None:
        """The filters of one number (None: no report list matches it)."""
        if self.category_params and self.category_params[category] is None:
            return None
        params = dict(self.category_params[category] if self.category_params else {})
        params.update(self.series[series].params)
        return params

    def rows(self) -> list[list[Any]]:
        """The table: one row per category, its label, the text columns, then one value per series."""
        return [
            [label]
            + [column[index] for _name, column in self.extra_columns]
            + [series.values[index] for series in self.series]
            for index, label in enumerate(self.categories)
        ]

    def header(self) -> list[str]:
        return [self.category_label] + [name for name, _column in self.extra_columns] + [s.label for s in self.series]


@dataclass(frozen=True)
class TallySource:
    """Tallies a plugin keeps that answer a view with the plugin's own filters (e.g. a minimum
    score), from the `dashboard_tallies` hook: `table`, a model with the columns of the core's
    `report_tallies` (crisis_id, kind, day, sector, adm1, value, n, v) and keys of its own, and
    `where`, the condition on its own keys that selects the view's reports (e.g. score bands);
    `hour_table` and `hour_where`, the same by the hour (the columns of `report_hour_tallies`),
    when it keeps them; `others`, ((model, condition), ...): its other tallies by day, sector and
    province that answer the view (e.g. its score tallies, by band)."""

    table: Any
    where: Any
    hour_table: Any = None
    hour_where: Any = None
    others: tuple[tuple[Any, Any], ...] = ()

    def condition(self, table) -> Any:
        """The condition that narrows `table` (a model) to the view's reports. LookupError when
        `table` cannot answer the view (its counts know nothing of the plugin's filters)."""
        for found, where in ((self.table, self.where), (self.hour_table, self.hour_where), *self.others):
            if found is not None and found is table:
                return where
        name = getattr(table, "__tablename__", table)
        raise LookupError(
            f"{name} does not answer a dashboard view with a plugin's filters; read scope.tallies.table "
            f"({self.table.__tablename__}), the core's counts with them"
        )


@dataclass(frozen=True)
class TallyFilter:
    """The filters of a view that tallies kept by day, sector and province can answer (see
    wiki.desk.aggregates.selection): the core's `report_tallies` and a plugin's own (e.g. the
    validation plugin's score tallies) apply it to their columns of the same meaning. On a view
    with a plugin's own filters (a minimum score), `source` is that plugin's tallies: `table` is
    then its model of the core's counts, and `apply` adds its condition (or refuses a table that
    cannot answer), so that no chart counts reports the view leaves out."""

    crisis_id: int
    sectors: tuple[str, ...] = ()
    province: str | None = None  # an admin-1 P-code
    first_day: str | None = None  # YYYY-MM-DD, inclusive
    last_day: str | None = None
    source: TallySource | None = None

    @property
    def table(self) -> Any:
        """The tallies of the core's counts (kinds "status", "channel", "district", "in", "out",
        "wait", by day) that answer the view: `report_tallies`, or the plugin's for its filters."""
        return ReportTally if self.source is None else self.source.table

    def apply(self, query: Select, crisis_id, day, sector, adm1) -> Select:
        """`query` narrowed to the view, on a tally table's columns (with the plugin's condition on
        its own keys, when the view has its filters; LookupError for tallies that cannot answer)."""
        query = query.where(crisis_id == self.crisis_id)
        if self.source is not None:
            query = query.where(self.source.condition(_model_of(crisis_id)))
        if self.sectors:
            query = query.where(sector.in_(self.sectors))
        if self.province is not None:
            query = query.where(adm1 == self.province)
        if self.first_day:
            query = query.where(day >= self.first_day)
        if self.last_day:
            query = query.where(day <= self.last_day)
        return query


def _model_of(column) -> Any:
    """The model (or table) a column belongs to."""
    return getattr(column, "class_", None) or column.table


@dataclass(frozen=True)
class Scope:
    """What one dashboard view looks at, for the charts of the core and of plugins.

    `report_ids` selects the ids of the reports the viewer may see that match the filters
    (never a withdrawn one), and `where(query)` narrows a query that reads Report (e.g. a join
    with a plugin's table) to them; `bucket(column)` is SQL for the time bucket (hour or day) of a
    datetime column, as text; `link(params)` the address of the report list for a chart's
    number, with the view's own filters; `tallies`, when tallies can answer for the view, its
    filters on them (the same numbers as `where`, tests/test_desk.py checks it)."""

    crisis: Crisis
    viewer: Any
    args: Mapping[str, str]  # the view's filters, as in its URL
    report_ids: Select
    where: Callable[[Select], Select]  # narrows a query over Report to the view's reports
    unit: str  # "hour" or "day"
    bucket: Callable[[Any], Any]
    bucket_label: Callable[[str], str]
    link: Callable[[Mapping[str, str]], str]
    # Set when tallies can answer for the view (a viewer who sees every report but withdrawn
    # ones, filtered only by sector, province, whole days and the filters of a plugin whose own
    # tallies answer them, `dashboard_tallies`): their filters, and which tallies answer
    # (`scope.tallies.table`: report_tallies, or the plugin's with its filters).
    tallies: TallyFilter | None = None


def to_csv(chart: Chart) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(chart.header())
    for row in chart.rows():
        writer.writerow(["" if value is None else _plain(value) for value in row])
    return out.getvalue()


def _plain(value: Any) -> Any:
    text = str(value)
    # A cell a spreadsheet would run as a formula is written as text (CSV injection).
    return "'" + text if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def link_matrix(
    chart: Chart, base: str, view: Mapping[str, str], encoded: dict[tuple, str] | None = None
) -> list[list[str | None]]:
    """[series][category]: the address of the report list behind each number (None: none). The
    view's filters, then the category's and the series' own (which replace the view's of the
    same name), each encoded once (`encoded`: the query strings of category filters already
    encoded, shared by charts of the same categories)."""
    encoded = {} if encoded is None else encoded
    categories = []
    for params in chart.category_params or [{}] * len(chart.categories):
        if params is None:
            categories.append(None)
            continue
        key = tuple(params.items())
        if key not in encoded:
            encoded[key] = urlencode(params)
        categories.append((params, encoded[key]))
    matrix = []
    for series in chart.series:
        own = urlencode(series.params)
        row: list[str | None] = []
        view_parts: dict[frozenset, str] = {}
        for category in categories:
            if category is None:
                row.append(None)
                continue
            keys = frozenset(category[0]) | frozenset(series.params)
            if keys not in view_parts:
                view_parts[keys] = urlencode({k: v for k, v in view.items() if k not in keys})
            query = "&".join(part for part in (view_parts[keys], category[1], own) if part)
            row.append(base + ("?" + query if query else ""))
        matrix.append(row)
    return matrix


def to_json(chart: Chart, links: list[list[str | None]] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": chart.key,
        "title": chart.title,
        "kind": chart.kind,
        "unit": chart.unit,
        "note": chart.note,
        "category_label": chart.category_label,
        "categories": chart.categories,
        "series": [{"key": s.key, "label": s.label, "values": s.values, "axis": s.axis} for s in chart.series],
    }
    if chart.extra_columns:
        data["columns"] = [{"label": name, "values": values} for name, values in chart.extra_columns]
    if chart.area_level is not None:
        data["area_level"] = chart.area_level
    if links is not None:
        data["links"] = links
    return data

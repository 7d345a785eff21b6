"""Filtering report lists: one parser for the query string of the API, the triage queue, the
map and the exports, so `?sector=health&bbox=...` means the same everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from .. import plugins
from ..errors import InvalidInput
from ..models import Crisis, Report
from ..models.reports import CHANNELS, SECTORS, STATUSES
from ..visibility import sees_exact_locations, visible_reports
from .input import parse_datetime


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        west, south, east, north = (float(part) for part in value.split(","))
    except ValueError:
        raise InvalidInput(_("bbox is west,south,east,north in degrees."), field="bbox")
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidInput(_("bbox is outside the world or south is above north."), field="bbox")
    return west, south, east, north


def _choices(values: list[str], allowed, field: str) -> list[str]:
    chosen = [v for value in values for v in value.split(",") if v]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise InvalidInput(
            _("Unknown %(field)s %(value)r; use: %(list)s.", field=field, value=unknown[0], list=", ".join(allowed)),
            field=field,
        )
    return chosen


def _getlist(args, name: str) -> list[str]:
    if hasattr(args, "getlist"):
        return args.getlist(name)
    value = args.get(name)
    return [value] if value else []


@dataclass
class ReportFilters:
    crisis: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    q: str = ""
    sectors: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    adm: str | None = None
    extra: Mapping[str, str] | None = None  # parameters for plugins (e.g. min_score)

    @classmethod
    def from_args(cls, args, crisis: str | None = None) -> ReportFilters:
        since = parse_datetime(args.get("since"), "since", allow_future=True)
        until = parse_datetime(args.get("until"), "until", allow_future=True)
        if since and until and since > until:
            raise InvalidInput(_("since is after until."), field="since")
        q = (args.get("q") or "").strip()
        if len(q) > 500:
            raise InvalidInput(_("The search text is longer than 500 characters."), field="q")
        return cls(
            crisis=crisis or args.get("crisis") or None,
            bbox=parse_bbox(args.get("bbox")),
            q=q,
            sectors=tuple(_choices(_getlist(args, "sector"), SECTORS, "sector")),
            statuses=tuple(_choices(_getlist(args, "status"), STATUSES, "status")),
            channels=tuple(_choices(_getlist(args, "channel"), CHANNELS, "channel")),
            since=since,
            until=until,
            adm=args.get("adm") or None,
            extra=args,
        )

    def apply(self, query: Select, viewer) -> Select:
        query = visible_reports(query, viewer)
        exact = sees_exact_locations(viewer)
        if self.crisis:
            query = query.join(Crisis, Crisis.id == Report.crisis_id).where(Crisis.slug == self.crisis)
        if self.bbox:
            from ..maps.spatial import coarsening_margin, display_position, in_box

            if exact:
                query = query.where(in_box(Report.lon, Report.lat, self.bbox))
            else:
                # Sensitive reports are found where the viewer sees them (their coarsened
                # point), never by their exact one: a tiny bbox must not reveal where they are.
                # (The first test lets the planner use the indexes on the exact point.)
                grid = current_app.config["SENSITIVE_GRID_KM"]
                public_lon, public_lat = display_position(False)
                query = query.where(
                    in_box(Report.lon, Report.lat, coarsening_margin(self.bbox, grid)),
                    in_box(public_lon, public_lat, self.bbox),
                )
        if self.sectors:
            query = query.where(Report.sector.in_(self.sectors))
        if self.statuses:
            query = query.where(Report.status.in_(self.statuses))
        if self.channels:
            query = query.where(Report.channel.in_(self.channels))
        if self.since:
            query = query.where(func.coalesce(Report.occurred_at, Report.received_at) >= self.since)
        if self.until:
            query = query.where(func.coalesce(Report.occurred_at, Report.received_at) <= self.until)
        if self.adm:
            query = query.where(adm_condition(self.adm, exact))
        if self.q:
            pattern = "%" + self.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            in_place = func.lower(Report.place_name).like(pattern, escape="\\")
            if not exact:  # a sensitive report's place name is not the public's to search
                in_place = and_(in_place, Report.sensitive.is_(False))
            query = query.where(
                or_(
                    func.lower(Report.title).like(pattern, escape="\\"),
                    func.lower(Report.description).like(pattern, escape="\\"),
                    in_place,
                )
            )
        return query.where(*plugin_conditions(self.extra or {}, viewer))


def plugin_conditions(params: Mapping[str, str], viewer) -> list[ColumnElement[bool]]:
    """The conditions plugins add to report queries from their own parameters (filter_reports)."""
    return plugins.call("filter_reports", params=params, viewer=viewer)


def adm_condition(pcode: str, exact: bool) -> ColumnElement[bool]:
    """Reports in admin area `pcode` (level 1 or 2). For a viewer who sees sensitive reports
    only at their grid cell, their district is unknown: they match by province only."""
    in_district = Report.adm2_pcode == pcode
    if not exact:
        in_district = and_(in_district, Report.sensitive.is_(False))
    return or_(Report.adm1_pcode == pcode, in_district)


def report_list_query(filters: ReportFilters, viewer, newest_first: bool = True) -> Select:
    query = select(Report).options(
        selectinload(Report.photos), selectinload(Report.crisis), selectinload(Report.source)
    )
    query = filters.apply(query, viewer)
    return query.order_by(Report.id.desc() if newest_first else Report.id)

"""The Matrix's related-reports finder: the reports within a radius (1-100 km) of a point or of
a report, in a date range and a sector, nearest first, with their grades.

It shows reports as the viewer may see them: unpublished ones only to those who may, and a
sensitive report's distance measured from its public, coarsened place (so that the finder
cannot be used to narrow down where it really is)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from wiki.database import fits_id
from wiki.errors import InvalidInput, NotFound
from wiki.extensions import db
from wiki.models import Crisis, Report
from wiki.models.reports import SECTORS
from wiki.reports.input import parse_datetime
from wiki.toolkit import bounding_box, haversine_km
from wiki.visibility import report_place, report_visible, visible_reports

from .access import can_see_scores
from .matrix import verdict
from .models import ReportScore
from .presentation import assessment

MAX_RESULTS = 500


@dataclass
class FinderQuery:
    lat: float
    lon: float
    radius_km: float
    since: datetime | None
    until: datetime | None
    sector: str | None
    around: Report | None  # the report the search started from


def _number(args: Mapping[str, str], name: str, low: float, high: float, default: float | None = None) -> float | None:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(_("%(field)s must be a number.", field=name), field=name)
    if not low <= value <= high:
        raise InvalidInput(
            _("%(field)s must lie between %(low)s and %(high)s.", field=name, low=low, high=high), field=name
        )
    return value


def parse_query(crisis: Crisis, args: Mapping[str, str], viewer) -> FinderQuery:
    """A finder query from request arguments: report=<id>, or lat= and lon=; radius_km (1-100,
    default VALIDATION_FINDER_RADIUS_KM); since, until; sector."""
    radius = _number(args, "radius_km", 1, 100, float(current_app.config["VALIDATION_FINDER_RADIUS_KM"]))
    since = parse_datetime(args.get("since"), "since", allow_future=True)
    until = parse_datetime(args.get("until"), "until", allow_future=True)
    if since and until and since > until:
        raise InvalidInput(_("since is after until."), field="since")
    sector = args.get("sector") or None
    if sector is not None and sector not in SECTORS:
        raise InvalidInput(_("Unknown sector %(value)r.", value=sector), field="sector")
    around = None
    if args.get("report"):
        try:
            report_id = int(args["report"])
        except ValueError:
            raise InvalidInput(_("report must be a report number."), field="report")
        around = db.session.get(Report, report_id) if fits_id(report_id) else None
        if around is None or around.crisis_id != crisis.id or not report_visible(around, viewer):
            raise NotFound(_("There is no report %(id)d.", id=report_id))
        place = report_place(around, viewer)
        lon, lat = place.lon, place.lat
        if lon is None or lat is None:
            raise InvalidInput(
                _("Report %(id)d has no location, so nothing is near it: give a point as lat and lon.", id=report_id),
                field="report",
            )
    else:
        lat = _number(args, "lat", -90, 90)
        lon = _number(args, "lon", -180, 180)
        if lat is None or lon is None:
            raise InvalidInput(_("Give a report, or a point as lat and lon."), field="lat")
    return FinderQuery(lat, lon, radius, since, until, sector, around)


def find_related(crisis: Crisis, query: FinderQuery, viewer) -> list[tuple[float, Report, ReportScore | None]]:
    """(distance km, report, score) for the matching reports, nearest first."""
    # Sensitive reports are placed at their coarsened cell, up to half a cell away: search wider, filter exactly.
    slack = float(current_app.config["SENSITIVE_GRID_KM"])
    south, north, west, east = bounding_box(query.lat, query.lon, query.radius_km + slack)
    lon_clause = Report.lon.between(west, east) if west <= east else or_(Report.lon >= west, Report.lon <= east)
    moment = func.coalesce(Report.occurred_at, Report.received_at)
    statement = (
        select(Report, ReportScore)
        .outerjoin(ReportScore, ReportScore.report_id == Report.id)
        .options(selectinload(Report.source))
        .where(and_(Report.lat.between(south, north), lon_clause), Report.crisis_id == crisis.id)
    )
    statement = visible_reports(statement, viewer)
    if query.sector:
        statement = statement.where(Report.sector == query.sector)
    if query.since:
        statement = statement.where(moment >= query.since)
    if query.until:
        statement = statement.where(moment <= query.until)
    if query.around is not None:
        statement = statement.where(Report.id != query.around.id)
    found = []
    for report, score in db.session.execute(statement):
        place = report_place(report, viewer)
        lon, lat = place.lon, place.lat
        distance = haversine_km(query.lat, query.lon, lat, lon)
        if distance <= query.radius_km:
            found.append((distance, report, score))
    found.sort(key=lambda item: (item[0], item[1].id))
    return found[:MAX_RESULTS]


def related_features(results: list[tuple[float, Report, ReportScore | None]], viewer) -> list[dict]:
    """The finder's results as GeoJSON Features (the API's answer and the finder page's map),
    each at the place the viewer may see, with its score when the viewer may see scores."""
    show_scores = can_see_scores(viewer)
    features = []
    for distance, report, score in results:
        place = report_place(report, viewer)
        properties = {
            "id": report.id,
            "title": report.title,
            "sector": report.sector,
            "status": report.status,
            "distance_km": round(distance, 3),
            "occurred_at": (report.occurred_at or report.received_at).isoformat(),
            "url": url_for("reports.view", report_id=report.id, _external=True),
        }
        if show_scores:
            properties.update(
                score=round(score.score, 4) if score is not None and score.score is not None else None,
                admiralty=score.admiralty if score is not None else None,
                verdict=verdict(score.admiralty) if score is not None and score.admiralty else None,
                assessment=assessment(score),
            )
        features.append(
            {
                "type": "Feature",
                "id": report.id,
                "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
                "properties": properties,
            }
        )
    return features

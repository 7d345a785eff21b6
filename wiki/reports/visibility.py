"""What each viewer may see of a report. Every door (HTML, API, map, exports, search) shows
reports through these functions, so the privacy rules are written once.

- Unpublished reports are visible only to those who may triage or assess them.
- Reporter names and contact details only to verifiers, coordinators and admins.
- A sensitive report shows the public only a coarsened location (a grid cell of about
  SENSITIVE_GRID_KM) and no photos.
"""
from __future__ import annotations

import math
from typing import Any

from flask import current_app, url_for
from sqlalchemy import Select

from .. import plugins
from ..auth.permissions import can
from ..models import Report

KM_PER_DEGREE = 111.32


def is_privileged(viewer) -> bool:
    return can("view_contacts", viewer)


def can_view(report: Report, viewer) -> bool:
    return report.published or can("view_unpublished", viewer)


def visible_filter(query: Select, viewer) -> Select:
    """Restrict a report query to what `viewer` may see."""
    if can("view_unpublished", viewer):
        return query
    return query.where(Report.published.is_(True))


def coarsen(lon: float, lat: float, grid_km: float | None = None) -> tuple[float, float]:
    """The centre of the grid cell (about grid_km on a side) that holds the point."""
    grid_km = grid_km or current_app.config["SENSITIVE_GRID_KM"]
    lat_step = grid_km / KM_PER_DEGREE
    cell_lat = (math.floor(lat / lat_step) + 0.5) * lat_step
    lon_step = grid_km / (KM_PER_DEGREE * max(math.cos(math.radians(cell_lat)), 0.01))
    cell_lon = (math.floor(lon / lon_step) + 0.5) * lon_step
    return round(max(-180.0, min(180.0, cell_lon)), 5), round(max(-90.0, min(90.0, cell_lat)), 5)


def shows_exact_location(report: Report, viewer) -> bool:
    return not report.sensitive or is_privileged(viewer)


def public_point(report: Report, viewer) -> tuple[float, float]:
    if shows_exact_location(report, viewer):
        return report.lon, report.lat
    return coarsen(report.lon, report.lat)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def report_properties(report: Report, viewer, include_plugins: bool = True) -> dict[str, Any]:
    privileged = is_privileged(viewer)
    exact = shows_exact_location(report, viewer)
    properties: dict[str, Any] = {
        "id": report.id,
        "crisis": report.crisis.slug,
        "title": report.title,
        "description": report.description,
        "sector": report.sector,
        "status": report.status,
        "published": report.published,
        "sensitive": report.sensitive,
        "location_coarsened": not exact,
        "place_name": report.place_name if exact else "",  # a place name can be as precise as a point
        "occurred_at": _iso(report.occurred_at),
        "received_at": _iso(report.received_at),
        "updated_at": _iso(report.updated_at),
        "channel": report.channel,
        "duplicate_of": report.duplicate_of_id,
        "adm1_pcode": report.adm1_pcode, "adm1_name": report.adm1_name,
        # A district can be as precise as the coarsening grid: not for sensitive reports' public.
        "adm2_pcode": report.adm2_pcode if exact else None, "adm2_name": report.adm2_name if exact else None,
        "photos": [],
        "url": url_for("reports.view", report_id=report.id, _external=True),
    }
    if exact:
        properties["photos"] = [
            {"id": photo.id, "width": photo.width, "height": photo.height,
             "url": url_for("reports.photo", photo_id=photo.id, size="display", _external=True),
             "thumbnail": url_for("reports.photo", photo_id=photo.id, size="thumb", _external=True)}
            for photo in report.photos
        ]
    if privileged:
        source = report.source
        properties["source"] = {"id": source.id, "name": source.name, "contact": source.contact,
                                "organisation": source.organisation, "channel": source.channel,
                                "user": source.user.username if source.user else None}
        properties["client_id"] = report.client_id
    if include_plugins:
        for extra in plugins.call("report_properties", report=report, viewer=viewer):
            properties.update(extra)
    return properties


def announce_listing(report_ids, viewer) -> None:
    """Tell plugins which reports are about to be serialised together (the reports_listed hook)."""
    ids = list(report_ids)
    if ids:
        plugins.call("reports_listed", report_ids=ids, viewer=viewer)


def report_feature(report: Report, viewer, include_plugins: bool = True) -> dict[str, Any]:
    lon, lat = public_point(report, viewer)
    return {"type": "Feature", "id": report.id, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": report_properties(report, viewer, include_plugins)}


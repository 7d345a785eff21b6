"""Reports as GeoJSON Features for the API, exports and search results, as `viewer` may see them
(every field through wiki.visibility)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from .. import plugins
from ..clock import iso
from ..models import Report
from ..visibility import report_place, shows_photos, source_details


def withdrawal(report: Report, viewer) -> dict[str, Any] | None:
    """Why and when a report was withdrawn from public view; for those who see it anyway."""
    if report.withdrawn_at is None:
        return None
    return {"at": iso(report.withdrawn_at), "reason": report.withdrawn_reason}


def report_properties(report: Report, viewer, include_plugins: bool = True) -> dict[str, Any]:
    place = report_place(report, viewer)
    properties: dict[str, Any] = {
        "id": report.id,
        "crisis": report.crisis.slug,
        "title": report.title,
        "description": report.description,
        "sector": report.sector,
        "status": report.status,
        "published": report.published,
        "withdrawn": withdrawal(report, viewer),
        "sensitive": report.sensitive,
        "location_coarsened": not place.exact,
        # How the place is known: point, place (a named place), area (an admin area) or unknown;
        # radius_m is how far from the point it may be (for the viewer: never smaller than it is).
        "location": {"kind": place.kind, "radius_m": place.radius_m, "ref": place.ref},
        "place_name": place.place_name,
        "occurred_at": iso(report.occurred_at),
        "received_at": iso(report.received_at),
        "updated_at": iso(report.updated_at),
        "channel": report.channel,
        "duplicate_of": report.duplicate_of_id,
        "adm1_pcode": place.adm1_pcode,
        "adm1_name": place.adm1_name,
        "adm2_pcode": place.adm2_pcode,
        "adm2_name": place.adm2_name,
        "photos": [],
        "url": url_for("reports.view", report_id=report.id, _external=True),
    }
    if shows_photos(report, viewer):
        properties["photos"] = [
            {
                "id": photo.id,
                "width": photo.width,
                "height": photo.height,
                "url": url_for("reports.photo", photo_id=photo.id, size="display", _external=True),
                "thumbnail": url_for("reports.photo", photo_id=photo.id, size="thumb", _external=True),
            }
            for photo in report.photos
        ]
    source = source_details(report, viewer)
    if source is not None:
        properties["source"] = source
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
    place = report_place(report, viewer)
    geometry = (
        None if place.lon is None or place.lat is None else {"type": "Point", "coordinates": [place.lon, place.lat]}
    )
    return {
        "type": "Feature",
        "id": report.id,
        "geometry": geometry,  # null when the location is unknown (RFC 7946 allows it)
        "properties": report_properties(report, viewer, include_plugins),
    }

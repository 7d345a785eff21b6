"""Exports of a crisis's reports as GeoJSON and as CSV with an HXL hashtag row.

Both stream: rows are read from the database in batches and written out as they come, so
100,000 reports leave in one response without a timeout or a memory spike. They go through
the same visibility rules as every other view (contacts only for verifiers, coarsened
locations for sensitive reports, unpublished reports only for those who may triage).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

from flask import Blueprint, Response, request, stream_with_context
from flask_login import current_user

from .. import plugins
from ..contact_log import record_listing
from ..crises.services import get_crisis_or_404
from ..extensions import db
from ..models import Report
from ..models.reports import SECTORS
from ..visibility import Place, report_place, sees_contacts, source_details
from .queries import ReportFilters, report_list_query
from .serialise import announce_listing, report_feature

bp = Blueprint("exports", __name__)
BATCH = 1000

Column = tuple[str, str, Callable[[Report, Place, dict | None], Any]]


def _iso(value) -> str:
    """A date-time cell as HXL tools read it: ISO 8601 to the second in UTC ("2010-01-13T08:00:00Z"),
    empty for none (not "None")."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite gives back naive UTC
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cluster(key: str | None) -> str:
    """The IASC cluster's English name (HXL's #sector holds names, not our internal keys)."""
    return SECTORS.get(key or "other", key or "")


def export_columns(viewer) -> list[Column]:
    """(header, HXL hashtag, value(report, place, source)) for each CSV column `viewer` may see;
    `place` and `source` are what wiki.visibility lets the viewer see of the report."""
    columns: list[Column] = [
        ("id", "#meta+id", lambda r, p, s: r.id),
        ("crisis", "#crisis+code", lambda r, p, s: r.crisis.glide or r.crisis.slug),
        ("title", "#description+title", lambda r, p, s: r.title),
        ("description", "#description", lambda r, p, s: r.description),
        ("sector", "#sector", lambda r, p, s: _cluster(r.sector)),
        ("status", "#status", lambda r, p, s: r.status),
        ("occurred_at", "#date+occurred", lambda r, p, s: _iso(r.occurred_at)),
        ("received_at", "#date+reported", lambda r, p, s: _iso(r.received_at)),
        ("lat", "#geo+lat", lambda r, p, s: p.lat),
        ("lon", "#geo+lon", lambda r, p, s: p.lon),
        ("place_name", "#loc+name", lambda r, p, s: p.place_name),
        ("adm1_pcode", "#adm1+code", lambda r, p, s: p.adm1_pcode or ""),
        ("adm1_name", "#adm1+name", lambda r, p, s: p.adm1_name or ""),
        ("adm2_pcode", "#adm2+code", lambda r, p, s: p.adm2_pcode or ""),
        ("adm2_name", "#adm2+name", lambda r, p, s: p.adm2_name or ""),
        ("channel", "#meta+x_channel", lambda r, p, s: r.channel),
        ("sensitive", "#meta+x_sensitive", lambda r, p, s: "true" if r.sensitive else "false"),
        ("location_coarsened", "#meta+x_coarsened", lambda r, p, s: "false" if p.exact else "true"),
        ("duplicate_of", "#meta+x_duplicate_of", lambda r, p, s: r.duplicate_of_id or ""),
    ]
    if sees_contacts(viewer):
        columns += [
            ("source_name", "#contact+name", lambda r, p, s: s["name"] if s else ""),
            ("source_contact", "#contact+x_contact", lambda r, p, s: (s["contact"] or "") if s else ""),
            ("source_organisation", "#org+name", lambda r, p, s: s["organisation"] if s else ""),
        ]
    for extra in plugins.call("export_columns", viewer=viewer):
        columns.extend((header, tag, lambda r, p, s, value=value: value(r)) for header, tag, value in extra)
    return columns


def _batches(filters: ReportFilters, viewer) -> Iterator[list[Report]]:
    """The visible reports, oldest first, in batches read by keyset (flat memory)."""
    last_id = 0
    while True:
        query = report_list_query(filters, viewer, newest_first=False).where(Report.id > last_id).limit(BATCH)
        rows = db.session.scalars(query).all()
        if not rows:
            return
        yield rows
        last_id = rows[-1].id
        db.session.expunge_all()  # keep the identity map from growing with the export


def _geojson(filters: ReportFilters, viewer) -> Iterator[str]:
    yield '{"type": "FeatureCollection", "features": ['
    first = True
    for rows in _batches(filters, viewer):
        announce_listing((r.id for r in rows), viewer)
        chunk = ",\n".join(json.dumps(report_feature(r, viewer), ensure_ascii=False) for r in rows)
        yield chunk if first else ",\n" + chunk
        first = False
    yield "]}\n"


def _csv(filters: ReportFilters, viewer) -> Iterator[str]:
    columns = export_columns(viewer)
    contacts = sees_contacts(viewer)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for header, _tag, _value in columns])
    writer.writerow([tag for _header, tag, _value in columns])
    yield buffer.getvalue()
    for rows in _batches(filters, viewer):
        buffer.seek(0)
        buffer.truncate()
        for r in rows:
            place, source = report_place(r, viewer), source_details(r, viewer) if contacts else None
            writer.writerow([value(r, place, source) for _header, _tag, value in columns])
        yield buffer.getvalue()


def geojson_chunks(filters: ReportFilters, viewer) -> Iterator[str]:
    """The GeoJSON export as text chunks, for writing to a file (an HDX dataset's resource)."""
    return _geojson(filters, viewer)


def csv_chunks(filters: ReportFilters, viewer) -> Iterator[str]:
    """The HXL-tagged CSV export as text chunks, for writing to a file (an HDX dataset's resource)."""
    return _csv(filters, viewer)


def _stream(body: Iterator[str], mimetype: str, filename: str) -> Response:
    # Werkzeug adds "; charset=utf-8" to text types itself: giving it too wrote it twice, which
    # libhxl and hxlvalidate refuse when they read the export by URL.
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _record_contacts(filters: ReportFilters) -> None:
    """An export shows the contacts of every report in it: recorded before it streams."""
    if sees_contacts(current_user):
        record_listing(report_list_query(filters, current_user))


@bp.route("/c/<crisis_slug>/reports.geojson")
def geojson(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    filters = ReportFilters.from_args(request.args, crisis=crisis.slug)  # a bad filter is a 422 before streaming
    _record_contacts(filters)
    return _stream(
        _geojson(filters, current_user._get_current_object()), "application/geo+json", f"{crisis.slug}-reports.geojson"
    )


@bp.route("/c/<crisis_slug>/reports.csv")
def csv_export(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    filters = ReportFilters.from_args(request.args, crisis=crisis.slug)
    _record_contacts(filters)
    return _stream(_csv(filters, current_user._get_current_object()), "text/csv", f"{crisis.slug}-reports.csv")

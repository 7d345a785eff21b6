"""The maps feature's hook implementations, registered as the core plugin "wiki.maps" (the core
uses its own hooks, so the plugin contract is exercised by the core's tests).

- New, imported and moved reports get their admin areas (P-codes and names). These run first
  (`tryfirst`), so plugins told about the same report afterwards see its admin areas.
- Report queries with a bbox (the API, exports) go through the R*Tree on SQLite.
- The crisis navigation gets "Map" and "Layers".
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import event

from ..extensions import db
from ..hooks import hookimpl
from ..models import Report
from ..reports.queries import parse_bbox
from ..visibility import sees_exact_locations
from . import pcodes, spatial

log = logging.getLogger(__name__)


@hookimpl(tryfirst=True)
def report_before_commit(report, changes):
    """A new or moved report gets its admin areas in the transaction that stores it (one read of
    the crisis's boundary version, and an update only when the areas change; most crises have
    no boundaries)."""
    if changes is not None and "lon" not in changes and "lat" not in changes:
        return
    placement = pcodes.place_report(report.id)
    if placement is not None:
        pcodes.write_placement(report.id, placement)
        db.session.expire(report, list(pcodes.ADM_FIELDS))  # written underneath the instance


@hookimpl(tryfirst=True)
def reports_imported(crisis, report_ids):
    try:
        pcodes.assign_reports(list(report_ids))
        spatial.refresh_planner_statistics()
    except Exception:
        db.session.rollback()
        raise


@hookimpl
def filter_reports(params, viewer):
    """A bbox filter also through the R*Tree (SQLite), so that the planner can answer it from
    the tree; the exact test on lon/lat stays in the query."""
    raw = params.get("bbox") if hasattr(params, "get") else None
    if not raw or not spatial.uses_rtree():
        return None
    bbox = parse_bbox(raw)
    if bbox and not sees_exact_locations(viewer):  # sensitive reports are matched by their coarsened point
        bbox = spatial.coarsening_margin(bbox, current_app.config["SENSITIVE_GRID_KM"])
    return Report.id.in_(spatial.rtree_ids(bbox)) if bbox else None


@hookimpl
def navigation_links(crisis, viewer):
    return [
        (_("Map"), url_for("maps.crisis_map", crisis_slug=crisis.slug)),
        (_("Layers"), url_for("maps.layers", crisis_slug=crisis.slug)),
    ]


@hookimpl
def init_app(app: Flask):
    from .cli import import_boundaries_command

    app.cli.add_command(import_boundaries_command)
    # `flask db migrate` must not offer to drop the R*Tree, which no model describes.
    app.extensions["migrate"].configure_args.setdefault("include_name", spatial.include_in_migrations)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_math)


def _sqlite_math(dbapi_connection, _record) -> None:
    """The coarsening of sensitive points in SQL needs floor/cos/radians, which SQLite only has
    when built with its math functions (Debian's is); supply them otherwise."""
    import math

    try:
        dbapi_connection.execute("SELECT floor(1.5), cos(radians(1))").fetchone()
    except Exception:
        dbapi_connection.create_function("floor", 1, lambda x: None if x is None else math.floor(x), deterministic=True)
        dbapi_connection.create_function("cos", 1, lambda x: None if x is None else math.cos(x), deterministic=True)
        dbapi_connection.create_function(
            "radians", 1, lambda x: None if x is None else math.radians(x), deterministic=True
        )

"""Finding reports by position without reading every report.

SQLite: the R*Tree `reports_rtree` (kept in step with `reports` by the triggers of migration
0003_maps) answers "which reports lie in this box" from the tree alone. PostgreSQL: the (lat,
lon) B-tree and the covering index `ix_reports_map_viewport` do, with the planner's statistics.

Privacy is part of position here: a sensitive report is shown to most viewers at the centre
of a coarse grid cell (wiki.visibility.coarsen). For those viewers the map places, counts
and clusters it by that public point, so that neither a cluster's bounds nor the answer to
"is it in this tiny box?" give its exact location away. That point is stored with the report
(`public_lon`, `public_lat`); `display_position` picks it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import Column, Float, Integer, MetaData, Select, Table, and_, func, or_, select, text
from sqlalchemy.sql.elements import ColumnElement

from ..extensions import db
from ..geo import KM_PER_DEGREE
from ..models import Report

BBox = tuple[float, float, float, float]  # west, south, east, north in degrees

# Not part of db.metadata: the virtual table exists only on SQLite and is made by the migration.
reports_rtree = Table(
    "reports_rtree",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("min_lon", Float),
    Column("max_lon", Float),
    Column("min_lat", Float),
    Column("max_lat", Float),
)
reports_public_rtree = Table(
    "reports_public_rtree",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("min_lon", Float),
    Column("max_lon", Float),
    Column("min_lat", Float),
    Column("max_lat", Float),
)
RTREE_TABLES = frozenset(
    f"{tree}{suffix}"
    for tree in ("reports_rtree", "reports_public_rtree")
    for suffix in ("", "_node", "_parent", "_rowid")
) | {"map_cells", "map_pyramid_levels"}  # the cluster pyramid of 0015_map_pyramid (wiki.maps.pyramid)


def include_in_migrations(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic autogenerate filter: the R*Tree and its shadow tables (migration 0003_maps) and the
    map pyramid (0015_map_pyramid) are made by hand on SQLite and have no model, so autogenerate
    must not offer to drop them."""
    return not (type_ == "table" and name in RTREE_TABLES)


def dialect_name() -> str:
    return db.engine.dialect.name


def uses_rtree() -> bool:
    return dialect_name() == "sqlite"


def _rtree_box(west: float, south: float, east: float, north: float) -> ColumnElement[bool]:
    t = reports_rtree.c
    return and_(t.max_lon >= west, t.min_lon <= east, t.max_lat >= south, t.min_lat <= north)


def rtree_boxes(bbox: BBox) -> list[BBox]:
    """A bbox as one or two boxes that do not cross the antimeridian."""
    west, south, east, north = bbox
    if west <= east:
        return [bbox]
    return [(west, south, 180.0, north), (-180.0, south, east, north)]


def rtree_ids(bbox: BBox) -> Select:
    """Ids of the reports whose point may lie in `bbox` (a superset; SQLite only)."""
    boxes = rtree_boxes(bbox)
    query = select(reports_rtree.c.id).where(or_(*(_rtree_box(*box) for box in boxes)))
    return query


def rtree_count(bbox: BBox, stop_after: int | None = None) -> int:
    """How many reports (of any crisis, published or not) lie in `bbox`, read from the tree
    alone; with `stop_after`, counting stops there (enough to choose how to draw a view)."""
    total = 0
    for box in rtree_boxes(bbox):
        inner = select(reports_rtree.c.id).where(_rtree_box(*box))
        if stop_after is not None:
            inner = inner.limit(stop_after)
        total += db.session.scalar(select(func.count()).select_from(inner.subquery()))
    return total if stop_after is None else min(total, stop_after)


def in_box(lon: ColumnElement, lat: ColumnElement, bbox: BBox) -> ColumnElement[bool]:
    west, south, east, north = bbox
    lon_clause = lon.between(west, east) if west <= east else or_(lon >= west, lon <= east)
    return and_(lat.between(south, north), lon_clause)


def display_position(exact: bool) -> tuple[ColumnElement, ColumnElement]:
    """Where a viewer sees each report: exactly, or (when the viewer may not see exact
    locations) at its stored public point, which is its grid cell when it is sensitive."""
    if exact:
        return Report.lon, Report.lat
    return Report.public_lon, Report.public_lat


def coarsening_margin(bbox: BBox, grid_km: float) -> BBox:
    """`bbox` grown by the most a coarsened point can move, so that the reports whose public
    point lies in `bbox` are among those whose exact point lies in the result."""
    west, south, east, north = bbox
    lat_step = grid_km / KM_PER_DEGREE
    far = min(90.0, max(abs(south), abs(north)) + lat_step)
    lon_step = grid_km / (KM_PER_DEGREE * max(math.cos(math.radians(far)), 0.01))
    south, north = max(-90.0, south - lat_step), min(90.0, north + lat_step)
    width = (east - west) % 360 if west > east else east - west
    if width + 2 * lon_step >= 360:
        return (-180.0, south, 180.0, north)
    if west <= east and west - lon_step >= -180 and east + lon_step <= 180:
        return (west - lon_step, south, east + lon_step, north)
    return (_wrap(west - lon_step), south, _wrap(east + lon_step), north)


def _wrap(lon: float) -> float:
    return ((lon + 180.0) % 360.0) - 180.0


def not_indexed(column: ColumnElement) -> ColumnElement:
    """`column + 0`: the same value, but the planner cannot use an index on it. Used to keep
    SQLite (which has no statistics on a fresh database) from preferring a crisis index over
    the R*Tree."""
    return column + 0


def query_plan(query: Select) -> list[str]:
    """The database's plan for `query`, one line per step (EXPLAIN QUERY PLAN / EXPLAIN)."""
    compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    connection = db.session.connection()
    if dialect_name() == "sqlite":
        parameters = tuple(compiled.params[name] for name in compiled.positiontup)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), parameters).all()
        return [row[-1] for row in rows]
    rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return [row[0] for row in rows]


def refresh_planner_statistics() -> None:
    """Let SQLite's planner know how many reports there are per crisis and per position, so
    queries that mix a crisis and a bbox (the report API, exports, the map) pick the spatial
    indexes. A full ANALYZE (a sampled one misjudges how many reports a crisis has): about a
    tenth of a second per 100,000 reports, run after bulk imports. PostgreSQL keeps its own."""
    if dialect_name() != "sqlite":
        return
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def ids_in(ids: Sequence[int]) -> ColumnElement[bool]:
    return Report.id.in_(list(ids))

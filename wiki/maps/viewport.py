"""What one map view shows: the reports in its bbox as points, or, when there are more than
MAP_MAX_POINTS of them, as clusters (count, centroid and bounds per grid cell of the zoom
level, aggregated in SQL).

Every query here reaches the reports through a spatial index (see wiki.maps.spatial). On
SQLite: an unfiltered view is summed cell by cell from an R*Tree alone (see "whole maps summed
from an R*Tree" below); otherwise the R*Tree finds the reports of views holding few of them,
and the covering (crisis, lon, lat, ...) index serves views of a whole country, where the
aggregate reads every report anyway and reading them from one index beats a tree lookup per
report. The same visibility rules as everywhere else apply: unpublished reports only for those
who may see them, sensitive reports at their public (coarsened) point, in clusters too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import BigInteger, Integer, Select, case, cast, func, select, union_all
from werkzeug.datastructures import MultiDict

from .. import plugins
from ..auth.permissions import can
from ..clock import iso
from ..errors import InvalidInput
from ..extensions import db
from ..models import Crisis, Report
from ..reports.queries import ReportFilters, parse_bbox, plugin_conditions
from ..visibility import report_place, sees_exact_locations
from .pyramid import level_for, pyramid_rows
from .spatial import (
    BBox,
    coarsening_margin,
    dialect_name,
    display_position,
    in_box,
    not_indexed,
    rtree_count,
    rtree_ids,
    uses_rtree,
)

# Above this many reports in (or near) a view, SQLite aggregates from the covering index
# instead of looking each report up from the R*Tree. Measured with bench/map_viewport.py.
RTREE_PATH_MAX = 20_000
MAX_ZOOM = 22
MAX_SINGLES = 500  # cells holding one report are sent as that report, up to this many
WORLD: BBox = (-180.0, -90.0, 180.0, 90.0)
VIEW_PARAMS = ("bbox", "zoom", "crisis")
# Plugin properties the map passes on (the validation plugin's score colours the markers):
# scalars, or a flat object of scalars (e.g. an assessment's state and reason).
PLUGIN_SCALARS = (str, int, float, bool, type(None))


def _plugin_value(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(key, str) and isinstance(item, PLUGIN_SCALARS) for key, item in value.items())
    return isinstance(value, PLUGIN_SCALARS)


@dataclass(frozen=True)
class View:
    crisis: Crisis
    bbox: BBox
    zoom: int
    filters: ReportFilters  # everything but the crisis and the bbox, which the view supplies


def zoom_for(bbox: BBox) -> int:
    """The zoom level at which `bbox` fills about 1024 pixels (when the client does not say)."""
    west, _south, east, _north = bbox
    width = (east - west) % 360 or 360.0
    return max(0, min(MAX_ZOOM, int(math.log2(1024 * 360 / (256 * width)))))


def parse_view(crisis: Crisis, args: Mapping) -> View:
    """A view from request parameters: bbox (default: the crisis's area), zoom, and the report
    filters every list understands (q, sector, status, since, until, adm, plugin filters)."""
    bbox = parse_bbox(args.get("bbox")) or crisis.bbox or WORLD
    raw_zoom = args.get("zoom")
    if raw_zoom in (None, ""):
        zoom = zoom_for(bbox)
    else:
        try:
            zoom = int(raw_zoom)
        except (TypeError, ValueError):
            raise InvalidInput(_("zoom must be a whole number."), field="zoom") from None
        if not 0 <= zoom <= MAX_ZOOM:
            raise InvalidInput(_("zoom must lie between 0 and %(n)d.", n=MAX_ZOOM), field="zoom")
    rest = MultiDict([(key, value) for key, value in _items(args) if key not in VIEW_PARAMS])
    filters = replace(ReportFilters.from_args(rest), crisis=None, bbox=None)
    return View(crisis=crisis, bbox=bbox, zoom=zoom, filters=filters)


def _items(args: Mapping) -> Iterable[tuple[str, str]]:
    if hasattr(args, "items") and hasattr(args, "getlist"):
        return args.items(multi=True)
    return args.items()


def cell_size(zoom: int) -> float:
    """Side of a cluster cell in degrees: MAP_CLUSTER_PIXELS on screen at `zoom`."""
    return current_app.config["MAP_CLUSTER_PIXELS"] * 360.0 / (256 * 2**zoom)


@dataclass(frozen=True)
class Access:
    """How a view reaches the reports: whom it is for, through which index, in which box."""

    view: View
    viewer: Any
    exact: bool  # may the viewer see exact locations of sensitive reports?
    use_rtree: bool

    @property
    def grid_km(self) -> float:
        return current_app.config["SENSITIVE_GRID_KM"]

    @property
    def candidate_bbox(self) -> BBox:
        """Where the exact points of the reports the viewer sees in the view can lie."""
        return self.view.bbox if self.exact else coarsening_margin(self.view.bbox, self.grid_km)

    def position(self):
        return display_position(self.exact)

    def scope(self, query: Select, public_box: bool = True) -> Select:
        """Narrow `query` to the reports the viewer sees in the view, via the spatial index.
        With public_box=False the test of the public point against the view is left to the
        caller (who computes the public point once, in a subquery)."""
        crisis_id = self.view.crisis.id
        if self.use_rtree:
            # The crisis test must not tempt the planner away from the tree.
            query = query.where(
                not_indexed(Report.crisis_id) == crisis_id, Report.id.in_(rtree_ids(self.candidate_bbox))
            )
        else:
            query = query.where(Report.crisis_id == crisis_id)
        query = query.where(in_box(Report.lon, Report.lat, self.candidate_bbox))
        if public_box and not self.exact:
            lon, lat = self.position()
            query = query.where(in_box(lon, lat, self.view.bbox))
        return self.view.filters.apply(query, self.viewer)


def access_for(view: View, viewer, use_rtree: bool | None = None) -> Access:
    rtree = uses_rtree() if use_rtree is None else use_rtree
    return Access(view=view, viewer=viewer, exact=sees_exact_locations(viewer), use_rtree=rtree)


POINT_COLUMNS = (
    Report.id,
    Report.lon,
    Report.lat,
    Report.public_lon,
    Report.public_lat,
    Report.submitted_by_id,
    Report.title,
    Report.status,
    Report.sector,
    Report.place_name,
    Report.occurred_at,
    Report.received_at,
    Report.sensitive,
    Report.published,
    Report.adm1_pcode,
    Report.adm1_name,
    Report.adm2_pcode,
    Report.adm2_name,
    Report.location_kind,
    Report.location_radius_m,
    Report.location_ref,
    Report.public_radius_m,
)


def points_query(access: Access) -> Select:
    limit = current_app.config["MAP_MAX_POINTS"] + 1
    if access.exact or not access.use_rtree:
        return access.scope(select(*POINT_COLUMNS)).order_by(Report.id.desc()).limit(limit)
    # A viewer who sees sensitive reports at their public point: those may lie up to a grid cell
    # away from it, but the others are where they are shown. Looking them all up in the view
    # grown by a grid cell reads many times the reports in view (a town at zoom 16: 30,000 for
    # 1,700); so the others come from the view's own box in the R*Tree and only the few
    # sensitive ones from the grown box, through their partial index.
    crisis_id = access.view.crisis.id
    lon, lat = access.position()
    plain = select(*POINT_COLUMNS).where(
        not_indexed(Report.crisis_id) == crisis_id,
        Report.id.in_(rtree_ids(access.view.bbox)),
        Report.sensitive.is_(False),
        in_box(Report.lon, Report.lat, access.view.bbox),
        in_box(lon, lat, access.view.bbox),
    )
    plain = access.view.filters.apply(plain, access.viewer)
    sensitive = replace(access, use_rtree=False).scope(select(*POINT_COLUMNS).where(Report.sensitive.is_(True)))
    both = union_all(plain, sensitive).subquery("points")
    return select(both).order_by(both.c.id.desc()).limit(limit)


def reports_by_id(ids: Sequence[int]) -> Select:
    """The point columns of reports already chosen by a scoped query (the ids of one-report
    cells come out of the clusters query, which applied the filters and visibility)."""
    return select(*POINT_COLUMNS).where(Report.id.in_(list(ids))).order_by(Report.id.desc())


def _cell_index(value, cell: float):
    """floor(value / cell) as an integer, for value >= 0 (CAST truncates on SQLite)."""
    if dialect_name() == "postgresql":
        return cast(func.floor(value / cell), BigInteger)
    return cast(value / cell, Integer)


CELL_ROWS = 1 << 25  # more cells per column than any zoom level has (180° / cell at zoom 22)


def clusters_query(access: Access, part: str = "all") -> Select:
    """count, sums, bounds and one id of the reports per grid cell, GROUP BY the cell's
    floor(lon / cell), floor(lat / cell) (as one integer: a single sort key is cheaper).

    For a viewer who sees sensitive reports only at their public point, the work is split in
    two parts that cluster_rows() merges: "plain" (the reports that are not sensitive, read
    as they are) and "sensitive" (their public point computed once per report, in a subquery
    that OFFSET 0 keeps the planner from merging into the aggregate, which would repeat the
    coarsening for every use)."""
    if part not in (("all",) if access.exact else ("plain", "sensitive")):
        raise ValueError(
            f"clusters_query: part {part!r} for a viewer who sees {'exact' if access.exact else 'public'} points"
        )
    cell = cell_size(access.view.zoom)
    if access.exact or part == "plain":
        x, y, rid = Report.lon, Report.lat, Report.id
        source = None
    else:
        lon, lat = access.position()
        points = access.scope(select(lon.label("x"), lat.label("y"), Report.id.label("rid")), public_box=False)
        points = points.where(Report.sensitive.is_(True)).offset(0).subquery("points")
        x, y, rid = points.c.x, points.c.y, points.c.rid
        source = points
    key = (_cell_index(x + 180.0, cell) * CELL_ROWS + _cell_index(y + 90.0, cell)).label("cell")
    query = select(
        key,
        func.count().label("n"),
        func.sum(x),
        func.sum(y),
        func.min(x),
        func.min(y),
        func.max(x),
        func.max(y),
        func.min(rid),
    )
    if source is not None:
        return query.where(in_box(x, y, access.view.bbox)).group_by(key)
    query = access.scope(query, public_box=False)
    if not access.exact:
        query = query.where(Report.sensitive.is_(False), in_box(Report.lon, Report.lat, access.view.bbox))
    return query.group_by(key)


def merge_cells(*parts) -> list[tuple]:
    """Cluster rows of several parts with the same cell keys, combined."""
    merged: dict[int, list] = {}
    for rows in parts:
        for key, count, sum_lon, sum_lat, min_lon, min_lat, max_lon, max_lat, some_id in rows:
            cell = merged.get(key)
            if cell is None:
                merged[key] = [key, count, sum_lon, sum_lat, min_lon, min_lat, max_lon, max_lat, some_id]
                continue
            cell[1] += count
            cell[2] += sum_lon
            cell[3] += sum_lat
            cell[4], cell[5] = min(cell[4], min_lon), min(cell[5], min_lat)
            cell[6], cell[7] = max(cell[6], max_lon), max(cell[7], max_lat)
            cell[8] = min(cell[8], some_id)
    return [tuple(cell) for cell in merged.values()]


def _report_url_template() -> str:
    marker = 987654321
    return url_for("reports.view", report_id=marker, _external=True).replace(str(marker), "{id}")


def _point_features(rows: Sequence, access: Access) -> list[dict[str, Any]]:
    template = _report_url_template()
    extras = _plugin_properties([row.id for row in rows], access.viewer)
    features = []
    for row in rows:
        place = report_place(row, access.viewer)
        properties = {
            "id": row.id,
            "title": row.title,
            "status": row.status,
            "sector": row.sector,
            "place_name": place.place_name,
            "occurred_at": iso(row.occurred_at),
            "received_at": iso(row.received_at),
            "published": row.published,
            "sensitive": row.sensitive,
            "location_coarsened": not place.exact,
            # A report located by a place or an area is drawn as a circle of this radius, not a pin.
            "location_kind": place.kind,
            "radius_m": place.radius_m,
            "adm1_pcode": place.adm1_pcode,
            "adm1_name": place.adm1_name,
            "adm2_pcode": place.adm2_pcode,
            "adm2_name": place.adm2_name,
            "url": template.replace("{id}", str(row.id)),
        }
        properties.update(extras.get(row.id, {}))
        features.append(
            {
                "type": "Feature",
                "id": row.id,
                "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
                "properties": properties,
            }
        )
    return features


def _plugin_properties(ids: Sequence[int], viewer) -> dict[int, dict[str, Any]]:
    """Scalar properties plugins add to the reports a map draws as points (e.g. the validation
    plugin's score), asked in one hook call for all of them (`report_map_properties`)."""
    found: dict[int, dict[str, Any]] = {}
    if not ids:
        return found
    for extra in plugins.call("report_map_properties", report_ids=list(ids), viewer=viewer):
        for report_id, values in (extra or {}).items():
            found.setdefault(report_id, {}).update(
                {key: value for key, value in values.items() if _plugin_value(value)}
            )
    return found


def _collection(view: View, mode: str, features: list, total: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "mode": mode,
        "total": total,
        "zoom": view.zoom,
        "bbox": list(view.bbox),
        "max_points": current_app.config["MAP_MAX_POINTS"],
        **extra,
        "features": features,
    }


def _points(access: Access) -> dict[str, Any]:
    rows = db.session.execute(points_query(access)).all()
    return _collection(access.view, "points", _point_features(rows, access), len(rows))


# -- whole maps summed from an R*Tree -----------------------------------------------------------
# Aggregating 100,000 reports with GROUP BY costs SQLite a sort of every row. When a view shows
# all of a crisis's reports as one of the two R*Trees holds them, it is summed cell by cell
# from the tree alone instead, one range query per cell, no sort:
# - reports_public_rtree: the public's map (published reports that are not sensitive; the few
#   sensitive ones are aggregated at their public points and merged in);
# - reports_rtree: the map of those who see every report at its exact place (verifiers,
#   coordinators, admins).
# The trees hold every crisis, so they answer only where no other crisis has reports (crises
# far apart, the usual case), and only without filters; otherwise the GROUP BY does.
MAX_CELL_QUERIES = 400
# A point's box is its position (to 32-bit floats, under a metre): only min_lon and min_lat
# are read, fewer columns for the tree to decode.
CELL_SQL = (
    "SELECT count(*), sum(min_lon), sum(min_lat), min(min_lon), min(min_lat), max(min_lon), max(min_lat), min(id) "
    "FROM {tree} WHERE min_lon >= ? AND min_lon < ? AND min_lat >= ? AND min_lat < ?"
)
PUBLIC_TREE, FULL_TREE = "reports_public_rtree", "reports_rtree"


def _unfiltered(filters: ReportFilters) -> bool:
    return not (filters.q or filters.sectors or filters.statuses or filters.since or filters.until or filters.adm)


def _other_crises_reach(crisis: Crisis, bbox: BBox) -> bool:
    """Whether another crisis has reports between the view's west and east edges (read from the
    ends of the covering index: two index lookups per crisis)."""
    west, _south, east, _north = bbox
    reports = Report.__table__
    lowest = select(func.min(reports.c.lon)).where(reports.c.crisis_id == Crisis.id).scalar_subquery()
    highest = select(func.max(reports.c.lon)).where(reports.c.crisis_id == Crisis.id).scalar_subquery()
    ends = db.session.execute(select(lowest, highest).where(Crisis.id != crisis.id))
    return any(low is not None and low <= east and high >= west for low, high in ends)


def tree_for(access: Access) -> str | None:
    """The R*Tree that holds exactly what this view shows, or None: SQLite, no filter narrowing
    the view (a plugin's included: it must leave the query alone), a viewer who sees either
    what the anonymous public sees or everything, and no other crisis's reports in the way."""
    if not uses_rtree() or not _unfiltered(access.view.filters):
        return None
    sees_unpublished = can("view_unpublished", access.viewer)
    if access.exact and sees_unpublished:
        tree = FULL_TREE
    elif not access.exact and not sees_unpublished and not getattr(access.viewer, "is_authenticated", False):
        tree = PUBLIC_TREE  # (a logged-in reporter also sees their own unpublished reports)
    else:
        return None
    if plugin_conditions(access.view.filters.extra or {}, access.viewer):
        return None
    return None if _other_crises_reach(access.view.crisis, access.view.bbox) else tree


def cell_ranges(bbox: BBox, cell: float) -> list[tuple[int, float, float, float, float]] | None:
    """(key, west, east, south, north) of each grid cell's part of `bbox`, half-open so that
    every point falls in exactly one; None when the view needs too many (or crosses 180°)."""
    west, south, east, north = bbox
    if west > east:
        return None
    gx0, gx1 = int((west + 180.0) // cell), int((east + 180.0) // cell)
    gy0, gy1 = int((south + 90.0) // cell), int((north + 90.0) // cell)
    if (gx1 - gx0 + 1) * (gy1 - gy0 + 1) > MAX_CELL_QUERIES:
        return None
    east_edge, north_edge = math.nextafter(east, math.inf), math.nextafter(north, math.inf)
    ranges = []
    for gx in range(gx0, gx1 + 1):
        x0, x1 = max(west, gx * cell - 180.0), min(east_edge, (gx + 1) * cell - 180.0)
        for gy in range(gy0, gy1 + 1):
            y0, y1 = max(south, gy * cell - 90.0), min(north_edge, (gy + 1) * cell - 90.0)
            ranges.append((gx * CELL_ROWS + gy, x0, x1, y0, y1))
    return ranges


def tree_rows(access: Access, tree: str) -> list[tuple] | None:
    """Cluster rows of the reports `tree` holds in the view, summed cell by cell; None when
    the view needs too many cells."""
    ranges = cell_ranges(access.view.bbox, cell_size(access.view.zoom))
    if ranges is None:
        return None
    sql = CELL_SQL.format(tree=tree)
    cursor = db.session.connection().connection.driver_connection.cursor()
    rows = []
    for key, x0, x1, y0, y1 in ranges:
        row = cursor.execute(sql, (x0, x1, y0, y1)).fetchone()
        if row[0]:
            rows.append((key, *row))
    cursor.close()
    return rows


def pyramid_level(view: View) -> tuple[int, float, int] | None:
    """The pyramid level a view's clusters are read from (wiki.maps.pyramid.level_for), or None."""
    cell = cell_size(view.zoom)
    ranges = cell_ranges(view.bbox, cell)
    return None if ranges is None else level_for(cell, len(ranges))


def summed_rows(access: Access, tree: str, use_pyramid: bool = True) -> list[tuple] | None:
    """Cluster rows of the reports `tree` holds in the view: from the pyramid when one of its
    levels fits the view's cells (wiki.maps.pyramid), else summed from the tree cell by cell;
    None when the view needs too many cells."""
    view = access.view
    level = pyramid_level(view) if use_pyramid else None
    if level is not None:
        return merge_cells(pyramid_rows(tree, view.crisis.id, view.bbox, cell_size(view.zoom), level, CELL_ROWS))
    return tree_rows(access, tree)


def cluster_rows(access: Access, use_tree: bool | None = None, use_pyramid: bool = True) -> list[tuple]:
    """(cell key, count, sum lon, sum lat, min lon, min lat, max lon, max lat, an id) per cell.
    The id is that of the cell's report where it holds one (elsewhere any of them, or from the
    pyramid the sum of the ids)."""
    tree = tree_for(access) if use_tree is None or use_tree else None
    if use_tree and tree is None:
        raise ValueError("no R*Tree holds exactly this view")
    return _cluster_rows(access, tree, use_pyramid)


def _cluster_rows(access: Access, tree: str | None, use_pyramid: bool = True) -> list[tuple]:
    rows = summed_rows(access, tree, use_pyramid) if tree else None
    if access.exact:
        return rows if rows is not None else db.session.execute(clusters_query(access)).all()
    if rows is None:
        rows = db.session.execute(clusters_query(access, "plain")).all()
    sensitive = db.session.execute(clusters_query(replace(access, use_rtree=False), "sensitive")).all()
    return merge_cells(rows, sensitive)


def view_reports(view: View, viewer) -> dict[str, Any]:
    """The GeoJSON FeatureCollection for one map view (mode "points" or "clusters")."""
    max_points = current_app.config["MAP_MAX_POINTS"]
    access = access_for(view, viewer, use_rtree=False)
    tree = tree_for(access)
    if tree is not None and pyramid_level(view) is not None:
        # The pyramid sums a whole view in a few reads: no need to count its reports first.
        rows = _cluster_rows(access, tree)
        access = replace(access, use_rtree=True)
    else:
        if uses_rtree():
            # The tree counts the reports near the view without reading them: when there are
            # few, draw them as points straight away; when there are very many, aggregate them
            # from the covering index instead of one tree lookup per report.
            near = rtree_count(access.candidate_bbox, stop_after=RTREE_PATH_MAX + 1)
            access = access_for(view, viewer, use_rtree=near <= RTREE_PATH_MAX)
            if near <= max_points:
                return _points(access)
        rows = _cluster_rows(access, tree)
    total = sum(row[1] for row in rows)
    if total <= max_points:
        return _points(access)
    cell = cell_size(view.zoom)
    singles = [row[8] for row in rows if row[1] == 1][: MAX_SINGLES + 1]
    single_features: list[dict] = []
    if len(singles) <= MAX_SINGLES:
        single_rows = db.session.execute(reports_by_id(singles)).all()
        single_features = _point_features(single_rows, access)
    drawn = {feature["id"] for feature in single_features}
    features = []
    for key, count, sum_lon, sum_lat, min_lon, min_lat, max_lon, max_lat, some_id in rows:
        if count == 1 and some_id in drawn:
            continue
        features.append(
            {
                "type": "Feature",
                "id": f"cell-{key}",
                "geometry": {"type": "Point", "coordinates": [round(sum_lon / count, 6), round(sum_lat / count, 6)]},
                "bbox": [min_lon, min_lat, max_lon, max_lat],
                "properties": {"cluster": True, "count": count},
            }
        )
    return _collection(view, "clusters", features + single_features, total, cell=cell)


def area_counts_query(crisis: Crisis, level: int, filters: ReportFilters, viewer, bbox: BBox | None = None) -> Select:
    """Reports per admin area of `level` (1 or 2), with the usual filters (and a bbox, through
    the spatial index, when given)."""
    code = Report.adm1_pcode if level == 1 else Report.adm2_pcode
    if level != 1 and not sees_exact_locations(viewer):
        # A sensitive report's district is not the public's to know: counted as "no area".
        code = case((Report.sensitive.is_(True), None), else_=Report.adm2_pcode)
    code = code.label("pcode")
    query = select(code, func.count()).group_by(code)
    if bbox is not None:
        view = View(crisis=crisis, bbox=bbox, zoom=0, filters=filters)
        return access_for(view, viewer).scope(query)
    return filters.apply(query.where(Report.crisis_id == crisis.id), viewer)


def area_counts(
    crisis: Crisis, level: int, filters: ReportFilters, viewer, bbox: BBox | None = None
) -> dict[str | None, int]:
    return {code: count for code, count in db.session.execute(area_counts_query(crisis, level, filters, viewer, bbox))}

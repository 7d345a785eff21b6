"""Clusters of a whole map read from a precomputed pyramid (SQLite).

Migration 0015_map_pyramid keeps, per (kind, crisis, level, grid cell), the count, the sums and
the bounds of the positions and the sum of the ids of the reports in the cell, for the two kinds
of map the R*Trees serve (KINDS): the public's (published, not sensitive) and everything. Triggers
update it in the transaction that changes a report, so it is never behind.

A view's clusters are per cell of cell_size(zoom); a pyramid level whose cells are that size, or
a half or a quarter of it, nests in that grid exactly (the sizes are powers of two apart, so the
floating-point cell of a point agrees too). The view is then:
- the level's cells that lie wholly inside the bbox: one range read of map_cells, summed in
  Python into the view's cells;
- the rest of the bbox, a frame thinner than one of the level's cells on each side: read from
  the R*Tree and the reports, as the general query does.
Both parts are what the general GROUP BY gives for the same reports, cell for cell; the public's
sensitive reports are merged in by the caller at their public points, as before.
"""

from __future__ import annotations

import math

from flask import current_app
from sqlalchemy import text

from ..extensions import db
from .spatial import BBox

KINDS = {"reports_rtree": 0, "reports_public_rtree": 1}
# What each kind holds, for the frame read from the reports (the same conditions as the
# triggers of 0015_map_pyramid and 0003_maps).
KIND_CONDITIONS = {0: "1", 1: "r.published AND NOT r.sensitive"}
# A view reads a level up to this many halvings finer than its cells (64 cells per view cell),
# the finest that reads at most CELL_BUDGET cells: the finer the level, the thinner the frame
# of the bbox left to the R*Tree (see pyramid_rows).
MAX_FINER = 3
CELL_BUDGET = 4096
# A cell counts as wholly inside the bbox with this much room (degrees), far more than the
# rounding of a point's cell index, so that no point of an inner cell lies outside the bbox.
ROOM = 1e-9
# The R*Tree holds positions as 32-bit floats (rounded outwards): the frame is looked up with
# this margin and then tested on the reports' exact positions.
TREE_MARGIN = 1e-4

# The level's cells wholly inside the bbox, summed into the view's cells (the key as in the
# general query: x * cell_rows + y, the view's cell being the level's shifted `finer` bits).
CELLS_SQL = (
    "SELECT (gx >> ?) * ? + (gy >> ?) AS k, sum(n), sum(sum_lon), sum(sum_lat), min(min_lon), min(min_lat), "
    "max(max_lon), max(max_lat), sum(sum_id) FROM map_cells "
    "WHERE kind = ? AND crisis_id = ? AND level = ? AND gx BETWEEN ? AND ? AND gy BETWEEN ? AND ? GROUP BY k"
)


def levels() -> dict[float, int]:
    """{cell size: level} of the pyramid, read once per app."""
    cache = current_app.extensions.setdefault("map_pyramid_levels", {})
    url = str(db.engine.url)
    if url not in cache:
        rows = db.session.execute(text("SELECT level, size FROM map_pyramid_levels")).all()
        cache[url] = {size: level for level, size in rows}
    return cache[url]


def level_for(cell: float, view_cells: int) -> tuple[int, float, int] | None:
    """(level, its cell size, how many halvings finer than `cell`) of the pyramid level to read
    a view of `view_cells` cells of `cell` from; None when no level nests in that grid."""
    sizes = levels()
    fitting = [
        (sizes[cell / 2**finer], cell / 2**finer, finer) for finer in range(MAX_FINER + 1) if cell / 2**finer in sizes
    ]
    within = [level for level in fitting if view_cells * 4 ** level[2] <= CELL_BUDGET]
    if within:
        return within[-1]
    return fitting[0] if fitting else None


def _inner(low: float, high: float, origin: float, size: float) -> tuple[int, int]:
    """First and last index of the cells of `size` that lie wholly between low and high."""
    first = math.ceil((low - origin + ROOM) / size)
    last = math.floor((high - origin - ROOM) / size) - 1
    return first, last


def pyramid_rows(
    tree: str, crisis_id: int, bbox: BBox, cell: float, chosen: tuple[int, float, int], cell_rows: int
) -> list[tuple]:
    """Cluster rows (key, count, sum lon, sum lat, min lon, min lat, max lon, max lat, id) of
    the reports `tree` holds for the crisis in `bbox` (west <= east), per view cell of `cell`
    read from the level `chosen` (level_for's answer), the key being x * cell_rows + y as in the general
    query; a key may come twice (an inner part and a frame part: merge them). The id is the
    report's in a one-report cell (of the inner part: the sum of the ids, which is that id)."""
    west, south, east, north = bbox
    level, size, finer = chosen
    kind = KINDS[tree]
    gx0, gx1 = _inner(west, east, -180.0, size)
    gy0, gy1 = _inner(south, north, -90.0, size)
    cursor = db.session.connection().connection.driver_connection.cursor()
    rows: list[tuple] = []
    inner = None
    if gx0 <= gx1 and gy0 <= gy1:
        inner = (gx0, gx1, gy0, gy1)
        rows = cursor.execute(CELLS_SQL, (finer, cell_rows, finer, kind, crisis_id, level, *inner)).fetchall()
    rows += cursor.execute(*_frame_query(tree, kind, crisis_id, bbox, cell, cell_rows, size, inner)).fetchall()
    cursor.close()
    return rows


def _frame_query(
    tree: str,
    kind: int,
    crisis_id: int,
    bbox: BBox,
    cell: float,
    cell_rows: int,
    size: float,
    inner: tuple[int, int, int, int] | None,
) -> tuple[str, tuple]:
    """The GROUP BY of the reports in `bbox` outside the inner cells (all of them without)."""
    west, south, east, north = bbox
    if inner is None:
        boxes = [bbox]
        outside, outside_params = "", ()
    else:
        gx0, gx1, gy0, gy1 = inner
        x0, x1 = gx0 * size - 180.0, (gx1 + 1) * size - 180.0
        y0, y1 = gy0 * size - 90.0, (gy1 + 1) * size - 90.0
        boxes = [(west, south, x0, north), (x1, south, east, north), (x0, south, x1, y0), (x0, y1, x1, north)]
        outside = (
            " AND NOT (CAST((r.lon + 180.0) / ? AS INTEGER) BETWEEN ? AND ? "
            "AND CAST((r.lat + 90.0) / ? AS INTEGER) BETWEEN ? AND ?)"
        )
        outside_params = (size, gx0, gx1, size, gy0, gy1)
    lookups = " UNION ALL ".join(
        f"SELECT id FROM {tree} WHERE max_lon >= ? AND min_lon <= ? AND max_lat >= ? AND min_lat <= ?" for _ in boxes
    )
    lookup_params = tuple(
        value for w, s, e, n in boxes for value in (w - TREE_MARGIN, e + TREE_MARGIN, s - TREE_MARGIN, n + TREE_MARGIN)
    )
    # (`+ 0` keeps the planner on the tree's ids rather than an index on the crisis or the position)
    sql = (
        "SELECT CAST((r.lon + 180.0) / ? AS INTEGER) * ? + CAST((r.lat + 90.0) / ? AS INTEGER) AS k, "
        "count(*), sum(r.lon), sum(r.lat), min(r.lon), min(r.lat), max(r.lon), max(r.lat), min(r.id) "
        f"FROM reports r WHERE r.id IN ({lookups}) AND r.crisis_id + 0 = ? AND ({KIND_CONDITIONS[kind]}) "
        "AND r.lon + 0 BETWEEN ? AND ? AND r.lat + 0 BETWEEN ? AND ?"
        f"{outside} GROUP BY k"
    )
    params = (cell, cell_rows, cell, *lookup_params, crisis_id, west, east, south, north, *outside_params)
    return sql, params

"""map pyramid: the crisis map's clusters precomputed per grid cell of a few zoom levels (SQLite)

For the two views the R*Trees of 0003_maps serve (the public's: published reports that are not
sensitive; and everything, for those who see exact locations and unpublished reports), map_cells
holds per (kind, crisis, level, cell) the count, the sums and bounds of the positions and the sum
of the ids (the id itself when the cell holds one report). Triggers keep it in the same
transaction as the report's insert, move, publication, sensitivity change or delete; a view of
many reports then reads a few hundred cells instead of every report (wiki.maps.pyramid).

The cells of a level are those of wiki.maps.viewport.cell_size() at zoom `level` with the default
MAP_CLUSTER_PIXELS (80): map_pyramid_levels holds their size, and the map uses the pyramid only
when the configured cell size is one of them or a power-of-two multiple of one.

PostgreSQL keeps its GROUP BY path: nothing is made there.

Revision ID: 0015_map_pyramid
Revises: 0014_desk_hours
Create Date: 2026-12-05 13:00:00

"""

from alembic import op


revision = "0015_map_pyramid"
down_revision = "0014_desk_hours"
branch_labels = None
depends_on = None


# Zoom levels with a row per report and kind: every third, up to the zoom where a view of the
# densest town still holds more than a few thousand reports (wiki.maps.pyramid reads a view of
# zoom z from the first level at or below z + 2; above 14 the R*Tree sums the view as before).
LEVELS = (2, 5, 8, 11, 14)
PIXELS = 80
# kind: 0 every report (reports_rtree), 1 the public's (reports_public_rtree)
KINDS = {0: "1", 1: "{r}.published AND NOT {r}.sensitive"}
COLUMNS = "kind, crisis_id, level, gx, gy, n, sum_lon, sum_lat, min_lon, min_lat, max_lon, max_lat, sum_id"
CELL = "CAST(({r}.lon + 180.0) / l.size AS INTEGER), CAST(({r}.lat + 90.0) / l.size AS INTEGER)"


def _where(kind: int, r: str) -> str:
    return f"{r}.lon IS NOT NULL AND {r}.lat IS NOT NULL AND ({KINDS[kind].format(r=r)})"


def _add(kind: int) -> str:
    """The statement that counts NEW in its cell of every level."""
    return (
        f"INSERT INTO map_cells ({COLUMNS}) SELECT {kind}, NEW.crisis_id, l.level, {CELL.format(r='NEW')}, "
        "1, NEW.lon, NEW.lat, NEW.lon, NEW.lat, NEW.lon, NEW.lat, NEW.id "
        f"FROM map_pyramid_levels l WHERE {_where(kind, 'NEW')} "
        "ON CONFLICT (kind, crisis_id, level, gx, gy) DO UPDATE SET n = n + 1, "
        "sum_lon = sum_lon + excluded.sum_lon, sum_lat = sum_lat + excluded.sum_lat, "
        "min_lon = min(min_lon, excluded.min_lon), min_lat = min(min_lat, excluded.min_lat), "
        "max_lon = max(max_lon, excluded.max_lon), max_lat = max(max_lat, excluded.max_lat), "
        "sum_id = sum_id + excluded.sum_id;"
    )


def _size(level: int) -> float:
    # the same arithmetic as wiki.maps.viewport.cell_size, so that the sizes compare equal
    return PIXELS * 360.0 / (256 * 2**level)


def _remove(kind: int) -> str:
    """The statements that take OLD out of its cells: counts and sums by subtraction; the bounds,
    when OLD lay on one, read again from the cell's other reports (found through the R*Tree of
    0003_maps, which holds every report, 2-D: a range of a (lon, lat) index would read the whole
    band of the crisis at the cell's longitudes; CROSS JOIN keeps the tree first whatever the
    planner's statistics say; one statement per level, its cell size written out); cells left
    empty are deleted."""
    statements = []
    for level in LEVELS:
        size = repr(_size(level))
        x, y = f"CAST((OLD.lon + 180.0) / {size} AS INTEGER)", f"CAST((OLD.lat + 90.0) / {size} AS INTEGER)"
        cell = (
            f"kind = {kind} AND crisis_id = OLD.crisis_id AND level = {level} AND gx = {x} AND gy = {y} "
            f"AND ({_where(kind, 'OLD')})"
        )
        statements.append(
            "UPDATE map_cells SET n = n - 1, sum_lon = sum_lon - OLD.lon, sum_lat = sum_lat - OLD.lat, "
            f"sum_id = sum_id - OLD.id WHERE {cell};"
        )
        statements.append(f"DELETE FROM map_cells WHERE {cell} AND n <= 0;")
        statements.append(
            "UPDATE map_cells SET (min_lon, min_lat, max_lon, max_lat) = "
            "(SELECT min(r.lon), min(r.lat), max(r.lon), max(r.lat) FROM reports_rtree t CROSS JOIN reports r NOT INDEXED "
            f"ON r.id = t.id WHERE t.max_lon >= map_cells.gx * {size} - 180.0001 "
            f"AND t.min_lon <= (map_cells.gx + 1) * {size} - 179.9999 "
            f"AND t.max_lat >= map_cells.gy * {size} - 90.0001 AND t.min_lat <= (map_cells.gy + 1) * {size} - 89.9999 "
            # (`+` on a column, and no IS NOT NULL (the cell's test fails on NULL): no index but the
            # rowid for the reports, which stale statistics made SQLite read through a lon range)
            f"AND +r.crisis_id = OLD.crisis_id AND r.id != OLD.id AND ({KINDS[kind].format(r='r')}) "
            f"AND CAST((r.lon + 180.0) / {size} AS INTEGER) = map_cells.gx "
            f"AND CAST((r.lat + 90.0) / {size} AS INTEGER) = map_cells.gy) "
            f"WHERE {cell} AND (min_lon = OLD.lon OR min_lat = OLD.lat OR max_lon = OLD.lon OR max_lat = OLD.lat);"
        )
    return "\n".join(statements)


def build_sql(kind: int) -> str:
    """The statement that counts the reports already stored (tests run it to check the triggers)."""
    cell = CELL.format(r="r")
    return (
        f"INSERT INTO map_cells ({COLUMNS}) SELECT {kind}, r.crisis_id, l.level, {cell}, "
        "count(*), sum(r.lon), sum(r.lat), min(r.lon), min(r.lat), max(r.lon), max(r.lat), sum(r.id) "
        f"FROM reports r, map_pyramid_levels l WHERE {_where(kind, 'r')} GROUP BY r.crisis_id, l.level, {cell}"
    )


TRIGGERS = {
    "map_cells_insert": "AFTER INSERT ON reports BEGIN\n{add}\nEND",
    "map_cells_delete": "AFTER DELETE ON reports BEGIN\n{remove}\nEND",
    # (only when what decides the cell or the kind changes: an edit of the title costs nothing)
    "map_cells_update": (
        "AFTER UPDATE OF id, crisis_id, lon, lat, published, sensitive ON reports "
        "WHEN OLD.id IS NOT NEW.id OR OLD.crisis_id IS NOT NEW.crisis_id OR OLD.lon IS NOT NEW.lon "
        "OR OLD.lat IS NOT NEW.lat OR OLD.published IS NOT NEW.published OR OLD.sensitive IS NOT NEW.sensitive "
        "BEGIN\n{remove}\n{add}\nEND"
    ),
}


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE map_pyramid_levels (level INTEGER PRIMARY KEY, size FLOAT NOT NULL)")
    for level in LEVELS:
        op.execute(f"INSERT INTO map_pyramid_levels (level, size) VALUES ({level}, {_size(level)!r})")
    # WITHOUT ROWID: a view reads a range of the key, which triggers fill in no order.
    op.execute(
        "CREATE TABLE map_cells (kind INTEGER NOT NULL, crisis_id INTEGER NOT NULL, level INTEGER NOT NULL, "
        "gx INTEGER NOT NULL, gy INTEGER NOT NULL, n INTEGER NOT NULL, sum_lon FLOAT NOT NULL, "
        "sum_lat FLOAT NOT NULL, min_lon FLOAT NOT NULL, min_lat FLOAT NOT NULL, max_lon FLOAT NOT NULL, "
        "max_lat FLOAT NOT NULL, sum_id INTEGER NOT NULL, PRIMARY KEY (kind, crisis_id, level, gx, gy)) WITHOUT ROWID"
    )
    add = "\n".join(_add(kind) for kind in KINDS)
    remove = "\n".join(_remove(kind) for kind in KINDS)
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} " + body.format(add=add, remove=remove))
    for kind in KINDS:
        op.execute(build_sql(kind))


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS map_cells")
    op.execute("DROP TABLE IF EXISTS map_pyramid_levels")

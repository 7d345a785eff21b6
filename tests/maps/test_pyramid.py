"""The map's cluster pyramid (wiki.maps.pyramid, migration 0015_map_pyramid; SQLite): kept by
triggers in step with every change of a report, and answering exactly what the general GROUP BY
answers, for the public and for those who see everything."""

from __future__ import annotations

import math
import random
from collections import defaultdict

import pytest
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from tests.maps_helpers import add_reports
from wiki.extensions import db
from wiki.models import Crisis, Report
from wiki.visibility import public_position

PAP = (-72.34, 18.54)


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MAP_TILE_URL": "", "MAP_MAX_POINTS": 5}


@pytest.fixture(autouse=True)
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("the pyramid is SQLite's; PostgreSQL keeps its GROUP BY")


def _points(rng: random.Random, n: int) -> list[tuple[float, float]]:
    """Dense around Port-au-Prince (many reports per cell of the fine levels), some anywhere."""
    points = []
    for _ in range(n):
        if rng.random() < 0.2:
            points.append((rng.uniform(-74.5, -71.6), rng.uniform(17.9, 20.1)))
        else:
            points.append((rng.gauss(PAP[0], 0.02), rng.gauss(PAP[1], 0.02)))
    return points


def _fill_and_change(app, rng: random.Random) -> None:
    """Reports of every kind, then edits, moves, publication, sensitivity changes and deletes."""
    for i, point in enumerate(_points(rng, 300)):
        add_reports(app, "quake", [point], sensitive=i % 7 == 0, published=i % 11 != 0)
    with app.app_context():
        reports = db.session.scalars(select(Report).order_by(Report.id)).all()
        for report in rng.sample(reports, 40):
            report.title = "Edited"  # not a change of the pyramid's: its triggers do not fire
        for report in rng.sample(reports, 40):
            report.lon, report.lat = _points(rng, 1)[0]
        for report in rng.sample(reports, 30):
            report.published = not report.published
        for report in rng.sample(reports, 30):
            report.sensitive = not report.sensitive
        for report in reports:
            report.public_lon, report.public_lat = public_position(report.lon, report.lat, report.sensitive)
        db.session.commit()
        for report in rng.sample(reports, 30):
            db.session.delete(report)
        db.session.commit()


def _expected_cells() -> dict[tuple, tuple]:
    """map_cells as the reports say it should be, computed here in Python."""
    sizes = dict(db.session.execute(text("SELECT level, size FROM map_pyramid_levels")).all())
    cells: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0.0, math.inf, math.inf, -math.inf, -math.inf, 0])
    for report in db.session.scalars(select(Report)):
        kinds = [0] + ([1] if report.published and not report.sensitive else [])
        for kind in kinds:
            for level, size in sizes.items():
                key = (kind, report.crisis_id, level, int((report.lon + 180.0) / size), int((report.lat + 90.0) / size))
                cell = cells[key]
                cell[0] += 1
                cell[1] += report.lon
                cell[2] += report.lat
                cell[3], cell[4] = min(cell[3], report.lon), min(cell[4], report.lat)
                cell[5], cell[6] = max(cell[5], report.lon), max(cell[6], report.lat)
                cell[7] += report.id
    return {key: tuple(value) for key, value in cells.items()}


def _stored_cells() -> dict[tuple, tuple]:
    rows = db.session.execute(
        text(
            "SELECT kind, crisis_id, level, gx, gy, n, sum_lon, sum_lat, min_lon, min_lat, max_lon, max_lat, sum_id "
            "FROM map_cells"
        )
    )
    return {tuple(row[:5]): tuple(row[5:]) for row in rows}


def _assert_same_cells(stored: dict, expected: dict) -> None:
    assert stored.keys() == expected.keys()
    for key, row in stored.items():
        want = expected[key]
        assert (row[0], row[7]) == (want[0], want[7]), key  # count, and the sum of the ids
        assert row[3:7] == want[3:7], key  # the bounds, exactly
        assert row[1:3] == pytest.approx(want[1:3], abs=1e-7), key


def test_triggers_keep_the_pyramid_in_step_with_every_change_of_a_report(app, crisis):
    _fill_and_change(app, random.Random(3))
    with app.app_context():
        _assert_same_cells(_stored_cells(), _expected_cells())
        public = db.session.execute(text("SELECT level, sum(n) FROM map_cells WHERE kind = 1 GROUP BY level")).all()
        shown = db.session.scalar(
            select(db.func.count()).select_from(Report).where(Report.published.is_(True), Report.sensitive.is_(False))
        )
        assert public and all(total == shown for _level, total in public)  # never an unpublished or sensitive one


def test_the_migration_builds_the_pyramid_of_existing_reports(app, crisis):
    """0015_map_pyramid's own build, run again over the same reports, gives what the triggers kept."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0015_map_pyramid.py"
    spec = importlib.util.spec_from_file_location("map_pyramid_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    _fill_and_change(app, random.Random(5))
    with app.app_context():
        kept = _stored_cells()
        db.session.execute(text("DELETE FROM map_cells"))
        for kind in migration.KINDS:
            db.session.execute(text(migration.build_sql(kind)))
        _assert_same_cells(_stored_cells(), kept)
        db.session.rollback()


@pytest.mark.parametrize("role", [None, "coordinator"])
def test_views_read_from_the_pyramid_match_the_general_query(app, crisis, make_user, role):
    """Many random views at the zoom levels the pyramid serves, after inserts, edits, moves,
    publication, sensitivity changes and deletes: cell for cell what the GROUP BY gives (the
    public's sensitive reports at their public points, unpublished ones only for a coordinator)."""
    from flask_login import AnonymousUserMixin

    from wiki.maps.viewport import FULL_TREE, PUBLIC_TREE, access_for, cluster_rows, parse_view, pyramid_level, tree_for
    from wiki.models import User

    viewer_id = make_user(role).id if role else None
    rng = random.Random(11)
    _fill_and_change(app, rng)
    read_from_pyramid = 0
    with app.test_request_context():
        viewer = db.session.get(User, viewer_id) if viewer_id else AnonymousUserMixin()
        quake = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        for _ in range(80):
            zoom = rng.randint(0, 15)
            width = 1024 * 360 / (256 * 2**zoom) * rng.uniform(0.2, 1.0)
            west = max(-180.0, rng.gauss(PAP[0], 0.03) - width / 2)
            south = max(-90.0, rng.gauss(PAP[1], 0.03) - width * 0.375)
            bbox = f"{west},{south},{min(180.0, west + width)},{min(90.0, south + width * 0.75)}"
            view = parse_view(quake, MultiDict({"bbox": bbox, "zoom": str(zoom)}))
            access = access_for(view, viewer, use_rtree=False)
            assert tree_for(access) == (FULL_TREE if role else PUBLIC_TREE)
            read_from_pyramid += pyramid_level(view) is not None
            fast = {row[0]: row for row in cluster_rows(access, use_tree=True)}
            general = {row[0]: row for row in cluster_rows(access, use_tree=False)}
            assert fast.keys() == general.keys(), (zoom, bbox)
            for key, row in fast.items():
                want = general[key]
                assert row[1] == want[1], (zoom, bbox)
                assert row[1] > 1 or row[8] == want[8]  # the id of a one-report cell
                if pyramid_level(view) is not None:
                    assert row[4:8] == want[4:8]  # exact positions (the R*Tree's are 32-bit floats)
                assert row[2:8] == pytest.approx(want[2:8], rel=1e-6, abs=1e-4)
    assert read_from_pyramid >= 60


def test_the_map_api_answers_from_the_pyramid_what_the_general_query_gives(app, client, crisis):
    """The whole request: the clusters, the total and the one-report cells (sent as those reports)
    of a view read from the pyramid are those of the general GROUP BY."""
    from flask_login import AnonymousUserMixin

    from wiki.maps.viewport import access_for, cluster_rows, parse_view, pyramid_level

    add_reports(app, "quake", _points(random.Random(2), 200))
    query = {"bbox": "-72.6,18.3,-72.1,18.8", "zoom": "11"}
    with app.test_request_context():
        quake = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        view = parse_view(quake, MultiDict(query))
        assert pyramid_level(view) is not None
        general = cluster_rows(access_for(view, AnonymousUserMixin(), use_rtree=False), use_tree=False)
    answer = client.get("/api/v1/map/reports", query_string={"crisis": "quake", **query}).get_json()
    assert answer["mode"] == "clusters" and answer["total"] == sum(row[1] for row in general)
    clusters = {f["id"]: f["properties"]["count"] for f in answer["features"] if f["properties"].get("cluster")}
    singles = {f["id"] for f in answer["features"] if not f["properties"].get("cluster")}
    assert clusters == {f"cell-{row[0]}": row[1] for row in general if row[1] > 1}
    assert singles == {row[8] for row in general if row[1] == 1}

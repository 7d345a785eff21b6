"""Benchmark: the crisis map's viewport endpoint with 100,000 reports, at three zoom levels.

A fresh SQLite database (migrated, so the R*Tree and its triggers exist) gets one crisis and
100,000 reports, generated deterministically (seeded) over the Haiti box -74.5,17.9,-71.6,20.1:
most of them clustered around towns (Gaussian spread, weighted roughly by population), the rest
scattered over the country; 5% sensitive (stored with their public point, a cell of the default
10 km grid, as the app stores them), 3% unpublished, statuses and sectors mixed. They go
in with one bulk executemany (the R*Tree triggers fire for every row), then the planner
statistics are refreshed as the maps feature does after a bulk import.

Then GET /api/v1/map/reports is timed through the Flask test client (the whole request: routing,
parsing, SQL, JSON) as an anonymous visitor, at three views of a 1024x768 map:

    country  zoom 8,  the whole of Haiti          (clusters; every report aggregated)
    region   zoom 11, Port-au-Prince and around   (clusters)
    town     zoom 14, central Port-au-Prince      (clusters or points, depending on density)

and p50/p99 over --requests requests per view are printed and written to
bench/results/map_viewport.json, with the zoom levels between and beyond (9, 10, 12, 13, 15, 16,
centred on Port-au-Prince). Target (issue 21): p50 under 20 ms at every zoom, goal under 5 ms.
The same views are also timed for a coordinator and with a sector filter (the general GROUP BY
path). Views of many reports are read from the cluster pyramid (wiki.maps.pyramid) where one of
its levels fits the zoom.

    .venv/bin/python bench/map_viewport.py [--reports 100000] [--requests 60] [--seed 4]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
RESULTS = PROJECT / "bench" / "results" / "map_viewport.json"
BBOX = (-74.5, 17.9, -71.6, 20.1)
# (lon, lat, spread in degrees, weight): towns of Haiti, weighted roughly by population.
TOWNS = [
    (-72.335, 18.543, 0.030, 30),
    (-72.400, 18.535, 0.020, 8),
    (-72.285, 18.512, 0.015, 6),
    (-72.300, 18.580, 0.015, 6),
    (-72.633, 18.511, 0.020, 5),
    (-72.535, 18.234, 0.015, 4),
    (-72.200, 19.759, 0.025, 7),
    (-72.689, 19.450, 0.020, 4),
    (-73.750, 18.195, 0.020, 4),
    (-72.015, 19.150, 0.015, 2),
    (-74.115, 18.650, 0.015, 2),
    (-72.700, 19.110, 0.015, 3),
    (-72.860, 18.430, 0.015, 2),
    (-71.840, 19.550, 0.015, 2),
    (-73.400, 18.300, 0.010, 1),
]
SCATTERED = 0.10  # share of reports anywhere in the country
SENSITIVE_GRID_KM = 10.0  # the default public grid of sensitive reports (wiki/config.py)
STATUSES = (("new", 55), ("under_review", 15), ("verified", 20), ("refuted", 4), ("duplicate", 3), ("archived", 3))
SECTORS = ("health", "wash", "shelter", "food", "logistics", "protection", "cccm", "nutrition", "education", "other")
VIEWS = {  # name -> (zoom, bbox of a 1024x768 map there)
    "country": (8, (-74.5, 17.9, -71.6, 20.1)),
    "region": (11, (-72.70, 18.30, -72.00, 18.80)),
    "town": (14, (-72.379, 18.513, -72.291, 18.573)),
}
# The zoom levels between and beyond those (the bar is "at every zoom"): a 1024x768 map centred
# on Port-au-Prince, 1440 / 2**zoom degrees wide.
for _zoom in (9, 10, 12, 13, 15, 16):
    _width = 1440 / 2**_zoom
    VIEWS[f"zoom {_zoom}"] = (
        _zoom,
        tuple(
            round(v, 6)
            for v in (-72.335 - _width / 2, 18.543 - _width * 0.36, -72.335 + _width / 2, 18.543 + _width * 0.36)
        ),
    )


def generate(count: int, seed: int) -> list[tuple]:
    from wiki.geo import grid_cell_centre

    rng = random.Random(seed)
    weights = [town[3] for town in TOWNS]
    statuses, status_weights = zip(*STATUSES, strict=True)
    start = datetime(2010, 1, 12, 21, 53, tzinfo=UTC)
    rows = []
    for i in range(1, count + 1):
        if rng.random() < SCATTERED:
            lon, lat = rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3])
        else:
            lon0, lat0, spread, _weight = rng.choices(TOWNS, weights)[0]
            lon = min(BBOX[2], max(BBOX[0], rng.gauss(lon0, spread)))
            lat = min(BBOX[3], max(BBOX[1], rng.gauss(lat0, spread)))
        occurred = start + timedelta(minutes=rng.randrange(60 * 24 * 60))
        stamp = occurred.strftime("%Y-%m-%d %H:%M:%S.000000")
        lon, lat = round(lon, 6), round(lat, 6)
        sector, status = rng.choice(SECTORS), rng.choices(statuses, status_weights)[0]
        published = int(rng.random() >= 0.03)
        sensitive = rng.random() < 0.05
        # stored with the report as the app does (wiki.visibility.public_position, default grid)
        public_lon, public_lat = grid_cell_centre(lon, lat, SENSITIVE_GRID_KM) if sensitive else (lon, lat)
        rows.append(
            (
                i,
                1,
                f"Report {i}",
                "",
                lon,
                lat,
                "",
                stamp,
                stamp,
                stamp,
                sector,
                status,
                published,
                int(sensitive),
                "web",
                1,
                public_lon,
                public_lat,
            )
        )
    return rows


def build(folder: Path, count: int, seed: int):
    from wiki import create_app
    from wiki.extensions import db
    from wiki.migrations import upgrade_all

    url = f"sqlite:///{folder / 'bench.db'}"
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": "bench",
        "LOAD_ENTRYPOINT_PLUGINS": False,
        "SERVER_NAME": "bench.local",
        "MAP_TILE_URL": "",
    }
    app = create_app(config)
    with app.app_context():
        upgrade_all()
        db.engine.dispose()
    started = time.perf_counter()
    rows = generate(count, seed)
    generated = time.perf_counter() - started
    connection = sqlite3.connect(folder / "bench.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("BEGIN")
    connection.execute(
        "INSERT INTO crises (id, slug, name, description, west, south, east, north, created_at) "
        "VALUES (1, 'haiti', 'Haiti earthquake', '', ?, ?, ?, ?, '2010-01-12 00:00:00')",
        BBOX,
    )
    connection.execute(
        "INSERT INTO sources (id, name, organisation, channel, created_at) VALUES (1, 'bench', '', 'web', '2010-01-12 00:00:00')"
    )
    started = time.perf_counter()
    connection.executemany(
        "INSERT INTO reports (id, crisis_id, title, description, lon, lat, place_name, occurred_at, received_at, updated_at, "
        "sector, status, published, sensitive, channel, source_id, public_lon, public_lat) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.execute("COMMIT")
    inserted = time.perf_counter() - started
    in_tree = connection.execute("SELECT count(*) FROM reports_rtree").fetchone()[0]
    connection.close()
    app = create_app(config)
    with app.app_context():
        from wiki.maps.spatial import refresh_planner_statistics

        refresh_planner_statistics()
    return app, {"generate_s": round(generated, 2), "insert_s": round(inserted, 2), "rtree_rows": in_tree}


def _coordinator_token(app) -> str:
    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.models import ApiToken

    with app.app_context():
        user = create_user("bench-coordinator", "correct horse battery staple", role="coordinator")
        _, plain = ApiToken.issue(user, "bench")
        db.session.commit()
        return plain


def _time(client, url: str, requests: int, headers: dict) -> tuple[list[float], dict, int]:
    for _ in range(5):  # warm the caches
        first = client.get(url, headers=headers)
    assert first.status_code == 200, first.data
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return sorted(times), first.get_json(), len(first.data)


def measure(app, requests: int) -> dict:
    """The public's views (the headline figures), then the same views for a coordinator (who
    sees exact locations and unpublished reports) and for the public with a sector filter:
    those two take the general GROUP BY path instead of the public R*Tree."""
    from werkzeug.datastructures import MultiDict

    client = app.test_client()
    token = _coordinator_token(app)
    cases = {
        "public": ({}, {}),
        "coordinator": ({"Authorization": f"Bearer {token}"}, {}),
        "public, sector=health": ({}, {"sector": "health"}),
    }
    results: dict = {}
    for case, (headers, extra) in cases.items():
        results[case] = {}
        for name, (zoom, bbox) in VIEWS.items():
            query = {"crisis": "haiti", "zoom": str(zoom), "bbox": ",".join(str(v) for v in bbox), **extra}
            url = "/api/v1/map/reports?" + "&".join(f"{key}={value}" for key, value in query.items())
            times, body, size = _time(client, url, requests, headers)
            with app.test_request_context(headers=headers):
                from flask_login import current_user

                from wiki.extensions import db
                from wiki.maps.spatial import rtree_count
                from wiki.maps.viewport import RTREE_PATH_MAX, access_for, parse_view, pyramid_level, tree_for
                from wiki.models import Crisis

                view = parse_view(
                    db.session.get(Crisis, 1), MultiDict({k: v for k, v in query.items() if k != "crisis"})
                )
                access = access_for(view, current_user, use_rtree=False)
                near = rtree_count(access.candidate_bbox, stop_after=RTREE_PATH_MAX + 1)
                tree = tree_for(access)
                level = pyramid_level(view) if tree else None
                path = (
                    f"pyramid ({tree}'s reports) level {level[0]}, frame from the R*Tree"
                    if level
                    else f"{tree}, cell by cell"
                    if tree
                    else "GROUP BY via "
                    + ("R*Tree" if near <= RTREE_PATH_MAX else "covering index ix_reports_map_viewport")
                )
            results[case][name] = {
                "zoom": zoom,
                "bbox": list(bbox),
                "mode": body["mode"],
                "reports_in_view": body["total"],
                "features_sent": len(body["features"]),
                "response_bytes": size,
                "p50_ms": round(statistics.median(times), 2),
                "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
                "min_ms": round(times[0], 2),
                "max_ms": round(times[-1], 2),
                "requests": requests,
                "path": path,
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crisiswiki-map-bench-"))
    try:
        app, load = build(folder, args.reports, args.seed)
        figures = measure(app, args.requests)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    result = {
        "benchmark": "map_viewport",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
        "reports": args.reports,
        "seed": args.seed,
        "database": "SQLite (WAL), fresh file",
        "through": "Flask test client, whole request",
        "target": "p50 < 20 ms at every zoom (the public's views), goal < 5 ms",
        "load": load,
        "views": figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.reports:,} reports; loaded in {load['insert_s']} s (R*Tree rows: {load['rtree_rows']:,})")
    for case, views in figures.items():
        for name, figure in views.items():
            print(
                f"{case:22} {name:8} zoom {figure['zoom']:2}  {figure['mode']:8} {figure['reports_in_view']:7,} in view, "
                f"{figure['features_sent']:4} features  p50 {figure['p50_ms']:7.2f} ms  p99 {figure['p99_ms']:7.2f} ms  ({figure['path']})"
            )
    print(f"written to {RESULTS.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()

"""Benchmark: the crisis dashboard's data (GET /api/v1/crises/<crisis>/dashboard) with 100,000
reports, with the validation plugin loaded (its score, verdict and key-figure charts included).

A fresh SQLite database (migrated) gets one crisis and 100,000 reports generated as
bench/map_viewport.py makes them (seeded: towns of Haiti, two months, mixed statuses and
sectors), with channels mixed, admin areas set (two provinces, four districts), the time each
decided report left the backlog, and a score row for 80% of them (scores, Admiralty codes), plus
a few dozen structured claims. Then the dashboard's JSON is timed through the Flask test client
(the whole request: routing, every chart's SQL, JSON) for a coordinator, unfiltered and with each
kind of filter, and p50/p99 over --requests requests per case (and the median CPU time the
process spent on a request) are printed and written to bench/results/dashboard.json. Target: p50
under 100 ms.

    .venv/bin/python bench/dashboard.py [--reports 100000] [--requests 30] [--seed 4] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
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
from bench.map_viewport import BBOX, generate  # noqa: E402

RESULTS = PROJECT / "bench" / "results" / "dashboard.json"
CHANNELS = (("web", 30), ("sms", 40), ("email", 10), ("api", 15), ("import", 5))
CODES = [f"{r}{c}" for r in "ABCDEF" for c in range(1, 7)]
CASES = {
    "unfiltered": "",
    "sector=health": "sector=health",
    "one week, by hour": "since=2010-01-20&until=2010-01-27&unit=hour",
    "adm=HT01": "adm=HT01&level=2",
    "min_score=0.6": "min_score=0.6",
    # Twentieths: the score bands answer every value the dashboard's control offers (0.05 steps),
    # 0.9 included (a float edge: the largest score below 0.9 makes 18.0 when multiplied by 20).
    "min_score=0.65": "min_score=0.65",
    "min_score=0.9": "min_score=0.9",
    # A score and the hourly charts: the band tallies by the hour. Over the whole two months (1,440
    # hours) the hourly tallies hold about a row per report, with or without a score: compare.
    "min_score=0.65, one week by hour": "min_score=0.65&since=2010-01-20&until=2010-01-27&unit=hour",
    "min_score=0.6, by hour": "min_score=0.6&unit=hour",
    "by hour": "unit=hour",
    # Not a twentieth (typed into a URL): counts from the reports.
    "min_score=0.63": "min_score=0.63",
}


def build(folder: Path, count: int, seed: int):
    from wiki import create_app
    from wiki.extensions import db
    from wiki.migrations import upgrade_all

    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": "bench",
        "LOAD_ENTRYPOINT_PLUGINS": True,
        "SERVER_NAME": "bench.local",
        "MAP_TILE_URL": "",
        "WORKER_IN_SERVERS": False,
    }
    app = create_app(config)
    with app.app_context():
        upgrade_all()
        db.engine.dispose()
    rng = random.Random(seed + 1)
    channels, channel_weights = zip(*CHANNELS, strict=True)
    rows, scores = [], []
    for row in generate(count, seed):
        (rid, crisis, title, description, lon, lat, place, occurred, received, updated, sector, status, published,
         sensitive, _channel, source) = row  # fmt: skip
        received_at = datetime.strptime(received, "%Y-%m-%d %H:%M:%S.%f")
        triaged = None
        if status not in ("new", "under_review"):
            triaged = (received_at + timedelta(minutes=rng.expovariate(1 / 600))).strftime("%Y-%m-%d %H:%M:%S.%f")
        adm1 = "HT01" if lon < -73.0 else "HT02"
        adm2 = adm1 + ("01" if lat < 19.0 else "02")
        rows.append(
            (rid, crisis, title, description, lon, lat, place, occurred, received, updated, sector, status, published,
             sensitive, rng.choices(channels, channel_weights)[0], source, triaged, adm1, adm1, adm2, adm2)
        )  # fmt: skip
        if rng.random() < 0.8:
            code = rng.choice(CODES) if rng.random() < 0.6 else None
            scores.append(
                (rid, 1, sector, lat, lon, 0.0, round(rng.betavariate(2, 2), 4), 0.0, code, "assessed", 0.5, "[]",
                 "{}", 1.0, 0, updated)
            )  # fmt: skip
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
        "INSERT INTO sources (id, name, organisation, channel, created_at) "
        "VALUES (1, 'bench', '', 'web', '2010-01-12 00:00:00')"
    )
    for level, pcode, name, parent in (
        (1, "HT01", "Ouest", None),
        (1, "HT02", "Est", None),
        (2, "HT0101", "Sud-Ouest", "HT01"),
        (2, "HT0102", "Nord-Ouest", "HT01"),
        (2, "HT0201", "Sud-Est", "HT02"),
        (2, "HT0202", "Nord-Est", "HT02"),
    ):
        connection.execute(
            "INSERT INTO admin_areas (crisis_id, level, pcode, name, alt_names, parent_pcode, geometry, imported_at) "
            "VALUES (1, ?, ?, ?, '[]', ?, '{}', '2010-01-12 00:00:00')",
            (level, pcode, name, parent),
        )
    started = time.perf_counter()
    connection.executemany(
        "INSERT INTO reports (id, crisis_id, title, description, lon, lat, place_name, occurred_at, received_at, "
        "updated_at, sector, status, published, sensitive, channel, source_id, triaged_at, adm1_pcode, adm1_name, "
        "adm2_pcode, adm2_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.executemany(
        "INSERT INTO validation_scores (report_id, crisis_id, sector, lat, lon, t, score, log_odds, admiralty, "
        "assessment, source_reliability, explanation, neighbours, reach_km, stale, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        scores,
    )
    for index in range(40):  # key figures: people displaced per province and day, two sources disagreeing
        connection.execute(
            "INSERT INTO validation_claim_subjects (id, crisis_id, subject, subject_key, attribute, as_of, kind, unit, "
            "proposed, confidence, distribution, computed_at, created_at) VALUES (?, 1, ?, ?, 'people_displaced', ?, "
            "'numeric', 'people', ?, 0.8, ?, '2010-02-01 00:00:00', '2010-02-01 00:00:00')",
            (
                index + 1,
                "HT01" if index % 2 else "HT02",
                "ht01" if index % 2 else "ht02",
                (datetime(2010, 1, 13) + timedelta(days=index // 2)).date().isoformat(),
                json.dumps({"value": 1000 + index}),
                json.dumps([{"value": 1000 + index, "key": 1000.0 + index, "probability": 0.8, "supports": True}]),
            ),
        )
        for claim in range(2):
            connection.execute(
                "INSERT INTO validation_claims (subject_id, report_id, number, created_at, updated_at) "
                "VALUES (?, ?, ?, '2010-02-01 00:00:00', '2010-02-01 00:00:00')",
                (index + 1, 1 + index * 2 + claim, 1000 + index + claim * 50),
            )
    connection.execute("COMMIT")
    inserted = time.perf_counter() - started
    connection.execute("ANALYZE")
    connection.close()
    return create_app(config), {"insert_s": round(inserted, 2), "reports": len(rows), "scores": len(scores)}


def _token(app) -> str:
    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.models import ApiToken

    with app.app_context():
        user = create_user("bench-coordinator", "correct horse battery staple", role="coordinator")
        _, plain = ApiToken.issue(user, "bench")
        db.session.commit()
        return plain


def measure(app, requests: int) -> dict:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {_token(app)}"}
    results = {}
    for name, query in CASES.items():
        url = "/api/v1/crises/haiti/dashboard" + (f"?{query}" if query else "")
        for _ in range(3):  # warm the caches
            first = client.get(url, headers=headers)
        assert first.status_code == 200, first.data
        times, cpu = [], []
        for _ in range(requests):
            started, used = time.perf_counter(), time.process_time()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
            assert response.status_code == 200
        times.sort()
        body = first.get_json()
        results[name] = {
            "query": query,
            "reports_in_view": body["reports"],
            "charts": [chart["key"] for chart in body["charts"]],
            "response_bytes": len(first.data),
            "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            # The process's CPU time per request (Python and SQLite, which runs in the process):
            # on shared cores it grows far less than the wall time when other work waits for them.
            "cpu_p50_ms": round(statistics.median(cpu), 2),
            "min_ms": round(times[0], 2),
            "max_ms": round(times[-1], 2),
            "requests": requests,
        }
        figures = results[name]
        print(
            f"{name:22} p50 {figures['p50_ms']:7.1f} ms  p99 {figures['p99_ms']:7.1f} ms  "
            f"cpu p50 {figures['cpu_p50_ms']:6.1f} ms",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="10 requests per case (make bench-quick)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crisiswiki-dashboard-bench-"))
    try:
        app, load = build(folder, args.reports, args.seed)
        load_before = os.getloadavg()[0]
        figures = measure(app, 10 if args.quick else args.requests)
        load_after = os.getloadavg()[0]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    result = {
        "benchmark": "dashboard",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cores": os.cpu_count(),
            # How busy the shared cores were around the measurement (1-minute load average).
            "load_before": round(load_before, 2),
            "load_after": round(load_after, 2),
        },
        "database": "sqlite",
        "load": load,
        "target_p50_ms": 100,
        "cases": figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Export benchmark: a crisis's reports as GeoJSON and as CSV+HXL, streamed by gunicorn.

Uses the instance `make bench` leaves in bench/work/instance (100,000 reports; run
`make bench` first), serves it with gunicorn as `make run` does, downloads both exports as an
anonymous user and as an admin (token), and records the time, the bytes and the largest
resident memory any worker reached (VmHWM), so "streams without a memory spike" is a figure.

    python bench/export.py        # writes bench/results/export.json
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import BIN, PORT, WORK, start_gunicorn, stop  # noqa: E402

RESULT = ROOT / "bench" / "results" / "export.json"


def workers_peak_rss_mb(master: int) -> float:
    """The largest VmHWM (peak resident memory) among the master's worker processes."""
    peak = 0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return round(peak / 1024, 1)


def download(url: str, headers: dict[str, str]) -> dict:
    started = time.perf_counter()
    first_byte = None
    size = 0
    with requests.get(url, headers=headers, stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(64 * 1024):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "first_byte_ms": round((first_byte or 0) * 1000, 1),
        "mb": round(size / 1e6, 1),
    }


def admin_token(instance: Path) -> str:
    env = {**os.environ, "CRISISWIKI_INSTANCE_PATH": str(instance)}
    name = f"bench-admin-{int(time.time())}"
    result = subprocess.run(
        [str(BIN / "crisiswiki"), "create-user", name, "--role", "admin", "--password", "bench-admin-pass", "--token"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return result.stdout.strip().rsplit(" ", 1)[-1]


def main() -> None:
    instance = WORK / "instance"
    database = instance / "crisiswiki.db"
    if not database.exists():
        raise SystemExit("run `make bench` first: it leaves a 100,000-report instance in bench/work/instance")
    with sqlite3.connect(database) as conn:
        slug, count = conn.execute(
            "SELECT c.slug, count(r.id) FROM crises c JOIN reports r ON r.crisis_id = c.id "
            "GROUP BY c.id ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
    token = admin_token(instance)
    server = start_gunicorn(instance)
    base = f"http://127.0.0.1:{PORT}"
    try:
        time.sleep(5)  # let the workers settle (search writer start-up, catch-up passes)
        results = {"workers_peak_rss_mb_before": workers_peak_rss_mb(server.pid)}
        for who, headers in (("public", {}), ("admin", {"Authorization": f"Bearer {token}"})):
            for kind in ("geojson", "csv"):
                results[f"{kind}_{who}"] = download(f"{base}/c/{slug}/reports.{kind}", headers)
                print(kind, who, results[f"{kind}_{who}"], flush=True)
        results["workers_peak_rss_mb"] = workers_peak_rss_mb(server.pid)
    finally:
        stop(server)
    report = {
        "benchmark": "export",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "reports": count,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "database": "SQLite (the bench instance)",
        "results": results,
        "command": "python bench/export.py",
    }
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

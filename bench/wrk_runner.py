"""Run wrk (Debian's package) with a Lua workload script and read its JSON result line.

wrk is the load generator for every HTTP workload, crisiswiki's and MediaWiki's alike: it is
written in C with an event loop, so on this 2-core machine it needs a fraction of one core to
keep a server busy, where a Python load generator would compete with the server for the CPU
and measure itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    script: str,
    seconds: int,
    connections: int,
    threads: int | None = None,
    env: dict[str, str] | None = None,
    timeout_s: int = 30,
) -> dict:
    """Run `wrk` against `url` with bench/wrk/<script> (+ the shared report.lua); returns
    requests, requests/s, latency percentiles in ms and the count of each HTTP status."""
    threads = threads or min(connections, 2)
    combined = WRK_DIR / f".combined-{script}"
    combined.write_text((WRK_DIR / "report.lua").read_text() + "\n" + (WRK_DIR / script).read_text())
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{timeout_s}s",
        "-s",
        str(combined),
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    combined.unlink(missing_ok=True)
    line = next((line for line in result.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk produced no result: {result.stdout}\n{result.stderr}")
    data = json.loads(line[len("WRK_JSON ") :])
    seconds_taken = data["duration_us"] / 1e6
    statuses = {int(k): v for k, v in data["statuses"].items()}
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return {
        "requests": data["requests"],
        "ok": ok,
        "statuses": statuses,
        "errors": data["errors"],
        "seconds": round(seconds_taken, 2),
        "rps": round(ok / seconds_taken, 1) if seconds_taken else 0.0,
        "p50_ms": round(data["latency_us"]["p50"] / 1000, 2),
        "p90_ms": round(data["latency_us"]["p90"] / 1000, 2),
        "p99_ms": round(data["latency_us"]["p99"] / 1000, 2),
        "max_ms": round(data["latency_us"]["max"] / 1000, 2),
        "connections": connections,
        "threads": threads,
    }

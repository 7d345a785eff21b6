"""Where the time of one report's intake goes: POST /api/v1/reports under cProfile, in process.

The reports go through the Flask test client exactly as bench/run.py's intake workload sends
them (anonymous GeoJSON Features, each with its own Idempotency-Key), one after another, on a
fresh SQLite database (or a copy of the benchmark's prepared instance: --instance), with no
background worker in the process (scoring and indexing are measured by the settle time of
bench/run.py, not here). The CPU a report costs, unprofiled, beside what an SMS costs through
the generic webhook (bench/sms_surge.py's path, which stores the raw message and answers); then
the functions by cumulative CPU time under cProfile, written to bench/results/intake_profile.txt.

    .venv/bin/python bench/profile_intake.py [--reports 500] [--instance bench/work/instance-prepared]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "intake_profile.txt"


def feature(n: int, crisis: str, rng: random.Random) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-72.9 + rng.random() * 0.8, 18.3 + rng.random() * 0.5]},
        "properties": {
            "crisis": crisis,
            "title": f"Intake report {n}",
            "description": "Water point damaged, people queueing since morning.",
            "sector": "wash",
            "source": {"contact": f"+509 4{rng.randrange(10_000_000):07d}", "channel": "sms"},
        },
    }


def prepare(instance: Path) -> str:
    env = {
        **os.environ,
        "CRISISWIKI_INSTANCE_PATH": str(instance),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-c", "from wiki.console import main; main()", "init-db", "--no-demo"],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    script = (
        "from wiki import create_app\n"
        "from wiki.auth.accounts import create_user\n"
        "from wiki.crises.services import create_crisis\n"
        "app = create_app()\n"
        "with app.test_request_context():\n"
        "    admin = create_user('profile-admin', 'profile password 1', role='admin')\n"
        "    create_crisis({'name': 'Haiti', 'slug': 'haiti', 'bbox': '-74.5,17.9,-71.6,20.1'}, admin)\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, cwd=ROOT)
    return "haiti"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--instance", type=Path, default=None, help="copy this prepared instance (bench/run.py's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        if args.instance:
            shutil.copytree(args.instance, instance)
            crisis = json.loads((args.instance / "loaded.json").read_text())["crisis"]
        else:
            instance.mkdir()
            crisis = prepare(instance)
        os.environ.update(
            CRISISWIKI_INSTANCE_PATH=str(instance),
            CRISISWIKI_WORKER_IN_SERVERS="false",
            CRISISWIKI_ANONYMOUS_SUBMIT_LIMIT="100000000",
            CRISISWIKI_LOG_LEVEL="warning",
            CRISISWIKI_WEBHOOK_SECRET="profile-webhook",
        )
        from wiki import create_app

        app = create_app()
        client = app.test_client()
        rng = random.Random(7)
        run = f"profile{int(time.time())}"
        for n in range(20):  # warm: the first requests fill per-process caches
            client.post("/api/v1/reports", json=feature(n, crisis, rng), headers={"Idempotency-Key": f"{run}-w{n}"})

        def post(n: int, prefix: str) -> None:
            response = client.post(
                "/api/v1/reports", json=feature(n, crisis, rng), headers={"Idempotency-Key": f"{run}-{prefix}{n}"}
            )
            if response.status_code != 201:
                raise SystemExit(f"report {n}: {response.status_code} {response.get_data(as_text=True)[:300]}")

        # First without the profiler (its overhead about doubles the time), then under it. CPU time
        # of this process, not the wall clock: on a shared machine the wall clock counts the other
        # sessions' work too. (Waiting for the disk's sync is not CPU: it shows in the wall time.)
        started, cpu_started = time.perf_counter(), time.process_time()
        for n in range(args.reports):
            post(n, "plain")
        plain, plain_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for n in range(args.reports):
            post(n, "profiled")
        profiler.disable()
        # The same number of SMS through the generic webhook (bench/sms_surge.py's path), unprofiled:
        # what a message costs where intake only stores the raw message and answers.
        sms_started, sms_cpu_started = time.perf_counter(), time.process_time()
        for n in range(args.reports):
            response = client.post(
                f"/channels/webhook/inbound?crisis={crisis}",
                json={"id": f"{run}-sms{n}", "from": "+50937000000", "to": "4636", "text": "nou bezwen dlo nan delmas"},
                headers={"X-Crisiswiki-Secret": "profile-webhook"},
            )
            if response.status_code != 200:
                raise SystemExit(f"SMS {n}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        sms, sms_cpu = time.perf_counter() - sms_started, time.process_time() - sms_cpu_started
    out = io.StringIO()
    out.write(
        f"{args.reports} reports one after another: {plain_cpu / args.reports * 1000:.2f} ms of CPU each, "
        f"{plain / args.reports * 1000:.2f} ms of wall time each (the machine is shared: load average "
        f"{os.getloadavg()[0]:.1f}). For comparison, {args.reports} SMS through the generic webhook "
        f"(bench/sms_surge.py's path): {sms_cpu / args.reports * 1000:.2f} ms of CPU each, "
        f"{sms / args.reports * 1000:.2f} ms of wall time each. Then {args.reports} reports under cProfile; the "
        "times below are its CPU seconds (profiling overhead included).\n\n"
    )
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"wiki/|plugins/", 40)
    stats.print_callees(r"submit_report|create_report|report_feature|report_properties")
    stats.sort_stats("tottime").print_stats(25)
    RESULTS.write_text(out.getvalue())
    print(out.getvalue())


if __name__ == "__main__":
    main()

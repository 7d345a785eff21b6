"""Benchmark: clicks on the reports of a source with 2,000 reports in a crisis (issue 23), against
gunicorn served as `make run` serves it (tests/servers.py), the background worker inside the
servers as in production, on a fresh database (SQLite unless --database-url).

The crisis holds `--source-reports` reports from one contact (an SMS gateway's or an
organisation's desk, reporting all over the country) and `--others` reports from many small
sources among them, every one scored by `crisiswiki rescore` before the servers start. Then:

1. isolated clicks: a verifier's grading (`POST /api/v1/reports/<id>/assessments`) or a
   coordinator's status change (`PATCH /api/v1/reports/<id>`, verified or refuted: both change
   what is known of the source), one at a time, each when every score is current: the time to
   the answer, and from the answer until every dependent score is current again (no score row
   is stale, nor scored before its source was marked stale; read from the database every 20 ms). Right after each answer an API client reads
   another report of the same source: its `score_stale` says whether its score is being
   brought up to date (counted; it is true unless the batches were quicker than that read);
2. a verification session: `--verifiers` verifiers grading and `--coordinators` coordinators
   changing statuses, all at once, on that source's reports (a pause of `--pause` s on
   average between one person's clicks) for `--seconds`: p50/p95/p99 of each; then the time
   from the last answer until every score is current again.

    .venv/bin/python bench/clicks.py [--quick] [--seed 7] [--database-url URL]

Writes bench/results/clicks.json. Targets (issue 23): grading and status change p95 under
150 ms; every dependent score current within 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.crisis_day import PASSWORD, SECTORS, BackgroundWorker, percentile  # noqa: E402
from tests.servers import BIN, ROOT, gunicorn, server_env  # noqa: E402

RESULTS = PROJECT / "bench" / "results"
CRISIS = "clicks"
BBOX = (-74.5, 17.9, -71.6, 20.1)  # Haiti
QUAKE = datetime(2010, 1, 12, 21, 53, tzinfo=UTC)
SETTINGS = {"WRITE_CHECK": "raise", "LOG_LEVEL": "warning"}
TARGET_P95_MS = 150.0
TARGET_SETTLED_S = 5.0


def prepare(instance: Path, database_url: str, source_reports: int, others: int, people: int, seed: int) -> dict:
    """Migrate; the crisis, its reports and everyone's tokens; every report scored."""
    env = server_env(instance, database_url, **SETTINGS)
    run = {"env": env, "check": True, "capture_output": True, "cwd": ROOT}
    subprocess.run([str(BIN / "crisiswiki"), "init-db", "--no-demo"], **run)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CRISISWIKI_", "DATABASE_URL"))})
    from sqlalchemy import insert, select

    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.database import write_transaction
    from wiki.extensions import db
    from wiki.models import ApiToken, Report, Source
    from wiki.models.base import utcnow
    from wiki.reports.sources import contact_hash

    rng = random.Random(seed)
    app = create_app()
    tokens: dict[str, list[str]] = {"verifier": [], "coordinator": []}
    with app.test_request_context():
        with write_transaction():
            admin = create_user("clicks-admin", PASSWORD, role="admin", display_name="Administrator")
            crisis = create_crisis(
                {"name": "Clicks", "slug": CRISIS, "bbox": ",".join(map(str, BBOX)), "start_date": "2010-01-12"},
                admin,
            )
            crisis_id = crisis.id
        for role in tokens:
            for n in range(people):
                with write_transaction():
                    user = create_user(f"{role}-{n}", PASSWORD, role=role)
                    tokens[role].append(ApiToken.issue(user, "clicks")[1])
        with write_transaction():
            phones = ["+509 2000 0000"] + [f"+509 3{n:03d} {rng.randrange(10000):04d}" for n in range(others // 4)]
            sources = [
                Source(contact=phone, contact_hash=contact_hash(phone), channel="sms", name="", organisation="")
                for phone in phones
            ]
            db.session.add_all(sources)
            db.session.flush()
            big, small = sources[0].id, [source.id for source in sources[1:]]
            now, rows = utcnow(), []
            for n in range(source_reports + others):
                sector = rng.choice(SECTORS)
                occurred = QUAKE + timedelta(seconds=rng.uniform(0, 10 * 86400))
                rows.append(
                    {
                        "crisis_id": crisis_id,
                        "title": f"{sector} report {n}",
                        "description": "Seen on the road",
                        "lon": rng.uniform(BBOX[0] + 1.5, BBOX[0] + 2.6),  # the populated west
                        "lat": rng.uniform(BBOX[1] + 0.3, BBOX[1] + 1.0),
                        "place_name": "",
                        "occurred_at": occurred,
                        "received_at": occurred,
                        "updated_at": now,
                        "sector": sector,
                        "status": rng.choices(("new", "verified", "refuted"), weights=(90, 8, 2))[0],
                        "published": True,
                        "sensitive": False,
                        "channel": "sms",
                        "source_id": big if n < source_reports else rng.choice(small or [big]),
                    }
                )
            db.session.execute(insert(Report), rows)
        ids = db.session.scalars(
            select(Report.id).where(Report.source_id == big, Report.status == "new").order_by(Report.id)
        ).all()
        durability = {
            key: app.config.get(key) for key in ("SQLITE_SYNCHRONOUS", "SQLITE_BUSY_TIMEOUT_MS", "WRITE_CHECK")
        }
        background = {
            key: app.config.get(key)
            for key in (
                "WORKER_IN_SERVERS",
                "VALIDATION_STALE_BATCH",
                "VALIDATION_BACKGROUND_SLICE_MS",
                "VALIDATION_BACKGROUND_POLL_MS",
            )
        }
        db.engine.dispose()
    started = time.perf_counter()
    subprocess.run([str(BIN / "crisiswiki"), "rescore", "--quiet"], **run)
    return {
        "tokens": tokens,
        "source_ids": list(ids),
        "durability": durability,
        "background": background,
        "rescore_s": round(time.perf_counter() - started, 1),
    }


class Scores:
    """Reads the score rows straight from the database (its own connection)."""

    def __init__(self, database_url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))

    def stale(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            # Marked stale itself, or scored before its source was marked (validation_stale_sources).
            return conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM validation_scores WHERE stale) + (SELECT count(*) "
                    "FROM validation_stale_sources m JOIN reports r ON r.source_id = m.source_id "
                    "JOIN validation_scores s ON s.report_id = r.id "
                    "WHERE s.source_generation < m.generation AND NOT s.stale)"
                )
            ).scalar()

    def unscored(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT count(*) FROM reports r LEFT JOIN validation_scores s ON s.report_id = r.id "
                    "WHERE s.report_id IS NULL"
                )
            ).scalar()

    def current_within(self, timeout: float, every: float = 0.02) -> float | None:
        """Seconds until no score is stale (None: not within `timeout`)."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.stale() == 0:
                return time.perf_counter() - started
            time.sleep(every)
        return None


def click(kind: str, session: requests.Session, base: str, report_id: int, rng: random.Random) -> requests.Response:
    if kind == "grading":
        grade = {"reliability": rng.choice("ABCDE"), "credibility": rng.randint(1, 5)}
        return session.post(f"{base}/api/v1/reports/{report_id}/assessments", json=grade, timeout=60)
    return session.patch(
        f"{base}/api/v1/reports/{report_id}", json={"status": rng.choice(("verified", "refuted"))}, timeout=60
    )


def warm_up(base: str, setup: dict, scores: Scores, workers: int, rng: random.Random) -> None:
    """Every server process's first requests (imports, templates, the worker thread) are not
    what a verifier waits for in the middle of a day: a few of each request first, unmeasured."""
    verifier, coordinator, reader = requests.Session(), requests.Session(), requests.Session()
    verifier.headers["Authorization"] = f"Bearer {setup['tokens']['verifier'][0]}"
    coordinator.headers["Authorization"] = f"Bearer {setup['tokens']['coordinator'][0]}"
    for _n in range(4 * workers):
        report_id = rng.choice(setup["source_ids"])
        reader.get(f"{base}/api/v1/reports/{report_id}", timeout=60)
        click("grading", verifier, base, report_id, rng)
        click("status change", coordinator, base, report_id, rng)
    scores.current_within(120)


def isolated(base: str, setup: dict, scores: Scores, clicks: int, rng: random.Random) -> dict:
    """One click at a time, each when every score is current (see the module docstring)."""
    sessions = {}
    for kind, role in (("grading", "verifier"), ("status change", "coordinator")):
        sessions[kind] = requests.Session()
        sessions[kind].headers["Authorization"] = f"Bearer {setup['tokens'][role][0]}"
    reader = requests.Session()
    reader.headers["Authorization"] = f"Bearer {setup['tokens']['verifier'][-1]}"
    ids = setup["source_ids"]
    answers: dict[str, list[float]] = defaultdict(list)
    settled: dict[str, list[float]] = defaultdict(list)
    stale_seen, stale_in_answer, errors = defaultdict(int), defaultdict(int), []
    for n in range(clicks):
        for kind in ("grading", "status change"):
            if scores.current_within(60) is None:
                errors.append(f"scores still stale before click {n} ({kind})")
            report_id, other = rng.sample(ids, 2)
            started = time.perf_counter()
            response = click(kind, sessions[kind], base, report_id, rng)
            answered = time.perf_counter()
            if response.status_code not in (200, 201):
                errors.append(f"{kind} {report_id}: {response.status_code} {response.text[:200]}")
                continue
            answers[kind].append((answered - started) * 1000)
            body = response.json()
            own = body.get("properties", body)
            stale_in_answer[kind] += bool(own.get("score_stale"))
            seen = reader.get(f"{base}/api/v1/reports/{other}", timeout=60).json()["properties"]
            stale_seen[kind] += bool(seen.get("score_stale"))
            waited = scores.current_within(60)
            if waited is None:
                errors.append(f"{kind} {report_id}: dependent scores still stale after 60 s")
                continue
            settled[kind].append(time.perf_counter() - answered)
    return {
        kind: {
            "clicks": len(answers[kind]),
            "answer_p50_ms": percentile(answers[kind], 0.5),
            "answer_p95_ms": percentile(answers[kind], 0.95),
            "answer_max_ms": round(max(answers[kind]), 1) if answers[kind] else None,
            "all_current_p50_s": _seconds(settled[kind], 0.5),
            "all_current_p95_s": _seconds(settled[kind], 0.95),
            "all_current_max_s": round(max(settled[kind]), 2) if settled[kind] else None,
            "answer_said_own_score_stale": stale_in_answer[kind],
            "other_report_read_as_score_stale": stale_seen[kind],
        }
        for kind in answers
    } | {"errors": errors}


def _seconds(values: list[float], q: float) -> float | None:
    found = percentile([v * 1000 for v in values], q)
    return round(found / 1000, 2) if found is not None else None


def session(base: str, setup: dict, scores: Scores, args: argparse.Namespace, rng: random.Random) -> dict:
    """Verifiers and coordinators at once on the source's reports (see the module docstring)."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    lock, stop = threading.Lock(), threading.Event()
    ids = setup["source_ids"]

    def person(kind: str, role: str, number: int) -> None:
        own_rng = random.Random(rng.random())
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {setup['tokens'][role][number]}"
        while not stop.is_set():
            report_id = ids[own_rng.randrange(len(ids))]
            started = time.perf_counter()
            try:
                response = click(kind, http, base, report_id, own_rng)
            except requests.RequestException as exc:
                with lock:
                    errors[kind].append(str(exc))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.status_code in (200, 201):
                    latencies[kind].append(elapsed)
                else:
                    errors[kind].append(f"{response.status_code} {response.text[:200]}")
            stop.wait(own_rng.expovariate(1 / args.pause))

    threads = [threading.Thread(target=person, args=("grading", "verifier", n)) for n in range(args.verifiers)]
    threads += [
        threading.Thread(target=person, args=("status change", "coordinator", n)) for n in range(args.coordinators)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(args.seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    stale_at_end = scores.stale()
    current = scores.current_within(args.settle_timeout)
    result = {
        kind: {
            "requests": len(times),
            "per_second": round(len(times) / elapsed, 2),
            "p50_ms": percentile(times, 0.50),
            "p95_ms": percentile(times, 0.95),
            "p99_ms": percentile(times, 0.99),
            "max_ms": round(max(times), 1) if times else None,
            "errors": len(errors[kind]),
            "first_errors": errors[kind][:3],
        }
        for kind, times in sorted(latencies.items())
    }
    result["seconds"] = round(elapsed, 1)
    result["stale_scores_at_the_last_answer"] = stale_at_end
    result["seconds_until_all_current_after_the_last_answer"] = round(current, 2) if current is not None else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer clicks (the suite's and bench-quick's run)")
    parser.add_argument("--source-reports", type=int, default=2000)
    parser.add_argument("--others", type=int, default=1000, help="reports of small sources among them")
    parser.add_argument("--clicks", type=int, help="isolated clicks of each kind (default 20, quick 5)")
    parser.add_argument("--seconds", type=float, help="the verification session (default 60, quick 15)")
    parser.add_argument("--verifiers", type=int, default=6)
    parser.add_argument("--coordinators", type=int, default=2)
    parser.add_argument("--pause", type=float, default=1.0, help="mean seconds between one person's clicks")
    parser.add_argument("--settle-timeout", type=float, default=120.0, help="seconds to wait for scores at the end")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--database-url", help="default: a fresh SQLite database in a temporary folder")
    parser.add_argument("--output", type=Path, help="default: bench/results/clicks.json")
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="the background worker as a process of its own (crisiswiki worker; WORKER_IN_SERVERS=false)",
    )
    parser.add_argument("--setting", action="append", default=[], help="NAME=VALUE: a server setting (repeatable)")
    args = parser.parse_args()
    SETTINGS.update(item.split("=", 1) for item in args.setting)
    if args.separate_worker:
        SETTINGS["WORKER_IN_SERVERS"] = "false"
    clicks = args.clicks if args.clicks is not None else (5 if args.quick else 20)
    args.seconds = args.seconds or (15.0 if args.quick else 60.0)
    output = args.output or RESULTS / "clicks.json"
    rng = random.Random(args.seed)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="clicks-") as folder:
        instance = Path(folder) / "instance"
        instance.mkdir()
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'crisiswiki.db'}"
        people = max(args.verifiers, args.coordinators, 2)
        setup = prepare(instance, database_url, args.source_reports, args.others, people, args.seed)
        scores = Scores(database_url)
        worker = BackgroundWorker(instance, server_env(instance, database_url, **SETTINGS))
        try:
            if args.separate_worker:
                worker.start()
            with gunicorn(instance, database_url, workers=args.workers, init=False, **SETTINGS) as base:
                warm_up(base, setup, scores, args.workers, rng)
                one_at_a_time = isolated(base, setup, scores, clicks, rng)
                together = session(base, setup, scores, args, rng)
                unscored = scores.unscored()
        finally:
            worker.stop()
        scores.engine.dispose()
        log = (instance / "gunicorn.log").read_text(errors="replace")
    worst_p95 = max((together[kind]["p95_ms"] or 0.0) for kind in ("grading", "status change") if kind in together)
    worst_current = max(
        [
            *(
                one_at_a_time[kind]["all_current_max_s"] or 0.0
                for kind in ("grading", "status change")
                if kind in one_at_a_time
            ),
            together["seconds_until_all_current_after_the_last_answer"] or float("inf"),
        ]
    )
    result = {
        "command": " ".join([".venv/bin/python", "bench/clicks.py", *sys.argv[1:]]),
        "quick": args.quick,
        "database": database_url.split(":", 1)[0],
        "gunicorn_workers": args.workers,
        "background_worker": "crisiswiki worker, a process of its own" if args.separate_worker else "in the servers",
        "settings": SETTINGS,
        "seed": args.seed,
        "source_reports": args.source_reports,
        "other_reports": args.others,
        "rescore_before_s": setup["rescore_s"],
        "durability": setup["durability"],
        "background": setup["background"],
        "isolated_clicks": one_at_a_time,
        "session": {
            "verifiers": args.verifiers,
            "coordinators": args.coordinators,
            "mean_pause_s": args.pause,
            **together,
        },
        "reports_unscored_at_the_end": unscored,
        "targets": {
            "click_p95_ms": TARGET_P95_MS,
            "click_p95_ms_measured": worst_p95,
            "all_current_s": TARGET_SETTLED_S,
            "all_current_s_measured_worst": worst_current,
            "met": worst_p95 < TARGET_P95_MS and worst_current <= TARGET_SETTLED_S,
        },
        "server_tracebacks": log.count("Traceback"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_before": round(load_before, 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("isolated_clicks", "session", "targets")}, indent=2))
    print(f"written to {output}")


if __name__ == "__main__":
    main()

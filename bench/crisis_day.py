"""Benchmark: a crisis day, every role at once, against gunicorn served as `make run` serves it
(tests/servers.py), on a fresh database (the embedded default, SQLite, unless --database-url).

For `--seconds`, seeded and on loopback:
- reporters post field reports through the JSON API (each with an Idempotency-Key; a failed
  connection is retried with the same key, as a phone does);
- coordinators read and save the same few pages (overlapping edits included: a 409 is the
  answer a conflicting save is meant to get, counted apart from errors) and change the status
  of reports (each coordinator its own share of them, so the last status each set is known);
- verifiers grade reports from the ones acknowledged so far;
- responders search and pan the map at three zoom levels;
- an administrator runs `crisiswiki create-user` from time to time;
- the background worker runs inside the servers, as it does in production.

Every server runs with WRITE_CHECK=raise. Each request's time is measured from sending to the
last byte of the answer. Then the database is read (the reconciliation): every acknowledged
report, revision, grading and status change is there exactly once, and every report is scored;
the time from the end of the load until the last one was is measured.

    .venv/bin/python bench/crisis_day.py [--quick] [--seconds 180] [--seed 7] [--database-url URL]

Writes bench/results/crisis_day.json (its "quick" says which run it was). Targets (issue 23):
0 errors, 0 lost, 0 "database is locked"; interactive actions p95 under 300 ms, report
acknowledgement p99 under 100 ms.
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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.servers import BIN, ROOT, gunicorn, server_env  # noqa: E402

RESULTS = PROJECT / "bench" / "results"
CRISIS = "crisis-day"
PAGES = ("Sitrep", "Shelter", "Water")
PASSWORD = "crisis-day-password"
QUERIES = ("water", "shelter", "bridge collapsed", "cholera", "medical supplies", "road blocked")
SECTORS = ("wash", "shelter", "health", "logistics", "food")
TITLES = ("No water at the point", "Shelter needed for families", "Bridge collapsed", "Cholera cases", "Road blocked")
# Port-au-Prince and around; the map views at country, region and town zoom.
CENTRE = (-72.33, 18.54)
VIEWS = ((8, 1.6), (11, 0.2), (14, 0.025))
SETTINGS = {"WRITE_CHECK": "raise", "ANONYMOUS_SUBMIT_LIMIT": "100000000", "LOG_LEVEL": "warning"}
LOCKED = "database is locked"


@dataclass(frozen=True)
class Mix:
    reporters: int
    coordinators: int
    verifiers: int
    responders: int
    # Mean pause between one user's actions (seconds, exponential): people, not a flood.
    reporter_pause: float = 0.5
    coordinator_pause: float = 2.0
    verifier_pause: float = 1.0
    responder_pause: float = 1.0
    admin_every: float = 10.0


FULL = Mix(reporters=32, coordinators=6, verifiers=6, responders=20)
QUICK = Mix(reporters=8, coordinators=2, verifiers=2, responders=4, admin_every=5.0)


@dataclass
class Tally:
    """What every user saw, by action."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # ms
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    conflicts: Counter = field(default_factory=Counter)
    reports: dict[str, int] = field(default_factory=dict)  # idempotency key -> report id (201)
    revisions: list[int] = field(default_factory=list)
    gradings: list[int] = field(default_factory=list)
    statuses: dict[int, str] = field(default_factory=dict)  # report id -> last status acknowledged
    commands: list[tuple[int, float, str]] = field(default_factory=list)  # (exit code, seconds, output tail)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(
        self, action: str, session: requests.Session, method: str, url: str, **kwargs
    ) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=60, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors[action].append(f"{url}: {exc}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies[action].append(elapsed)
        return response

    def error(self, action: str, response: requests.Response) -> None:
        with self.lock:
            self.errors[action].append(f"{response.status_code} {response.text[:200]}")


def prepare(instance: Path, database_url: str, mix: Mix) -> dict:
    """Migrate, then make the crisis, its pages and everyone's tokens (before any server runs)."""
    env = server_env(instance, database_url, **SETTINGS)
    subprocess.run(
        [str(BIN / "crisiswiki"), "init-db", "--no-demo"], env=env, check=True, capture_output=True, cwd=ROOT
    )
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CRISISWIKI_", "DATABASE_URL"))})
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.database import write_transaction
    from wiki.extensions import db
    from wiki.models import ApiToken
    from wiki.pages.revisions import create_page

    app = create_app()
    tokens: dict[str, list[str]] = {"coordinator": [], "verifier": []}
    with app.test_request_context():
        with write_transaction():
            admin = create_user("crisis-day-admin", PASSWORD, role="admin", display_name="Administrator")
            crisis = create_crisis(
                {"name": "Crisis day", "slug": CRISIS, "bbox": "-74.5,17.9,-71.6,20.1", "start_date": "2010-01-12"},
                admin,
            )
            for title in PAGES:
                create_page(crisis, title, f"# {title}\n\nThe first lines.\n", admin, "crisis day", [])
        for role, count in (("coordinator", mix.coordinators), ("verifier", mix.verifiers)):
            for n in range(count):
                with write_transaction():
                    user = create_user(f"{role}-{n}", PASSWORD, role=role)
                    tokens[role].append(ApiToken.issue(user, "crisis day")[1])
        map_path = next(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == "api.map_reports")
        durability = {
            key: app.config.get(key) for key in ("SQLITE_SYNCHRONOUS", "SQLITE_BUSY_TIMEOUT_MS", "WRITE_CHECK")
        }
        db.engine.dispose()
    return {"tokens": tokens, "map_path": map_path, "durability": durability}


class Day:
    def __init__(self, base: str, setup: dict, mix: Mix, seed: int, instance: Path, database_url: str) -> None:
        self.base, self.setup, self.mix, self.seed = base, setup, mix, seed
        self.instance, self.database_url = instance, database_url
        self.tally = Tally()
        self.stop = threading.Event()

    def pause(self, rng: random.Random, mean: float) -> None:
        self.stop.wait(rng.expovariate(1 / mean))

    def user(self, salt: int, number: int, role: str | None = None) -> tuple[random.Random, requests.Session]:
        """One user's own random stream and connection (with their token when `role` has them)."""
        session = requests.Session()
        if role is not None:
            session.headers["Authorization"] = f"Bearer {self.setup['tokens'][role][number]}"
        return random.Random(self.seed * salt + number), session

    def acknowledged_ids(self) -> list[int]:
        with self.tally.lock:
            return list(self.tally.reports.values())

    def reporter(self, number: int) -> None:
        (rng, session), tally = self.user(1000, number), self.tally
        i = 0
        while not self.stop.is_set():
            key = f"cd-{number}-{i}"
            n = rng.randrange(len(TITLES))
            body = {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [CENTRE[0] + rng.uniform(-0.3, 0.3), CENTRE[1] + rng.uniform(-0.2, 0.2)],
                },
                "properties": {"crisis": CRISIS, "title": f"{TITLES[n]} ({key})", "sector": SECTORS[n]},
            }
            response = tally.timed(
                "report", session, "POST", f"{self.base}/api/v1/reports", json=body, headers={"Idempotency-Key": key}
            )
            if response is None:
                continue  # the same key again
            if response.status_code == 201:
                with tally.lock:
                    tally.reports[key] = response.json()["id"]
            else:
                tally.error("report", response)
            i += 1
            self.pause(rng, self.mix.reporter_pause)

    def coordinator(self, number: int) -> None:
        (rng, session), tally = self.user(2000, number, "coordinator"), self.tally
        n = 0
        while not self.stop.is_set():
            title = PAGES[rng.randrange(len(PAGES))]
            url = f"{self.base}/api/v1/pages/{CRISIS}/{title}"
            page = tally.timed("page view", session, "GET", url)
            if page is not None and page.status_code == 200:
                current = page.json()
                body = current["body"] + f"\n- coordinator {number}, update {n}\n"
                self.pause(rng, self.mix.coordinator_pause / 2)  # typing
                saved = tally.timed(
                    "save", session, "PUT", url, json={"body": body, "base_revision": current["base_revision"]}
                )
                if saved is not None and saved.status_code == 200:
                    with tally.lock:
                        tally.revisions.append(saved.json()["revision"]["id"])
                elif saved is not None and saved.status_code == 409:
                    with tally.lock:
                        tally.conflicts["save"] += 1
                elif saved is not None:
                    tally.error("save", saved)
            elif page is not None:
                tally.error("page view", page)
            mine = [rid for rid in self.acknowledged_ids() if rid % self.mix.coordinators == number]
            if mine:
                report_id = mine[rng.randrange(len(mine))]
                status = rng.choice(("under_review", "verified", "refuted", "archived"))
                changed = tally.timed(
                    "status change",
                    session,
                    "PATCH",
                    f"{self.base}/api/v1/reports/{report_id}",
                    json={"status": status},
                )
                if changed is not None and changed.status_code == 200:
                    with tally.lock:
                        tally.statuses[report_id] = status
                elif changed is not None:
                    tally.error("status change", changed)
            n += 1
            self.pause(rng, self.mix.coordinator_pause)

    def verifier(self, number: int) -> None:
        (rng, session), tally = self.user(3000, number, "verifier"), self.tally
        while not self.stop.is_set():
            ids = self.acknowledged_ids()
            if ids:
                report_id = ids[rng.randrange(len(ids))]
                grade = {"reliability": rng.choice("ABCDEF"), "credibility": rng.randint(1, 6)}
                graded = tally.timed(
                    "grading", session, "POST", f"{self.base}/api/v1/reports/{report_id}/assessments", json=grade
                )
                if graded is not None and graded.status_code == 201:
                    with tally.lock:
                        tally.gradings.append(graded.json()["id"])
                elif graded is not None:
                    tally.error("grading", graded)
            self.pause(rng, self.mix.verifier_pause)

    def responder(self, number: int) -> None:
        (rng, session), tally = self.user(4000, number), self.tally
        while not self.stop.is_set():
            if rng.random() < 0.5:
                query = rng.choice(QUERIES)
                found = tally.timed("search", session, "GET", f"{self.base}/api/v1/search", params={"q": query})
                if found is not None and found.status_code != 200:
                    tally.error("search", found)
            else:
                zoom, half = rng.choice(VIEWS)
                lon = CENTRE[0] + rng.uniform(-0.2, 0.2)
                lat = CENTRE[1] + rng.uniform(-0.1, 0.1)
                bbox = f"{lon - half:.4f},{lat - half / 2:.4f},{lon + half:.4f},{lat + half / 2:.4f}"
                params = {"crisis": CRISIS, "zoom": zoom, "bbox": bbox}
                shown = tally.timed("map viewport", session, "GET", self.base + self.setup["map_path"], params=params)
                if shown is not None and shown.status_code != 200:
                    tally.error("map viewport", shown)
            self.pause(rng, self.mix.responder_pause)

    def administrator(self) -> None:
        env = server_env(self.instance, self.database_url, **SETTINGS)
        n = 0
        while not self.stop.wait(self.mix.admin_every):
            argv = ["create-user", f"made-on-the-day-{n}", "--role", "volunteer", "--password", PASSWORD]
            started = time.perf_counter()
            done = subprocess.run([str(BIN / "crisiswiki"), *argv], env=env, cwd=ROOT, capture_output=True, text=True)
            with self.tally.lock:
                self.tally.commands.append(
                    (done.returncode, time.perf_counter() - started, (done.stdout + done.stderr)[-500:])
                )
            n += 1

    def run(self, seconds: float) -> float:
        mix = self.mix
        threads = [threading.Thread(target=self.reporter, args=(n,)) for n in range(mix.reporters)]
        threads += [threading.Thread(target=self.coordinator, args=(n,)) for n in range(mix.coordinators)]
        threads += [threading.Thread(target=self.verifier, args=(n,)) for n in range(mix.verifiers)]
        threads += [threading.Thread(target=self.responder, args=(n,)) for n in range(mix.responders)]
        threads.append(threading.Thread(target=self.administrator))
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)


def _rows(database_url: str, sql: str) -> list:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()
    finally:
        engine.dispose()


def reconcile(tally: Tally, database_url: str, settle_timeout: float) -> dict:
    """Everything acknowledged is in the database exactly once; every report gets scored."""
    stored = _rows(database_url, "SELECT id, client_id, status FROM reports WHERE client_id LIKE 'cd-%'")
    by_key = Counter(row.client_id for row in stored)
    acknowledged = set(tally.reports)
    ids = {row.id for row in stored}
    status_of = {row.id: row.status for row in stored}
    revisions = {row.id for row in _rows(database_url, "SELECT id FROM revisions")}
    gradings = {row.id for row in _rows(database_url, "SELECT id FROM validation_assessments")}
    users = {row.username for row in _rows(database_url, "SELECT username FROM users")}
    made = sum(1 for code, _s, _o in tally.commands if code == 0)
    result = {
        "reports_acknowledged": len(acknowledged),
        "reports_lost": len(acknowledged - set(by_key)),
        "reports_duplicated": sum(1 for key in acknowledged if by_key[key] > 1),
        "reports_unacknowledged_in_db": len(set(by_key) - acknowledged),
        "report_ids_match": ids == set(tally.reports.values()),
        "revisions_acknowledged": len(tally.revisions),
        "revisions_lost": len(set(tally.revisions) - revisions),
        "revisions_duplicated": len(tally.revisions) - len(set(tally.revisions)),
        "gradings_acknowledged": len(tally.gradings),
        "gradings_lost": len(set(tally.gradings) - gradings),
        "gradings_duplicated": len(tally.gradings) - len(set(tally.gradings)),
        "status_changes_reports": len(tally.statuses),
        "status_changes_lost": sum(1 for rid, status in tally.statuses.items() if status_of.get(rid) != status),
        "accounts_made_by_cli": made,
        "accounts_lost": sum(1 for n in range(made) if f"made-on-the-day-{n}" not in users),
    }
    # Scored: a score row that no later change has marked stale.
    started = time.perf_counter()
    query = (
        "SELECT count(*) AS n FROM reports r JOIN validation_scores s ON s.report_id = r.id "
        "WHERE r.client_id LIKE 'cd-%' AND NOT s.stale"
    )
    while True:
        scored = _rows(database_url, query)[0].n
        waited = time.perf_counter() - started
        if scored >= len(ids) or waited > settle_timeout:
            break
        time.sleep(0.5)
    result["reports_scored"] = scored
    result["seconds_until_all_scored"] = round(waited, 1) if scored >= len(ids) else None
    return result


def summarise(tally: Tally, seconds: float) -> dict:
    actions = {}
    for action in sorted(set(tally.latencies) | set(tally.errors)):
        times = tally.latencies.get(action, [])
        actions[action] = {
            "requests": len(times),
            "per_second": round(len(times) / seconds, 1),
            "p50_ms": percentile(times, 0.50),
            "p95_ms": percentile(times, 0.95),
            "p99_ms": percentile(times, 0.99),
            "max_ms": round(max(times), 1) if times else None,
            "errors": len(tally.errors.get(action, [])),
            "expected_conflicts": tally.conflicts.get(action, 0),
            "first_errors": tally.errors.get(action, [])[:3],
        }
    commands = [seconds_taken for _c, seconds_taken, _o in tally.commands]
    actions["cli create-user"] = {
        "requests": len(commands),
        "p50_ms": percentile([s * 1000 for s in commands], 0.5),
        "max_ms": round(max(commands) * 1000, 1) if commands else None,
        "errors": sum(1 for code, _s, _o in tally.commands if code != 0),
        "first_errors": [out for code, _s, out in tally.commands if code != 0][:3],
    }
    return actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer users for 30 s (the suite's and bench-quick's run)")
    parser.add_argument("--seconds", type=float, help="how long everyone works (default 180, quick 30)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--database-url", help="default: a fresh SQLite database in a temporary folder")
    parser.add_argument("--output", type=Path, help="default: bench/results/crisis_day.json")
    args = parser.parse_args()
    mix = QUICK if args.quick else FULL
    seconds = args.seconds or (30.0 if args.quick else 180.0)
    output = args.output or RESULTS / "crisis_day.json"
    load_before = os.getloadavg()[0]  # the cores are shared: say how busy they were
    with tempfile.TemporaryDirectory(prefix="crisis-day-") as folder:
        instance = Path(folder) / "instance"
        instance.mkdir()
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'crisiswiki.db'}"
        setup = prepare(instance, database_url, mix)
        with gunicorn(instance, database_url, workers=args.workers, init=False, **SETTINGS) as base:
            day = Day(base, setup, mix, args.seed, instance, database_url)
            elapsed = day.run(seconds)
            reconciliation = reconcile(day.tally, database_url, settle_timeout=120)
        log = (instance / "gunicorn.log").read_text(errors="replace")
    commands_output = "".join(out for _c, _s, out in day.tally.commands)
    result = {
        "command": " ".join([".venv/bin/python", "bench/crisis_day.py", *sys.argv[1:]]),
        "quick": args.quick,
        "database": database_url.split(":", 1)[0],
        "gunicorn_workers": args.workers,
        "seconds": round(elapsed, 1),
        "seed": args.seed,
        "users": {
            "reporters": mix.reporters,
            "coordinators": mix.coordinators,
            "verifiers": mix.verifiers,
            "responders": mix.responders,
            "administrator": 1,
        },
        "pauses_s": {
            "reporter": mix.reporter_pause,
            "coordinator": mix.coordinator_pause,
            "verifier": mix.verifier_pause,
            "responder": mix.responder_pause,
            "admin_command_every": mix.admin_every,
        },
        "durability": setup["durability"],
        "actions": summarise(day.tally, elapsed),
        "reconciliation": reconciliation,
        "database_is_locked": log.count(LOCKED) + commands_output.count(LOCKED),
        "write_discipline_errors": log.count("WriteDisciplineError") + commands_output.count("WriteDisciplineError"),
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
    print(json.dumps({k: result[k] for k in ("actions", "reconciliation", "database_is_locked")}, indent=2))
    print(f"written to {output}")


if __name__ == "__main__":
    main()

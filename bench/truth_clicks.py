"""Benchmark: the clicks that change a crisis's structured claims (issue 17), on a crisis with
`--claims` claims (2,000), against gunicorn as `make run` serves it (tests/servers.py), the
background worker inside the servers as in production, on a fresh SQLite database.

The crisis holds one report per claim from `--sources` sources, about `--subjects` subjects
(three in five key figures such as people displaced in an admin area, the others a road's
status), and truth discovery has run on them once (`crisiswiki discover-truth`, whose time is
reported: the cost of one run). Then, one click at a time, each once the figures are current:

1. a verifier records a claim (`POST /api/v1/reports/<id>/claims`, a new value for a subject the
   report already claims, or a claim about another subject);
2. a coordinator changes the status of a report that has claims (`PATCH /api/v1/reports/<id>`,
   verified or refuted);

the time to the answer, and from the answer until `GET /api/v1/claims` no longer answers
`"pending": true` (read every 20 ms; code without background re-runs has no `pending`: its
figures are current in the answer). Then a burst: a verifier records `--burst` claims back to
back; the time until the figures are current after the last answer.

Runs from whichever checkout it sits in (its own tests/servers.py puts that checkout first on
the servers' path), so the same script measures the code before and after a change:

    .venv/bin/python bench/truth_clicks.py [--quick] [--label after] [--clicks 10] [--output PATH]

Writes bench/results/truth_clicks.json (or --output). The machine is shared: figures are upper
bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests.servers import BIN, ROOT, gunicorn, server_env  # noqa: E402

RESULTS = PROJECT / "bench" / "results"
CRISIS = "claims"
PASSWORD = "bench-password-1"
BBOX = (-74.5, 17.9, -71.6, 20.1)  # Haiti
QUAKE = datetime(2010, 1, 12, 21, 53, tzinfo=UTC)
SETTINGS = {"WRITE_CHECK": "raise", "LOG_LEVEL": "warning"}
CRISIS_FIELDS = {"name": "Claims", "slug": CRISIS, "bbox": ",".join(map(str, BBOX)), "start_date": "2010-01-12"}


def prepare(instance: Path, database_url: str, claims: int, subjects: int, sources: int, seed: int) -> dict:
    """Migrate; the crisis, its reports, their claims and two tokens; truth discovery run once."""
    env = server_env(instance, database_url, **SETTINGS)
    run = {"env": env, "check": True, "capture_output": True, "cwd": ROOT, "text": True}
    subprocess.run([str(BIN / "crisiswiki"), "init-db", "--no-demo"], **run)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CRISISWIKI_", "DATABASE_URL"))})
    from sqlalchemy import insert, select

    from plugins.validation.truth.models import ClaimSubject, ReportClaim
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
    with app.test_request_context():
        with write_transaction():
            admin = create_user("claims-admin", PASSWORD, role="admin", display_name="Administrator")
            crisis_id = create_crisis(CRISIS_FIELDS, admin).id
            tokens = {
                role: ApiToken.issue(create_user(f"claims-{role}", PASSWORD, role=role), "bench")[1]
                for role in ("verifier", "coordinator")
            }
        with write_transaction():
            people = []
            for n in range(sources):
                phone = f"+509 3{n:03d} {rng.randrange(10000):04d}"
                people.append(Source(contact=phone, contact_hash=contact_hash(phone), channel="sms"))
            db.session.add_all(people)
            db.session.flush()
            # Each source right about its subjects with its own reliability (careful or careless).
            reliability = {source.id: rng.choice((0.9, 0.8, 0.6, 0.4)) for source in people}
            now = utcnow()
            rows = []
            for n in range(claims):
                occurred = QUAKE + timedelta(seconds=rng.uniform(0, 10 * 86400))
                rows.append(
                    {
                        "crisis_id": crisis_id,
                        "title": f"Figures {n}",
                        "description": "Counted at the site",
                        "lon": rng.uniform(BBOX[0] + 1.5, BBOX[0] + 2.6),
                        "lat": rng.uniform(BBOX[1] + 0.3, BBOX[1] + 1.0),
                        "place_name": "",
                        "occurred_at": occurred,
                        "received_at": occurred,
                        "updated_at": now,
                        "sector": "shelter",
                        "status": "new",
                        "published": True,
                        "sensitive": False,
                        "channel": "sms",
                        "source_id": rng.choice(people).id,
                    }
                )
            db.session.execute(insert(Report), rows)
            reports = db.session.execute(
                select(Report.id, Report.source_id).where(Report.crisis_id == crisis_id).order_by(Report.id)
            ).all()
            subject_rows, truths = [], []
            for n in range(subjects):
                numeric = n % 5 < 3
                subject_rows.append(
                    {
                        "crisis_id": crisis_id,
                        "subject": f"HT01{n:03d}" if numeric else f"Route {n}",
                        "subject_key": (f"HT01{n:03d}" if numeric else f"Route {n}").lower(),
                        "attribute": "people_displaced" if numeric else "road_status",
                        "as_of": date(2010, 1, 13) + timedelta(days=n % 7),
                        "kind": "numeric" if numeric else "categorical",
                        "unit": "people" if numeric else "",
                        "created_at": now,
                    }
                )
                truths.append(float(rng.randrange(500, 50000)) if numeric else rng.choice(("open", "closed")))
            db.session.execute(insert(ClaimSubject), subject_rows)
            subject_ids = db.session.scalars(
                select(ClaimSubject.id).where(ClaimSubject.crisis_id == crisis_id).order_by(ClaimSubject.id)
            ).all()
            claim_rows = []
            for n, (report_id, source_id) in enumerate(reports):
                index = n % subjects
                truth = truths[index]
                right = rng.random() < reliability[source_id]
                if isinstance(truth, str):
                    value = truth if right else ("closed" if truth == "open" else "open")
                    number, text = None, value
                else:
                    number, text = (truth if right else round(truth * rng.uniform(0.3, 3.0))), None
                claim_rows.append(
                    dict(subject_id=subject_ids[index], report_id=report_id, number=number, text=text, text_key=text)
                    | {"created_at": now, "updated_at": now}
                )
            db.session.execute(insert(ReportClaim), claim_rows)
        db.engine.dispose()
    started = time.perf_counter()
    subprocess.run([str(BIN / "crisiswiki"), "rescore", "--quiet"], **run)
    rescore_s = time.perf_counter() - started
    started = time.perf_counter()
    output = subprocess.run([str(BIN / "crisiswiki"), "discover-truth", "--crisis", CRISIS], **run).stdout
    run_s = time.perf_counter() - started
    fitted = re.search(r"in ([0-9.]+) s\.", output)
    return {
        "tokens": tokens,
        "reports": [(report_id, index % subjects) for index, (report_id, _source) in enumerate(reports)],
        "subjects": [(row["subject"], row["attribute"], row["as_of"].isoformat(), row["kind"]) for row in subject_rows],
        "rescore_s": round(rescore_s, 1),
        "discover_truth_command_s": round(run_s, 2),
        "discover_truth_fit_s": float(fitted.group(1)) if fitted else None,
        "summary": output.splitlines()[0] if output else "",
    }


def pending(reader: requests.Session, base: str) -> bool:
    response = reader.get(f"{base}/api/v1/claims", params={"crisis": CRISIS, "limit": 1}, timeout=60)
    response.raise_for_status()
    return bool(response.json().get("pending", False))


def until_current(reader: requests.Session, base: str, timeout: float = 120.0) -> float:
    """Seconds from now until the claims no longer answer pending."""
    started = time.perf_counter()
    while pending(reader, base):
        if time.perf_counter() - started > timeout:
            raise TimeoutError("truth discovery still pending")
        time.sleep(0.02)
    return time.perf_counter() - started


def claim_click(session: requests.Session, base: str, setup: dict, rng: random.Random) -> requests.Response:
    report_id, index = rng.choice(setup["reports"])
    subject, attribute, as_of, kind = setup["subjects"][
        index if rng.random() < 0.5 else rng.randrange(len(setup["subjects"]))
    ]
    value = rng.randrange(500, 50000) if kind == "numeric" else rng.choice(("open", "closed"))
    body = {"subject": subject, "attribute": attribute, "value": value, "as_of": as_of}
    if kind == "numeric":
        body["unit"] = "people"
    return session.post(f"{base}/api/v1/reports/{report_id}/claims", json=body, timeout=120)


def status_click(session: requests.Session, base: str, setup: dict, rng: random.Random) -> requests.Response:
    report_id, _index = rng.choice(setup["reports"])
    status = rng.choice(("verified", "refuted"))
    return session.patch(f"{base}/api/v1/reports/{report_id}", json={"status": status}, timeout=120)


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1) if ordered else None  # noqa: E731
    return {"n": len(ordered), "p50": pick(0.5), "p95": pick(0.95), "max": round(max(ordered), 1) if ordered else None}


def measure(base: str, setup: dict, clicks: int, burst: int, rng: random.Random) -> dict:
    verifier, coordinator, reader = requests.Session(), requests.Session(), requests.Session()
    verifier.headers["Authorization"] = f"Bearer {setup['tokens']['verifier']}"
    coordinator.headers["Authorization"] = f"Bearer {setup['tokens']['coordinator']}"
    reader.headers["Authorization"] = f"Bearer {setup['tokens']['verifier']}"
    for _n in range(3):  # every server process's first requests are not what is measured
        claim_click(verifier, base, setup, rng)
        reader.get(f"{base}/api/v1/claims", params={"crisis": CRISIS, "limit": 1}, timeout=60)
    until_current(reader, base)
    result = {}
    for kind, click, session in (("claim", claim_click, verifier), ("status change", status_click, coordinator)):
        answers, current = [], []
        for _n in range(clicks):
            started = time.perf_counter()
            response = click(session, base, setup, rng)
            answered = time.perf_counter()
            assert response.status_code in (200, 201), (response.status_code, response.text[:300])
            answers.append((answered - started) * 1000)
            current.append(until_current(reader, base))
        result[kind] = {"answer_ms": summary(answers), "figures_current_after_answer_s": summary(current)}
    started = time.perf_counter()
    for _n in range(burst):
        response = claim_click(verifier, base, setup, rng)
        assert response.status_code in (200, 201), response.text[:300]
    burst_s = time.perf_counter() - started
    result["burst"] = {
        "claims": burst,
        "seconds_for_the_answers": round(burst_s, 2),
        "figures_current_after_the_last_answer_s": round(until_current(reader, base), 2),
    }
    return result


OPTIONS = (  # name, type, default, help
    ("--claims", int, 2000, "claims in the crisis, one per report"),
    ("--subjects", int, 400, "subjects they are about"),
    ("--sources", int, 300, "sources the reports come from"),
    ("--clicks", int, 10, "isolated clicks of each kind"),
    ("--burst", int, 10, "claims recorded back to back"),
    ("--workers", int, 2, "gunicorn workers"),
    ("--seed", int, 7, "the crisis and the clicks"),
    ("--label", str, "this checkout", "what the run measures, e.g. before or after"),
    ("--output", Path, None, "default: bench/results/truth_clicks.json"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, kind, default, text in OPTIONS:
        parser.add_argument(name, type=kind, default=default, help=text)
    parser.add_argument("--quick", action="store_true", help="3 clicks of each kind, a burst of 5 (make bench-quick)")
    args = parser.parse_args()
    if args.quick:
        args.clicks, args.burst = min(args.clicks, 3), min(args.burst, 5)
    rng = random.Random(args.seed)
    load_before = os.getloadavg()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory(prefix="truth-clicks-") as folder:
        instance = Path(folder) / "instance"
        instance.mkdir()
        database_url = f"sqlite:///{Path(folder) / 'crisiswiki.db'}"
        setup = prepare(instance, database_url, args.claims, args.subjects, args.sources, args.seed)
        with gunicorn(instance, database_url, workers=args.workers, init=False, **SETTINGS) as base:
            measured = measure(base, setup, args.clicks, args.burst, rng)
        log = (instance / "gunicorn.log").read_text(errors="replace")
    result = {
        "label": args.label,
        "code": f"{ROOT} at {commit.strip()}",
        "command": " ".join([".venv/bin/python", "bench/truth_clicks.py", *sys.argv[1:]]),
        "quick": args.quick,
        "database": "sqlite",
        "gunicorn_workers": args.workers,
        "background_worker": "in the servers",
        "claims": args.claims,
        "subjects": args.subjects,
        "sources": args.sources,
        "seed": args.seed,
        "one_run_of_truth_discovery": {
            "fit_s": setup["discover_truth_fit_s"],
            "crisiswiki_discover_truth_s": setup["discover_truth_command_s"],
            "summary": setup["summary"],
        },
        **measured,
        "server_tracebacks": log.count("Traceback"),
        "machine": {
            "note": "a machine shared with other work: every figure is an upper bound",
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after
        },
    }
    output = args.output or RESULTS / "truth_clicks.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {output}")


if __name__ == "__main__":
    main()

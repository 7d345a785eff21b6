"""Benchmark: the validation plugin's scoring with 100,000 reports in the database.

A fresh SQLite database (under a temporary folder) gets the migrations, one crisis and
100,000 reports generated deterministically (seeded): points uniform over the Haiti box
-74.5,17.9,-71.6,20.1, times over the month after the earthquake, the 12 sectors, short texts
from a per-sector vocabulary, and sources of every kind (accounts, contacts reused across many
reports, one-off contacts, anonymous); 3% of the reports are verified and 1% refuted, and 2%
graded by a verifier.

Measured, in process, with the plugin's own code paths:
1. a full rescore (`crisiswiki rescore`'s function): every report and every source;
2. scoring one new report, including its neighbours' updates: the plugin's `report_submitted`
   hook on a report just committed (its box query, its score, its evidence pushed to its
   neighbours, the commit), for --new reports spread like the others; p50, p99 and mean;
3. for information, a status change (verified) with its source cascade;
4. a surge: --surge reports stored at once without a score, then scored as a server's
   background scorer scores them (batch.run_batch, one VALIDATION_BACKGROUND_SLICE_MS batch
   after another): the time per report;
5. clicks on the reports of one big source (--source-reports, in a crisis of their own): a
   verifier's grading (POST /api/v1/reports/<id>/assessments) and a coordinator's status change
   (PATCH /api/v1/reports/<id>) through the API, timed until the answer is ready (the work
   after the response is not in it), then the time until every score they affect is current
   again (`crisiswiki rescore --stale`). --source-reports 0 leaves this out.

Targets (issue 6): p50 of (2) under 10 ms; (1) under 60 s. The result is printed and written to
bench/results/validation_scoring.json.

    .venv/bin/python bench/validation_scoring.py [--reports 100000] [--new 300] [--seed 2010]
        [--surge 2000] [--source-reports 2000] [--clicks 10] [--output bench/results/validation_scoring.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
RESULTS = PROJECT / "bench" / "results" / "validation_scoring.json"
BBOX = (-74.5, 17.9, -71.6, 20.1)
QUAKE = datetime(2010, 1, 12, 21, 53, tzinfo=UTC)
SECTORS = (
    "cccm",
    "early_recovery",
    "education",
    "shelter",
    "telecoms",
    "food",
    "health",
    "logistics",
    "nutrition",
    "protection",
    "wash",
    "other",
)
WORDS = {
    "cccm": "camp families tents registration site flooding latrines overcrowded",
    "early_recovery": "rubble removal cash work market reopened tools",
    "education": "school collapsed children teachers classes tents",
    "shelter": "houses destroyed tarpaulins families outside shelter kits",
    "telecoms": "network down antenna phones charging signal",
    "food": "distribution rice food hungry prices market",
    "health": "clinic injured hospital doctors cholera medicines",
    "logistics": "road blocked bridge trucks fuel airport port",
    "nutrition": "malnutrition children feeding infants milk",
    "protection": "violence women children unaccompanied security",
    "wash": "water truck latrines hygiene kits chlorine",
    "other": "help needed people street neighbourhood",
}
PLACES = ("Port-au-Prince", "Léogâne", "Jacmel", "Carrefour", "Pétion-Ville", "Delmas", "Cité Soleil", "Gressier")


def make_app(folder: Path):
    from wiki import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "INSTANCE_PATH": str(folder),
            "SECRET_KEY": "bench",
            "SERVER_NAME": "bench.local",
            "LOAD_ENTRYPOINT_PLUGINS": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


def wording(rng: random.Random, sector: str) -> tuple[str, str]:
    words = WORDS[sector].split()
    place = rng.choice(PLACES)
    title = " ".join(rng.sample(words, 3)) + f" {place}"
    return title.capitalize(), " ".join(rng.sample(words, 4)) + f" near {place}"


def populate(count: int, rng: random.Random) -> tuple[int, list[int]]:
    """Insert the reports and their sources with bulk inserts; returns (crisis id, user ids)."""
    from sqlalchemy import insert

    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.models import Crisis, Report, Source
    from wiki.models.base import utcnow
    from wiki.reports.sources import contact_hash

    crisis = Crisis(slug="haiti", name="Haiti earthquake", west=BBOX[0], south=BBOX[1], east=BBOX[2], north=BBOX[3])
    db.session.add(crisis)
    users = [create_user(f"volunteer{n}", "correct horse battery", role="volunteer") for n in range(50)]
    verifier = create_user("verifier", "correct horse battery", role="verifier")
    db.session.commit()
    now = utcnow()
    sources = [
        {
            "id": n + 1,
            "user_id": user.id,
            "contact_hash": None,
            "contact": None,
            "name": user.username,
            "organisation": "",
            "channel": "web",
            "created_at": now,
        }
        for n, user in enumerate(users)
    ]
    reused = len(sources) + 1
    for n in range(2000):  # contacts that report again and again
        phone = f"+509 3{n:06d}"
        sources.append(
            {
                "id": reused + n,
                "user_id": None,
                "contact_hash": contact_hash(phone),
                "contact": phone,
                "name": "",
                "organisation": "",
                "channel": "sms",
                "created_at": now,
            }
        )
    next_id = len(sources) + 1
    reports, quick_pool = [], [s["id"] for s in sources]
    for n in range(count):
        roll = rng.random()
        if roll < 0.55:
            source_id = rng.choice(quick_pool)
        else:  # a one-off contact or an anonymous sender: a source of its own
            phone = f"+509 4{n:07d}" if roll < 0.8 else None
            sources.append(
                {
                    "id": next_id,
                    "user_id": None,
                    "contact_hash": contact_hash(phone) if phone else None,
                    "contact": phone,
                    "name": "",
                    "organisation": "",
                    "channel": "sms" if phone else "web",
                    "created_at": now,
                }
            )
            source_id, next_id = next_id, next_id + 1
        sector = rng.choice(SECTORS)
        title, description = wording(rng, sector)
        occurred = QUAKE + timedelta(seconds=rng.uniform(0, 30 * 86400))
        status = rng.choices(("new", "under_review", "verified", "refuted"), weights=(86, 10, 3, 1))[0]
        reports.append(
            {
                "crisis_id": crisis.id,
                "title": title,
                "description": description,
                "lon": rng.uniform(BBOX[0], BBOX[2]),
                "lat": rng.uniform(BBOX[1], BBOX[3]),
                "place_name": "",
                "occurred_at": occurred,
                "received_at": occurred + timedelta(minutes=rng.uniform(1, 600)),
                "updated_at": now,
                "sector": sector,
                "status": status,
                "published": True,
                "sensitive": False,
                "channel": "sms",
                "source_id": source_id,
            }
        )
    for start in range(0, len(sources), 5000):
        db.session.execute(insert(Source), sources[start : start + 5000])
    for start in range(0, len(reports), 5000):
        db.session.execute(insert(Report), reports[start : start + 5000])
    db.session.commit()
    from plugins.validation.models import Assessment

    graded = rng.sample(range(1, count + 1), count // 50)
    db.session.execute(
        insert(Assessment),
        [
            {
                "report_id": report_id,
                "verifier_id": verifier.id,
                "reliability": rng.choice("ABCDEF"),
                "credibility": rng.randint(1, 6),
                "note": "",
                "created_at": now,
            }
            for report_id in graded
        ],
    )
    db.session.commit()
    return crisis.id, [user.id for user in users]


def new_report(rng: random.Random, crisis_id: int, n: int):
    from wiki.extensions import db
    from wiki.models import Report, Source
    from wiki.reports.sources import contact_hash

    phone = f"+509 5{n:07d}"
    source = Source(contact=phone, contact_hash=contact_hash(phone), channel="sms")
    sector = rng.choice(SECTORS)
    title, description = wording(rng, sector)
    occurred = QUAKE + timedelta(seconds=rng.uniform(0, 30 * 86400))
    report = Report(
        crisis_id=crisis_id,
        title=title,
        description=description,
        lon=rng.uniform(BBOX[0], BBOX[2]),
        lat=rng.uniform(BBOX[1], BBOX[3]),
        occurred_at=occurred,
        received_at=occurred,
        sector=sector,
        source=source,
        channel="sms",
    )
    db.session.add(report)
    db.session.commit()
    return report


def surge(rng: random.Random, crisis_id: int, count: int, slice_s: float) -> dict:
    """`count` new reports stored at once (one-off contacts, spread like the others), then scored
    by the background scorer's unit of work until nothing waits."""
    from plugins.validation.batch import run_batch
    from wiki.extensions import db
    from wiki.models import Report, Source
    from wiki.models.base import utcnow
    from wiki.reports.sources import contact_hash

    now = utcnow()
    for n in range(count):
        phone = f"+509 6{n:07d}"
        source = Source(contact=phone, contact_hash=contact_hash(phone), channel="sms", name="", organisation="")
        sector = rng.choice(SECTORS)
        title, description = wording(rng, sector)
        occurred = QUAKE + timedelta(seconds=rng.uniform(0, 30 * 86400))
        db.session.add(
            Report(
                crisis_id=crisis_id,
                title=title,
                description=description,
                lon=rng.uniform(BBOX[0], BBOX[2]),
                lat=rng.uniform(BBOX[1], BBOX[3]),
                occurred_at=occurred,
                received_at=now,
                sector=sector,
                source=source,
                channel="sms",
            )
        )
    db.session.commit()
    db.session.remove()
    started = time.perf_counter()
    batches = 1
    while run_batch(time.monotonic() + slice_s):
        batches += 1
        db.session.remove()
    spent = time.perf_counter() - started
    return {"reports": count, "batches": batches, "s": round(spent, 2), "ms_per_report": round(spent / count * 1000, 3)}


def big_source(rng: random.Random, count: int) -> int:
    """A crisis of its own with `count` reports from one contact (an organisation reporting
    all over the country), scored by a rescore of that crisis; returns the crisis id."""
    from sqlalchemy import insert

    from wiki.extensions import db
    from wiki.models import Crisis, Report, Source
    from wiki.models.base import utcnow
    from wiki.reports.sources import contact_hash

    crisis = Crisis(slug="one-source", name="One big source", west=BBOX[0], south=BBOX[1], east=BBOX[2], north=BBOX[3])
    phone = "+509 2000 0000"
    source = Source(contact=phone, contact_hash=contact_hash(phone), channel="sms", organisation="")
    db.session.add_all([crisis, source])
    db.session.commit()
    now = utcnow()
    rows = []
    for _n in range(count):
        sector = rng.choice(SECTORS)
        title, description = wording(rng, sector)
        occurred = QUAKE + timedelta(seconds=rng.uniform(0, 30 * 86400))
        rows.append(
            {
                "crisis_id": crisis.id,
                "title": title,
                "description": description,
                "lon": rng.uniform(BBOX[0], BBOX[2]),
                "lat": rng.uniform(BBOX[1], BBOX[3]),
                "place_name": "",
                "occurred_at": occurred,
                "received_at": occurred,
                "updated_at": now,
                "sector": sector,
                "status": rng.choices(("new", "verified", "refuted"), weights=(90, 8, 2))[0],
                "published": True,
                "sensitive": False,
                "channel": "sms",
                "source_id": source.id,
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Report), rows[start : start + 5000])
    db.session.commit()
    return crisis.id


def clickers(crisis_id: int) -> tuple[dict, list[int]]:
    """A verifier's and a coordinator's API headers, and the reports of the big source to click on."""
    from sqlalchemy import select

    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.models import ApiToken, Report

    headers = {}
    for role in ("verifier", "coordinator"):
        user = create_user(f"bench-{role}", "correct horse battery", role=role)
        headers[role] = {"Authorization": f"Bearer {ApiToken.issue(user, 'bench')[1]}"}
    db.session.commit()
    ids = db.session.scalars(select(Report.id).where(Report.crisis_id == crisis_id, Report.status == "new")).all()
    return headers, list(ids)


def click_latency(app, rng: random.Random, headers: dict, ids: list[int], clicks: int) -> dict:
    """Gradings and status changes through the API (outside any app context, as a server
    answers them): the time to the answer, and until every score they affect is current again."""
    client = app.test_client()
    runner = app.test_cli_runner()
    timings: dict[str, list[float]] = {"grade": [], "status": [], "grade_settled": [], "status_settled": []}
    for n in range(clicks):
        for kind in ("grade", "status"):
            report_id = rng.choice(ids)
            started = time.perf_counter()
            if kind == "grade":
                response = client.post(
                    f"/api/v1/reports/{report_id}/assessments",
                    headers=headers["verifier"],
                    json={"reliability": rng.choice("ABCDE"), "credibility": rng.randint(1, 5)},
                )
            else:
                response = client.patch(
                    f"/api/v1/reports/{report_id}",
                    headers=headers["coordinator"],
                    json={"status": ("verified", "refuted")[n % 2]},
                )
            timings[kind].append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 201), response.get_data(as_text=True)[:300]
            response.close()  # the work left for after the response
            result = runner.invoke(args=["rescore", "--stale"])
            assert result.exit_code == 0, result.output
            timings[f"{kind}_settled"].append((time.perf_counter() - started) * 1000)
    return {
        name: {
            "n": len(values),
            "p50": round(percentile(values, 0.5), 1),
            "p95": round(percentile(values, 0.95), 1),
            "max": round(max(values), 1),
        }
        for name, values in timings.items()
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=300, help="new reports scored one by one")
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument(
        "--surge", type=int, default=2000, help="new reports stored at once, then scored in batches (0: skip)"
    )
    parser.add_argument(
        "--source-reports",
        type=int,
        default=2000,
        help="reports of the one big source whose reports are graded and verified (0: skip)",
    )
    parser.add_argument("--clicks", type=int, default=10, help="gradings and as many status changes")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON result is written")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="validation-bench-") as folder:
        app = make_app(Path(folder))
        with app.app_context():
            from sqlalchemy import func, select, text

            import plugins.validation as plugin
            from plugins.validation.batch import rescore_all as rescore
            from plugins.validation.models import ReportScore, SourceReliability
            from wiki.extensions import db
            from wiki.migrations import upgrade_all
            from wiki.models import Report
            from wiki.reports.triage import apply_changes

            upgrade_all()
            started = time.perf_counter()
            crisis_id, _users = populate(args.reports, rng)
            print(f"Inserted {args.reports} reports in {time.perf_counter() - started:.1f} s", flush=True)

            started = time.perf_counter()
            scored = rescore()
            rescore_s = time.perf_counter() - started
            print(f"Full rescore of {scored} reports: {rescore_s:.1f} s", flush=True)
            neighbours = db.session.scalar(
                text(
                    "SELECT avg((SELECT count(*) FROM json_each(validation_scores.neighbours))) FROM validation_scores"
                )
            )
            sources = db.session.scalar(select(func.count()).select_from(SourceReliability))

            timings = []
            for n in range(args.new):
                report = new_report(rng, crisis_id, n)
                started = time.perf_counter()
                plugin.report_submitted(report)
                timings.append((time.perf_counter() - started) * 1000)
                db.session.expunge_all()
            print(
                f"Score one new report: p50 {percentile(timings, 0.5):.2f} ms, p99 {percentile(timings, 0.99):.2f} ms",
                flush=True,
            )

            verify_timings = []
            candidates = db.session.scalars(
                select(Report.id).where(Report.status == "new").order_by(Report.id).limit(2000)
            ).all()
            for report_id in rng.sample(candidates, min(50, len(candidates))):
                report = db.session.get(Report, report_id)
                started = time.perf_counter()
                apply_changes(report, {"status": "verified"}, None, "bench")  # commits, then the report_updated hook
                verify_timings.append((time.perf_counter() - started) * 1000)
                db.session.expunge_all()
            stale = db.session.scalar(select(func.count()).select_from(ReportScore).where(ReportScore.stale.is_(True)))
            surged = None
            if args.surge:
                surged = surge(rng, crisis_id, args.surge, float(app.config["VALIDATION_BACKGROUND_SLICE_MS"]) / 1000.0)
                print(f"A surge of {args.surge} reports scored in batches: {json.dumps(surged)}", flush=True)
            if args.source_reports:
                source_crisis = big_source(rng, args.source_reports)
                rescore(crisis_id=source_crisis)
                headers, click_ids = clickers(source_crisis)
            synchronous = app.config["SQLITE_SYNCHRONOUS"]
            db.session.remove()
        clicks = None
        if args.source_reports:
            app.config["WORKER_IN_SERVERS"] = "off"  # the work after a response runs on close()
            clicks = click_latency(app, rng, headers, click_ids, args.clicks)
            print(f"Clicks on reports of a source with {args.source_reports} reports: {json.dumps(clicks)}", flush=True)
        with app.app_context():
            db.engine.dispose()

    result = {
        "benchmark": "validation_scoring",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "database": f"SQLite (WAL, synchronous={synchronous}) in a temporary folder",
        "reports": args.reports,
        "sources": sources,
        "seed": args.seed,
        "mean_neighbours_stored": round(float(neighbours or 0), 2),
        "full_rescore_s": round(rescore_s, 2),
        "score_new_report_ms": {
            "n": len(timings),
            "p50": round(percentile(timings, 0.5), 3),
            "p99": round(percentile(timings, 0.99), 3),
            "mean": round(statistics.fmean(timings), 3),
        },
        "verify_report_ms": {
            "n": len(verify_timings),
            "p50": round(percentile(verify_timings, 0.5), 3),
            "p99": round(percentile(verify_timings, 0.99), 3),
        },
        "stale_after_verifications": stale,
        "surge": surged,
        "source_reports": args.source_reports,
        "clicks_ms": clicks,
        "targets": {"score_new_report_p50_ms": 10, "full_rescore_s": 60},
        "command": "python bench/validation_scoring.py " + " ".join(sys.argv[1:]),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

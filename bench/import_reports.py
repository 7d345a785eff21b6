"""Benchmark: import a 100,000-row HXL CSV of field reports through `crisiswiki import-reports`.

The file is generated deterministically (seeded): report text comes from the CrisisLexT26
messages in ../shared/data/crisislex-t26 (real crisis tweets; they carry no coordinates, so
the points are synthetic, spread uniformly over the Haiti box -74.5,17.9,-71.6,20.1), a fifth
of the rows carry a reporter's phone number from a pool of 2,000, and one row in a thousand is
deliberately bad (latitude 95) so the failure path is measured too.

A fresh database (SQLite under a temporary folder unless --database-url is given) gets the
migrations and one crisis; then the real command runs in a child process, exactly as an
operator would run it, and its wall time (including the child's start-up) and peak memory
are measured. The result is printed and written to bench/results/import_reports.json.

`--path web` measures the same file through the web import page instead, as a coordinator
imports it (issue 19: "100,000 rows in under a minute"): a real `crisiswiki worker` runs in a
child process (as deploy/ runs it, idle and waiting before the upload), a coordinator logs in
through the login form with Flask's test client, uploads the file to the import page, accepts
the mapping the page guesses (reading the selected columns off the page), imports the good
rows (partial) for the organisation "Benchmark", and follows the progress JSON until the job
says done. The wall time runs from the upload's POST to the first progress answer that says
done (it includes the wait for the worker to look for work: the upload cannot wake a worker in
another process, which looks every IMPORT_POLL_SECONDS); the reports stored are counted in the
database and the job's own counts are kept, with when the worker picked the job up and when it
went quiet after "done" (telling the plugins of the reports: the validation plugin rescores
the crisis, alerts are matched). The instance has no search index (as for the CLI path), so the
worker's search job only retries: indexing the reports is not measured. The result goes to bench/results/import_reports_web.json. `--profile FILE` runs the worker's jobs
in this process under cProfile instead (worker_for(app).run_until_idle) and writes the stats.

    .venv/bin/python bench/import_reports.py [--path cli|web] [--rows 100000] [--seed 2010] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CRISISWIKI_SHARED_DATA") or PROJECT.parent / "shared" / "data") / "crisislex-t26"
RESULTS = PROJECT / "bench" / "results" / "import_reports.json"
WEB_RESULTS = PROJECT / "bench" / "results" / "import_reports_web.json"
COORDINATOR = ("bench-coordinator", "bench password 2010")
BBOX = (-74.5, 17.9, -71.6, 20.1)
QUAKE = datetime(2010, 1, 12, 21, 53, tzinfo=UTC)
PLACES = (
    "Port-au-Prince",
    "Léogâne",
    "Jacmel",
    "Carrefour",
    "Pétion-Ville",
    "Gressier",
    "Petit-Goâve",
    "Delmas",
    "Cité Soleil",
    "Tabarre",
    "Croix-des-Bouquets",
    "Grand-Goâve",
    "",
)
# CrisisLex information types, as the sector a coordinator would file them under.
SECTOR_BY_TYPE = {
    "Affected individuals": ("health", "Emergency Shelter", "protection"),
    "Infrastructure and utilities": ("logistics", "telecoms", "Water, Sanitation and Hygiene"),
    "Donations and volunteering": ("food", "Food Security", "early_recovery"),
    "Caution and advice": ("protection", "cccm", "education"),
}
OTHER_SECTORS = ("other", "nutrition", "wash", "shelter", "Camp Coordination and Camp Management")
HEADER = ["id", "title", "description", "lat", "lon", "sector", "status", "occurred_at", "place", "reporter", "phone"]
TAGS = [
    "#meta+id",
    "#description+title",
    "#description",
    "#geo+lat",
    "#geo+lon",
    "#sector",
    "#status",
    "#date+occurred",
    "#loc+name",
    "#contact+name",
    "#contact+phone",
]


def load_messages() -> list[tuple[str, str]]:
    """(text, information type) of every labelled CrisisLexT26 message, in a stable order."""
    if not DATA.is_dir():
        sys.exit(f"The CrisisLexT26 data is missing at {DATA}; it comes with the project's shared folder.")
    messages = []
    for path in sorted(DATA.glob("*/tweets_labeled.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, skipinitialspace=True)
            next(reader)
            messages.extend((row[1].strip(), row[3].strip()) for row in reader if len(row) >= 4 and row[1].strip())
    return messages


def title_of(text: str) -> str:
    if len(text) <= 80:
        return text
    return text[:80].rsplit(" ", 1)[0] + "…"


def generate(path: Path, rows: int, seed: int) -> int:
    """Write the CSV; returns how many rows are valid."""
    rng = random.Random(seed)
    messages = load_messages()
    phones = [f"+509 3{rng.randrange(10**6):06d}" for _ in range(2000)]
    valid = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(TAGS)
        for i in range(rows):
            text, kind = messages[rng.randrange(len(messages))]
            sector = rng.choice(SECTOR_BY_TYPE.get(kind, OTHER_SECTORS))
            lat = round(rng.uniform(BBOX[1], BBOX[3]), 5)
            if i % 1000 == 999:
                lat = 95.0  # a bad row
            else:
                valid += 1
            occurred = QUAKE + timedelta(minutes=rng.randrange(45 * 24 * 60))
            has_phone = rng.random() < 0.2
            writer.writerow(
                [
                    f"bench-{i}",
                    title_of(text),
                    text,
                    lat,
                    round(rng.uniform(BBOX[0], BBOX[2]), 5),
                    sector,
                    rng.choice(("new", "new", "new", "under_review", "verified")),
                    occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    rng.choice(PLACES),
                    rng.choice(("", "Jean", "Marie", "Pierre")) if has_phone else "",
                    rng.choice(phones) if has_phone else "",
                ]
            )
    return valid


def app_config(instance: Path, database_url: str | None) -> dict[str, str]:
    config = {"INSTANCE_PATH": str(instance)}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    return config


def prepare_database(instance: Path, database_url: str | None) -> dict[str, str]:
    """Migrate a fresh database and create the crisis (and a coordinator, for the web path);
    returns the child process's environment."""
    env = {**os.environ, "CRISISWIKI_INSTANCE_PATH": str(instance)}
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    sys.path.insert(0, str(PROJECT))
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.extensions import db
    from wiki.migrations import upgrade_all

    app = create_app(app_config(instance, database_url))
    with app.app_context():
        upgrade_all()
        admin = create_user("bench-admin", "bench password 2010", role="admin")
        create_user(*COORDINATOR, role="coordinator")
        create_crisis(
            {
                "name": "Benchmark earthquake",
                "slug": "bench",
                "bbox": ",".join(map(str, BBOX)),
                "start_date": "2010-01-12",
            },
            admin,
        )
        db.session.remove()
        db.engine.dispose()
    return env


def count_reports(instance: Path, database_url: str | None) -> int:
    from sqlalchemy import func, select

    from wiki import create_app
    from wiki.extensions import db
    from wiki.models import Report

    app = create_app(app_config(instance, database_url))
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Report))
        db.engine.dispose()
    return total


def run_cli(args: argparse.Namespace, folder: Path, source: Path, valid: int) -> None:
    env = prepare_database(folder / "instance", args.database_url)
    command = [  # this checkout's code (the venv's `crisiswiki` script runs the checkout installed last)
        sys.executable,
        "-c",
        "from wiki.console import main; main()",
        "import-reports",
        str(source),
        "--crisis",
        "bench",
        "--organisation",
        "Benchmark",
        "--partial",  # the file's deliberately bad rows are refused, the others imported
    ]
    log = folder / "import.log"
    print(f"Importing {args.rows:,} rows ({source.stat().st_size / 1e6:.1f} MB) ...", file=sys.stderr)
    started = time.perf_counter()
    with open(log, "w") as errors:
        # The progress bar and the failure list go to the log; the bar's last state is shown below.
        completed = subprocess.run(command, env=env, cwd=PROJECT, stderr=errors, stdout=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = [line for line in log.read_text().splitlines() if line.startswith("Imported ")]
    stored = count_reports(folder / "instance", args.database_url)
    result = {
        "benchmark": "import_reports",
        "command": "crisiswiki import-reports FILE --crisis bench --organisation Benchmark --partial",
        "rows": args.rows,
        "valid_rows": valid,
        "stored_reports": stored,
        "exit_code": completed.returncode,
        "summary": summary[-1] if summary else None,
        "seconds": round(elapsed, 2),
        "rows_per_second": round(args.rows / elapsed),
        "peak_rss_mb": round(peak_kb / 1024, 1),  # the largest child process (the import itself)
        **about(args, source),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if completed.returncode != 0 or stored != valid:
        sys.exit(f"The import did not store every valid row (exit code {completed.returncode}); see {log}.")


def about(args: argparse.Namespace, source: Path) -> dict:
    return {
        "file_mb": round(source.stat().st_size / 1e6, 1),
        "database": "postgresql" if args.database_url else "sqlite",
        "seed": args.seed,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": args.load_before,  # 1, 5 and 15 minutes, as the import starts
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    if found is None:
        sys.exit(f"No hidden {name} field on the page.")
    return found.group(1)


def guessed_mapping(page: str) -> dict[str, str]:
    """The columns the mapping page selected for each field (what a coordinator accepts)."""
    mapping = {}
    for name, options in re.findall(r'<select id="map-\w+" name="(map_\w+)">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="(\d+)" selected>', options)
        if chosen:
            mapping[name] = chosen.group(1)
    return mapping


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def settle(pid: int, started: float, quiet: float = 0.05, windows: int = 3) -> tuple[float, float]:
    """Wait until the process uses under `quiet` s of CPU a second, `windows` seconds running;
    returns when that began (seconds after `started`) and the CPU seconds it used until then."""
    last, calm, since = cpu_seconds(pid), 0, time.perf_counter()
    used = last
    while calm < windows:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - last < quiet:
            calm += 1
        else:
            calm, since = 0, time.perf_counter()
            used = now
        last = now
        if time.perf_counter() - started > 3600:
            break
    return since - started, used


def run_web(args: argparse.Namespace, folder: Path, source: Path, valid: int) -> None:
    """The web import page and a `crisiswiki worker` child process (see the module docstring)."""
    instance = folder / "instance"
    env = prepare_database(instance, args.database_url)
    env["CRISISWIKI_WORKER_IN_SERVERS"] = "false"  # deploy/: a worker process of its own does the work
    from wiki import create_app

    app = create_app({**app_config(instance, args.database_url), "WORKER_IN_SERVERS": "false"})
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    answer = client.post(
        "/login",
        data={"csrf_token": hidden(login_page, "csrf_token"), "username": COORDINATOR[0], "password": COORDINATOR[1]},
    )
    if answer.status_code != 302:
        sys.exit(f"The coordinator could not log in ({answer.status_code}).")
    page = "/c/bench/reports/import"
    csrf = hidden(client.get(page).get_data(as_text=True), "csrf_token")

    worker = None
    if not args.profile:
        log = open(folder / "worker.log", "wb")  # noqa: SIM115 (closed below)
        worker = subprocess.Popen(
            [sys.executable, "-c", "from wiki.console import main; main()", "worker"],
            env=env,
            cwd=PROJECT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(3)  # started and idle, as in a deployment, before the coordinator uploads
        if worker.poll() is not None:
            sys.exit(f"The worker did not start; see {folder / 'worker.log'}.")

    print(
        f"Importing {args.rows:,} rows ({source.stat().st_size / 1e6:.1f} MB) through the web page ...", file=sys.stderr
    )
    started = time.perf_counter()
    with open(source, "rb") as handle:
        uploaded = client.post(
            page,
            data={"csrf_token": csrf, "step": "upload", "file": (handle, source.name)},
            content_type="multipart/form-data",
        )
    upload_seconds = time.perf_counter() - started
    if uploaded.status_code != 302:
        sys.exit(f"The upload was refused ({uploaded.status_code}): {uploaded.get_data(as_text=True)[-500:]}")
    mapping_page = client.get(uploaded.headers["Location"]).get_data(as_text=True)
    mapping = guessed_mapping(mapping_page)
    form = {
        "csrf_token": hidden(mapping_page, "csrf_token"),
        "step": "import",
        "upload": hidden(mapping_page, "upload"),
        "organisation": "Benchmark",
        "day_first": "auto",
        "timezone": re.search(
            r'<input id="timezone" name="timezone" maxlength="60" value="([^"]*)"', mapping_page
        ).group(1),
        "partial": "1",  # the file's deliberately bad rows are refused, the others imported
        **mapping,
    }
    queued = client.post(page, data=form)
    if queued.status_code != 303:
        sys.exit(f"The import was not queued ({queued.status_code}): {queued.get_data(as_text=True)[-500:]}")
    answered_seconds = time.perf_counter() - started  # the coordinator has the progress page
    status_url = queued.headers["Location"] + ".json"

    profile = None
    if args.profile:
        import cProfile

        from wiki.workers import worker_for

        profile = cProfile.Profile()
        profile.enable()
        worker_for(app).run_until_idle(timeout=3600)
        profile.disable()
    picked_up = None
    while True:
        status = client.get(status_url).get_json()
        now = time.perf_counter() - started
        if picked_up is None and status["state"] != "queued":
            picked_up = now
        if status["finished"]:
            break
        if worker is not None and worker.poll() is not None:
            sys.exit(f"The worker stopped (exit code {worker.returncode}); see {folder / 'worker.log'}.")
        if now > 3600:
            sys.exit("The import did not finish within an hour.")
        time.sleep(0.25)
    elapsed = time.perf_counter() - started
    peak_mb = settled = None
    if worker is not None:
        # "done" is committed before the worker tells the plugins of the stored reports (the
        # validation plugin rescores the crisis, alerts are matched): the worker's follow-on work,
        # timed until its CPU time stops growing.
        settled = settle(worker.pid, started)
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
        log.close()
        peak_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    if profile is not None:
        profile.dump_stats(args.profile)
        print(f"Profile of the worker written to {args.profile}", file=sys.stderr)
    stored = count_reports(instance, args.database_url)
    job_id = int(status["id"])
    with app.app_context():
        from wiki.extensions import db
        from wiki.models import ImportJob

        row = db.session.get(ImportJob, job_id)
        job_seconds = (row.finished_at - row.created_at).total_seconds()  # the job's own clock: queued to done
        db.session.remove()
    job = {key: status[key] for key in ("state", "rows_total", "rows_done", "imported", "failed", "held_back")}
    job["already_imported"] = status["already_imported"]
    job["error_kinds"] = [{"count": error["count"], "message": error["message"]} for error in status["errors"]]
    result = {
        "benchmark": "import_reports_web",
        "path": "web: login form, upload + mapping POSTed to /c/bench/reports/import (test client), "
        + ("worker_for(app).run_until_idle under cProfile" if args.profile else "`crisiswiki worker` child process"),
        "rows": args.rows,
        "valid_rows": valid,
        "stored_reports": stored,
        "job": job,
        "mapping": mapping,
        "seconds": round(elapsed, 2),  # the upload's POST to the progress JSON saying done
        "rows_per_second": round(args.rows / elapsed),
        "upload_seconds": round(upload_seconds, 2),  # the upload's POST (the file kept in the instance folder)
        "progress_page_after_seconds": round(answered_seconds, 2),  # upload + mapping page + import POST
        "picked_up_after_seconds": round(picked_up, 2) if picked_up is not None else None,  # seen by the 0.25 s poll
        "after_pick_up_seconds": round(elapsed - picked_up, 2) if picked_up is not None else None,
        "job_created_to_finished_seconds": round(job_seconds, 2),
        "import_poll_seconds": app.config["IMPORT_POLL_SECONDS"],  # the worker's look for an import nobody woke it for
        "batch_size": app.config["IMPORT_BATCH_SIZE"],
        "worker_peak_rss_mb": peak_mb,
        # after the upload's POST: when the worker went quiet (the plugins told of the reports)
        "worker_settled_after_seconds": settled and round(settled[0], 2),
        "worker_cpu_seconds": settled and round(settled[1], 2),
        **about(args, source),
    }
    out = WEB_RESULTS if not args.profile else Path(args.profile).with_suffix(".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if status["state"] != "done" or stored != valid or job["imported"] != valid:
        sys.exit(f"The import did not store every valid row; see {folder}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--path", choices=("cli", "web"), default="cli", help="the command line, or the web page + worker"
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--database-url", help="an empty PostgreSQL database instead of a fresh SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (file and database)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows (make bench-quick)")
    parser.add_argument(
        "--profile", metavar="FILE", help="--path web: run the worker here under cProfile, stats to FILE"
    )
    args = parser.parse_args()
    if args.quick:
        args.rows = min(args.rows, 20_000)
    if args.profile and args.path != "web":
        parser.error("--profile is for --path web")

    folder = Path(tempfile.mkdtemp(prefix="crisiswiki-bench-import-"))
    source = folder / "reports-hxl.csv"
    valid = generate(source, args.rows, args.seed)
    args.load_before = [round(value, 2) for value in os.getloadavg()]
    (run_web if args.path == "web" else run_cli)(args, folder, source, valid)
    if args.keep:
        print(f"Kept {folder}", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

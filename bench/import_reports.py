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

    .venv/bin/python bench/import_reports.py [--rows 100000] [--seed 2010] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CRISISWIKI_SHARED_DATA") or PROJECT.parent / "shared" / "data") / "crisislex-t26"
RESULTS = PROJECT / "bench" / "results" / "import_reports.json"
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


def prepare_database(instance: Path, database_url: str | None) -> dict[str, str]:
    """Migrate a fresh database and create the crisis; returns the child process's environment."""
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

    config = {"INSTANCE_PATH": str(instance)}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_app(config)
    with app.app_context():
        upgrade_all()
        admin = create_user("bench-admin", "bench password 2010", role="admin")
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

    config = {"INSTANCE_PATH": str(instance)}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_app(config)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Report))
        db.engine.dispose()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--database-url", help="an empty PostgreSQL database instead of a fresh SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (file and database)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows (make bench-quick)")
    args = parser.parse_args()
    if args.quick:
        args.rows = min(args.rows, 20_000)

    folder = Path(tempfile.mkdtemp(prefix="crisiswiki-bench-import-"))
    source = folder / "reports-hxl.csv"
    valid = generate(source, args.rows, args.seed)
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
        "file_mb": round(source.stat().st_size / 1e6, 1),
        "database": "postgresql" if args.database_url else "sqlite",
        "seed": args.seed,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if completed.returncode != 0 or stored != valid:
        sys.exit(f"The import did not store every valid row (exit code {completed.returncode}); see {log}.")
    if args.keep:
        print(f"Kept {folder}", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

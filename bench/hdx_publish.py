"""HDX publishing benchmark: `crisiswiki publish-hdx` for a crisis of N public reports (a tenth of
them sensitive), to the tests' CKAN-compatible server on a loopback port (tests/hdx/ckan_server.py),
once to create the dataset and once more to update it. Records the seconds of each publication
(files written as the public sees them, then uploaded), and the size of the files.

    python bench/hdx_publish.py [--reports 20000]    # writes bench/results/hdx_publish.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULT = ROOT / "bench" / "results" / "hdx_publish.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20000)
    count = parser.parse_args().reports

    from sqlalchemy import insert

    from tests.fixtures import migrate
    from tests.hdx.ckan_server import TOKEN, CkanServer
    from wiki import create_app
    from wiki.extensions import db
    from wiki.models import Crisis, Report, Source
    from wiki.models.base import utcnow
    from wiki.visibility import public_position

    with tempfile.TemporaryDirectory(prefix="bench-hdx-") as scratch, CkanServer(TOKEN) as site:
        url = f"sqlite:///{scratch}/bench.db"
        migrate(url, Path(scratch) / "instance")
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "INSTANCE_PATH": f"{scratch}/instance",
                "SECRET_KEY": "bench",
                "BASE_URL": "https://wiki.example.org",
                "HDX_API_TOKEN": TOKEN,
                "HDX_ORGANISATION": "crisiswiki-test",
            }
        )
        with app.app_context():
            crisis = Crisis(slug="quake", name="Bench earthquake", glide="EQ-2010-000009-HTI")
            db.session.add(crisis)
            db.session.flush()
            crisis_id = crisis.id
            source = Source(name="bench", channel="web")
            db.session.add(source)
            db.session.flush()
            now = utcnow()
            rows = []
            for i in range(count):
                lon, lat, sensitive = -72.3 + (i % 500) * 0.001, 18.5 + (i // 500) * 0.001, i % 10 == 0
                public_lon, public_lat = public_position(lon, lat, sensitive)
                rows.append(
                    {
                        "crisis_id": crisis_id,
                        "source_id": source.id,
                        "title": f"Report {i}",
                        "description": "Walls cracked, families sleeping outside",
                        "lon": lon,
                        "lat": lat,
                        "public_lon": public_lon,
                        "public_lat": public_lat,
                        "place_name": "",
                        "sensitive": sensitive,
                        "published": True,
                        "received_at": now,
                        "updated_at": now,
                    }
                )
            db.session.execute(insert(Report), rows)
            db.session.commit()
        runner = app.test_cli_runner()
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            result = runner.invoke(args=["publish-hdx", "--crisis", "quake", "--url", site.url])
            timings.append(round(time.perf_counter() - started, 2))
            assert result.exit_code == 0, result.output
        sizes = {r["name"]: r["size"] for r in site.datasets["quake-field-reports"]["resources"]}
    figures = {
        "benchmark": "hdx_publish",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "command": f"python bench/hdx_publish.py --reports {count}",
        "reports": count,
        "create_seconds": timings[0],
        "update_seconds": timings[1],
        "file_bytes": sizes,
        "note": "SQLite; upper bounds: the machine was shared with other work while this ran",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

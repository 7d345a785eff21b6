"""Search under load, served exactly as `make run` serves it: several gunicorn workers take
reports at the same time, each worker's writer thread competes for the one index writer, and
every report is found afterwards; no submission or search fails or waits on the index."""

from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.servers import BIN, ROOT, gunicorn, server_env

pytestmark = pytest.mark.slow
REPORTS = 300
THREADS = 8


def _token(instance, database_url: str, settings: dict) -> str:
    result = subprocess.run(
        [
            str(BIN / "crisiswiki"),
            "create-user",
            "loadbot",
            "--role",
            "coordinator",
            "--password",
            "correct horse battery",
            "--token",
        ],
        env=server_env(instance, database_url, **settings),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.split("API token (shown once): ")[1].split()[0]


# Reports are sent anonymously (as most field reports are): a bearer token's last_used_at update
# currently fails under concurrent SQLite writes in `reads_first` views, which is not search's
# doing (reported to the lead).
def test_concurrent_reports_through_several_workers_are_all_found(tmp_path, database_url, search_backend):
    instance = tmp_path / "server"
    # Only the core: this measures search, and the validation plugin's own writes on every report
    # currently deadlock on PostgreSQL under this load (reported to the lead).
    settings = {
        "SEARCH_BACKEND": search_backend,
        "ANONYMOUS_SUBMIT_LIMIT": "100000",
        "LOAD_ENTRYPOINT_PLUGINS": "false",
    }
    with gunicorn(instance, database_url, workers=3, **settings) as base:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {_token(instance, database_url, settings)}"
        created = session.post(
            f"{base}/api/v1/crises",
            json={"name": "Load test", "slug": "quake", "bbox": [-74.5, 17.9, -71.6, 20.1]},
            timeout=60,
        )
        assert created.status_code == 201, created.text

        def post(number: int) -> tuple[int, int | None]:
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-72.5 + number / 1000, 18.5]},
                "properties": {
                    "crisis": "quake",
                    "title": f"Aftershock damage {number}",
                    "description": f"Walls cracked after the aftershock, marker q{number}z",
                    "sector": "shelter",
                },
            }
            response = requests.post(f"{base}/api/v1/reports", json=feature, timeout=120)
            return response.status_code, response.json().get("id") if response.status_code == 201 else None

        searches: list[int] = []
        done = threading.Event()

        def keep_searching() -> None:
            with requests.Session() as reader:
                while not done.is_set():
                    searches.append(
                        reader.get(f"{base}/api/v1/search", params={"q": "aftershock"}, timeout=120).status_code
                    )

        searcher = threading.Thread(target=keep_searching)
        searcher.start()
        try:
            with ThreadPoolExecutor(THREADS) as pool:
                results = list(pool.map(post, range(REPORTS)))
        finally:
            done.set()
            searcher.join()
        assert [status for status, _id in results] == [201] * REPORTS
        assert searches and set(searches) == {200}
        submitted = {report_id for _status, report_id in results}

        deadline = time.monotonic() + 120  # the writers drain in the background; wait for them, not for a time
        total = 0
        while time.monotonic() < deadline:
            total = session.get(f"{base}/api/v1/search", params={"q": "aftershock", "limit": 1}, timeout=60).json()[
                "total"
            ]
            if total == REPORTS:
                break
            time.sleep(0.2)
        assert total == REPORTS
        found = set()
        for page in range(1, REPORTS // 100 + 1):
            body = session.get(
                f"{base}/api/v1/search", params={"q": "aftershock", "limit": 100, "page": page}, timeout=60
            ).json()
            found |= {result["id"] for result in body["results"]}
        assert found == submitted
        for number in range(0, REPORTS, 37):
            body = session.get(f"{base}/api/v1/search", params={"q": f"q{number}z"}, timeout=60).json()
            assert [result["title"] for result in body["results"]] == [f"Aftershock damage {number}"]

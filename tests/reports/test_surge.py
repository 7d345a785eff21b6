"""Nothing is lost: a surge of reports from many clients against gunicorn with several workers."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.reports_helpers import feature
from tests.servers import gunicorn

pytestmark = pytest.mark.slow

CLIENTS = 16
PER_CLIENT = 125  # 2,000 reports in all
RETRY_EVERY = 10  # every 10th report is sent twice, as a phone does when the answer got lost


def test_every_accepted_report_is_stored_exactly_once(app, crisis, database_url, tmp_path, make_user, token_for):
    volunteer_token = token_for(make_user("volunteer"))
    created: list[int] = []
    replays: list[tuple[int, int]] = []
    failures: list[str] = []
    lock = threading.Lock()
    with gunicorn(tmp_path / "served", database_url, workers=3, init=False, ANONYMOUS_SUBMIT_LIMIT="100000") as base:

        def client(number: int) -> None:
            session = requests.Session()
            # Half the clients are logged-in volunteers (token), half anonymous.
            if number % 2:
                session.headers["Authorization"] = f"Bearer {volunteer_token}"
            for i in range(PER_CLIENT):
                key = f"client{number}-report{i}"
                body = feature(title=f"Surge report {key}", lon=-72.3 + number * 0.01, lat=18.5 + i * 0.001)
                attempts = 2 if i % RETRY_EVERY == 0 else 1
                first_id = None
                for attempt in range(attempts):
                    try:
                        response = session.post(
                            f"{base}/api/v1/reports", json=body, headers={"Idempotency-Key": key}, timeout=60
                        )
                    except requests.RequestException as exc:
                        with lock:
                            failures.append(f"{key}: {exc}")
                        continue
                    with lock:
                        if response.status_code == 201:
                            created.append(response.json()["id"])
                            first_id = response.json()["id"]
                        elif response.status_code == 200 and attempt == 1:
                            replays.append((first_id, response.json()["id"]))
                        else:
                            failures.append(f"{key}: {response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        import sys

        print("intake done", time.monotonic(), file=sys.stderr)
        # The validation plugin scores in the background, behind intake: once the surge is over,
        # the idle server scores every report on its own (no request asks it to).
        unscored = wait_for_scores(database_url, timeout=180)
        print("scored", time.monotonic(), unscored, file=sys.stderr)

    assert failures == []
    assert unscored == 0
    assert len(created) == CLIENTS * PER_CLIENT
    assert all(first == again for first, again in replays) and len(replays) == CLIENTS * (PER_CLIENT // RETRY_EVERY + 1)
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, client_id FROM reports")).all()
    engine.dispose()
    stored_ids = Counter(row.id for row in rows)
    assert set(stored_ids) == set(created)  # every 201 is in the database ...
    assert len(rows) == len(created)  # ... exactly once, and nothing else is
    assert max(Counter(row.client_id for row in rows).values()) == 1  # retries made no duplicates


def wait_for_scores(database_url: str, timeout: float) -> int:
    """Wait until every report has a score; returns how many still have none at the end."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                unscored = conn.execute(
                    text(
                        "SELECT count(*) FROM reports LEFT JOIN validation_scores ON validation_scores.report_id = reports.id"
                        " WHERE validation_scores.report_id IS NULL"
                    )
                ).scalar()
            if unscored == 0 or time.monotonic() > deadline:
                return unscored
            time.sleep(0.2)
    finally:
        engine.dispose()

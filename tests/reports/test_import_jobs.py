"""Large imports in the background worker: the upload page answers at once, a progress page
(and its JSON) follows the job row by row, and a real `crisiswiki worker` killed with SIGKILL
mid-import leaves a job that goes on to exactly the reports the file holds, none twice."""

from __future__ import annotations

import fcntl
import io
import os
import re
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.maps_helpers import adm1_collection, as_text
from tests.servers import CRISISWIKI, ROOT, server_env, worker_process
from wiki.extensions import db
from wiki.models import ImportJob, Report
from wiki.workers import worker_for


def csv_file(rows: int, bad: tuple[int, ...] = (), ids: bool = False) -> bytes:
    """A CSV of `rows` reports ("Row 00001"...); the rows numbered in `bad` have half a point."""
    lines = ["id,title,lat,lon,sector" if ids else "title,lat,lon,sector"]
    for n in range(1, rows + 1):
        lon = "" if n in bad else "-72.34"
        lines.append((f"r{n}," if ids else "") + f"Row {n:05d},18.54,{lon},health")
    return ("\n".join(lines) + "\n").encode()


def upload(client, body: bytes, name: str = "big.csv") -> str:
    response = client.post(
        "/c/quake/reports/import",
        data={"step": "upload", "file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.data
    return re.search(r"upload=([\w-]+)", response.headers["Location"]).group(1)


def start_import(client, token: str, ids: bool = False, **form) -> str:
    mapping = {"map_id": "0", "map_title": "1", "map_lat": "2", "map_lon": "3", "map_sector": "4"} if ids else {}
    mapping = mapping or {"map_title": "0", "map_lat": "1", "map_lon": "2", "map_sector": "3"}
    response = client.post("/c/quake/reports/import", data={"step": "import", "upload": token, **mapping, **form})
    assert response.status_code == 303, response.data
    return response.headers["Location"]


def titles(app) -> list[str]:
    with app.app_context():
        found = list(db.session.scalars(select(Report.title).order_by(Report.title)))
        db.session.remove()
    return found


def one_slice(app) -> None:
    """One slice of the imports job, ended after a single row (a deadline already past)."""
    from wiki.reports.import_jobs import work_on_imports

    with app.app_context():
        work_on_imports(0.0)
        db.session.remove()


@pytest.fixture
def coordinator(client, make_user, login):
    person = make_user("coordinator")
    login(person)
    return person


def test_the_upload_answers_at_once_and_the_progress_page_follows_the_job_to_the_end(app, client, crisis, coordinator):
    token = upload(client, csv_file(30, bad=(7, 21)))
    progress = start_import(client, token, partial="1")
    assert titles(app) == []  # nothing is imported in the request
    page = client.get(progress)
    assert page.status_code == 200 and b'http-equiv="refresh"' in page.data and b"js/import-progress." in page.data
    assert b"Waiting for the background worker" in page.data
    status_url = progress + ".json"
    queued = client.get(status_url).get_json()
    assert queued["state"] == "queued" and queued["finished"] is False and queued["rows_done"] == 0

    one_slice(app)  # counts the rows
    for _ in range(10):
        one_slice(app)
    status = client.get(status_url).get_json()
    assert status["state"] == "importing" and status["rows_total"] == 30 and status["rows_done"] == 10
    assert status["imported"] == 9 and status["failed"] == 1
    assert status["errors"] == [
        {"count": 1, "field": "lon", "message": "Give both latitude and longitude.", "rows": [8]}
    ]
    assert len(titles(app)) == 9  # each slice's rows are committed with the position they reach
    html = client.get(progress).data.decode()
    assert "10 of 30 rows" in html and "Imported: 9" in html

    worker_for(app).run_until_idle(timeout=60)
    done = client.get(status_url).get_json()
    assert done["finished"] is True and done["state"] == "done"
    assert (done["rows_done"], done["rows_total"], done["imported"], done["failed"]) == (30, 30, 28, 2)
    assert done["errors"][0]["rows"] == [8, 22]  # CSV lines (the header is line 1)
    result = client.get(progress)
    assert (
        result.status_code == 200 and b"Import finished" in result.data and b'http-equiv="refresh"' not in result.data
    )
    assert b"Imported: 28" in result.data and b"Failed: 2" in result.data
    assert titles(app) == [f"Row {n:05d}" for n in range(1, 31) if n not in (7, 21)]


def test_an_all_or_nothing_import_checks_every_row_first_and_keeps_the_file_for_the_good_rows(
    app, client, crisis, coordinator
):
    token = upload(client, csv_file(12, bad=(5,)))
    progress = start_import(client, token)
    one_slice(app)
    one_slice(app)
    assert client.get(progress + ".json").get_json()["state"] == "checking"
    worker_for(app).run_until_idle(timeout=60)
    held = client.get(progress)
    assert b"Nothing was imported" in held.data and b"Good rows held back: 11" in held.data and titles(app) == []
    good_rows = client.post(
        "/c/quake/reports/import",
        data={"step": "import", "upload": token, "partial": "1", "map_title": "0", "map_lat": "1", "map_lon": "2"},
    )
    assert good_rows.status_code == 303
    worker_for(app).run_until_idle(timeout=60)
    assert b"Imported: 11" in client.get(good_rows.headers["Location"]).data and len(titles(app)) == 11


def test_bad_input_is_refused_at_once_and_queues_nothing(app, client, crisis, coordinator):
    token = upload(client, csv_file(3))
    no_title = client.post("/c/quake/reports/import", data={"step": "import", "upload": token, "map_lat": "1"})
    assert no_title.status_code == 422 and b'id="form-error"' in no_title.data
    bad_dates = client.post(
        "/c/quake/reports/import", data={"step": "import", "upload": token, "map_title": "0", "day_first": "sideways"}
    )
    assert bad_dates.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert client.get("/c/quake/reports/import/jobs/999.json").status_code == 404


def test_a_file_gone_before_the_worker_reads_it_ends_the_job_with_a_clear_error(app, client, crisis, coordinator):
    token = upload(client, csv_file(3))
    progress = start_import(client, token)
    (Path(app.instance_path) / "imports" / token).unlink()
    worker_for(app).run_until_idle(timeout=60)
    status = client.get(progress + ".json").get_json()
    assert status["state"] == "failed" and status["finished"] and "upload it again" in status["error"]
    page = client.get(progress)
    assert page.status_code == 422 and b"upload it again" in page.data and titles(app) == []


def test_the_progress_of_another_crisis_s_import_is_not_found(app, client, crisis, coordinator, make_user):
    from wiki.crises.services import create_crisis
    from wiki.models import User

    token = upload(client, csv_file(2))
    progress = start_import(client, token)
    admin = make_user("admin")
    with app.app_context():
        create_crisis({"name": "Floods", "slug": "floods", "start_date": "2026-01-01"}, db.session.get(User, admin.id))
    assert client.get(progress.replace("/c/quake/", "/c/floods/")).status_code == 404


ROWS = 6000


def start_worker(instance: Path, database_url: str) -> subprocess.Popen:
    return worker_process(
        instance, database_url, SECRET_KEY="test", IMPORT_BATCH_SIZE="50", LOAD_ENTRYPOINT_PLUGINS="false"
    )


def job_position(app) -> tuple[str, int]:
    with app.app_context():
        job = db.session.scalars(select(ImportJob)).one()
        found = (job.state, job.rows_done)
        db.session.remove()
    return found


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("ids", [False, True], ids=["rows without ids", "rows with ids"])
def test_a_worker_killed_mid_import_goes_on_to_exactly_the_same_reports(
    app, client, crisis, coordinator, database_url, ids
):
    token = upload(client, csv_file(ROWS, bad=(100, 4000), ids=ids))
    progress = start_import(client, token, ids=ids, partial="1")
    instance = Path(app.instance_path)
    positions = []
    for kill_after in (1500, 3500):
        worker = start_worker(instance, database_url)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                state, done = job_position(app)
                if state == "importing" and done >= kill_after:
                    break
                assert worker.poll() is None, (instance / "worker.log").read_text()[-2000:]
                time.sleep(0.005)
            else:
                raise AssertionError(f"the worker did not reach row {kill_after}")
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        positions.append(job_position(app))
    assert all(state == "importing" and 0 < done < ROWS for state, done in positions), positions
    worker_for(app).run_until_idle(timeout=120)
    status = client.get(progress + ".json").get_json()
    assert status["state"] == "done" and (status["imported"], status["failed"]) == (ROWS - 2, 2)
    assert status["errors"][0]["rows"] == [101, 4001]
    expected = [f"Row {n:05d}" for n in range(1, ROWS + 1) if n not in (100, 4000)]
    assert titles(app) == expected  # each once


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What a command prints when its output is a terminal (a pseudo-terminal here)."""
    main, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns for the bar
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the command has ended and closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode(errors="replace")


def test_the_import_commands_show_a_progress_bar_on_a_terminal(app, crisis, database_url, tmp_path):
    rows, areas = tmp_path / "rows.csv", tmp_path / "adm1.geojson"
    rows.write_bytes(csv_file(500))
    areas.write_text(as_text(adm1_collection()))
    env = server_env(Path(app.instance_path), database_url, SECRET_KEY="test", LOAD_ENTRYPOINT_PLUGINS="false")
    imported = run_on_a_terminal([*CRISISWIKI, "import-reports", str(rows), "--crisis", "quake"], env)
    assert "rows.csv: 100%" in imported and "500/500" in imported and "Imported 500" in imported
    placed = run_on_a_terminal([*CRISISWIKI, "import-boundaries", str(areas), "--crisis", "quake", "--level", "1"], env)
    assert "Placing reports: 100%" in placed and "500/500" in placed and "Imported 2 admin-1 areas" in placed


def test_plugins_hear_of_every_stored_report_once_when_the_import_ends(app_config, make_user, login):
    from wiki import create_app
    from wiki.crises.services import create_crisis
    from wiki.hooks import hookimpl
    from wiki.models import User

    class Recorder:
        def __init__(self) -> None:
            self.heard: list[int] = []

        @hookimpl
        def reports_imported(self, crisis, report_ids):
            self.heard.extend(report_ids)

    recorder = Recorder()
    app = create_app({**app_config, "IMPORT_BATCH_SIZE": 4}, plugins=[recorder])
    client = app.test_client()
    admin = make_user("admin")
    with app.app_context():
        create_crisis({"name": "Quake", "slug": "quake", "start_date": "2010-01-12"}, db.session.get(User, admin.id))
    login(make_user("coordinator"), client)
    start_import(client, upload(client, csv_file(10)), partial="1")
    for _ in range(6):
        one_slice(app)  # rows stored in batches, nothing announced yet
    assert recorder.heard == [] and 0 < len(titles(app)) < 10
    worker_for(app).run_until_idle(timeout=60)
    with app.app_context():
        stored = sorted(db.session.scalars(select(Report.id)))
        db.session.remove()
        db.engine.dispose()
    assert sorted(recorder.heard) == stored and len(stored) == 10

"""A short crisis day (bench/crisis_day.py --quick, shortened): reporters, coordinators, verifiers,
responders, an administrator's CLI commands and the background worker all at once against real
gunicorn servers, on SQLite and on PostgreSQL. Nothing acknowledged is lost or stored twice, no
request fails, nothing says "database is locked", and every report ends up scored.

Latency is measured (the JSON the run writes) but not asserted here: this machine's cores are
shared, and the figures belong in `make bench`'s table, not in a pass or a fail.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.servers import ROOT


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_short_crisis_day_loses_nothing_and_never_locks(database_url, tmp_path):
    output = tmp_path / "crisis_day.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "crisis_day.py"),
            "--quick",
            "--seconds",
            "12",
            "--workers",
            "2",
            "--database-url",
            database_url,
            "--output",
            str(output),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=280,
    )
    result = json.loads(output.read_text())
    actions = result["actions"]
    assert {"report", "page view", "save", "grading", "status change", "search", "map viewport"} <= set(actions)
    assert {name: action["first_errors"] for name, action in actions.items() if action["errors"]} == {}
    assert actions["cli create-user"]["requests"] >= 1
    reconciliation = result["reconciliation"]
    assert reconciliation["reports_acknowledged"] > 0 and reconciliation["gradings_acknowledged"] > 0
    lost_or_twice = {key: value for key, value in reconciliation.items() if key.endswith(("_lost", "_duplicated"))}
    assert set(lost_or_twice.values()) == {0}, lost_or_twice
    assert reconciliation["reports_unacknowledged_in_db"] == 0 and reconciliation["report_ids_match"]
    assert reconciliation["reports_scored"] == reconciliation["reports_acknowledged"]
    assert result["database_is_locked"] == 0 and result["write_discipline_errors"] == 0


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_short_crisis_day_survives_killed_processes_and_a_full_upload_disk(tmp_path):
    """The same day on the embedded default (SQLite, its own folder), with the background worker
    as a process of its own (`crisiswiki worker`) and faults injected while everyone works:
    SIGKILL of one gunicorn worker, of the background worker and of the whole server (each
    started again), and the upload disk (a real tmpfs) full for a few seconds. Reporters use
    the JSON API, the web form with a photo, and the SMS gateways' webhooks. Requests that
    failed during a fault are counted apart; every acknowledged write is there exactly once,
    every photo with its files and no temporary file, and every report is scored afterwards
    with nobody doing anything."""
    output = tmp_path / "crisis_day_faults.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "crisis_day.py"),
            "--quick",
            "--seconds",
            "30",
            "--workers",
            "2",
            "--faults",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=380,
    )
    result = json.loads(output.read_text())
    injected = {fault["fault"] for fault in result["faults"] if "skipped" not in fault}
    assert {
        "SIGKILL of one gunicorn worker",
        "SIGKILL of the background worker (crisiswiki worker)",
        "SIGKILL of the whole gunicorn server, then started again",
    } <= injected
    assert all(fault["lasted_s"] is not None for fault in result["faults"] if "skipped" not in fault)
    actions = result["actions"]
    assert {name: action["first_errors"] for name, action in actions.items() if action["errors"]} == {}
    reconciliation = result["reconciliation"]
    assert reconciliation["reports_acknowledged"] > 0 and reconciliation["photo_reports_acknowledged"] > 0
    lost_or_twice = {key: value for key, value in reconciliation.items() if key.endswith(("_lost", "_duplicated"))}
    assert set(lost_or_twice.values()) == {0}, lost_or_twice
    assert reconciliation["photo_reports_without_exactly_one_photo"] == 0
    assert reconciliation["sms_acknowledged"] > 0 and reconciliation["sms_unprocessed"] == 0
    assert reconciliation["photo_files_missing"] == 0 and reconciliation["upload_temporary_files_left"] == 0
    # Scored after the faults by the restarted worker, with nobody running anything.
    assert (
        reconciliation["reports_scored"]
        == reconciliation["reports_acknowledged"] + (reconciliation["reports_unacknowledged_in_db"])
    )
    assert result["database_is_locked"] == 0 and result["write_discipline_errors"] == 0
    if "upload disk full" in injected:
        assert result["upload_disk_full_answers"]["count"] >= 1
        assert result["upload_disk_full_answers"]["said_full"] == result["upload_disk_full_answers"]["count"]

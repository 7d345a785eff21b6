"""A full upload disk, for real: the upload folder is a 1 MB tmpfs filled to the last byte (the
kernel answers ENOSPC; nothing is mocked). A report with a photo then gets a clear 507 with a
message, and nothing of it is stored: no report, no file, no temporary file; not even the
original when there was room for it but not for its display copies. Once space is freed, the
same request (the same Idempotency-Key) is stored as if nothing had happened."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.reports_helpers import feature, jpeg_with_gps
from wiki.extensions import db

FILLER = ".filler"


@pytest.fixture
def upload_disk(tmp_path: Path):
    """A 1 MB tmpfs (needs root, as the test machine's runs are)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as the full upload disk needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture
def app_config(app_config: dict, upload_disk: Path) -> dict:
    return {**app_config, "UPLOAD_FOLDER": str(upload_disk)}


def fill(folder: Path, leave: int = 0) -> None:
    """Fill the disk but `leave` bytes (rounded down to whole blocks by the filesystem)."""
    with open(folder / FILLER, "ab") as handle:
        while True:
            free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
            step = min(65536, free - leave)
            if step <= 0:
                return
            try:
                handle.write(b"\0" * step)
                handle.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return


def stored_files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file() and path.name != FILLER)


def report_count(app) -> int:
    from wiki.models import Report

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Report))


def post_with_photo(client, photo: bytes, key: str = "disk-full-1"):
    data = {"feature": json.dumps(feature()), "photos": [(io.BytesIO(photo), "IMG_0001.jpg")]}
    return client.post(
        "/api/v1/reports", data=data, content_type="multipart/form-data", headers={"Idempotency-Key": key}
    )


@pytest.mark.parametrize("room", ["none", "for the original only"])
def test_a_photo_on_a_full_disk_is_507_stores_nothing_and_succeeds_once_space_is_back(
    app, client, crisis, upload_disk, room
):
    from wiki.media.storage import strip_image_metadata

    photo = jpeg_with_gps()
    with app.app_context():
        cleaned, _w, _h = strip_image_metadata(photo, "image/jpeg")
    fill(upload_disk, leave=0 if room == "none" else len(cleaned) + 8192)

    refused = post_with_photo(client, photo)
    assert refused.status_code == 507, refused.get_data(as_text=True)
    error = refused.get_json()["error"]
    assert error["code"] == "insufficient_storage" and "full" in error["message"]
    assert report_count(app) == 0
    assert stored_files(upload_disk) == []

    (upload_disk / FILLER).unlink()
    stored = post_with_photo(client, photo)
    assert stored.status_code == 201, stored.get_data(as_text=True)
    assert report_count(app) == 1
    assert len(stored_files(upload_disk)) == 3  # the cleaned original, its display copy, its thumbnail
    served = client.get(stored.get_json()["properties"]["photos"][0]["url"])
    assert served.status_code == 200 and served.data[:2] == b"\xff\xd8"


def test_the_web_form_says_the_disk_is_full_and_keeps_what_was_typed(
    app, client, crisis, upload_disk, make_user, login
):
    fill(upload_disk)
    login(make_user("volunteer"))
    form = {
        "title": "Water point broken",
        "description": "No water since the quake",
        "sector": "wash",
        "lat": "18.54",
        "lon": "-72.33",
        "photos": (io.BytesIO(jpeg_with_gps((400, 300))), "IMG_0002.jpg"),
    }
    refused = client.post(f"/c/{crisis}/report", data=form, content_type="multipart/form-data")
    assert refused.status_code == 507
    page = refused.get_data(as_text=True)
    assert "storage for uploads is full" in page and "No water since the quake" in page
    assert report_count(app) == 0 and stored_files(upload_disk) == []

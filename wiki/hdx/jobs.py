"""Publishing to HDX from the web page: the coordinator's button queues a publication and the
background worker's "hdx" job does it (the upload can take minutes; no request waits for it).

A publication's request and its outcome are one small JSON file per crisis in the instance folder
(hdx/<hash of the slug>.json, as the import mappings are kept): queued, publishing, then done or
failed with the message the command line would print. Publishing is idempotent (the dataset is
found by its name), so a worker that died while publishing simply publishes again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db
from ..hooks import hookimpl
from ..models import Crisis
from ..models.base import utcnow
from ..workers import Job, wake
from .dataset import HdxOptions, build_dataset
from .publish import PublishFailed, publish

JOB = "hdx"
WAITING = ("queued", "publishing")


def _folder() -> Path:
    return Path(current_app.instance_path) / "hdx"


def _path(crisis_slug: str) -> Path:
    return _folder() / f"{hashlib.sha256(crisis_slug.encode()).hexdigest()[:32]}.json"


def _write(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(record, out)
    os.replace(scratch, path)  # readers see the old record or the new one, never half of one


def publication(crisis_slug: str) -> dict[str, Any] | None:
    """The crisis's last publication (queued, publishing, done or failed), or None."""
    try:
        record = json.loads(_path(crisis_slug).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def queue_publication(crisis: Crisis, countries: list[str], private: bool, requested_by: str) -> dict[str, Any]:
    record = {
        "crisis": crisis.slug,
        "state": "queued",
        "countries": countries,
        "private": private,
        "requested_by": requested_by,
        "requested_at": utcnow().isoformat(),
    }
    _write(_path(crisis.slug), record)
    wake(JOB)
    return record


def _waiting() -> list[dict[str, Any]]:
    found = []
    for path in sorted(_folder().glob("*.json")) if _folder().is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("state") in WAITING:
            found.append(record)
    return sorted(found, key=lambda record: record.get("requested_at", ""))


def options_from_settings(config, countries: list[str], private: bool) -> HdxOptions:
    return HdxOptions(
        organisation=config["HDX_ORGANISATION"],
        countries=tuple(countries),
        license_id=config["HDX_LICENSE_ID"],
        source=config["HDX_DATASET_SOURCE"],
        maintainer=config["HDX_MAINTAINER"],
        tags=tuple(config["HDX_TAGS"]),
        private=private,
    )


def _publish_one(record: dict[str, Any]) -> None:
    config = current_app.config
    path = _path(record["crisis"])
    _write(path, {**record, "state": "publishing"})
    crisis = db.session.scalar(select(Crisis).where(Crisis.slug == record["crisis"]))
    outcome: dict[str, Any]
    try:
        if crisis is None:
            raise PublishFailed("The crisis no longer exists.")
        with tempfile.TemporaryDirectory(prefix="crisiswiki-hdx-") as scratch:
            with current_app.test_request_context("/", base_url=config["BASE_URL"] or "http://localhost"):
                options = options_from_settings(config, list(record.get("countries", [])), bool(record.get("private")))
                dataset = build_dataset(crisis, Path(scratch), options)
            db.session.rollback()  # end the read before the upload
            done = publish(dataset, config["HDX_URL"], config["HDX_API_TOKEN"], float(config["HDX_TIMEOUT"]))
        outcome = {"state": "done", "dataset_url": done.url, "created": done.created, "message": ""}
    except (DomainError, PublishFailed) as error:
        outcome = {"state": "failed", "message": str(error)}
    _write(path, {**record, **outcome, "finished_at": utcnow().isoformat()})


def work_on_publications(deadline: float) -> float | None:
    """Publish the oldest waiting publication; 0 (at once) while others wait, None when none does."""
    waiting = _waiting()
    if not waiting:
        return None
    _publish_one(waiting[0])
    return 0.0 if len(waiting) > 1 else None


@hookimpl
def background_jobs(app: Flask):
    return [Job(JOB, work_on_publications, poll_seconds=30.0, slice_seconds=1.0)]

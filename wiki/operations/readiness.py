"""Is this server ready to serve? The checks /readyz runs, and the backlog /metrics reports.

Each check answers {"ok": bool, ...details}; a server is ready when every check is ok. The
database answers a query; the search index opens and counts its documents; the instance and
upload folders have READY_MIN_FREE_BYTES free; and no background work waited longer than
READY_MAX_LAG_SECONDS: the search queue's oldest unapplied row and whatever plugins report
through the background_backlog hook (the validation plugin: the oldest unscored report).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import text

from .. import plugins
from ..extensions import db
from ..models.base import utcnow


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "backend": db.engine.dialect.name}
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def _search_index() -> dict:
    from ..search.configured_backend import backend_for

    backend = backend_for()
    try:
        backend.check()
        return {"ok": True, "backend": backend.name}
    except Exception as exc:
        db.session.rollback()
        message = getattr(exc, "message", None) or type(exc).__name__
        return {"ok": False, "backend": backend.name, "error": message}


def _disk(app: Flask) -> dict:
    minimum = int(app.config["READY_MIN_FREE_BYTES"])
    folders = dict.fromkeys([app.instance_path, app.config["UPLOAD_FOLDER"]])
    free = {}
    for folder in folders:
        path = Path(folder)
        while not path.exists() and path != path.parent:  # a folder made on first use: its disk
            path = path.parent
        try:
            free[folder] = shutil.disk_usage(path).free
        except OSError:
            free[folder] = 0
    return {"ok": all(value >= minimum for value in free.values()), "free_bytes": min(free.values())}


def age_seconds(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite hands back naive UTC in raw queries
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - oldest).total_seconds())


def backlog() -> list[dict]:
    """Every background backlog (the search queue and the plugins'), each with its name, how many
    items wait, and the oldest one's age in seconds."""
    now = utcnow()
    found = []
    for entries in plugins.call("background_backlog"):
        for entry in entries or []:
            found.append(
                {
                    "name": entry["name"],
                    "pending": int(entry["pending"] or 0),
                    "oldest_seconds": round(age_seconds(entry["oldest"], now), 3),
                }
            )
    db.session.rollback()
    return found


def _backlog(app: Flask) -> dict:
    limit = float(app.config["READY_MAX_LAG_SECONDS"])
    try:
        queues = backlog()
    except Exception as exc:
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    late = [queue["name"] for queue in queues if queue["oldest_seconds"] > limit]
    return {"ok": not late, "late": late, "queues": queues, "max_lag_seconds": limit}


def checks() -> dict[str, dict]:
    app = current_app._get_current_object()
    found = {"database": _database()}
    if found["database"]["ok"]:
        found["search_index"] = _search_index()
        found["worker_backlog"] = _backlog(app)
    found["disk"] = _disk(app)
    return found


class BacklogCollector:
    """Backlog gauges for /metrics, read from the database when asked (so every server reports
    the deployment's lag, whichever process does the work)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        with self.app.app_context():
            queues = backlog()
        items = GaugeMetricFamily("crisiswiki_backlog_items", "Background work waiting, by queue", labels=["queue"])
        oldest = GaugeMetricFamily(
            "crisiswiki_backlog_oldest_seconds",
            "Age of the oldest waiting item, by queue (search_index: indexing lag; scoring: scoring lag)",
            labels=["queue"],
        )
        for queue in queues:
            items.add_metric([queue["name"]], queue["pending"])
            oldest.add_metric([queue["name"]], queue["oldest_seconds"])
        yield items
        yield oldest

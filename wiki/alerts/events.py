"""The alerts' outbox: each change that may interest subscribers writes an event in the
transaction that makes the change, so that the worker sees exactly the committed changes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from ..extensions import db
from ..models import AlertEvent
from ..models.base import utcnow

_TABLE = AlertEvent.__table__


def _rows(kind: str, **ids) -> dict:
    return {
        "kind": kind,
        "crisis_id": ids.get("crisis_id"),
        "report_id": ids.get("report_id"),
        "page_id": ids.get("page_id"),
        "revision_id": ids.get("revision_id"),
        "layer_id": ids.get("layer_id"),
        "layer_revision_id": ids.get("layer_revision_id"),
        "created_at": utcnow(),
        "matched_at": None,
    }


def record(kind: str, connection: Connection | None = None, **ids) -> None:
    """One event in the current transaction (of the session, or of `connection`)."""
    record_many([_rows(kind, **ids)], connection)


def record_many(rows: list[dict], connection: Connection | None = None) -> None:
    if not rows:
        return
    (connection or db.session).execute(insert(_TABLE), rows)


def record_reports(kind: str, report_ids: Iterable[int], connection: Connection | None = None) -> None:
    """An event per report (`kind` "report": stored or changed; "score": its score changed)."""
    record_many([_rows(kind, report_id=report_id) for report_id in sorted(set(report_ids))], connection)


def scores_changed(report_ids: Iterable[int], connection: Connection | None = None) -> None:
    """For plugins that score reports: call inside the transaction that writes new scores (on
    `connection` when it is not the session's), so that subscriptions asking for a minimum
    score or a verdict are matched again against these reports (an event per report)."""
    record_reports("score", report_ids, connection)

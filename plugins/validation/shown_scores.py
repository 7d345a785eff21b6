"""Score rows as pages and the API read them: one report's, or a list's worth at once (lists go
in report id order, so one query serves many reports), kept for the request and dropped when
scores change (store.run does that after each scoring transaction)."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select

from wiki.extensions import db

from .models import ReportScore

LISTED_WINDOW = 200
LISTED_COLUMNS = (
    ReportScore.report_id,
    ReportScore.score,
    ReportScore.admiralty,
    ReportScore.reliability_grade,
    ReportScore.credibility_grade,
    ReportScore.assessment,
    ReportScore.explanation,
    ReportScore.stale,
    ReportScore.updated_at,
)


def score_row(report_id: int) -> ReportScore | None:
    return db.session.get(ReportScore, report_id)


def listed_score_row(report_id: int):
    """The score of a report in a list (API pages, exports, the map), read LISTED_WINDOW rows at a
    time around it: lists go in report id order, up or down, so one query serves many reports
    instead of one query each. Kept for the request only, and dropped when scores change."""
    if not has_request_context():
        return score_row(report_id)
    cache = g.setdefault("validation_listed_scores", {"rows": {}, "last": None})
    rows = cache["rows"]
    if report_id not in rows:
        downwards = cache["last"] is not None and report_id < cache["last"]
        low, high = (
            (report_id - LISTED_WINDOW + 1, report_id) if downwards else (report_id, report_id + LISTED_WINDOW - 1)
        )
        if len(rows) > 20 * LISTED_WINDOW:
            rows.clear()
        rows.update(
            {
                row.report_id: row
                for row in db.session.execute(select(*LISTED_COLUMNS).where(ReportScore.report_id.between(low, high)))
            }
        )
        rows.setdefault(report_id, None)
        cache["last"] = report_id
    return rows[report_id]


def preload_scores(report_ids) -> None:
    """Load the scores of reports about to be listed together, in one query per 500."""
    if not has_request_context():
        return
    cache = g.setdefault("validation_listed_scores", {"rows": {}, "last": None})
    wanted = set(report_ids)
    # Keep only this list's scores: an export announces 100,000 reports batch by batch, and
    # holding every batch's rows would grow the worker by hundreds of megabytes.
    cache["rows"] = {report_id: row for report_id, row in cache["rows"].items() if report_id in wanted}
    ids = sorted(wanted - cache["rows"].keys())
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        cache["rows"].update(
            {
                row.report_id: row
                for row in db.session.execute(select(*LISTED_COLUMNS).where(ReportScore.report_id.in_(chunk)))
            }
        )
        cache["rows"].update({report_id: None for report_id in chunk if report_id not in cache["rows"]})


def search_scores(report_ids: list[int]) -> dict[int, float | None]:
    """The score of each of these reports that has a score row (for the search index)."""
    found: dict[int, float | None] = {}
    for start in range(0, len(report_ids), 500):
        chunk = report_ids[start : start + 500]
        query = select(ReportScore.report_id, ReportScore.score).where(ReportScore.report_id.in_(chunk))
        found.update((report_id, score) for report_id, score in db.session.execute(query))
    return found


def note_unscored(report_id: int) -> None:
    """A report just stored in this request has no score until the next batch: its answer needs
    no query for it (scoring in this request drops the note with the rest: store.run)."""
    if has_request_context():
        g.setdefault("validation_listed_scores", {"rows": {}, "last": None})["rows"][report_id] = None


def forget_listed_scores() -> None:
    if has_request_context():
        g.pop("validation_listed_scores", None)

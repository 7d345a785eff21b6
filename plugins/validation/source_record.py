"""A source's record, for verifiers and admins: its reports with their outcomes, scores and
grades, and its estimated reliability over time. Never its contact details."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wiki.auth.permissions import require
from wiki.errors import NotFound
from wiki.extensions import db
from wiki.models import Report, Source

from .config import current_settings
from .models import Assessment, ReportScore
from .scoring import NOT_ASSESSED
from .source_states import compute_states
from .track_record import history

REPORTS_SHOWN = 500


def source_record(source_id: int, viewer) -> dict[str, Any]:
    require("view_source_record", viewer)
    source = db.session.get(Source, source_id)
    if source is None:
        raise NotFound(_("There is no source %(id)d.", id=source_id))
    settings = current_settings()
    state = compute_states([source_id], settings)[source_id]
    rows = db.session.execute(
        select(Report, ReportScore)
        .outerjoin(ReportScore, ReportScore.report_id == Report.id)
        .options(selectinload(Report.crisis))
        .where(Report.source_id == source_id)
        .order_by(Report.id.desc())
        .limit(REPORTS_SHOWN)
    ).all()
    report_ids = [report.id for report, _score in rows]
    grades: dict[int, list[str]] = {}
    if report_ids:
        for assessment in db.session.scalars(
            select(Assessment).where(Assessment.report_id.in_(report_ids)).order_by(Assessment.id)
        ):
            grades.setdefault(assessment.report_id, []).append(assessment.code)
    # "Now" in the crisis's own time line: the time of the source's latest report.
    latest = max(
        ((r.occurred_at or r.received_at).timestamp() for r, _s in rows), default=datetime.now(UTC).timestamp()
    )
    return {
        "id": source.id,
        "name": source.name,
        "organisation": source.organisation,
        "channel": source.channel,
        "has_account": source.user_id is not None,
        "created_at": source.created_at.isoformat(),
        "reliability": round(state.reliability(latest, settings), 4),
        "prior": round(state.prior, 4),
        "prior_basis": state.prior_basis,
        "established": state.established,
        "verified": sum(1 for _t, o, _r in state.outcomes if o > 0),
        "refuted": sum(1 for _t, o, _r in state.outcomes if o < 0),
        "reliability_over_time": [
            {**point, "at": datetime.fromtimestamp(point["at"], UTC).isoformat()} for point in history(state, settings)
        ],
        "reports": [
            {
                "id": report.id,
                "title": report.title,
                "status": report.status,
                "crisis": report.crisis.slug,
                "occurred_at": (report.occurred_at or report.received_at).isoformat(),
                "score": round(score.score, 4) if score is not None and score.score is not None else None,
                "admiralty": score.admiralty if score is not None else None,
                "assessment": score.assessment if score is not None else NOT_ASSESSED,
                "grades": grades.get(report.id, []),
            }
            for report, score in rows
        ],
    }

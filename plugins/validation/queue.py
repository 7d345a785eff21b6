"""The verifiers' queue: reports of a crisis awaiting assessment, sortable by score, time and place."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from wiki.database import LARGEST_ID
from wiki.errors import InvalidInput
from wiki.extensions import db
from wiki.models import Crisis, Report
from wiki.models.reports import SECTORS
from wiki.visibility import visible_reports

from .models import Assessment, ReportScore
from .records import latest_grades

SORTS = {
    "newest": (func.coalesce(Report.occurred_at, Report.received_at).desc(), Report.id.desc()),
    "oldest": (func.coalesce(Report.occurred_at, Report.received_at), Report.id),
    "score_desc": (func.coalesce(ReportScore.score, -1.0).desc(), Report.id.desc()),
    "score_asc": (func.coalesce(ReportScore.score, 2.0), Report.id.desc()),
    "place": (func.coalesce(Report.adm1_name, ""), func.coalesce(Report.adm2_name, ""), Report.place_name, Report.id),
}
AWAITING = ("new", "under_review")
PAGE = 50


def verifier_queue(
    crisis: Crisis,
    viewer,
    sort: str = "newest",
    include_assessed: bool = False,
    sector: str | None = None,
    page: int = 1,
) -> tuple[list[tuple[Report, ReportScore | None]], bool]:
    """One page of the queue and whether there are more."""
    if sort not in SORTS:
        raise InvalidInput(_("sort must be one of: %(list)s.", list=", ".join(SORTS)), field="sort")
    if sector and sector not in SECTORS:
        raise InvalidInput(_("Unknown sector %(value)r.", value=sector), field="sector")
    if not 1 <= page <= LARGEST_ID:
        raise InvalidInput(_("page must be 1 or more."), field="page")
    query = (
        select(Report, ReportScore)
        .outerjoin(ReportScore, ReportScore.report_id == Report.id)
        .options(selectinload(Report.crisis))
        .where(Report.crisis_id == crisis.id, Report.status.in_(AWAITING))
    )
    query = visible_reports(query, viewer)
    if not include_assessed:
        query = query.where(~exists().where(Assessment.report_id == Report.id))
    if sector:
        query = query.where(Report.sector == sector)
    rows = db.session.execute(query.order_by(*SORTS[sort]).offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    return [(report, score) for report, score in rows[:PAGE]], len(rows) > PAGE


def codes_by_report(report_ids: list[int]) -> dict[int, list[str]]:
    """Each verifier's latest grading of each report, as codes."""
    return {report_id: [grade.code for grade in grades] for report_id, grades in latest_grades(report_ids).items()}

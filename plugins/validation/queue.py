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
from wiki.toolkit import adm_condition, sees_exact_locations
from wiki.visibility import visible_reports

from .assignments import current_assignee_ids
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


ASSIGNED = ("", "me", "none", "others")  # anyone's, assigned to me, unassigned, assigned to someone else


def verifier_queue(
    crisis: Crisis,
    viewer,
    sort: str = "newest",
    include_assessed: bool = False,
    sector: str | None = None,
    page: int = 1,
    assigned: str = "",
    adm: str | None = None,
) -> tuple[list[tuple[Report, ReportScore | None]], bool]:
    """One page of the queue and whether there are more. `assigned`: "me" (the viewer's
    reports), "none" (nobody's), "others" (someone else's), "" (all); `adm`: an admin area."""
    if sort not in SORTS:
        raise InvalidInput(_("sort must be one of: %(list)s.", list=", ".join(SORTS)), field="sort")
    if sector and sector not in SECTORS:
        raise InvalidInput(_("Unknown sector %(value)r.", value=sector), field="sector")
    if not 1 <= page <= LARGEST_ID:
        raise InvalidInput(_("page must be 1 or more."), field="page")
    if assigned not in ASSIGNED:
        raise InvalidInput(_("assigned must be one of: me, none, others."), field="assigned")
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
    if adm:
        query = query.where(adm_condition(adm, sees_exact_locations(viewer)))
    if assigned:
        holders = current_assignee_ids().subquery()
        if assigned == "none":
            query = query.where(Report.id.not_in(select(holders.c.report_id)))
        else:
            mine = holders.c.assignee_id == getattr(viewer, "id", None)
            query = query.where(Report.id.in_(select(holders.c.report_id).where(mine if assigned == "me" else ~mine)))
    rows = db.session.execute(query.order_by(*SORTS[sort]).offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    return [(report, score) for report, score in rows[:PAGE]], len(rows) > PAGE


def codes_by_report(report_ids: list[int]) -> dict[int, list[str]]:
    """Each verifier's latest grading of each report, as codes."""
    return {report_id: [grade.code for grade in grades] for report_id, grades in latest_grades(report_ids).items()}


def area_choices(crisis: Crisis) -> list[tuple[str, str, int]]:
    """(P-code, name, level) of the crisis's admin areas, for the queue's area filter."""
    from wiki.toolkit import AdminArea

    rows = db.session.execute(
        select(AdminArea.pcode, AdminArea.name, AdminArea.level)
        .where(AdminArea.crisis_id == crisis.id)
        .order_by(AdminArea.level, AdminArea.name)
    )
    return [(row.pcode, row.name, row.level) for row in rows]

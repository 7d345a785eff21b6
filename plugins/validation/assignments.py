"""Who works on which report: a verifier takes a report (or lets it go), a coordinator assigns
reports to verifiers. Assignments are appended; the latest row of a report says who has it,
the rows before are its history (shown on the report's timeline)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from wiki.toolkit import Forbidden, InvalidInput, Report, User, can, db, require

from .models import Assignment, Notice


def can_take(viewer) -> bool:
    """Verifiers take reports for themselves."""
    return can("assess_report", viewer)


def can_assign(viewer) -> bool:
    """Coordinators (and admins) hand reports to verifiers."""
    return can("triage_report", viewer)


def latest_rows():
    """SELECT the latest assignment row of every report (its id), as a subquery."""
    return select(func.max(Assignment.id).label("id")).group_by(Assignment.report_id).subquery()


def current_assignee_ids():
    """SELECT (report_id, assignee_id) of the reports someone has now."""
    latest = latest_rows()
    return (
        select(Assignment.report_id, Assignment.assignee_id)
        .join(latest, latest.c.id == Assignment.id)
        .where(Assignment.assignee_id.is_not(None))
    )


def assignees(report_ids: list[int]) -> dict[int, User]:
    """{report id: the user who has it} for the reports someone has."""
    if not report_ids:
        return {}
    rows = db.session.execute(
        select(Assignment.report_id, Assignment.assignee_id)
        .where(
            Assignment.id.in_(
                select(func.max(Assignment.id))
                .where(Assignment.report_id.in_(report_ids))
                .group_by(Assignment.report_id)
            )
        )
        .where(Assignment.assignee_id.is_not(None))
    ).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({r.assignee_id for r in rows})))}
    return {row.report_id: users[row.assignee_id] for row in rows if row.assignee_id in users}


def verifiers() -> list[User]:
    """Active users who may verify (the people a coordinator assigns to)."""
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return [user for user in users if can("assess_report", user)]


def _write(report: Report, assignee: User | None, by: User) -> Assignment:
    row = Assignment(report_id=report.id, assignee_id=assignee.id if assignee else None, assigned_by_id=by.id)
    db.session.add(row)
    if assignee is not None and assignee.id != by.id:
        db.session.add(Notice(user_id=assignee.id, kind="assigned", report_id=report.id, actor_id=by.id))
    db.session.commit()
    return row


def take(report: Report, user: User) -> Assignment:
    require("assess_report", user)
    return _write(report, user, user)


def assign(report: Report, assignee_id, by: User) -> Assignment:
    """A coordinator gives `report` to a verifier (or to nobody: assignee_id None or "")."""
    if not can_assign(by):
        require("triage_report", by)
    if assignee_id in (None, ""):
        return _write(report, None, by)
    try:
        assignee = db.session.get(User, int(assignee_id))
    except (TypeError, ValueError):
        assignee = None
    if assignee is None or not assignee.active or not can("assess_report", assignee):
        raise InvalidInput(_("Choose a verifier to assign the report to."), field="assignee")
    return _write(report, assignee, by)


def release(report: Report, user: User) -> Assignment:
    """The verifier who has the report lets it go (a coordinator may too)."""
    holder = assignees([report.id]).get(report.id)
    if holder is None:
        raise InvalidInput(_("Nobody has this report."), field="assignee")
    if holder.id != user.id and not can_assign(user):
        raise Forbidden(_("Only the verifier who has this report, or a coordinator, can let it go."))
    return _write(report, None, user)


def history(report_id: int) -> list[Assignment]:
    return list(db.session.scalars(select(Assignment).where(Assignment.report_id == report_id).order_by(Assignment.id)))

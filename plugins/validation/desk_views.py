"""The verifiers' desk on the web: taking and assigning reports, internal notes with mentions,
a report's timeline, merging a suggested duplicate in one click, the notices page, and the
claims page (what truth discovery proposes, with the competing values and their sources).
The routes join the plugin's blueprint (views.bp)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from wiki.toolkit import (
    InvalidInput,
    NotFound,
    Report,
    db,
    get_crisis_or_404,
    get_visible_report,
    require,
    safe_next,
)

from . import assignments, notes
from .duplicates import merge_pair
from .timeline import timeline
from .truth.models import ClaimSubject
from .truth.proposals import pending_crises, subject_views
from .views import bp


def _back(report: Report):
    return redirect(
        safe_next(request.form.get("next"))
        if request.form.get("next")
        else url_for("reports.view", report_id=report.id)
    )


def _discussed_report(report_id: int) -> Report:
    # The report first: one the caller may not see answers 404, as its own page does, so that a
    # withdrawn or unpublished report is not revealed by a 401 or 403 here either.
    report = get_visible_report(report_id, current_user)
    notes.require_discuss(current_user)
    return report


@bp.route("/reports/<int:report_id>/take", methods=["POST"])
def take(report_id: int):
    require("assess_report")
    report = get_visible_report(report_id, current_user)
    assignments.take(report, current_user)
    flash(_("You have report %(id)d.", id=report.id))
    return _back(report)


@bp.route("/reports/<int:report_id>/release", methods=["POST"])
def release(report_id: int):
    report = _discussed_report(report_id)
    assignments.release(report, current_user)
    flash(_("Nobody has report %(id)d now.", id=report.id))
    return _back(report)


@bp.route("/reports/<int:report_id>/assign", methods=["POST"])
def assign(report_id: int):
    require("triage_report")
    report = get_visible_report(report_id, current_user)
    row = assignments.assign(report, request.form.get("assignee"), current_user)
    if row.assignee is not None:
        flash(_("Report %(id)d is assigned to %(name)s.", id=report.id, name=row.assignee.name))
    else:
        flash(_("Nobody has report %(id)d now.", id=report.id))
    return _back(report)


@bp.route("/reports/<int:report_id>/notes", methods=["POST"])
def add_note(report_id: int):
    report = _discussed_report(report_id)
    notes.add_note(report, request.form.get("body", ""), current_user)
    flash(_("Note added."))
    return redirect(url_for("reports.view", report_id=report.id) + "#notes")


@bp.route("/reports/<int:report_id>/timeline")
def report_timeline(report_id: int):
    report = _discussed_report(report_id)
    return render_template("validation/timeline.html", crisis=report.crisis, report=report, events=timeline(report))


@bp.route("/reports/<int:report_id>/merge-with/<int:other_id>", methods=["POST"])
def merge_with(report_id: int, other_id: int):
    """One click on a suggested duplicate: the later report is merged into the earlier."""
    require("merge_reports")
    report = get_visible_report(report_id, current_user)
    other = get_visible_report(other_id, current_user)
    if other.crisis_id != report.crisis_id:
        raise InvalidInput(_("Both reports must belong to the same crisis."), field="duplicate_of")
    duplicate, original = merge_pair(report, other, current_user)
    flash(_("Report %(a)d is now marked as a duplicate of report %(b)d.", a=duplicate.id, b=original.id))
    return _back(report)


@bp.route("/notices")
@login_required
def notices():
    notes.require_discuss(current_user)
    found = notes.notices_for(current_user)
    page = render_template("validation/notices.html", notices=found, crisis=None)
    return page


@bp.route("/notices/read", methods=["POST"])
@login_required
def notices_read():
    notes.require_discuss(current_user)
    notes.mark_read(current_user)
    return redirect(url_for("validation.notices"))


@bp.route("/c/<crisis_slug>/claims")
def claims(crisis_slug: str):
    """The key figures and facts reports claim, and what truth discovery proposes for each."""
    crisis = get_crisis_or_404(crisis_slug)
    attribute = request.args.get("attribute") or None
    query = select(ClaimSubject).where(ClaimSubject.crisis_id == crisis.id)
    if attribute:
        query = query.where(ClaimSubject.attribute == attribute)
    subjects = list(
        db.session.scalars(
            query.order_by(ClaimSubject.attribute, ClaimSubject.subject_key, ClaimSubject.as_of).limit(500)
        )
    )
    attributes = sorted(
        set(db.session.scalars(select(ClaimSubject.attribute).where(ClaimSubject.crisis_id == crisis.id)))
    )
    if attribute and attribute not in attributes:
        raise NotFound(_("No claim in this crisis is about %(attribute)s.", attribute=attribute))
    return render_template(
        "validation/claims.html",
        crisis=crisis,
        views=subject_views(subjects, current_user),
        pending=crisis.id in pending_crises([crisis.id]),
        attributes=attributes,
        attribute=attribute,
    )


def desk_panel(report: Report, viewer) -> Markup:
    """The desk on a report's page: for verifiers and coordinators only (it holds the notes)."""
    from flask import render_template as render

    from wiki.toolkit import can

    from .duplicates import suggestions

    if not notes.can_discuss(viewer):
        return Markup("")
    holder = assignments.assignees([report.id]).get(report.id)
    return Markup(
        render(
            "validation/_desk.html",
            report=report,
            holder=holder,
            can_take=assignments.can_take(viewer),
            can_assign=assignments.can_assign(viewer),
            can_merge=can("merge_reports", viewer),
            verifiers=assignments.verifiers() if assignments.can_assign(viewer) else [],
            duplicates=suggestions([report], viewer).get(report.id, []),
            notes=notes.notes_of(report.id),
        )
    )

"""Who saw a reporter's contact: every showing of a source's contact details to someone (a report
page, an API answer, an export) is recorded, and admins read the record at /admin/contacts-seen.

Showings are collected during the request (`note_contact_shown`) and written after it, in one
write transaction of their own, so that reading a report never holds the write lock. An export
records all the reports it will show in one INSERT ... SELECT before it streams
(`record_listing`).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, has_request_context, render_template, request
from flask_login import current_user
from sqlalchemy import Select, insert, literal, select

from .auth.permissions import require
from .database import write_transaction
from .extensions import db
from .models import ContactView, Report, Source
from .models.base import utcnow

bp = Blueprint("contact_log", __name__)
PAGE_SIZE = 200


def note_contact_shown(report_id: int | None, source_id: int | None, message_id: int | None = None) -> None:
    """Remember that this request shows the contact of `source_id` (for `report_id`), or the
    sender of the channel message `message_id`."""
    if has_request_context() and not g.get("contacts_logged_in_bulk"):
        g.setdefault("contacts_shown", {})[(report_id, source_id, message_id)] = True


def _who() -> tuple[int | None, str]:
    if getattr(current_user, "is_authenticated", False):
        return current_user.id, current_user.username
    return None, ""


def flush(response: Response) -> Response:
    """after_request: write what this request showed, in a transaction of its own."""
    shown = g.pop("contacts_shown", None)
    if not shown:
        return response
    user_id, username = _who()
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "username": username,
            "report_id": report_id,
            "source_id": source_id,
            "message_id": message_id,
            "endpoint": request.endpoint or "",
            "created_at": now,
        }
        for report_id, source_id, message_id in shown
    ]
    try:
        db.session.rollback()  # the request's own work is committed (or was refused): start clean
        with write_transaction():
            db.session.execute(insert(ContactView), rows)
    except Exception:
        # The answer has been built already; failing it now would not unsee the contact.
        current_app.logger.exception("could not record who saw %d contacts", len(rows))
    return response


def record_listing(report_query: Select) -> None:
    """Record, in one statement, that the current user is shown the contacts of every report
    `report_query` (a select of Report rows) yields: for exports, which stream after the
    request's own hooks have run."""
    user_id, username = _who()
    reports = report_query.order_by(None).limit(None).offset(None).subquery()
    chosen = (
        select(
            literal(user_id),
            literal(username),
            reports.c.id,
            Source.id,
            literal(request.endpoint or ""),
            literal(utcnow()),
        )
        .select_from(reports)
        .join(Source, Source.id == reports.c.source_id)
        .where(Source.contact.is_not(None), Source.contact != "")
    )
    with write_transaction():
        db.session.execute(
            insert(ContactView).from_select(
                ["user_id", "username", "report_id", "source_id", "endpoint", "created_at"], chosen
            )
        )
    g.contacts_logged_in_bulk = True


@bp.route("/admin/contacts-seen")
def contacts_seen():
    """Admins: who was shown which reporter's contact, newest first; filter by report or user."""
    require("manage_users")
    query = select(ContactView).order_by(ContactView.id.desc())
    report_id = request.args.get("report", type=int)
    username = (request.args.get("user") or "").strip()
    if report_id:
        query = query.where(ContactView.report_id == report_id)
    if username:
        query = query.where(ContactView.username == username)
    before = request.args.get("before", type=int)
    if before:
        query = query.where(ContactView.id < before)
    rows = db.session.scalars(query.limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    shown = {row.report_id for row in rows if row.report_id}
    titles = {
        row.id: row.title for row in db.session.execute(select(Report.id, Report.title).where(Report.id.in_(shown)))
    }
    return render_template(
        "admin/contacts_seen.html",
        rows=rows,
        titles=titles,
        report_id=report_id,
        username=username,
        next_before=rows[-1].id if more else None,
    )


def init_contact_log(app) -> None:
    app.register_blueprint(bp)
    app.after_request(flush)

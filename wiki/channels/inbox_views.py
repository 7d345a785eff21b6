"""The inbox pages: a crisis's messages, the messages not routed yet, one message with its
thread and what a coordinator can do with it, and the crisis's routing rules and
acknowledgements. The HTML door of wiki.channels.inbox."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..auth.permissions import can, require
from ..crises.services import get_crisis_or_404
from ..database import fits_id, reads_first
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..media.storage import path_for
from ..models import ChannelSettings, Crisis, InboundMessage
from ..models.messages import MESSAGE_STATES
from ..models.reports import SECTORS
from ..visibility import masked_contact, message_sender
from . import inbox as service
from .registry import channel_named

bp = Blueprint("inbox", __name__)
PAGE = 100
TEMPLATE_LANGUAGES = ("en", "fr", "es", "ar", "ht")


def _listing(crisis: Crisis | None):
    require("read_inbox")
    states = service.parse_states(request.args.getlist("state")) or ("inbox",)
    query = service.inbox_query(crisis, states).options(selectinload(InboundMessage.attachments))
    before = request.args.get("before", type=int)
    if before and fits_id(before):
        query = query.where(InboundMessage.id < before)
    rows = db.session.scalars(query.limit(PAGE + 1)).all()
    waiting = db.session.scalar(
        select(func.count()).select_from(InboundMessage).where(InboundMessage.processed_at.is_(None))
    )
    return render_template(
        "inbox/list.html",
        crisis=crisis,
        messages=rows[:PAGE],
        more=rows[PAGE - 1].id if len(rows) > PAGE else None,
        states=MESSAGE_STATES[1:],
        chosen=states,
        waiting=waiting,
        sender_of=lambda message: message_sender(message, current_user),
    )


@bp.route("/c/<crisis_slug>/inbox")
def crisis_inbox(crisis_slug: str):
    return _listing(get_crisis_or_404(crisis_slug))


@bp.route("/inbox/unrouted")
def unrouted():
    return _listing(None)


@bp.route("/messages/<int:message_id>")
def message(message_id: int):
    found = service.get_message(message_id, current_user)
    crisis = found.crisis
    form = None
    if crisis is not None:
        given = service.report_input(found, crisis)
        form = {
            "title": given.title,
            "description": given.description,
            "place": given.place,
            "sector": given.sector,
            "occurred_at": given.occurred_at.strftime("%Y-%m-%dT%H:%M") if given.occurred_at else "",
        }
    return render_template(
        "inbox/message.html",
        crisis=crisis,
        message=found,
        sender=message_sender(found, current_user),
        source=service.sender_source(found) if can("link_source") else None,
        thread=service.thread(found),
        masked=masked_contact,
        form=form,
        sectors=SECTORS,
        crises=db.session.scalars(select(Crisis).order_by(Crisis.name)).all() if found.crisis_id is None else [],
        handles=can("handle_messages"),
        links=can("link_source"),
        can_reply=bool(channel_named(found.channel) and channel_named(found.channel).can_send),
    )


def _back(message_id: int):
    return redirect(url_for("inbox.message", message_id=message_id))


@bp.route("/messages/<int:message_id>/report", methods=["POST"])
@reads_first
def make_report(message_id: int):
    found = service.get_message(message_id, current_user)
    require("handle_messages")
    data = {
        key: request.form.get(key)
        for key in ("title", "description", "place", "sector", "occurred_at", "place_name")
        if key in request.form
    }
    if "place_choice" in request.form or "place" in request.form:  # else: the place found in the message
        data["place"] = (request.form.get("place_choice") or request.form.get("place") or "").strip()
    data["sensitive"] = request.form.get("sensitive") == "1"
    try:
        submission = service.create_report(found, data, current_user)
    except DomainError as error:
        if error.status in (401, 403):
            raise
        db.session.rollback()
        flash(error.message, "error")
        candidates = error.extra.get("candidates") if error.extra else None
        if candidates:
            return render_template("inbox/choose_place.html", message=found, data=data, candidates=candidates), 422
        return _back(message_id)
    flash(_("Report %(id)d was made from this message.", id=submission.report.id))
    return redirect(url_for("reports.view", report_id=submission.report.id))


@bp.route("/messages/<int:message_id>/attach", methods=["POST"])
@reads_first
def attach(message_id: int):
    found = service.get_message(message_id, current_user)
    require("handle_messages")
    report_id = request.form.get("report", type=int)
    if not report_id:
        raise InvalidInput(_("Give the number of the report the message adds to."), field="report")
    report = service.attach(found, report_id, current_user)
    flash(_("The message now adds to report %(id)d.", id=report.id))
    return _back(message_id)


@bp.route("/messages/<int:message_id>/state", methods=["POST"])
@reads_first
def mark(message_id: int):
    found = service.get_message(message_id, current_user)
    service.mark(found, request.form.get("state", ""), current_user)
    flash(_("Marked."))
    return _back(message_id)


@bp.route("/messages/<int:message_id>/translation", methods=["POST"])
@reads_first
def translate(message_id: int):
    found = service.get_message(message_id, current_user)
    service.translate(found, request.form.get("translation", ""), request.form.get("language", ""), current_user)
    flash(_("The translation is kept beside the original."))
    return _back(message_id)


@bp.route("/messages/<int:message_id>/reply", methods=["POST"])
@reads_first
def reply(message_id: int):
    found = service.get_message(message_id, current_user)
    service.reply(found, request.form.get("text", ""), current_user)
    flash(_("The message will be sent through %(channel)s.", channel=found.channel))
    return _back(message_id)


@bp.route("/messages/<int:message_id>/crisis", methods=["POST"])
@reads_first
def assign(message_id: int):
    found = service.get_message(message_id, current_user)
    require("handle_messages")
    crisis = get_crisis_or_404(request.form.get("crisis", ""))
    service.assign_crisis(found, crisis, current_user)
    flash(_("The message is now in the inbox of %(crisis)s.", crisis=crisis.name))
    return _back(message_id)


@bp.route("/messages/<int:message_id>/source", methods=["POST"])
@reads_first
def link_source(message_id: int):
    found = service.get_message(message_id, current_user)
    require("link_source")
    source_id = request.form.get("source", type=int)
    if not source_id:
        raise InvalidInput(_("Give the number of the source this sender is."), field="source")
    source = service.link_sender(found, source_id, current_user)
    flash(_("This sender is now source %(id)d, on every channel.", id=source.id))
    return _back(message_id)


@bp.route("/messages/attachments/<int:attachment_id>/<size>")
def attachment(attachment_id: int, size: str):
    found = service.attachment_visible(attachment_id, current_user)
    if size not in ("display", "thumb", "original"):
        abort(404)
    digest = {"display": found.display_sha256, "thumb": found.thumb_sha256, "original": found.sha256}[size]
    response = send_file(
        path_for(digest), mimetype=found.content_type if size == "original" else "image/jpeg", etag=digest
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/c/<crisis_slug>/channels", methods=["GET", "POST"])
@reads_first
def settings(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("handle_messages")
    if request.method == "POST":
        if request.form.get("action") == "rule":
            service.add_rule(
                crisis,
                request.form.get("kind", ""),
                request.form.get("value", ""),
                request.form.get("sector", ""),
                request.form.get("auto_report") == "1",
                current_user,
            )
            flash(_("The rule is saved."))
        else:
            templates = {language: request.form.get(f"template_{language}", "") for language in TEMPLATE_LANGUAGES}
            service.save_settings(crisis, request.form.get("acknowledge") == "1", templates, current_user)
            flash(_("The acknowledgement is saved."))
        return redirect(url_for("inbox.settings", crisis_slug=crisis.slug))
    return render_template(
        "inbox/settings.html",
        crisis=crisis,
        rules=service.rules_of(crisis),
        settings=db.session.get(ChannelSettings, crisis.id),
        languages=TEMPLATE_LANGUAGES,
        sectors=SECTORS,
        inbound={
            name: url_for("channels.inbound", name=name, crisis=crisis.slug, _external=True)
            for name in ("twilio", "smssync", "rapidpro", "webhook")
        },
    )


@bp.route("/c/<crisis_slug>/channels/rules/<int:rule_id>/delete", methods=["POST"])
@reads_first
def delete_rule(crisis_slug: str, rule_id: int):
    crisis = get_crisis_or_404(crisis_slug)
    service.delete_rule(crisis, rule_id, current_user)
    flash(_("The rule is deleted."))
    return redirect(url_for("inbox.settings", crisis_slug=crisis.slug))

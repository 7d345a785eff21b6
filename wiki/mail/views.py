"""/admin/mail: the outbox, for administrators (without MAIL_SERVER, the only way mail is read)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import func, select

from ..auth.permissions import require
from ..extensions import db
from ..models import MailMessage
from .sender import MAX_ATTEMPTS

bp = Blueprint("mail", __name__)
SHOWN = 200


@bp.route("/admin/mail")
@login_required
def outbox():
    require("read_outbox")
    messages = db.session.scalars(select(MailMessage).order_by(MailMessage.id.desc()).limit(SHOWN)).all()
    waiting = db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.sent_at.is_(None)))
    page = render_template(
        "mail/outbox.html", messages=messages, waiting=waiting, shown=SHOWN, max_attempts=MAX_ATTEMPTS
    )
    return page, 200, {"Cache-Control": "no-store"}  # may hold password reset links

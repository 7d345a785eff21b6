"""Delivering the outbox over SMTP with smtplib and the email package."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app
from sqlalchemy import select, update

from .. import metrics
from ..database import write_transaction
from ..extensions import db
from ..models import MailMessage
from ..models.base import utcnow

MAX_ATTEMPTS = 10  # then the message stays in the outbox, marked as failed (/admin/mail)


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0


def build_message(row: MailMessage, sender: str) -> EmailMessage:
    """A MIME message: plain text, with the HTML version as an alternative when there is one."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    return message


def connect(config) -> smtplib.SMTP:
    timeout = config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        connection = smtplib.SMTP_SSL(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
        if config["MAIL_USE_TLS"]:
            connection.starttls(context=ssl.create_default_context())
    if config["MAIL_USERNAME"]:
        connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return connection


def _claim(message_id: int) -> MailMessage | None:
    """Take the message for this sender, or None if another one has it or it was sent."""
    with write_transaction():
        claimed = db.session.execute(
            update(MailMessage)
            .where(MailMessage.id == message_id, MailMessage.sent_at.is_(None), MailMessage.claimed_at.is_(None))
            .values(claimed_at=utcnow(), attempts=MailMessage.attempts + 1)
        )
        if claimed.rowcount != 1:
            return None
        return db.session.get(MailMessage, message_id, populate_existing=True)


def _finish(message_id: int, error: str | None) -> None:
    # Sent; or give the claim back, and a later run tries again.
    values = (
        {"sent_at": utcnow(), "last_error": None} if error is None else {"claimed_at": None, "last_error": error[:2000]}
    )
    with write_transaction():
        db.session.execute(update(MailMessage).where(MailMessage.id == message_id).values(**values))


def deliver_pending(limit: int = 100) -> Delivery:
    """Send up to `limit` waiting messages, oldest first. A plain function: the request hook,
    the CLI and (later) a background worker all call it. Nothing happens without MAIL_SERVER.

    A message is marked sent once the server has accepted it. If the process dies between the
    server's acceptance and that mark, the message stays claimed and is not sent again (at most
    once); /admin/mail shows it as claimed but not sent."""
    config = current_app.config
    done = Delivery()
    if not config["MAIL_SERVER"]:
        return done
    waiting = db.session.scalars(
        select(MailMessage.id)
        .where(MailMessage.sent_at.is_(None), MailMessage.claimed_at.is_(None), MailMessage.attempts < MAX_ATTEMPTS)
        .order_by(MailMessage.id)
        .limit(limit)
    ).all()
    db.session.rollback()  # end the read before the write transactions below
    sender = config["MAIL_DEFAULT_SENDER"]
    connection: smtplib.SMTP | None = None
    try:
        for message_id in waiting:
            row = _claim(message_id)
            if row is None:
                continue
            try:
                if connection is None:
                    connection = connect(config)
                connection.send_message(build_message(row, sender))
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                current_app.logger.warning("could not send mail %s: %s", message_id, exc)
                _finish(message_id, f"{type(exc).__name__}: {exc}")
                done.failed += 1
                metrics.inc("mail_failures")
                if connection is not None and not isinstance(exc, smtplib.SMTPRecipientsRefused):
                    _close(connection)
                    connection = None
                continue
            _finish(message_id, None)
            done.sent += 1
            metrics.inc("mail_sent")
    finally:
        if connection is not None:
            _close(connection)
    return done


def _close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()

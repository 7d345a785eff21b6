"""Writing mail into the outbox, and sending it once the request that wrote it is over."""

from __future__ import annotations

from email.utils import make_msgid, parseaddr

from flask import Flask, current_app, g

from ..extensions import db
from ..models import MailMessage


def sender_domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def queue_mail(
    recipient: str, subject: str, text: str, html: str | None = None, headers: dict[str, str] | None = None
) -> MailMessage:
    """Add a message to the outbox in the current transaction (the caller commits). Its
    Message-ID is fixed now, so a resend after a lost connection is recognisable as the same mail."""
    for value in (recipient, subject, *(headers or {}).values()):
        if "\n" in value or "\r" in value:
            raise ValueError("mail headers cannot contain line breaks")
    fixed = {
        "Message-ID": make_msgid(domain=sender_domain(current_app.config["MAIL_DEFAULT_SENDER"])),
        **(headers or {}),
    }
    message = MailMessage(recipient=recipient, subject=subject, text_body=text, html_body=html, headers=fixed)
    db.session.add(message)
    g.mail_queued = True
    return message


def init_mail(app: Flask) -> None:
    @app.after_request
    def _deliver_after_response(response):
        """Send what this request queued once the response has gone out (call_on_close), so the
        person waiting does not wait for the SMTP server, and an answer takes as long whether a
        mail was queued or not. A later change moves this onto a background worker."""
        if g.pop("mail_queued", False) and app.config["MAIL_SERVER"]:
            response.call_on_close(lambda: _deliver(app))
        return response


def _deliver(app: Flask) -> None:
    from .sender import deliver_pending

    with app.app_context():
        try:
            deliver_pending()
        except Exception:
            app.logger.exception("sending mail after a request failed; `crisiswiki send-mail` retries")
        finally:
            db.session.remove()

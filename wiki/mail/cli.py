"""`crisiswiki send-mail`: deliver what waits in the outbox (after a failure, or from cron)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..command_policy import own_transactions
from ..extensions import db
from ..models import MailMessage
from .sender import deliver_pending


@own_transactions("the mail job's code (write_transaction); no write lock while the SMTP server answers")
@click.command("send-mail")
@click.option("--limit", default=1000, show_default=True, help="Send at most this many messages.")
@with_appcontext
def send_mail_command(limit: int) -> None:
    """Send the mail waiting in the outbox. Exits with 1 if some could not be sent or no
    MAIL_SERVER is configured."""
    if not current_app.config["MAIL_SERVER"]:
        waiting = db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.sent_at.is_(None)))
        click.echo(
            f"No MAIL_SERVER is configured: {waiting} messages wait in the outbox (administrators read "
            "them at /admin/mail).",
            err=True,
        )
        sys.exit(1)
    done = deliver_pending(limit=limit, now_only=False)  # asked for now: no pause after failures
    click.echo(f"Sent {done.sent} messages; {done.failed} failed (they are tried again next time).")
    if done.failed:
        sys.exit(1)

"""`crisiswiki smtpd` (an SMTP listener for the crisis addresses) and `crisiswiki fetch-mail`
(poll an IMAP mailbox), both storing mail into the channels' inbox."""

from __future__ import annotations

import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from ..command_policy import own_transactions


@own_transactions("a server: each mail is taken in as a gateway's request is (write_transaction)")
@click.command("smtpd")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, type=int, help="Port to listen on (25 needs root).")
@with_appcontext
def smtpd_command(host: str, port: int) -> None:
    """Take mail for the crisis addresses over SMTP until stopped (SIGTERM or Ctrl-C)."""
    from .smtp_listener import listener

    controller = listener(current_app._get_current_object(), host, port)
    click.echo(f"Listening for mail on {host}:{port}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@own_transactions("the mail intake's code (write_transaction); no write lock while IMAP answers")
@click.command("fetch-mail")
@click.option("--limit", default=500, show_default=True, help="Fetch at most this many messages.")
@with_appcontext
def fetch_mail_command(limit: int) -> None:
    """Fetch unseen mail from the IMAP mailbox (IMAP_HOST, IMAP_USER ...) into the inbox, e.g. from cron."""
    from .imap_polling import fetch_mail

    if not current_app.config["IMAP_HOST"]:
        click.echo("No IMAP_HOST is configured.", err=True)
        sys.exit(1)
    done = fetch_mail(limit)
    click.echo(f"Stored {done.stored} messages ({done.retries} already stored, {done.refused} refused).")

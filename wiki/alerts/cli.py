"""`crisiswiki send-alerts`: match, compose and send what is waiting, then stop (from cron, or
to catch up by hand; the background worker does the same continuously)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..command_policy import own_transactions
from .jobs import run_until_idle


@own_transactions("the alert jobs' code (write_transaction); no write lock while webhooks and mail answer")
@click.command("send-alerts")
@with_appcontext
def send_alerts_command() -> None:
    """Match waiting events against the subscriptions and send the alerts that are due."""
    run_until_idle()
    click.echo("Alerts matched and sent; e-mail waits in the outbox for the mail job or `crisiswiki send-mail`.")

"""The channels' hook implementations, registered as the core plugin "wiki.channels" (as maps
and search are): the built-in gateways, the background jobs that process messages and deliver
replies, the inbox link for those who read it, and the translations of messages in the search
documents of the reports made from them."""

from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext as _

from ..auth.permissions import can
from ..hooks import hookimpl
from .cli import fetch_mail_command, smtpd_command


@hookimpl(trylast=True)
def register_channels():
    from .mail import Email
    from .rapidpro import RapidPro
    from .smssync import SMSSync
    from .twilio import Twilio
    from .webhook import Webhook

    return [Twilio(), SMSSync(), RapidPro(), Webhook(), Email()]


@hookimpl
def background_jobs(app: Flask):
    from .processing import jobs

    return jobs()


@hookimpl
def init_app(app: Flask):
    app.cli.add_command(smtpd_command)
    app.cli.add_command(fetch_mail_command)


@hookimpl
def navigation_links(crisis, viewer):
    if not can("read_inbox", viewer):
        return []
    return [(_("Inbox"), url_for("inbox.crisis_inbox", crisis_slug=crisis.slug))]


@hookimpl
def report_search_fields_many(reports):
    """The translations of the reports' messages, so that each is found in either language. Not
    for sensitive reports: a message may name the place the public must not find it by."""
    from .inbox import search_texts

    texts = search_texts([report.id for report in reports if not report.sensitive])
    return {report_id: {"text": text} for report_id, text in texts.items() if text}

"""A real SMTP listener (aiosmtpd) that takes mail for the crisis addresses.

RCPT TO is answered per address (550 for an address that takes no reports: see
wiki.channels.mail.accepts); DATA is answered 250 only once the message is committed, so a
sending server that got no 250 tries again and the retry is recognised by its Message-ID.
Mail bombs are refused whole: a message over MAIL_INBOUND_MAX_BYTES is cut off by the server
(552), one with more than MAIL_INBOUND_MAX_PARTS parts is refused (554).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from aiosmtpd.controller import Controller
from flask import Flask

from ..extensions import db
from .mail import MailRefused, accepts, store_mail

log = logging.getLogger(__name__)


class Handler:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def _in_app(self, function, *args):
        with self.app.app_context():
            try:
                return function(*args)
            finally:
                db.session.remove()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        loop = asyncio.get_running_loop()
        accepted, _crisis = await loop.run_in_executor(None, partial(self._in_app, accepts, address))
        if not accepted:
            return "550 5.1.1 No such mailbox here: write to a crisis's address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            message_id, retry = await loop.run_in_executor(
                None, partial(self._in_app, store_mail, raw, list(envelope.rcpt_tos))
            )
        except MailRefused as refused:
            return refused.smtp
        except Exception:
            log.exception("could not store a mail; the sender is told to try again")
            return "451 4.3.0 Could not store the message now; try again later"
        return f"250 2.0.0 Message accepted as {message_id}{' (already received)' if retry else ''}"


def listener(app: Flask, host: str, port: int) -> Controller:
    """A started SMTP server in a thread of its own (stop it with .stop())."""
    limit = app.config["MAIL_INBOUND_MAX_BYTES"]
    controller = Controller(
        Handler(app),
        hostname=host,
        port=port,
        ready_timeout=10,
        data_size_limit=limit,
        decode_data=False,
    )
    controller.start()
    return controller

"""Delivering the outbox over SMTP with smtplib and the email package, each message once.

A sender claims a message (a token and the time) before it talks to the SMTP server. It then
sends the envelope and the whole text but holds back the line with the single dot that ends
SMTP's DATA: the server takes responsibility for a message only when that line arrives (RFC
5321, 4.1.1.4), and drops a DATA that the connection lost. Before sending the dot, the sender
marks the message sent, on the condition that its claim still stands, and commits. So:

- a sender that dies before that commit (kill -9, a power cut) never finished the DATA: the
  server drops it, the claim expires after MAIL_CLAIM_SECONDS and another sender sends it;
- a sender whose claim was taken over meanwhile (it was slower than the lease) finds its
  commit refused and closes the connection without the dot: only the other one sends it;
- only a sender that dies in the moment between its commit and writing the dot to the socket
  (a few microseconds) loses the message: it is marked sent and the server never got it.

This counts on the server keeping a message once its final dot has arrived, also when the
connection closes before the server's answer (an MTA queues the message, then answers).

A server that refuses the message after the dot gets it marked unsent again, for a later try.
"""

from __future__ import annotations

import re
import secrets
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app
from sqlalchemy import or_, select, update

from .. import metrics
from ..database import write_transaction
from ..extensions import db
from ..models import MailMessage
from ..models.base import utcnow

MAX_ATTEMPTS = 10  # then the message stays in the outbox, marked as failed (/admin/mail)
FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS = 30, 3600  # the wait after a failure doubles between these


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
    # The final dot of DATA goes in a write of its own (see send_fenced): without this, Nagle's
    # algorithm holds it until the server acknowledges the text, up to 40 ms of delayed ACK.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


class Abandoned(Exception):
    """The message was not sent because this sender's claim no longer stood."""


_LEADING_DOT = re.compile(rb"(?m)^\.")


def send_fenced(connection: smtplib.SMTP, message: EmailMessage, mark_sent: Callable[[], bool]) -> None:
    """Send `message` as smtplib's send_message does, but call `mark_sent()` before the final
    dot of DATA and send the dot only if it answers True (see the module docstring)."""
    sender = parseaddr(message["From"])[1]
    recipient = parseaddr(message["To"])[1]
    connection.ehlo_or_helo_if_needed()
    flat = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    options: list[str] = []
    if not (sender.isascii() and recipient.isascii()):
        if not connection.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("the server does not accept non-ASCII addresses (SMTPUTF8)")
        options += ["SMTPUTF8", "BODY=8BITMIME"]
    if connection.does_esmtp and connection.has_extn("size"):
        options.append(f"size={len(flat)}")
    code, reply = connection.mail(sender, options)
    if code != 250:
        connection.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = connection.rcpt(recipient)
    if code not in (250, 251):
        connection.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = connection.docmd("data")
    if code != 354:
        connection.rset()
        raise smtplib.SMTPDataError(code, reply)
    body = _LEADING_DOT.sub(b"..", flat)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    try:
        connection.send(body)
        if not mark_sent():
            raise Abandoned()
    except BaseException:
        connection.close()  # mid-DATA: nothing more may reach the server, which drops the message
        raise
    connection.send(b".\r\n")
    code, reply = connection.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


def _claim(message_ids: list[int], token: str, lease: timedelta) -> list[MailMessage]:
    """Take these messages for this sender (in one transaction), but those another sender has
    or that were sent. A claim older than the lease belonged to a sender that died (or is
    hopelessly slow): it is taken over."""
    now = utcnow()
    with write_transaction():
        claimed = db.session.scalars(
            update(MailMessage)
            .where(
                MailMessage.id.in_(message_ids),
                MailMessage.sent_at.is_(None),
                or_(MailMessage.claimed_at.is_(None), MailMessage.claimed_at < now - lease),
            )
            .values(claimed_at=now, claim_token=token, attempts=MailMessage.attempts + 1)
            .returning(MailMessage.id)
        ).all()
        rows = db.session.scalars(
            select(MailMessage).where(MailMessage.id.in_(claimed)).execution_options(populate_existing=True)
        ).all()
    return sorted(rows, key=lambda row: row.id)


def _mark_sent(message_id: int, token: str) -> bool:
    with write_transaction():
        return (
            db.session.execute(
                update(MailMessage)
                .where(MailMessage.id == message_id, MailMessage.claim_token == token, MailMessage.sent_at.is_(None))
                .values(sent_at=utcnow(), last_error=None)
            ).rowcount
            == 1
        )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try (30 s, 1 min, 2 min ... 1 h)."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LAST_RETRY_SECONDS))


def _give_back(row: MailMessage, token: str, error: str) -> None:
    """Not sent: give the claim back (a later run tries again after a pause), unsending it if it
    was marked."""
    with write_transaction():
        db.session.execute(
            update(MailMessage)
            .where(MailMessage.id == row.id, MailMessage.claim_token == token)
            .values(
                sent_at=None,
                claimed_at=None,
                claim_token=None,
                last_error=error[:2000],
                next_attempt_at=utcnow() + retry_delay(row.attempts),
            )
        )


def waiting_ids(limit: int, now_only: bool = True) -> list[int]:
    """Messages to send, oldest first: never sent, not claimed (or claimed past the lease), and
    (`now_only`) not waiting for the pause after a failure."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    query = select(MailMessage.id).where(
        MailMessage.sent_at.is_(None),
        or_(MailMessage.claimed_at.is_(None), MailMessage.claimed_at < now - lease),
        MailMessage.attempts < MAX_ATTEMPTS,
    )
    if now_only:
        query = query.where(or_(MailMessage.next_attempt_at.is_(None), MailMessage.next_attempt_at <= now))
    ids = db.session.scalars(query.order_by(MailMessage.id).limit(limit)).all()
    db.session.rollback()  # end the read before the write transactions that follow
    return list(ids)


def deliver_pending(limit: int = 100, deadline: float | None = None, now_only: bool = True) -> Delivery:
    """Send up to `limit` waiting messages, oldest first (until time.monotonic() passes
    `deadline`, when given; `now_only=False` also those pausing after a failure). A plain
    function: the request hook, the CLI and the background worker's mail job call it. Nothing
    happens without MAIL_SERVER."""
    config = current_app.config
    done = Delivery()
    if not config["MAIL_SERVER"]:
        return done
    lease = timedelta(seconds=config["MAIL_CLAIM_SECONDS"])
    token = secrets.token_hex(16)
    sender = config["MAIL_DEFAULT_SENDER"]
    connection: smtplib.SMTP | None = None
    try:
        for row in _claimed(waiting_ids(limit, now_only), token, lease, deadline, done):
            message_id = row.id
            try:
                if connection is None:
                    connection = connect(config)
                send_fenced(connection, build_message(row, sender), lambda mid=message_id: _mark_sent(mid, token))
            except Abandoned:
                connection = None  # closed mid-DATA by send_fenced
                continue
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                current_app.logger.warning("could not send mail %s: %s", message_id, exc)
                _give_back(row, token, f"{type(exc).__name__}: {exc}")
                done.failed += 1
                metrics.inc("mail_failures")
                if connection is not None and not isinstance(exc, smtplib.SMTPRecipientsRefused):
                    _close(connection)
                    connection = None
                continue
            done.sent += 1
            metrics.inc("mail_sent")
    finally:
        if connection is not None:
            _close(connection)
    return done


CLAIM_BATCH = 50


def _claimed(ids: list[int], token: str, lease: timedelta, deadline: float | None, done: Delivery):
    """The messages to send, claimed a batch at a time (one transaction per batch), until the deadline."""
    for start in range(0, len(ids), CLAIM_BATCH):
        if deadline is not None and done.sent + done.failed and time.monotonic() > deadline:
            return
        rows = _claim(ids[start : start + CLAIM_BATCH], token, lease)
        for number, row in enumerate(rows):
            if deadline is not None and done.sent + done.failed and time.monotonic() > deadline:
                _give_back_unsent([r.id for r in rows[number:]], token)
                return
            yield row


def _give_back_unsent(message_ids: list[int], token: str) -> None:
    """Claims this sender took but will not use now: free again at once (not a failed try)."""
    with write_transaction():
        db.session.execute(
            update(MailMessage)
            .where(MailMessage.id.in_(message_ids), MailMessage.claim_token == token, MailMessage.sent_at.is_(None))
            .values(claimed_at=None, claim_token=None, attempts=MailMessage.attempts - 1)
        )


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is None:
        return
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()

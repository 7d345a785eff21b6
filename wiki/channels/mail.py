"""Mail as a channel: reading a message (its text, its photos, its Message-ID) within limits
that a mail bomb cannot get past, and deciding which addresses take reports.

An address takes reports when it is one of MAIL_INBOUND_ADDRESSES (plus-addressing included:
reports+haiti-2010@... is reports@... tagged with the crisis haiti-2010), when a crisis's
routing rule names it, or when its local part is a crisis's short name (haiti-2010@any
domain): with no routing configured at all, mail still finds its crisis.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import ChannelRoute, Crisis
from ..reports.input import normalise_contact
from .base import Channel, Incoming
from .intake import store_messages

CHANNEL = "email"
MAX_DEPTH = 10
_TAGS = re.compile(r"<[^>]+>")


class MailRefused(Exception):
    """A message refused whole, with the SMTP code and text to answer."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text

    @property
    def smtp(self) -> str:
        return f"{self.code} {self.text}"


@dataclass
class ParsedMail:
    message_id: str
    sender: str
    subject: str
    text: str
    sent_at: datetime | None
    recipients: list[str]
    images: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, bytes), as sent


def _walk(message: EmailMessage, limit: int, depth: int = 0, seen: list | None = None) -> list[EmailMessage]:
    """Every leaf part, refusing messages with more parts than `limit` or nested too deep."""
    seen = [] if seen is None else seen
    if depth > MAX_DEPTH:
        raise MailRefused(554, f"5.6.0 Message refused: parts nested more than {MAX_DEPTH} deep")
    if message.is_multipart():
        for part in message.iter_parts():
            _walk(part, limit, depth + 1, seen)
    else:
        seen.append(message)
        if len(seen) > limit:
            raise MailRefused(554, f"5.6.0 Message refused: more than {limit} parts; send fewer attachments")
    return seen


def parse_mail(raw: bytes) -> ParsedMail:
    config = current_app.config
    if len(raw) > config["MAIL_INBOUND_MAX_BYTES"]:
        raise MailRefused(552, f"5.3.4 Message too big: at most {config['MAIL_INBOUND_MAX_BYTES']} bytes")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = _walk(message, config["MAIL_INBOUND_MAX_PARTS"])
        sender = parseaddr(str(message.get("From", "")))[1]
        subject = str(message.get("Subject", "") or "")
        message_id = str(message.get("Message-ID", "") or "").strip()
        recipients = [
            address
            for _name, address in getaddresses(
                [
                    str(v)
                    for v in message.get_all("To", []) + message.get_all("Cc", []) + message.get_all("Delivered-To", [])
                ]
            )
            if address
        ]
        date = message.get("Date")
    except MailRefused:
        raise
    except Exception:  # the email package raises many kinds on malformed headers
        raise MailRefused(554, "5.6.0 Message refused: it cannot be read as an e-mail (RFC 5322)") from None
    if not sender or "@" not in sender:
        raise MailRefused(554, "5.1.7 Message refused: no sender address in From")
    sent_at = None
    if date:
        try:
            sent_at = parsedate_to_datetime(str(date))
            sent_at = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            sent_at = None
    text, html, images = "", "", []
    for part in parts:
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        try:
            if content_type == "text/plain" and disposition != "attachment" and not text:
                text = part.get_content()
            elif content_type == "text/html" and disposition != "attachment" and not html:
                html = part.get_content()
            elif content_type.startswith("image/") or (disposition == "attachment" and part.get_filename()):
                payload = part.get_payload(decode=True) or b""
                if len(images) < config["REPORT_MAX_PHOTOS"]:
                    images.append((part.get_filename() or "photo", payload))
        except (LookupError, ValueError, AssertionError):
            continue  # an unknown charset or a broken part: skip it, keep the rest
    if not text and html:
        text = " ".join(_TAGS.sub(" ", html).split())
    if not message_id:  # no id: the message's own bytes identify it (a resend is the same bytes)
        message_id = "<sha256-" + hashlib.sha256(raw).hexdigest() + ">"
    return ParsedMail(message_id[:255], sender, subject[:300], text.strip(), sent_at, recipients, images)


def accepts(address: str) -> tuple[bool, str]:
    """Whether mail to `address` is taken in, and the crisis it names (its short name, or "")."""
    address = address.strip().lower()
    local, _at, domain = address.rpartition("@")
    if not local:
        return False, ""
    base, _plus, tag = local.partition("+")
    slugs = [candidate for candidate in (tag, local) if candidate]
    if slugs:
        found = db.session.scalars(select(Crisis.slug).where(Crisis.slug.in_(slugs))).all()
        for candidate in slugs:
            if candidate in found:
                return True, candidate
    configured = {a.strip().lower() for a in current_app.config["MAIL_INBOUND_ADDRESSES"]}
    if address in configured or f"{base}@{domain}" in configured:
        return True, ""
    rule = db.session.scalar(
        select(ChannelRoute.id).where(
            ChannelRoute.kind == "recipient", ChannelRoute.value == normalise_contact(address)
        )
    )
    return rule is not None, ""


def store_mail(raw: bytes, envelope_recipients: list[str], mailbox: str | None = None) -> tuple[int, bool]:
    """Read and store one mail for the first accepted recipient; (message id, was a retry).
    `mailbox`: the polled mailbox's address, which takes whatever is in it (IMAP). Raises MailRefused."""
    parsed = parse_mail(raw)
    recipient, hint = "", ""
    for address in [*envelope_recipients, *parsed.recipients]:
        accepted, crisis = accepts(address)
        if accepted:
            recipient, hint = address, crisis
            break
    if not recipient and mailbox:
        recipient = mailbox
    if not recipient:
        raise MailRefused(550, "5.1.1 No such mailbox here: write to a crisis's address")
    db.session.rollback()  # end the reads before the write transaction
    incoming = Incoming(
        external_id=parsed.message_id,
        sender=parsed.sender.lower(),
        recipient=recipient,
        subject=parsed.subject,
        text=parsed.text,
        raw=raw,
        sent_at=parsed.sent_at,
    )
    return store_messages(CHANNEL, [incoming], hint)[0]


class Email(Channel):
    """Mail arrives through `crisiswiki smtpd` or `crisiswiki fetch-mail`, not the HTTP inbound
    URL; replies go out through the mail outbox (wiki.mail)."""

    name = CHANNEL
    label = "e-mail"
    kind = "email"
    can_send = True

    def configured(self) -> bool:
        return False  # no HTTP inbound URL

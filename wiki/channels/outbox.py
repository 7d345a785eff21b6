"""Messages going out through the channels: acknowledgements, coordinators' questions, alerts.

`send_sms(to, text, crisis)` is the one call other features use (the alerts feature sends its
SMS alerts with it): it writes the message into `outbound_messages` in the caller's transaction
(the caller commits, so a message exists exactly when the change that causes it does), and a
background job ("channel-delivery") delivers it through the gateway's API, retrying failures.
SMSSync fetches its own (wiki.channels.smssync); mail goes through the mail outbox (wiki.mail).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..database import write_transaction
from ..errors import InvalidInput
from ..extensions import db
from ..mail import queue_mail
from ..models import ChannelSettings, Crisis, InboundMessage, OutboundMessage
from ..models.base import utcnow
from ..reports.sources import contact_hash
from ..workers import wake
from .base import DeliveryError
from .registry import channel_named

DELIVERY_JOB = "channel-delivery"
MAX_ATTEMPTS = 10
BATCH = 50
NAMESPACE = uuid.UUID("6f3b2c8e-3d5a-4a57-9c1e-2b7f0c4d9a10")


def queue_outbound(
    channel: str,
    recipient: str,
    text: str,
    *,
    crisis_id: int | None = None,
    kind: str = "reply",
    language: str = "",
    in_reply_to: InboundMessage | None = None,
    created_by_id: int | None = None,
    key: str | None = None,
    subject: str = "",
) -> OutboundMessage:
    """Add an outgoing message in the current transaction (the caller commits). `key` makes it
    idempotent: the same key never queues two messages."""
    found = channel_named(channel)
    if found is None or not found.can_send:
        raise InvalidInput(_("Messages cannot be sent through %(channel)s.", channel=channel), field="channel")
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write the message to send."), field="text")
    if len(text) > 1600:
        raise InvalidInput(_("A message is at most 1,600 characters (ten SMS)."), field="text")
    message_uuid = str(uuid.uuid5(NAMESPACE, key)) if key else str(uuid.uuid4())
    existing = db.session.scalar(select(OutboundMessage).where(OutboundMessage.uuid == message_uuid))
    if existing is not None:
        return existing
    message = OutboundMessage(
        uuid=message_uuid,
        channel=channel,
        recipient=recipient,
        text=text,
        kind=kind,
        language=language,
        crisis_id=crisis_id,
        in_reply_to_id=in_reply_to.id if in_reply_to is not None else None,
        created_by_id=created_by_id,
        attempts=0,
        last_error="",
        gateway_id="",
    )
    if found.kind == "email":
        # The mail outbox sends it (and retries); this row keeps it in the message's thread.
        mail = queue_mail(recipient, subject or _("Re: your report"), text, headers=_threading(in_reply_to))
        db.session.flush()
        message.mail_id = mail.id
        message.claimed_at = message.sent_at = utcnow()
    db.session.add(message)
    return message


def _threading(message: InboundMessage | None) -> dict[str, str]:
    if message is None or message.channel != "email" or not message.external_id.startswith("<"):
        return {}
    return {"In-Reply-To": message.external_id, "References": message.external_id}


def send_sms(
    to: str, text: str, crisis: Crisis | None, channel: str | None = None, kind: str = "alert"
) -> OutboundMessage:
    """Queue an SMS to `to` (a phone number), delivered by a background job. The channel is
    `channel`, else the one this number last wrote in through, else CHANNEL_SMS_DEFAULT.
    Runs in the caller's transaction: the caller commits (then the job is woken)."""
    channel = channel or _last_channel(to) or current_app.config["CHANNEL_SMS_DEFAULT"]
    if not channel:
        raise InvalidInput(
            _("No SMS channel to send through: set CHANNEL_SMS_DEFAULT (twilio, smssync, rapidpro or webhook)."),
            field="channel",
        )
    message = queue_outbound(channel, to, text, crisis_id=crisis.id if crisis else None, kind=kind)
    wake_delivery()
    return message


def _last_channel(contact: str) -> str | None:
    return db.session.scalar(
        select(InboundMessage.channel)
        .where(InboundMessage.sender_hash == contact_hash(contact), InboundMessage.channel != "email")
        .order_by(InboundMessage.id.desc())
        .limit(1)
    )


def wake_delivery() -> None:
    wake(DELIVERY_JOB)


# -- acknowledgements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    text: str
    language: str


def acknowledgement(crisis_id: int | None, language: str, message_id: int) -> Acknowledgement | None:
    """The crisis's acknowledgement in the sender's language (its own template, else the
    default text translated), or None when the crisis sends none."""
    if crisis_id is None:
        return None
    settings = db.session.get(ChannelSettings, crisis_id)
    if settings is None or not settings.acknowledge:
        return None
    templates = settings.templates or {}
    languages = current_app.config["LANGUAGES"]
    chosen = language if language in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    template = templates.get(chosen) or templates.get("")
    if not template:
        with force_locale(chosen):
            template = _("Thank you: your message was received (number {id}). The response team reads every message.")
    return Acknowledgement(template.replace("{id}", str(message_id))[:1600], chosen)


# -- delivery -------------------------------------------------------------------------------------


def _claim(message_id: int) -> OutboundMessage | None:
    with write_transaction():
        claimed = db.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.sent_at.is_(None),
                OutboundMessage.claimed_at.is_(None),
            )
            .values(claimed_at=utcnow(), attempts=OutboundMessage.attempts + 1)
        )
        if claimed.rowcount != 1:
            return None
        return db.session.get(OutboundMessage, message_id, populate_existing=True)


def _finish(message_id: int, gateway_id: str | None, error: str | None) -> None:
    values = (
        {"sent_at": utcnow(), "gateway_id": gateway_id or "", "last_error": ""}
        if error is None
        else {"claimed_at": None, "last_error": error[:2000]}
    )
    with write_transaction():
        db.session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id).values(**values))


def deliver_waiting(deadline: float | None = None) -> float | None:
    """The delivery job: send what waits for the gateways that are sent to (not SMSSync, which
    fetches, nor mail). A message the gateway refused is tried again on a later turn, up to
    MAX_ATTEMPTS times. Like the mail sender, a message whose sending died between the
    gateway's acceptance and being marked sent stays claimed and is not sent again."""
    import time

    from .registry import all_channels

    pushed = [
        channel.name
        for channel in all_channels()
        if channel.can_send and not channel.pulls_outgoing and channel.kind != "email"
    ]
    ids = db.session.scalars(
        select(OutboundMessage.id)
        .where(
            OutboundMessage.channel.in_(pushed),
            OutboundMessage.sent_at.is_(None),
            OutboundMessage.claimed_at.is_(None),
            OutboundMessage.attempts < MAX_ATTEMPTS,
        )
        .order_by(OutboundMessage.id)
        .limit(BATCH)
    ).all()
    db.session.rollback()
    failed = False
    for message_id in ids:
        message = _claim(message_id)
        if message is None:
            continue
        channel = channel_named(message.channel)
        try:
            gateway_id = channel.deliver(message)
        except DeliveryError as exc:
            current_app.logger.warning("could not send message %s through %s: %s", message_id, message.channel, exc)
            _finish(message_id, None, str(exc))
            failed = True
            continue
        _finish(message_id, gateway_id, None)
        if deadline is not None and time.monotonic() > deadline:
            return 0.0
    if failed:
        return 30.0  # the gateway refused something: try again in a while, not at once
    return 0.0 if len(ids) == BATCH else None

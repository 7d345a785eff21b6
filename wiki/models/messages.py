"""Messages that arrive through the channels (SMS gateways, email) and the replies sent back.

An inbound message is stored raw the moment it arrives (the gateway gets its answer only once
that row is committed), then processed by a background job: routed to a crisis, its place and
language detected, acknowledged. Coordinators turn messages into reports from the inbox.

Senders' phone numbers and addresses are contact details, as a report source's are: they are
shown only through wiki.visibility, each showing recorded, and never indexed or exported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .crises import Crisis

# What a coordinator has done with a message (wiki.channels.inbox).
MESSAGE_STATES = ("received", "inbox", "reported", "attached", "irrelevant", "spam")


class InboundMessage(db.Model):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        # The gateway's own message id (or the mail's Message-ID): a retried delivery is one message.
        UniqueConstraint("channel", "external_id", name="uq_inbound_messages_channel_external_id"),
        Index("ix_inbound_messages_crisis_state", "crisis_id", "state", "id"),
        Index("ix_inbound_messages_unprocessed", "processed_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(254))  # a contact detail: see the module docstring
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)  # wiki.reports.sources.contact_hash
    recipient: Mapped[str] = mapped_column(String(254), default="")  # the gateway's number, the address written to
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # exactly what the gateway sent (a mail: its bytes)
    crisis_hint: Mapped[str] = mapped_column(String(100), default="")  # ?crisis=, or the address's crisis
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the gateway's timestamp
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_error: Mapped[str] = mapped_column(Text, default="")
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crises.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(20), default="received")
    language: Mapped[str] = mapped_column(String(8), default="")
    place: Mapped[dict | None] = mapped_column(JSON)  # the place detected in the text (wiki.places)
    sector: Mapped[str] = mapped_column(String(20), default="")  # from a keyword rule
    translation: Mapped[str] = mapped_column(Text, default="")
    translation_language: Mapped[str] = mapped_column(String(8), default="")
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), index=True)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    crisis: Mapped[Crisis | None] = relationship()
    attachments: Mapped[list[MessageAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageAttachment.id"
    )

    def __repr__(self) -> str:
        return f"<InboundMessage {self.id} {self.channel} {self.state}>"


class MessageAttachment(db.Model):
    """A photo that came with a message: checked from its bytes and stripped of its metadata,
    like a report's photos, so it can become one."""

    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(50))
    sha256: Mapped[str] = mapped_column(String(64))
    display_sha256: Mapped[str] = mapped_column(String(64))
    thumb_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)

    message: Mapped[InboundMessage] = relationship(back_populates="attachments")


class MessageMedia(db.Model):
    """A photo a gateway holds for a message (Twilio's MediaUrl0 ...): fetched by a background
    job (wiki.channels.media), retried with back-off, and kept here when it cannot be fetched,
    so that nothing a reporter sent is lost without a trace. One row per (message, position):
    a retried webhook or a restarted worker never fetches or stores it twice."""

    __tablename__ = "message_media"
    __table_args__ = (
        UniqueConstraint("message_id", "position", name="uq_message_media_message_id_position"),
        Index("ix_message_media_waiting", "state", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # N of the gateway's MediaUrlN
    url: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="waiting")  # waiting, fetched, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("message_attachments.id", ondelete="SET NULL"))


class OutboundMessage(db.Model):
    """A text to send through a channel: an acknowledgement, a coordinator's question, an alert.
    Written in the transaction that decides to send it, delivered by a background job."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_waiting", "channel", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)  # SMSSync's message uuid; our idempotency key
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(254))  # a contact detail
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="reply")  # ack, reply, alert
    language: Mapped[str] = mapped_column(String(8), default="")
    crisis_id: Mapped[int | None] = mapped_column(ForeignKey("crises.id", ondelete="SET NULL"), index=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL"), index=True
    )
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Claimed by one sender before it talks to the gateway; SMSSync: handed to the phone when it polls.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    gateway_id: Mapped[str] = mapped_column(String(255), default="")  # e.g. Twilio's message SID


class ChannelRoute(db.Model):
    """A crisis's routing rule: messages to a gateway number or address, or starting with a
    keyword, belong to the crisis; `auto_report` turns them into reports at once (trusted)."""

    __tablename__ = "channel_routes"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_channel_routes_kind_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # recipient, keyword, sender
    value: Mapped[str] = mapped_column(String(254))  # normalised (wiki.channels.routing.rule_value)
    sector: Mapped[str] = mapped_column(String(20), default="")
    auto_report: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ChannelSettings(db.Model):
    """Per crisis: whether senders get an acknowledgement, and its text per language."""

    __tablename__ = "channel_settings"

    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    acknowledge: Mapped[bool] = mapped_column(Boolean, default=False)
    templates: Mapped[dict] = mapped_column(JSON, default=dict)  # language -> text ("" for the default)


class SourceContact(db.Model):
    """A further contact (another number, an address) a verifier linked to a source, so that
    the same person is one source across channels (found again by the contact's hash)."""

    __tablename__ = "source_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    contact_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact: Mapped[str] = mapped_column(String(254))
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

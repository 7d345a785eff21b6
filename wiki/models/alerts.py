"""Alerts: what responders subscribe to, the changes that may interest them (an outbox written
in the transaction of each change), what each subscription was matched with, and the messages
that carry it to them (wiki/alerts).

Exactly once rests on two constraints: a subscription hears about a subject (a report, a page
revision, a layer revision) at most once (`uq_alert_deliveries_subscription_subject`), and a
delivery belongs to at most one message (its `message_id`, set in the transaction that makes the
message).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .crises import Crisis
from .users import User

KINDS = ("reports", "watchlist", "sitreps", "layers")  # what a subscription is about
CHANNELS = ("email", "webhook", "sms", "feed")  # how it reaches the subscriber (every one has a feed too)
FREQUENCIES = ("immediate", "hourly", "daily")


class AlertSubscription(db.Model):
    __tablename__ = "alert_subscriptions"
    __table_args__ = (Index("ix_alert_subscriptions_crisis_kind", "crisis_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    # None: someone who subscribed by e-mail without an account (public information only).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="reports")
    # The area: a drawn polygon, an admin area (its P-code), or a circle (point and radius).
    # `area` is the geometry matched (GeoJSON; a circle as a polygon); west..north its bounding box.
    area_kind: Mapped[str | None] = mapped_column(String(10))  # polygon | pcode | radius
    area: Mapped[str | None] = mapped_column(Text)
    area_pcode: Mapped[str | None] = mapped_column(String(40))
    point_lon: Mapped[float | None] = mapped_column(Float)
    point_lat: Mapped[float | None] = mapped_column(Float)
    radius_km: Mapped[float | None] = mapped_column(Float)
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)
    sectors: Mapped[list] = mapped_column(JSON, default=list)  # empty: every sector
    statuses: Mapped[list] = mapped_column(JSON, default=list)  # empty: every status
    min_score: Mapped[float | None] = mapped_column(Float)
    verdicts: Mapped[list] = mapped_column(JSON, default=list)  # empty: any (or no) verdict
    keywords: Mapped[str] = mapped_column(String(500), default="")  # the search query language
    frequency: Mapped[str] = mapped_column(String(10), default="immediate")
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "22:00", in `timezone`
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(60), default="UTC")
    language: Mapped[str] = mapped_column(String(10), default="en")
    channel: Mapped[str] = mapped_column(String(10), default="email")
    address: Mapped[str] = mapped_column(String(500), default="")  # e-mail address, webhook URL or phone number
    # Random secrets: the feed's URL, the key webhooks are signed with, and the nonce the
    # confirmation and unsubscribe links are bound to (a new nonce voids the old links).
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    webhook_secret: Mapped[str] = mapped_column(String(64))
    link_nonce: Mapped[str] = mapped_column(String(32))
    sms_code_hash: Mapped[str | None] = mapped_column(String(64))  # SMS confirmation code (its SHA-256)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_by_id: Mapped[int | None] = mapped_column(Integer)  # a user id (an admin, or the owner)
    base_url: Mapped[str] = mapped_column(String(300), default="")  # the site as the subscriber reached it
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    crisis: Mapped[Crisis] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.paused_at is None

    @property
    def state(self) -> str:
        """unconfirmed, paused or active."""
        if self.confirmed_at is None:
            return "unconfirmed"
        return "paused" if self.paused_at is not None else "active"

    def __repr__(self) -> str:
        return f"<AlertSubscription {self.id} {self.kind} {self.channel}>"


class AlertEvent(db.Model):
    """A change that may interest subscribers, written in the transaction of the change (an
    outbox), matched against the subscriptions by the background worker (`matched_at`)."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_pending", "matched_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # report | score | page | layer
    crisis_id: Mapped[int | None] = mapped_column(Integer)
    report_id: Mapped[int | None] = mapped_column(Integer)
    page_id: Mapped[int | None] = mapped_column(Integer)
    revision_id: Mapped[int | None] = mapped_column(Integer)
    layer_id: Mapped[int | None] = mapped_column(Integer)
    layer_revision_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertMessage(db.Model):
    """One message to a subscriber: an alert, the alerts of one minute collapsed into one, or a
    digest. E-mail is handed to the mail outbox (`mail_id`); webhooks and SMS are sent from here,
    with retries (`next_attempt_at`), a lease (`claim_token`, `claimed_at`) and a dead-letter state."""

    __tablename__ = "alert_messages"
    __table_args__ = (Index("ix_alert_messages_pending", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("alert_subscriptions.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    items: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[str] = mapped_column(Text, default="")  # the webhook's JSON body, or the SMS text
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id", ondelete="SET NULL"))
    # pending (webhook, SMS: to send), sent, dead (gave up after ALERT_MAX_ATTEMPTS), mailed (in the outbox)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertDelivery(db.Model):
    """A subscription matched with a subject: at most once per subscription and subject."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "subject", name="uq_alert_deliveries_subscription_subject"),
        Index("ix_alert_deliveries_pending", "state", "subscription_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("alert_subscriptions.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(60))  # report:<id> | revision:<id> | layer-revision:<id>
    event_id: Mapped[int] = mapped_column(Integer)
    report_id: Mapped[int | None] = mapped_column(Integer)
    page_id: Mapped[int | None] = mapped_column(Integer)
    revision_id: Mapped[int | None] = mapped_column(Integer)
    layer_id: Mapped[int | None] = mapped_column(Integer)
    layer_revision_id: Mapped[int | None] = mapped_column(Integer)
    # pending: waits for its message; sent: in a message; dropped: no longer to be seen when its
    # message was made (withdrawn, unpublished, deleted)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("alert_messages.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertAttempt(db.Model):
    """One try at sending a webhook or an SMS: the delivery log the subscriber reads."""

    __tablename__ = "alert_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("alert_messages.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    replay: Mapped[bool] = mapped_column(Boolean, default=False)  # sent again by its owner

"""The mail outbox: messages are written in the transaction of the change that causes them,
and sent after it commits (wiki/mail)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class MailMessage(db.Model):
    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)  # extra headers, e.g. Reply-To
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender claims a message (claimed_at, claim_token) before it talks to the SMTP server, so
    # that of several workers only one sends it; a failure gives the claim back for a later try,
    # and a claim older than MAIL_CLAIM_SECONDS (its sender died) may be taken over (wiki/mail/sender.py).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # after a failure: back off
    last_error: Mapped[str | None] = mapped_column(Text)

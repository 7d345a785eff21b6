"""Taking in a message: stored raw, in one short transaction, before the gateway hears back.

The gateway's message id is the key: a retried delivery (the gateway never got our answer) finds
the row stored the first time and gets the same answer, however many app servers take the
retries at once (a unique constraint on (channel, external_id); INSERT ... ON CONFLICT DO
NOTHING). Nothing else happens here: routing, places, languages, photos and replies are the
background job's (wiki.channels.processing), so an answer takes a few milliseconds, and a
crash after the commit loses nothing (the job finds the message unprocessed on start).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..database import begin_write, is_sqlite
from ..extensions import db
from ..models import InboundMessage
from ..models.base import utcnow
from ..reports.sources import contact_hash
from ..workers import wake
from .base import Incoming

JOB = "channels"
_table = InboundMessage.__table__


def _insert():
    return (sqlite.insert if is_sqlite() else postgresql.insert)(_table)


def store_messages(channel: str, messages: list[Incoming], crisis_hint: str = "") -> list[tuple[int, bool]]:
    """Store each message once and commit; [(message id, True if it had been stored before)]."""
    if not messages:
        return []
    now = utcnow()
    rows = [
        {
            "channel": channel,
            "external_id": message.external_id,
            "sender": message.sender,
            "sender_hash": contact_hash(message.sender),
            "recipient": message.recipient,
            "subject": message.subject[:300],
            "text": message.text,
            "raw": message.raw,
            "crisis_hint": crisis_hint[:100],
            "sent_at": message.sent_at,
            "received_at": now,
            "process_error": "",
            "state": "received",
            "language": "",
            "sector": "",
            "translation": "",
            "translation_language": "",
        }
        for message in messages
    ]
    begin_write()
    stored: list[tuple[int, bool]] = []
    for row in rows:
        inserted = db.session.execute(
            _insert()
            .values(row)
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
            .returning(_table.c.id)
        ).scalar()
        if inserted is not None:
            stored.append((inserted, False))
            continue
        existing = db.session.execute(
            select(_table.c.id).where(_table.c.channel == channel, _table.c.external_id == row["external_id"])
        ).scalar_one()
        stored.append((existing, True))
    db.session.commit()
    if any(not retry for _id, retry in stored):
        wake(JOB)
    return stored

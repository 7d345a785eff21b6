"""The background job that makes something of each stored message ("channels"): its crisis (the
routing rules), its language, the place it names (the crisis's gazetteer), its photos (a mail's
through the report photo pipeline: type judged from the bytes, metadata stripped; an SMS
gateway's queued for wiki.channels.media to fetch), an acknowledgement
to its sender when the crisis sends them, and a report at once when a trusted rule says so.

Every message is processed in its own short write transaction, after the slow work (places,
photos) is done outside it. Processing is idempotent: a message whose processing died halfway
(the server was killed) is still marked unprocessed, and is processed again on the next turn;
its report (keyed by the message) and its acknowledgement (keyed likewise) are never made twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import delete, func, select

from ..database import write_transaction
from ..errors import DomainError, InsufficientStorage
from ..extensions import db
from ..models import Crisis, InboundMessage, MessageAttachment
from ..models.base import utcnow
from ..places import detect, gazetteer_for
from ..workers import Job
from .inbox import create_report
from .intake import JOB
from .language import detect_language
from .mail import MailRefused, parse_mail
from .media import MediaRefused, Photo, clean_photo, queue_media, wake_media
from .outbox import acknowledgement, queue_outbound, wake_delivery
from .registry import channel_named
from .routing import route

BATCH = 50
SURGE_BATCH = 10  # while messages arrive: each slice holds the write lock (and the GIL) a fifth as long
ARRIVING_SECONDS = 2.0  # messages this recent mean a surge is still coming in
INTAKE_SHARE = 9.0  # ... and then processing waits this many times as long as it worked,
MAX_PAUSE_SECONDS = (
    2.0  # but never longer: a slow first batch (language model and gazetteer loading) held the next for 15 s
)
_pacing = {"resume_at": 0.0}  # this process's: when the job may work again


def _photos(message: InboundMessage) -> tuple[list[Photo], str]:
    """The photos attached to a mail, checked and cleaned like a report's; and what was refused.
    (An SMS gateway's photos are fetched afterwards, by wiki.channels.media.)"""
    if message.channel != "email":
        return [], ""
    try:
        images = parse_mail(message.raw).images
    except MailRefused as exc:
        return [], exc.text
    photos, problems = [], []
    for filename, data in images:
        try:
            photos.append(clean_photo(filename, data))
        except InsufficientStorage:
            raise  # a full upload disk: the message waits, unprocessed, until there is room
        except MediaRefused as exc:
            problems.append(f"{filename}: {exc}")
        except DomainError as exc:
            problems.append(f"{filename}: {exc.message}")
    return photos, "; ".join(problems)


@dataclass
class Prepared:
    """What processing found for one message, before anything is written."""

    message_id: int
    crisis_id: int | None = None
    language: str = ""
    place: dict | None = None
    sector: str = ""
    auto_report: bool = False
    photos: list[Photo] = field(default_factory=list)
    problems: str = ""
    failed: bool = False
    media: bool = False  # photos the gateway holds wait to be fetched


def prepare(message: InboundMessage) -> Prepared:
    """The slow part, outside any write transaction: route, language, place, photos."""
    routed = route(message)
    crisis = db.session.get(Crisis, routed.crisis_id) if routed.crisis_id else None
    photos, problems = _photos(message)
    return Prepared(
        message.id,
        routed.crisis_id,
        detect_language(message.text),
        detect(message.text, gazetteer_for(crisis)).as_dict() if crisis is not None else None,
        routed.sector,
        routed.auto_report and crisis is not None,
        photos,
        problems,
    )


def _write(found: Prepared) -> bool:
    """Store what processing found (in the caller's write transaction); True when an
    acknowledgement was queued."""
    message = db.session.get(InboundMessage, found.message_id)
    if message is None or message.processed_at is not None:
        return False
    message.processed_at = utcnow()
    message.state = "inbox"
    if found.failed:
        message.process_error = "processing failed; handle it by hand"
        return False
    db.session.execute(delete(MessageAttachment).where(MessageAttachment.message_id == found.message_id))
    db.session.add_all(MessageAttachment(message_id=found.message_id, **photo.__dict__) for photo in found.photos)
    message.crisis_id = found.crisis_id
    message.language = found.language
    message.place = found.place
    message.sector = found.sector
    message.process_error = found.problems[:2000]
    db.session.flush()
    found.media = queue_media(message)
    return _acknowledge(message)


def _auto_report(message_id: int) -> None:
    try:
        create_report(db.session.get(InboundMessage, message_id), None, None, by_rule=True)
    except DomainError as exc:  # e.g. an ambiguous place: a coordinator decides in the inbox
        db.session.rollback()
        with write_transaction():
            db.session.get(InboundMessage, message_id).process_error = f"no automatic report: {exc.message}"[:2000]


def process_messages(ids: list[int]) -> None:
    """Process these messages: prepared one by one, written in one transaction (one disk sync
    for the batch), then their automatic reports. A message whose preparation fails goes to
    the inbox marked as such, for a coordinator to handle by hand: it must not hold up the rest."""
    found = []
    for message_id in ids:
        message = db.session.get(InboundMessage, message_id)
        if message is None or message.processed_at is not None:
            continue
        try:
            found.append(prepare(message))
        except Exception:
            db.session.rollback()
            current_app.logger.exception("could not process channel message %s", message_id)
            found.append(Prepared(message_id, failed=True))
    db.session.rollback()  # end the reads: what follows writes
    with write_transaction():
        acknowledged = [_write(item) for item in found]
    for item in found:
        if item.auto_report and not item.failed:
            _auto_report(item.message_id)
    if any(acknowledged):
        wake_delivery()
    if any(item.media for item in found):
        wake_media()


def process_message(message_id: int) -> None:
    process_messages([message_id])


def _acknowledge(message: InboundMessage) -> bool:
    channel = channel_named(message.channel)
    if channel is None or not channel.can_send:
        return False
    ack = acknowledgement(message.crisis_id, message.language, message.id)
    if ack is None:
        return False
    queue_outbound(
        message.channel,
        message.sender,
        ack.text,
        crisis_id=message.crisis_id,
        kind="ack",
        language=ack.language,
        in_reply_to=message,
        key=f"ack:{message.id}",
        subject=("Re: " + message.subject) if message.subject else "",
    )
    return True


def process_waiting(deadline: float) -> float | None:
    """One slice of the job: the oldest unprocessed messages, in one batch (a small one while
    messages are still arriving, so that intake never waits long for the write lock or, in the
    same process, the GIL). While they arrive it then pauses nine times as long as it worked (at
    most MAX_PAUSE_SECONDS), so that intake, which answers the gateways, has the processor and the
    database's write lock at least nine tenths of the time (on 2 cores, processing next to a surge
    doubled intake's answer times); once they stop arriving it goes on at full speed."""
    started = time.monotonic()
    if started < _pacing["resume_at"]:  # woken by new messages during its pause: the pause stands
        return _pacing["resume_at"] - started
    newest = db.session.scalar(select(func.max(InboundMessage.received_at)))
    arriving = newest is not None and (utcnow() - newest).total_seconds() < ARRIVING_SECONDS
    ids = db.session.scalars(
        select(InboundMessage.id)
        .where(InboundMessage.processed_at.is_(None))
        .order_by(InboundMessage.id)
        .limit(SURGE_BATCH if arriving else BATCH)
    ).all()
    db.session.rollback()
    if not ids:
        return None
    process_messages(list(ids))
    pause = min(INTAKE_SHARE * (time.monotonic() - started), MAX_PAUSE_SECONDS) if arriving else 0.0
    _pacing["resume_at"] = time.monotonic() + pause
    return pause


def jobs() -> list[Job]:
    from .media import MEDIA_JOB, fetch_waiting
    from .outbox import DELIVERY_JOB, deliver_waiting

    return [
        Job(JOB, process_waiting, poll_seconds=5.0, slice_seconds=0.2),
        Job(DELIVERY_JOB, deliver_waiting, poll_seconds=30.0, slice_seconds=1.0),
        Job(MEDIA_JOB, fetch_waiting, poll_seconds=30.0, slice_seconds=1.0),
    ]

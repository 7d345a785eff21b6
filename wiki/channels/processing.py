"""The background job that makes something of each stored message ("channels"): its crisis (the
routing rules), its language, the place it names (the crisis's gazetteer), its photos (through
the report photo pipeline: type judged from the bytes, metadata stripped), an acknowledgement
to its sender when the crisis sends them, and a report at once when a trusted rule says so.

Every message is processed in its own short write transaction, after the slow work (places,
photos) is done outside it. Processing is idempotent: a message whose processing died halfway
(the server was killed) is still marked unprocessed, and is processed again on the next turn;
its report (keyed by the message) and its acknowledgement (keyed likewise) are never made twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from ..database import write_transaction
from ..errors import DomainError
from ..extensions import db
from ..media.storage import detect_type, display_copy, strip_image_metadata, write_blob
from ..models import Crisis, InboundMessage, MessageAttachment
from ..models.base import utcnow
from ..places import detect, gazetteer_for
from ..workers import Job
from .inbox import create_report
from .intake import JOB
from .language import detect_language
from .mail import MailRefused, parse_mail
from .outbox import acknowledgement, queue_outbound, wake_delivery
from .registry import channel_named
from .routing import route

BATCH = 20
IMAGE_ONLY = frozenset({"image"})


@dataclass
class Photo:
    filename: str
    content_type: str
    sha256: str
    display_sha256: str
    thumb_sha256: str
    size: int
    width: int
    height: int


def _photos(message: InboundMessage) -> tuple[list[Photo], str]:
    """The message's photos, checked and cleaned like a report's; and what was refused."""
    if message.channel != "email":
        return [], ""  # SMS gateways' media stay at the gateway (their URLs are kept in the raw message)
    try:
        images = parse_mail(message.raw).images
    except MailRefused as exc:
        return [], exc.text
    photos, problems = [], []
    limit = current_app.config["REPORT_PHOTO_MAX_BYTES"]
    for filename, data in images:
        if len(data) > limit:
            problems.append(f"{filename}: larger than {limit} bytes")
            continue
        try:
            content_type, _kind = detect_type(data, filename, IMAGE_ONLY, field="photos")
            cleaned, width, height = strip_image_metadata(data, content_type, field="photos")
        except DomainError as exc:
            problems.append(f"{filename}: {exc.message}")
            continue
        photos.append(
            Photo(
                filename[:255],
                content_type,
                write_blob(cleaned),
                write_blob(display_copy(cleaned, 1280)),
                write_blob(display_copy(cleaned, 320)),
                len(cleaned),
                width,
                height,
            )
        )
    return photos, "; ".join(problems)


def process_message(message_id: int) -> None:
    message = db.session.get(InboundMessage, message_id)
    if message is None or message.processed_at is not None:
        return
    routed = route(message)
    crisis = db.session.get(Crisis, routed.crisis_id) if routed.crisis_id else None
    language = detect_language(message.text)
    place = detect(message.text, gazetteer_for(crisis)).as_dict() if crisis is not None else None
    photos, problems = _photos(message)
    db.session.rollback()  # end the reads: what follows writes
    with write_transaction():
        message = db.session.get(InboundMessage, message_id)
        db.session.execute(delete(MessageAttachment).where(MessageAttachment.message_id == message_id))
        db.session.add_all(MessageAttachment(message_id=message_id, **photo.__dict__) for photo in photos)
        message.crisis_id = routed.crisis_id
        message.language = language
        message.place = place
        message.sector = routed.sector
        message.process_error = problems[:2000]
        message.state = "inbox"
        message.processed_at = utcnow()
        acknowledged = _acknowledge(message)
    if routed.auto_report and crisis is not None:
        try:
            create_report(db.session.get(InboundMessage, message_id), None, None, by_rule=True)
        except DomainError as exc:  # e.g. an ambiguous place: a coordinator decides in the inbox
            with write_transaction():
                db.session.get(InboundMessage, message_id).process_error = f"no automatic report: {exc.message}"[:2000]
    if acknowledged:
        wake_delivery()


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
    """One slice of the job: the oldest unprocessed messages, until the deadline."""
    ids = db.session.scalars(
        select(InboundMessage.id).where(InboundMessage.processed_at.is_(None)).order_by(InboundMessage.id).limit(BATCH)
    ).all()
    db.session.rollback()
    if not ids:
        return None
    for message_id in ids:
        try:
            process_message(message_id)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("could not process channel message %s; it is tried again", message_id)
            _note_failure(message_id)
        if time.monotonic() > deadline:
            break
    return 0.0


def _note_failure(message_id: int) -> None:
    """A message that fails every time must not hold up the others: after a failure it goes to
    the inbox unprocessed-but-readable, with the error, for a coordinator to handle by hand."""
    try:
        with write_transaction():
            message = db.session.get(InboundMessage, message_id)
            if message is not None and message.processed_at is None:
                message.processed_at = utcnow()
                message.state = "inbox"
                message.process_error = "processing failed; handle it by hand"
    except Exception:
        db.session.rollback()
        current_app.logger.exception("could not mark channel message %s as failed", message_id)


def jobs() -> list[Job]:
    from .outbox import DELIVERY_JOB, deliver_waiting

    return [
        Job(JOB, process_waiting, poll_seconds=5.0, slice_seconds=0.2),
        Job(DELIVERY_JOB, deliver_waiting, poll_seconds=30.0, slice_seconds=1.0),
    ]

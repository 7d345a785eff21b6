"""Photos a gateway holds for a message (Twilio's MMS: MediaUrl0 ...), fetched by a background
job ("channel-media"), never in the webhook request: the gateway waits for its answer in
milliseconds, a photo takes seconds.

Processing a message writes one `message_media` row per address (in the transaction that
marks the message processed); this job fetches each with the gateway's credentials (HTTP
Basic, as Twilio requires when media authentication is on), following redirects (Twilio sends
the bytes from a storage host, which is never given the credentials), within
REPORT_PHOTO_MAX_BYTES, images only (judged from the bytes, metadata stripped, as a report's
photos are). A fetched photo becomes an attachment of the message, and a photo of the report
made from it, in one transaction that also marks the row fetched: the row is the key, so a
retried webhook, a second worker or a restart never store it twice. A failure that may pass
(the network, a 5xx, a timeout) is tried again with back-off; one that will not (404, too
large, not an image, CHANNEL_MEDIA_ATTEMPTS failures) marks the row failed with its reason,
and the message says so in the inbox: the address stays, nothing is lost without a trace.
"""

from __future__ import annotations

import base64
import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from ..database import write_transaction
from ..errors import DomainError, InsufficientStorage
from ..extensions import db
from ..media.storage import detect_type, display_copy, strip_image_metadata, write_blobs
from ..models import InboundMessage, MessageAttachment, MessageMedia, Report, ReportPhoto
from ..models.base import utcnow
from ..workers import wake
from .registry import channel_named

MEDIA_JOB = "channel-media"
BATCH = 20
IMAGE_ONLY = frozenset({"image"})
MAX_BACKOFF_SECONDS = 3600
TRANSIENT_STATUS = frozenset({408, 425, 429})


@dataclass
class Photo:
    """A photo checked and cleaned like a report's, its files written (content-addressed)."""

    filename: str
    content_type: str
    sha256: str
    display_sha256: str
    thumb_sha256: str
    size: int
    width: int
    height: int


def clean_photo(filename: str, data: bytes) -> Photo:
    """Check `data` is an image within REPORT_PHOTO_MAX_BYTES, strip its metadata and store it
    with its display copies. Raises DomainError (too large, not an image)."""
    limit = current_app.config["REPORT_PHOTO_MAX_BYTES"]
    if len(data) > limit:
        raise MediaRefused(f"larger than {limit} bytes")
    content_type, _kind = detect_type(data, filename, IMAGE_ONLY, field="photos")
    cleaned, width, height = strip_image_metadata(data, content_type, field="photos")
    # All three or none (a full disk raises InsufficientStorage and leaves nothing behind).
    original, display, thumb = write_blobs([cleaned, display_copy(cleaned, 1280), display_copy(cleaned, 320)])
    return Photo(
        filename[:255],
        content_type,
        original,
        display,
        thumb,
        len(cleaned),
        width,
        height,
    )


class MediaRefused(Exception):
    """The photo cannot be taken and will not become takeable (404, too large, not an image)."""

    @property
    def text(self) -> str:
        return str(self)


class MediaUnavailable(Exception):
    """The photo could not be fetched now (network, timeout, 5xx): tried again later."""


class _CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """Follow redirects; the credentials go along only to the same scheme, host and port."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        authorization = req.unredirected_hdrs.get("Authorization")
        if new is not None and authorization:
            before, after = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(new.full_url)
            if (before.scheme, before.netloc) == (after.scheme, after.netloc):
                new.add_unredirected_header("Authorization", authorization)
        return new


def download(url: str, credentials: tuple[str, str] | None, limit: int, timeout: float) -> tuple[bytes, str]:
    """The bytes at `url` and their declared content type. Raises MediaRefused or MediaUnavailable."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise MediaRefused(f"not an http(s) address: {url[:200]}")
    request = urllib.request.Request(url, headers={"User-Agent": "crisiswiki"})
    if credentials is not None:
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    opener = urllib.request.build_opener(_CredentialsStayHome)
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get_content_type()
            if not declared.startswith("image/"):
                raise MediaRefused(f"{declared} is not an image (only photos are taken from SMS)")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise MediaRefused(f"larger than {limit} bytes ({length})")
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code in TRANSIENT_STATUS:
            raise MediaUnavailable(f"HTTP {exc.code} from the gateway") from None
        raise MediaRefused(f"HTTP {exc.code} from the gateway") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise MediaUnavailable(f"could not fetch it: {getattr(exc, 'reason', exc)}") from None
    if len(data) > limit:
        raise MediaRefused(f"larger than {limit} bytes")
    if not data:
        raise MediaUnavailable("the gateway sent no bytes")
    return data, declared


# -- queueing (by message processing) -------------------------------------------------------------


def queue_media(message: InboundMessage) -> bool:
    """Add a row for each media address of the message not queued before (in the caller's write
    transaction); True when there is something to fetch."""
    channel = channel_named(message.channel)
    addresses = channel.media_addresses(message.raw) if channel is not None else []
    if not addresses:
        return False
    known = set(db.session.scalars(select(MessageMedia.position).where(MessageMedia.message_id == message.id)))
    db.session.add_all(
        MessageMedia(message_id=message.id, position=position, url=url, state="waiting", attempts=0, last_error="")
        for position, url in enumerate(addresses)
        if position not in known
    )
    return True


def wake_media() -> None:
    wake(MEDIA_JOB)


# -- the job -------------------------------------------------------------------------------------


def _retry_after(attempts: int) -> float:
    return min(current_app.config["CHANNEL_MEDIA_RETRY_SECONDS"] * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def _record_failure(media_id: int, error: str, permanent: bool) -> None:
    with write_transaction():
        media = db.session.get(MessageMedia, media_id, populate_existing=True)
        if media is None or media.state != "waiting":
            return
        media.attempts += 1
        media.last_error = error[:2000]
        if permanent or media.attempts >= current_app.config["CHANNEL_MEDIA_ATTEMPTS"]:
            media.state, media.next_try_at = "failed", None
            message = db.session.get(InboundMessage, media.message_id)
            note = f"photo {media.position + 1} not fetched ({error[:300]}); it stays at {media.url[:500]}"
            message.process_error = "; ".join(filter(None, [message.process_error, note]))[:2000]
            current_app.logger.warning("channel message %s: %s", media.message_id, note)
        else:
            media.next_try_at = utcnow() + timedelta(seconds=_retry_after(media.attempts))


def report_photo(attachment: MessageAttachment) -> ReportPhoto:
    """A report photo of the same (cleaned) files as the message's attachment."""
    return ReportPhoto(
        sha256=attachment.sha256,
        display_sha256=attachment.display_sha256,
        thumb_sha256=attachment.thumb_sha256,
        content_type=attachment.content_type,
        size=attachment.size,
        width=attachment.width,
        height=attachment.height,
    )


def add_photos_to_report(report_id: int, attachments: list[MessageAttachment]) -> None:
    """Give the report the message's photos it does not have yet (in the caller's write
    transaction), within REPORT_MAX_PHOTOS: a photo fetched after the report was made joins it."""
    have = set(db.session.scalars(select(ReportPhoto.sha256).where(ReportPhoto.report_id == report_id)))
    room = current_app.config["REPORT_MAX_PHOTOS"] - len(have)
    for attachment in attachments:
        if room <= 0:
            return
        if attachment.sha256 in have:
            continue
        photo = report_photo(attachment)
        photo.report_id = report_id
        db.session.add(photo)
        have.add(attachment.sha256)
        room -= 1


def report_from_message(message_id: int) -> int | None:
    return db.session.scalar(select(Report.id).where(Report.client_id == f"message:{message_id}"))


def _store(media_id: int, photo: Photo) -> None:
    with write_transaction():
        media = db.session.get(MessageMedia, media_id, populate_existing=True)
        if media is None or media.state != "waiting":
            return  # stored by an earlier turn: once only
        attachment = MessageAttachment(message_id=media.message_id, **photo.__dict__)
        db.session.add(attachment)
        db.session.flush()
        media.state, media.attachment_id, media.next_try_at, media.last_error = "fetched", attachment.id, None, ""
        media.attempts += 1
        report_id = report_from_message(media.message_id)
        if report_id is not None:
            add_photos_to_report(report_id, [attachment])


def fetch_one(media_id: int) -> None:
    media = db.session.get(MessageMedia, media_id)
    if media is None or media.state != "waiting":
        return
    message = db.session.get(InboundMessage, media.message_id)
    channel = channel_named(message.channel)
    url, credentials = media.url, channel.media_credentials() if channel is not None else None
    filename = f"message-{media.message_id}-photo-{media.position + 1}"
    db.session.rollback()  # no transaction held while the gateway answers
    config = current_app.config
    try:
        data, _declared = download(url, credentials, config["REPORT_PHOTO_MAX_BYTES"], config["CHANNEL_SEND_TIMEOUT"])
        photo = clean_photo(filename, data)
    except MediaRefused as exc:
        _record_failure(media_id, str(exc), permanent=True)
    except MediaUnavailable as exc:
        _record_failure(media_id, str(exc), permanent=False)
    except InsufficientStorage as exc:  # the upload disk is full: tried again once there is room
        _record_failure(media_id, exc.message, permanent=False)
    except DomainError as exc:  # not an image after all, too many pixels
        _record_failure(media_id, exc.message, permanent=True)
    else:
        _store(media_id, photo)


def fetch_waiting(deadline: float) -> float | None:
    """One slice of the job: the photos due, oldest first (a retry waits for the job's next
    look after its time: poll_seconds)."""
    now = utcnow()
    waiting = MessageMedia.state == "waiting"
    ids = db.session.scalars(
        select(MessageMedia.id)
        .where(waiting, or_(MessageMedia.next_try_at.is_(None), MessageMedia.next_try_at <= now))
        .order_by(MessageMedia.id)
        .limit(BATCH)
    ).all()
    db.session.rollback()
    for media_id in ids:
        fetch_one(media_id)
        if time.monotonic() > deadline:
            return 0.0
    return 0.0 if len(ids) == BATCH else None

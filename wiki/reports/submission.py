"""Taking in a field report: the one service behind the web form, the API and the importer."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from .. import metrics, plugins
from ..auth.permissions import require
from ..database import begin_write
from ..errors import InvalidInput
from ..extensions import db
from ..media.storage import detect_type, display_copy, read_limited, strip_image_metadata, write_blobs
from ..models import Crisis, Report, ReportPhoto
from ..models.base import utcnow
from ..visibility import public_radius
from .input import ReportInput
from .location import locate
from .ratelimit import check_anonymous_submission
from .sources import find_or_create_source

IMAGE_ONLY = frozenset({"image"})


@dataclass(frozen=True)
class Photo:
    filename: str
    stream: object  # a binary file-like object


@dataclass(frozen=True)
class Submission:
    report: Report
    created: bool  # False when an idempotent retry returned the report stored before


def resolve_crisis(slug: str | None, lon: float | None, lat: float | None) -> Crisis:
    """The named crisis, or else the only crisis whose area holds the point."""
    if slug:
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == slug))
        if crisis is None:
            raise InvalidInput(_("There is no crisis %(slug)s.", slug=slug), field="crisis")
        return crisis
    if lon is None or lat is None:
        raise InvalidInput(_("Say which crisis this report belongs to (the crisis property)."), field="crisis")
    candidates = db.session.scalars(
        select(Crisis).where(and_(Crisis.west <= lon, Crisis.east >= lon, Crisis.south <= lat, Crisis.north >= lat))
    ).all()
    if len(candidates) == 1:
        return candidates[0]
    raise InvalidInput(_("Say which crisis this report belongs to (the crisis property)."), field="crisis")


# Built once: the id and fingerprint of the report stored under an idempotency key (a new key,
# the usual case, then costs one indexed look-up and no ORM row).
_EXISTING = select(Report.id, Report.payload_hash).where(Report.client_id == bindparam("client_id"))


def _existing(client_id: str):
    """(id, payload_hash) of the report stored under `client_id`, or None."""
    return db.session.execute(_EXISTING, {"client_id": client_id}).first()


def _replay(existing, given: ReportInput) -> Submission:
    if existing.payload_hash != given.fingerprint():
        raise InvalidInput(
            _("This idempotency key was already used for a different report; use a new key for a new report."),
            field="client_id",
        )
    return Submission(db.session.get(Report, existing.id), created=False)


def store_photos(photos: list[Photo]) -> list[ReportPhoto]:
    """Check each photo from its bytes, strip its metadata, and store it with a display copy
    and a thumbnail, so that phones on slow links never download the original. All the files
    or none: on a full disk nothing of them stays (InsufficientStorage, 507)."""
    config = current_app.config
    cleaned_photos, blobs = [], []
    for photo in photos:
        data = read_limited(photo.stream, config["REPORT_PHOTO_MAX_BYTES"], field="photos")
        content_type, _kind = detect_type(data, photo.filename, IMAGE_ONLY, field="photos")
        cleaned, width, height = strip_image_metadata(data, content_type, field="photos")
        cleaned_photos.append((content_type, len(cleaned), width, height))
        blobs += [cleaned, display_copy(cleaned, 1280), display_copy(cleaned, 320)]
    digests = write_blobs(blobs)
    return [
        ReportPhoto(
            sha256=digests[3 * n],
            content_type=content_type,
            size=size,
            width=width,
            height=height,
            display_sha256=digests[3 * n + 1],
            thumb_sha256=digests[3 * n + 2],
        )
        for n, (content_type, size, width, height) in enumerate(cleaned_photos)
    ]


def submit_report(
    given: ReportInput,
    viewer,
    photos: list[Photo] = (),
    channel: str | None = None,
    *,
    on_behalf: bool = False,
    ready_photos: list[ReportPhoto] = (),
    by_rule: bool = False,
) -> Submission:
    """Store a validated report (and its photos) for `viewer`, then announce it to plugins.

    With a client id (Idempotency-Key), a retry of the same submission returns the report
    stored the first time instead of storing it twice. The work is ordered so that the
    database's write lock is held only for the few statements that write: photos are
    processed and lookups done first (see wiki.database.begin_write).

    `on_behalf`: the viewer (a coordinator at the inbox) enters what someone else sent; the
    source is that someone, found by `given.source`'s contact, not the viewer. `by_rule`: a
    crisis's routing rule creates it from a message without anyone at the keyboard (viewer
    None); the gateway was authenticated and a coordinator made the rule. `ready_photos`:
    photos already checked and stored (a message's attachments)."""
    if not by_rule:
        require("submit_report", viewer)
    if len(photos) + len(ready_photos) > current_app.config["REPORT_MAX_PHOTOS"]:
        raise InvalidInput(
            _("At most %(n)d photos per report.", n=current_app.config["REPORT_MAX_PHOTOS"]), field="photos"
        )
    if given.client_id and (existing := _existing(given.client_id)) is not None:
        return _replay(existing, given)
    crisis = resolve_crisis(given.crisis, given.lon, given.lat)
    crisis_id = crisis.id
    location = locate(crisis, given.lon, given.lat, given.place)
    stored_photos = store_photos(list(photos)) + list(ready_photos)

    begin_write()
    if not by_rule and not getattr(viewer, "is_authenticated", False):
        check_anonymous_submission()
    source = find_or_create_source(given.source, None if (on_behalf or by_rule) else viewer)
    now = utcnow()
    authenticated = not by_rule and getattr(viewer, "is_authenticated", False)
    report = Report(
        crisis_id=crisis_id,
        title=given.title,
        description=given.description,
        lon=location.lon,
        lat=location.lat,
        location_kind=location.kind,
        location_radius_m=location.radius_m,
        location_ref=location.ref,
        public_radius_m=public_radius(location.radius_m, given.sensitive),
        place_name=given.place_name or location.name,
        occurred_at=given.occurred_at,
        received_at=now,
        updated_at=now,
        sector=given.sector,
        status="new",
        sensitive=given.sensitive,
        channel=channel or given.source.channel,
        source=source,
        submitted_by_id=viewer.id if authenticated else None,
        client_id=given.client_id,
        payload_hash=given.fingerprint() if given.client_id else None,
        published=current_app.config["REPORTS_PUBLISH"] == "on_submit",
        photos=stored_photos,
    )
    db.session.add(report)
    try:
        db.session.flush()
        plugins.call("report_before_commit", report=report, changes=None)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _existing(given.client_id) if given.client_id else None
        if existing is None:
            raise
        return _replay(existing, given)  # a concurrent retry with the same key won the race
    # The crisis it was stored under, as it was read above: the answer (report.crisis.slug) then
    # reads nothing, and takes no write lock again, after the commit.
    set_committed_value(report, "crisis", crisis)
    metrics.inc("reports_received", channel=report.channel or "unknown")
    plugins.call("report_submitted", report=report)
    return Submission(report, created=True)

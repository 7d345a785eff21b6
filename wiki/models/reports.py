"""Field reports from the ground, the sources they come from, their photos and their history.

A source's contact details are the most sensitive data crisiswiki holds: they identify people
who may be at risk. They live only on `Source`, are shown only to verifiers, coordinators and
admins, and are found again by a hash of the normalised contact, so that a source who reports
again builds one track record.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..geo import grid_cell_centre
from ..i18n import N_
from .base import UTCDateTime, utcnow
from .crises import Crisis
from .users import User

# The 11 IASC clusters (see ../shared/DOMAIN.md), plus "other".
# The names stay English here (they are matched when reports are imported); N_ puts them in the
# catalogues, and pages show them translated (`_(name)` in templates, wiki.i18n.label).
SECTORS: dict[str, str] = {
    "cccm": N_("Camp Coordination and Camp Management"),
    "early_recovery": N_("Early Recovery"),
    "education": N_("Education"),
    "shelter": N_("Emergency Shelter"),
    "telecoms": N_("Emergency Telecommunications"),
    "food": N_("Food Security"),
    "health": N_("Health"),
    "logistics": N_("Logistics"),
    "nutrition": N_("Nutrition"),
    "protection": N_("Protection"),
    "wash": N_("Water, Sanitation and Hygiene"),
    "other": N_("Other"),
}
STATUSES = ("new", "under_review", "verified", "refuted", "duplicate", "archived")
CHANNELS = ("web", "api", "sms", "email", "import", "odk")  # odk: ODK Collect, KoboCollect (wiki/openrosa)


class Source(db.Model):
    """Who reported: a logged-in user, or someone known only by the contact they gave."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    contact_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    contact: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(20), default="web")  # of the first report
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None and self.contact_hash is None


def _public_coordinate(index: int):
    """Column default: where the public sees a new report (its grid cell when it is sensitive),
    computed from the row's own values, for ORM objects and bulk inserts alike."""

    def default(context) -> float | None:
        row = context.get_current_parameters()
        if row.get("lon") is None or row.get("lat") is None:
            return None  # location unknown
        if not row.get("sensitive"):
            return (row["lon"], row["lat"])[index]
        return grid_cell_centre(row["lon"], row["lat"], current_app.config["SENSITIVE_GRID_KM"])[index]

    return default


class Report(db.Model):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_crisis_received", "crisis_id", "received_at"),
        Index("ix_reports_crisis_status", "crisis_id", "status"),
        Index("ix_reports_lat_lon", "lat", "lon"),
        # Covers what the crisis dashboard's aggregates read (wiki.desk), so they scan the index alone.
        Index(
            "ix_reports_desk",
            "crisis_id",
            "occurred_at",
            "received_at",
            "sector",
            "status",
            "channel",
            "published",
            "withdrawn_at",
            "triaged_at",
            "adm1_pcode",
            "adm2_pcode",
            "sensitive",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The point, or the centre of the place or area the report was located at; NULL when the
    # location is unknown (wiki.reports.location).
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    # How the place is known: "point" (coordinates), "place" (a named place: a point with an
    # uncertainty radius), "area" (an admin area: its centre and a radius holding it), "unknown".
    location_kind: Mapped[str] = mapped_column(String(10), default="point", server_default="point")
    location_radius_m: Mapped[float | None] = mapped_column(Float)
    location_ref: Mapped[str | None] = mapped_column(String(80))  # the gazetteer's id, e.g. pcode:HT0112
    # Where everyone who may not see exact locations sees it (wiki.visibility): computed once,
    # when the report is stored or moved, so that every request gives the same cell.
    # (NULL only in the moment before an INSERT fills them in from the row's own values, and
    # when the location is unknown.)
    public_lon: Mapped[float | None] = mapped_column(Float, default=_public_coordinate(0))
    public_lat: Mapped[float | None] = mapped_column(Float, default=_public_coordinate(1))
    # The public's uncertainty radius: never smaller than the report's own (a sensitive report's
    # grid cell does not make an area-located report look more precise than it is).
    public_radius_m: Mapped[float | None] = mapped_column(Float)
    place_name: Mapped[str] = mapped_column(String(200), default="")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the report first left the statuses awaiting a decision (new, under_review): the end of
    # its wait in the verification backlog (the dashboard's backlog and time to verify).
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sector: Mapped[str] = mapped_column(String(20), default="other")
    status: Mapped[str] = mapped_column(String(20), default="new")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # Withdrawn from public view to shield its reporters: sticky. Only a coordinator's explicit
    # republication (with a reason) clears it; the database refuses a withdrawn, published row.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str] = mapped_column(String(500), default="")
    withdrawn_by_id: Mapped[int | None] = mapped_column(Integer)  # a user id (not a foreign key: see 0006_privacy)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), index=True)
    # Idempotency: a client's key for this submission; the same key never stores two reports.
    client_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    # Administrative areas by point-in-polygon (the maps feature fills these in).
    adm1_pcode: Mapped[str | None] = mapped_column(String(40), index=True)
    adm1_name: Mapped[str | None] = mapped_column(String(200))
    adm2_pcode: Mapped[str | None] = mapped_column(String(40), index=True)
    adm2_name: Mapped[str | None] = mapped_column(String(200))

    crisis: Mapped[Crisis] = relationship()
    source: Mapped[Source] = relationship()
    photos: Mapped[list[ReportPhoto]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportPhoto.id"
    )
    duplicate_of: Mapped[Report | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Report {self.id} {self.status}>"


class ReportPhoto(db.Model):
    """A photo on a report: the original (metadata stripped) and a smaller copy for phones."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    display_sha256: Mapped[str] = mapped_column(String(64))  # at most 1280 px, for the report page
    thumb_sha256: Mapped[str] = mapped_column(String(64))  # at most 320 px, for lists and popups
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship(back_populates="photos")


class ReportChange(db.Model):
    """One entry of a report's history: who changed which fields, from what to what, when."""

    __tablename__ = "report_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(120), default="")
    changes: Mapped[dict] = mapped_column(JSON)  # field -> [old, new]
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactView(db.Model):
    """One showing of a reporter's contact details to someone: who, when, which report, where.
    Admins read these (wiki.contact_log); nothing else does."""

    __tablename__ = "contact_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str] = mapped_column(String(80), default="")
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    # A channel message's sender (wiki.channels); a plain integer: messages are a later table.
    message_id: Mapped[int | None] = mapped_column(Integer, index=True)
    endpoint: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RateLimitCounter(db.Model):
    """Fixed-window request counters shared by every worker and server through the database."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)  # window start, seconds since the epoch
    count: Mapped[int] = mapped_column(Integer, default=0)


class ReportTally(db.Model):
    """Counts of reports kept current by database triggers on `reports` (migration 0011_desk),
    for the crisis dashboard (wiki.desk.aggregates): per crisis, kind, day, sector and province, a
    value and how many reports (and verified reports) have it. Withdrawn reports are never
    counted. Kinds: "status" (value: the status), "channel" (the channel), "district" (the
    admin-2 P-code), all by the day of the event; "in" by the day received, "out" by the day
    the report left the verification backlog, "wait" (value: the bin of its wait, for reports
    now verified or refuted) by the day it was decided."""

    __tablename__ = "report_tallies"

    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    sector: Mapped[str] = mapped_column(String(20), primary_key=True)
    adm1: Mapped[str] = mapped_column(String(40), primary_key=True)  # "" when the report has none
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    v: Mapped[int] = mapped_column(Integer, default=0)  # of which verified


class ReportHourTally(db.Model):
    """The counts over time of ReportTally by the hour, kept current by database triggers on
    `reports` (migration 0014_desk_hours), for the dashboard's hourly charts: kinds "status" (by
    the hour of the event), "in" (received), "out" (left the verification backlog) and "wait"
    (decided), with the same values. Withdrawn reports are never counted."""

    __tablename__ = "report_hour_tallies"
    __table_args__ = ({"sqlite_with_rowid": False},)  # rows in the order of their key (0014_desk_hours)

    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    hour: Mapped[str] = mapped_column(String(13), primary_key=True)  # YYYY-MM-DD HH (UTC)
    sector: Mapped[str] = mapped_column(String(20), primary_key=True)
    adm1: Mapped[str] = mapped_column(String(40), primary_key=True)  # "" when the report has none
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    v: Mapped[int] = mapped_column(Integer, default=0)  # of which verified

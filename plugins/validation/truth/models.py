"""Structured claims carried by reports, and what truth discovery made of them.

- `ClaimSubject`: the thing a claim is about: an entity (an admin area, a road, a camp), an
  attribute ("people_displaced", "road_status") and the date the value holds for, within one
  crisis. A subject holds numbers or text, never both, and numbers in one unit. The latest
  truth-discovery run leaves its proposal here (value, confidence, each value's probability).
- `ReportClaim`: one report's value for one subject (a report says one thing per subject;
  saying it again replaces the value). The claim's source is the report's source.
- `ClaimSourceReliability`: each source's reliability as truth discovery estimated it from the
  crisis's claims (per crisis: a source may be good on one emergency and not on another).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wiki.extensions import db
from wiki.models import Crisis, Report
from wiki.models.base import UTCDateTime, utcnow

NUMERIC = "numeric"
CATEGORICAL = "categorical"


class ClaimSubject(db.Model):
    __tablename__ = "validation_claim_subjects"
    __table_args__ = (
        UniqueConstraint(
            "crisis_id", "subject_key", "attribute", "as_of", name="uq_validation_claim_subjects_identity"
        ),
        # The subjects waiting for a re-run of truth discovery (no computed_at): the background
        # job looks for them every few seconds, and reads only these rows (v0011_pending_subjects).
        Index(
            "ix_validation_claim_subjects_pending",
            "crisis_id",
            sqlite_where=text("computed_at IS NULL"),
            postgresql_where=text("computed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))  # as first written, e.g. "HT0111" or "Route Nationale 2"
    subject_key: Mapped[str] = mapped_column(String(200))  # case- and space-folded, for matching
    attribute: Mapped[str] = mapped_column(String(100))  # e.g. "people_displaced"
    as_of: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12))  # numeric or categorical
    unit: Mapped[str] = mapped_column(String(40), default="")
    # The latest truth-discovery run: the proposed value (None on a tie), its confidence and
    # [{"value", "probability"}] for every value claimed.
    proposed: Mapped[dict | None] = mapped_column(JSON)  # {"value": ...} so that a proposal of 0 or "" is not lost
    confidence: Mapped[float | None] = mapped_column(Float)
    distribution: Mapped[list | None] = mapped_column(JSON)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    crisis: Mapped[Crisis] = relationship()
    claims: Mapped[list[ReportClaim]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", order_by="ReportClaim.id"
    )


class ReportClaim(db.Model):
    __tablename__ = "validation_claims"
    __table_args__ = (UniqueConstraint("report_id", "subject_id", name="uq_validation_claims_report_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("validation_claim_subjects.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    number: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(String(200))  # as written
    text_key: Mapped[str | None] = mapped_column(String(200))  # case- and space-folded: what is compared
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subject: Mapped[ClaimSubject] = relationship(back_populates="claims")
    report: Mapped[Report] = relationship()

    @property
    def value(self) -> float | str:
        return self.number if self.text is None else self.text


class ClaimSourceReliability(db.Model):
    __tablename__ = "validation_claim_reliability"

    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True, index=True)
    reliability: Mapped[float] = mapped_column(Float)
    claims: Mapped[float] = mapped_column(Float)  # weighted claims the estimate rests on
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

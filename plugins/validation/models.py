"""The validation plugin's own tables (all prefixed `validation_`; migration branch "validation").

- `Assessment`: one verifier's Admiralty grading of one report. Appended, never updated: a
  verifier who grades again adds a row, and the latest row of each verifier is the one that
  counts, so the history of every judgement is kept.
- `ReportScore`: the current score of a report, with the explanation of every factor and the
  evidence from its neighbours (kept so that a new neighbour updates it without a new search).
- `StaleSource`: a source whose reports' scores are out of date after its state changed (one
  row, whatever the number of its reports), until the scoring batches have caught up.
- `SourceReliability`: what is known of a source's reliability (the outcomes of its reports
  and the verifiers' grades), recomputed whenever one of them changes.
- `CombinedAssessment` and `CombinedSource`: The Matrix's "assessment", one report written by
  a verifier from several related reports, linked to them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, or_, select, type_coerce
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from wiki.extensions import db
from wiki.models import Report, User
from wiki.models.base import UTCDateTime, utcnow


class Assessment(db.Model):
    __tablename__ = "validation_assessments"
    __table_args__ = (Index("ix_validation_assessments_report_created", "report_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reliability: Mapped[str] = mapped_column(String(1))  # A-F
    credibility: Mapped[int] = mapped_column(Integer)  # 1-6
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship()
    verifier: Mapped[User | None] = relationship()

    @property
    def code(self) -> str:
        return f"{self.reliability}{self.credibility}"


class ReportScore(db.Model):
    __tablename__ = "validation_scores"
    # Who may count a report among their nearest neighbours: a box on this index, read from the
    # index alone (a burst of thousands of reports at one place stays cheap).
    __table_args__ = (Index("ix_validation_scores_nearby", "crisis_id", "sector", "lat", "lon", "reach_km", "t"),)

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    # The report's crisis, sector, place and event time (epoch seconds) as last scored.
    crisis_id: Mapped[int] = mapped_column(Integer)
    sector: Mapped[str] = mapped_column(String(20))
    lat: Mapped[float | None] = mapped_column(Float)  # NULL: the report's location is unknown
    lon: Mapped[float | None] = mapped_column(Float)
    t: Mapped[float] = mapped_column(Float)
    # The estimated probability that the report is accurate; NULL while nothing is known of its
    # source or its information (scoring.py: no verdict that nobody made).
    score: Mapped[float | None] = mapped_column(Float, index=True)
    log_odds: Mapped[float] = mapped_column(Float)  # the sum of the factors, also when there is no score
    admiralty: Mapped[str | None] = mapped_column(String(2))  # e.g. "B2"; NULL unless both parts are known
    reliability_grade: Mapped[str | None] = mapped_column(String(1))  # A-F, NULL while unknown
    credibility_grade: Mapped[int | None] = mapped_column(Integer)  # 1-6, NULL while unknown
    # not_assessed, partly_assessed, assessed or graded (scoring.ASSESSMENT_STATES)
    assessment: Mapped[str] = mapped_column(String(20), default="not_assessed")
    source_reliability: Mapped[float] = mapped_column(Float)
    # [{factor, value, delta_log_odds, delta_score, sentence, params}] in the order they were added
    explanation: Mapped[list] = mapped_column(JSON)
    # neighbour report id (as text) -> [group, kind, weight, distance km]: the evidence each neighbour gives
    neighbours: Mapped[dict] = mapped_column(JSON)
    # How far the stored evidence reaches: the distance of its farthest neighbour once it holds
    # VALIDATION_MAX_NEIGHBOURS, else the radius. A report farther than this cannot change it.
    reach_km: Mapped[float] = mapped_column(Float)
    # True when something it depends on changed and no scoring batch has rescored it since (batch.py).
    # Whether the score is out of date is `stale` below: this, or its source marked (StaleSource).
    marked_stale: Mapped[bool] = mapped_column("stale", Boolean, default=False, index=True)
    # The stale-source generation (StaleSource) when it was last scored from scratch (store.py)
    source_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaleSource(db.Model):
    """A source whose state changed since some of its reports were scored: each of its reports
    scored from scratch with a `source_generation` below `generation` is out of date, until a
    scoring batch has scored it again (batch.py); the row goes once none is left. One narrow row
    a click, instead of rewriting every score row of a source with thousands of reports."""

    __tablename__ = "validation_stale_sources"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    # From a counter of the whole database (the Progress row "stale_generation"), so that a
    # source marked again, after its row went, is never confused with an earlier mark.
    generation: Mapped[int] = mapped_column(Integer)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _out_of_date():
    """Is a score row out of date: marked stale itself, or scored before its source was marked?"""
    scores = ReportScore.__table__
    reports = Report.__table__.alias("stale_report")
    marks = StaleSource.__table__
    by_source = (
        select(marks.c.source_id)
        .select_from(reports.join(marks, marks.c.source_id == reports.c.source_id))
        .where(reports.c.id == scores.c.report_id, marks.c.generation > scores.c.source_generation)
        .correlate(scores)
        .exists()
    )
    return type_coerce(or_(scores.c.stale, by_source), Boolean)


ReportScore.stale = column_property(_out_of_date())


class SourceReliability(db.Model):
    __tablename__ = "validation_source_reliability"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(80))  # dependency key: one per person (contact, account or source)
    established: Mapped[bool] = mapped_column(Boolean, default=False)
    prior: Mapped[float] = mapped_column(Float)  # reliability before any outcome
    prior_basis: Mapped[str] = mapped_column(String(20))  # grades, organisation, account, channel, anonymous
    grades: Mapped[int] = mapped_column(Integer, default=0)  # verifiers' reliability grades counted in the prior
    verified: Mapped[int] = mapped_column(Integer, default=0)
    refuted: Mapped[int] = mapped_column(Integer, default=0)
    # alpha/beta of the Beta posterior, with the outcomes decayed to `updated_at`
    alpha: Mapped[float] = mapped_column(Float)
    beta: Mapped[float] = mapped_column(Float)
    # [[event time (epoch seconds), +1 verified / -1 refuted, report id], ...], oldest first
    outcomes: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def reliability(self) -> float:
        return self.alpha / (self.alpha + self.beta)


class CombinedAssessment(db.Model):
    """A report a verifier wrote from several related reports (its `sources`)."""

    __tablename__ = "validation_combined_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    withdrew_originals: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship()
    verifier: Mapped[User | None] = relationship()
    sources: Mapped[list[CombinedSource]] = relationship(
        cascade="all, delete-orphan", order_by="CombinedSource.report_id"
    )


class CombinedSource(db.Model):
    __tablename__ = "validation_combined_sources"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("validation_combined_assessments.id", ondelete="CASCADE"), primary_key=True
    )
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True, index=True)

    report: Mapped[Report] = relationship()


class Progress(db.Model):
    """Book-keeping of the scoring: "scored_through", a report id below which every report has
    a score (the catch-up after a surge starts there)."""

    __tablename__ = "validation_progress"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Assignment(db.Model):
    """Who works on a report: appended, never updated. The latest row of a report says who has
    it now (`assignee_id` NULL: nobody, after a release); the rows before are its history."""

    __tablename__ = "validation_assignments"
    __table_args__ = (Index("ix_validation_assignments_report", "report_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])


class Note(db.Model):
    """A verifier's or coordinator's internal note on a report: never shown to anyone else, never
    exported, never in the search index. `@username` in it mentions someone (a Notice)."""

    __tablename__ = "validation_notes"
    __table_args__ = (Index("ix_validation_notes_report_created", "report_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class Notice(db.Model):
    """An in-app notice for one user: a mention in a note, or a report assigned to them."""

    __tablename__ = "validation_notices"
    __table_args__ = (Index("ix_validation_notices_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # mention, assigned
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    note_id: Mapped[int | None] = mapped_column(ForeignKey("validation_notes.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    report: Mapped[Report] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class ScoreTally(db.Model):
    """How many reports have each score band and Admiralty verdict, per crisis, day of the event,
    sector and province: the dashboard's score and verdict charts for the views the core's
    tallies answer (wiki.desk.charts.TallyFilter). Kept current by database triggers on
    `validation_scores` and on `reports` (migration v0007_desk_tallies); withdrawn reports are
    never counted, as in the core's `report_tallies`."""

    __tablename__ = "validation_score_tallies"
    # A view with a minimum score reads its bands only (migration v0008_band_tallies).
    __table_args__ = (
        Index("ix_validation_score_tallies_band", "crisis_id", "band", "admiralty", "day", "sector", "adm1", "n"),
    )

    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC) of the event
    sector: Mapped[str] = mapped_column(String(20), primary_key=True)
    adm1: Mapped[str] = mapped_column(String(40), primary_key=True)  # "" when the report has none
    # The score's twentieth (0 ... 20, v0009_band_twentieths: desk_tallies.band_of), -1 without a score.
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    admiralty: Mapped[str] = mapped_column(String(2), primary_key=True)  # "" without a verdict
    n: Mapped[int] = mapped_column(Integer, default=0)


class BandTally(db.Model):
    """The counts of the core's `report_tallies` (kinds, values and the verified among them, per
    crisis, day, sector and province) for each score band (a twentieth): a dashboard view with a
    minimum (or maximum) score in twentieths sums the bands in range (desk_tallies.py). Kept current
    by database triggers on `validation_scores` and on `reports` (migrations v0008_band_tallies,
    v0009_band_twentieths); reports without a score and withdrawn reports are never counted."""

    __tablename__ = "validation_band_tallies"
    __table_args__ = ({"sqlite_with_rowid": False},)  # rows in the order of their key (v0008_band_tallies)

    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True)  # the score's twentieth: 0 ... 20 (band_of)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    sector: Mapped[str] = mapped_column(String(20), primary_key=True)
    adm1: Mapped[str] = mapped_column(String(40), primary_key=True)  # "" when the report has none
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    v: Mapped[int] = mapped_column(Integer, default=0)  # of which verified


class BandHourTally(db.Model):
    """BandTally by the hour, for the kinds the hourly charts read (as the core's
    `report_hour_tallies`: "status", "in", "out", "wait"): a dashboard view by the hour with a
    minimum score in twentieths. Kept current by the same triggers (migration v0009_band_twentieths)."""

    __tablename__ = "validation_band_hour_tallies"
    __table_args__ = ({"sqlite_with_rowid": False},)  # rows in the order of their key

    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True)  # the score's twentieth: 0 ... 20
    hour: Mapped[str] = mapped_column(String(13), primary_key=True)  # YYYY-MM-DD HH (UTC)
    sector: Mapped[str] = mapped_column(String(20), primary_key=True)
    adm1: Mapped[str] = mapped_column(String(40), primary_key=True)  # "" when the report has none
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    v: Mapped[int] = mapped_column(Integer, default=0)  # of which verified

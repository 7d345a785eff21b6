"""Report imports that run in the background worker: the uploaded file stays in the instance
folder (wiki.reports.import_uploads) and this row says how to read it, how far the import has
got and what it found so far (wiki.reports.import_jobs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .crises import Crisis
from .users import User

IMPORT_STATES = ("queued", "checking", "importing", "done", "failed")


class ImportJob(db.Model):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(40), index=True)  # the kept upload's (a retry makes a second job)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200))
    mapping: Mapped[dict] = mapped_column(JSON)  # field -> column index
    options: Mapped[dict] = mapped_column(JSON)  # encoding, day_first, timezone, partial, organisation
    # queued; checking (every row, before any is stored: all-or-nothing imports); importing; done; failed
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    total_rows: Mapped[int | None] = mapped_column(Integer)  # counted by the worker (None: not yet, or unknown)
    # Rows of the current pass handled, committed with what they wrote: a worker that dies goes on from here.
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict] = mapped_column(JSON, default=dict)  # the counts and failures so far
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    crisis: Mapped[Crisis] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

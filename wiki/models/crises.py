"""A crisis: the workspace that groups pages, layers and reports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class Crisis(db.Model):
    __tablename__ = "crises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    glide: Mapped[str | None] = mapped_column(String(40))  # e.g. EQ-2010-000009-HTI
    description: Mapped[str] = mapped_column(Text, default="")
    # Area of interest as a bbox in WGS 84 (west, south, east, north).
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    # The language its situation reports are drafted in (one of LANGUAGES).
    language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Bumped by every change that can alter how the crisis's pages look (a save anywhere can
    # turn a red link blue); part of the key of the anonymous page cache (wiki/pages/cache.py).
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        if None in (self.west, self.south, self.east, self.north):
            return None
        return (self.west, self.south, self.east, self.north)

    @property
    def is_active(self) -> bool:
        return self.end_date is None or self.end_date >= date.today()

    def __repr__(self) -> str:
        return f"<Crisis {self.slug}>"

"""Administrative boundaries of a crisis's country (OCHA Common Operational Datasets).

One row per admin area and level. P-codes are text: "HT0111" and "HT111" are different
places, and a leading zero is part of the code.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .crises import Crisis

LEVELS = (1, 2)


class AdminArea(db.Model):
    __tablename__ = "admin_areas"
    __table_args__ = (UniqueConstraint("crisis_id", "level", "pcode", name="uq_admin_areas_crisis_level_pcode"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)  # 1 = region/department, 2 = district/commune
    pcode: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    # Its other names in the file (other languages: ADM1_FR, ADM1_HT ...; alternative names), for
    # the gazetteer (wiki.places).
    alt_names: Mapped[list] = mapped_column(JSON, default=list)
    parent_pcode: Mapped[str | None] = mapped_column(String(40))  # the admin-1 area of an admin-2 area
    parent_name: Mapped[str | None] = mapped_column(String(200))
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON Polygon or MultiPolygon
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    crisis: Mapped[Crisis] = relationship()

    def __repr__(self) -> str:
        return f"<AdminArea {self.level} {self.pcode}>"

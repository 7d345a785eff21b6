"""Map data: GeoJSON layers with their append-only revisions, and the index the map reads
reports through.

A layer row holds only what is true of it now (crisis, page, title, current revision, deletion);
every upload or edit is a `LayerRevision` that is never changed afterwards, so a layer has a
history and can be reverted exactly like a wiki page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .crises import Crisis
from .pages import Page
from .reports import Report
from .users import User


class Layer(db.Model):
    __tablename__ = "layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))  # the current revision's, for lists
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("layer_revisions.id", use_alter=True, name="fk_layers_current_revision")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    crisis: Mapped[Crisis] = relationship()
    page: Mapped[Page | None] = relationship()
    current_revision: Mapped[LayerRevision | None] = relationship(foreign_keys=[current_revision_id], post_update=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Layer {self.id} {self.title!r}>"


class LayerRevision(db.Model):
    __tablename__ = "layer_revisions"
    __table_args__ = (UniqueConstraint("layer_id", "number", name="uq_layer_revisions_layer_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... within the layer
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("layer_revisions.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(500), default="")  # who made the data
    licence: Mapped[str] = mapped_column(String(200), default="")
    style: Mapped[dict] = mapped_column(JSON, default=dict)  # simplestyle defaults for the whole layer
    geojson: Mapped[str] = mapped_column(Text)  # a validated RFC 7946 FeatureCollection, compact JSON
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of `geojson`
    # Extent of the data (west, south, east, north); empty layers have none.
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20), default="edit")  # create|edit|revert
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    layer: Mapped[Layer] = relationship(foreign_keys=[layer_id])
    author: Mapped[User | None] = relationship()

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        if None in (self.west, self.south, self.east, self.north):
            return None
        return (self.west, self.south, self.east, self.north)

    def __repr__(self) -> str:
        return f"<LayerRevision {self.layer_id}#{self.number}>"


# The crisis map reads a crisis's reports by position: a view of a whole country aggregates
# every report in it, and this covering index lets it do so from the index alone, without
# touching the report rows (see wiki.maps.viewport). Declared here, with the other map
# storage, so that the models describe exactly what the 0003_maps migration creates.
Index(
    "ix_reports_map_viewport",
    Report.crisis_id,
    Report.lon,
    Report.lat,
    Report.published,
    Report.sensitive,
    Report.status,
    Report.sector,
)
# The sensitive reports the public sees (at their stored public point), few among many.
Index(
    "ix_reports_map_sensitive",
    Report.crisis_id,
    Report.lon,
    Report.lat,
    Report.published,
    Report.sensitive,
    Report.public_lon,
    Report.public_lat,
    sqlite_where=text("sensitive IS 1 AND published IS 1"),
    postgresql_where=text("sensitive IS true AND published IS true"),
)

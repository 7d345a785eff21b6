"""Search tables: the queue that carries changes to the index, and (for the PostgreSQL backend)
the documents and the vocabulary.

The database is the source of truth; the index follows it through `search_queue`. A hook appends
a row in a short transaction of its own; the single index writer applies pending rows and marks
them processed. Processed rows are kept for a day so that `crisiswiki reindex` can replay what
changed while it was building.

`search_documents` and `search_terms` exist on every database (so that the schema is the same
everywhere) but only the PostgreSQL backend fills them; `tsv` is a `tsvector` there and plain
text, always empty, on SQLite.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models.base import UTCDateTime, utcnow

KINDS = ("page", "report", "layer")
OPS = ("index", "delete", "score")  # score: only the score changed (the writer may skip it)
TsVector = TSVECTOR().with_variant(Text(), "sqlite")


class SearchQueueEntry(db.Model):
    __tablename__ = "search_queue"
    __table_args__ = (Index("ix_search_queue_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # page | report | layer
    object_id: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(10), default="index")  # index | delete
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SearchQueueEntry {self.id} {self.op} {self.kind}:{self.object_id}>"


class SearchDocument(db.Model):
    """One searchable thing as the PostgreSQL backend indexes it."""

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_documents_crisis_kind", "crisis_id", "kind"),
    )

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    object_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(2))  # en | fr | es | xx (see wiki.search.analysis)
    sector: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(20))
    adm1_pcode: Mapped[str | None] = mapped_column(String(40))
    adm1_name: Mapped[str | None] = mapped_column(String(200))
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # Both pairs hold the public point (a sensitive report's grid cell): the index never holds its exact one.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    public_lon: Mapped[float | None] = mapped_column(Float)
    public_lat: Mapped[float | None] = mapped_column(Float)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for the catch-up scan
    tsv: Mapped[str | None] = mapped_column(TsVector)


class SearchTerm(db.Model):
    """The vocabulary of published documents, for "did you mean" on PostgreSQL (pg_trgm)."""

    __tablename__ = "search_terms"
    __table_args__ = (
        Index("ix_search_terms_trgm", "term", postgresql_using="gin", postgresql_ops={"term": "gin_trgm_ops"}),
    )

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    doc_count: Mapped[int] = mapped_column(Integer, default=0)

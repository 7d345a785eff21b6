"""Wiki pages and their append-only revisions.

A page row holds only what is true of the page now (slug, title, current revision, protection,
deletion); everything that was ever written lives in `revisions`, which is never updated or
deleted. The rendered HTML is computed once, when the revision is written, and kept on it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .crises import Crisis
from .users import User


class Page(db.Model):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("crisis_id", "slug", name="uq_pages_crisis_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", use_alter=True, name="fk_pages_current_revision")
    )
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    crisis: Mapped[Crisis] = relationship()
    current_revision: Mapped[Revision | None] = relationship(foreign_keys=[current_revision_id], post_update=True)
    categories: Mapped[list[PageCategory]] = relationship(cascade="all, delete-orphan", order_by="PageCategory.name")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Page {self.crisis_id}/{self.slug}>"


class Revision(db.Model):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("page_id", "number", name="uq_revisions_page_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... within the page
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)  # rendered and sanitised once, here
    categories: Mapped[str] = mapped_column(Text, default="")  # newline-separated, as saved
    comment: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20), default="edit")  # create|edit|revert|rename|merge
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str] = mapped_column(String(120), default="")  # kept if the user goes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    page: Mapped[Page] = relationship(foreign_keys=[page_id])
    parent: Mapped[Revision | None] = relationship(remote_side=[id])
    author: Mapped[User | None] = relationship()

    @property
    def category_list(self) -> list[str]:
        return [name for name in self.categories.split("\n") if name]

    def __repr__(self) -> str:
        return f"<Revision {self.page_id}#{self.number}>"


class PageRedirect(db.Model):
    """An old slug that now points at a renamed page."""

    __tablename__ = "page_redirects"
    __table_args__ = (UniqueConstraint("crisis_id", "slug", name="uq_page_redirects_crisis_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(200))
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)


class PageCategory(db.Model):
    """The categories of a page's current revision, for the category index."""

    __tablename__ = "page_categories"

    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class PageLink(db.Model):
    """The wiki links of a page's current revision: red links and "what links here"."""

    __tablename__ = "page_links"

    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True)
    target_slug: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class Watch(db.Model):
    __tablename__ = "watches"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SitrepDraft(db.Model):
    """A situation report drafted from the reports (wiki.pages.drafts): which page it made, for
    which period and area, who drafted it, the draft before it, and the reports it cited."""

    __tablename__ = "sitrep_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), unique=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))  # the draft as written
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("sitrep_drafts.id", ondelete="SET NULL"))
    period_start: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    period_end: Mapped[str] = mapped_column(String(10))
    area: Mapped[str | None] = mapped_column(String(40))  # a P-code, or None: the whole crisis
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cited: Mapped[list] = mapped_column(JSON, default=list)  # report ids
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    page: Mapped[Page] = relationship(foreign_keys=[page_id])
    revision: Mapped[Revision] = relationship(foreign_keys=[revision_id])

"""Recent changes (per crisis, site-wide, watched pages) as rows and as an Atom feed."""

from __future__ import annotations

from collections.abc import Sequence

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..feeds import new_feed
from ..models import Crisis, Page, Revision, Watch
from ..vocabulary import label


def recent_changes(crisis: Crisis | None = None, limit: int = 50, watcher_id: int | None = None) -> Sequence[Revision]:
    """The latest revisions of pages that are not deleted, newest first."""
    query = (
        select(Revision)
        .join(Revision.page)
        .join(Page.crisis)
        .options(contains_eager(Revision.page).contains_eager(Page.crisis))
        .where(Page.deleted_at.is_(None))
        .order_by(Revision.created_at.desc(), Revision.id.desc())
        .limit(limit)
    )
    if crisis is not None:
        query = query.where(Page.crisis_id == crisis.id)
    if watcher_id is not None:
        query = query.join(Watch, Watch.page_id == Page.id).where(Watch.user_id == watcher_id)
    return db.session.scalars(query).all()


def atom_feed(revisions: Sequence[Revision], title: str, self_url: str, site_url: str) -> bytes:
    feed = new_feed(title, self_url, site_url, revisions[0].created_at if revisions else None)
    for revision in reversed(revisions):  # feedgen prepends each entry
        page = revision.page
        link = url_for(
            "pages.revision", crisis_slug=page.crisis.slug, slug=page.slug, number=revision.number, _external=True
        )
        entry = feed.add_entry()
        entry.id(link)
        entry.title(f"{page.title} ({page.crisis.name}): {revision.comment or label('kind', revision.kind)}")
        entry.link(href=link)
        entry.author({"name": revision.author_name or gettext("anonymous")})
        entry.updated(revision.created_at)
        entry.summary(revision.comment or label("kind", revision.kind))
    return feed.atom_str(pretty=True)

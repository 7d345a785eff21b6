"""Saving pages: every change is a new, append-only revision.

These functions are the one service layer behind both doors (the HTML views and the JSON API).
Each one checks permissions, writes in a single transaction, commits, and only then tells the
plugins (`page_saved`), so a plugin never sees a save that could still roll back.

Concurrent saves are serialised per page: on PostgreSQL by locking the page row, on SQLite by
the write lock every unsafe request takes up front (see wiki.database). The unique
(page, number) constraint is the last line of defence: a lost race is an error, never a
silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import plugins, versioning
from ..auth.permissions import require, require_edit_page
from ..database import begin_write, fits_id
from ..errors import Conflict, EditConflict, InvalidInput, NotFound, TooLarge
from ..extensions import db
from ..markup import render_markdown, slugify
from ..models import Crisis, Page, PageCategory, PageLink, PageRedirect, Revision, User
from ..models.base import utcnow
from .cache import bump_generation
from .merge import has_conflict_markers, merge_three_way, normalise_newlines

MAX_TITLE = 200
MAX_COMMENT = 500
MAX_CATEGORIES = 30


@dataclass(frozen=True)
class SaveResult:
    revision: Revision
    merged: bool = False  # True when the edit was merged with changes saved meanwhile
    unchanged: bool = False  # True when the text was identical and nothing was written


def page_url_base(crisis: Crisis) -> str:
    return f"/c/{crisis.slug}/wiki/"


def clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput(_("A page needs a title."), field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(_("A title has at most %(n)d characters.", n=MAX_TITLE), field="title")
    if not slugify(title):
        raise InvalidInput(_("The title must contain letters or digits."), field="title")
    if title.lower().startswith(("special:", "api:")):
        raise InvalidInput(_("Titles may not start with a reserved prefix."), field="title")
    return title


def clean_body(body: str | None) -> str:
    if body is None or not isinstance(body, str):
        raise InvalidInput(_("The page text must be a string."), field="body")
    body = normalise_newlines(body).rstrip()
    if len(body.encode()) > current_app.config["PAGE_MAX_BYTES"]:
        limit_kb = current_app.config["PAGE_MAX_BYTES"] // 1024
        raise TooLarge(_("The page text is larger than the limit of %(kb)d KB.", kb=limit_kb), field="body")
    return body + "\n" if body else ""


def clean_comment(comment: str | None) -> str:
    comment = " ".join((comment or "").split())
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(_("An edit summary has at most %(n)d characters.", n=MAX_COMMENT), field="comment")
    return comment


def clean_categories(categories) -> list[str]:
    if categories is None:
        return []
    if isinstance(categories, str):
        categories = categories.replace("\n", ",").split(",")
    if not isinstance(categories, (list, tuple)) or not all(isinstance(c, str) for c in categories):
        raise InvalidInput(_("Categories are a list of names."), field="categories")
    names = list(dict.fromkeys(" ".join(c.split())[:100] for c in categories if c.strip()))
    if len(names) > MAX_CATEGORIES:
        raise InvalidInput(_("A page has at most %(n)d categories.", n=MAX_CATEGORIES), field="categories")
    return names


def find_page(crisis: Crisis, slug: str, include_deleted: bool = False) -> tuple[Page | None, bool]:
    """The page at `slug` in `crisis`, following a rename redirect; returns (page, redirected)."""
    page = db.session.scalar(select(Page).where(Page.crisis_id == crisis.id, Page.slug == slug))
    redirected = False
    if page is None:
        target = db.session.scalar(
            select(Page)
            .join(PageRedirect, PageRedirect.page_id == Page.id)
            .where(PageRedirect.crisis_id == crisis.id, PageRedirect.slug == slug)
        )
        page, redirected = target, target is not None
    if page is not None and page.is_deleted and not include_deleted:
        return None, False
    return page, redirected


def get_page_or_404(crisis: Crisis, slug: str, include_deleted: bool = False) -> Page:
    page, _redirected = find_page(crisis, slug, include_deleted)
    if page is None:
        raise NotFound(_("There is no page %(slug)s in %(crisis)s.", slug=slug, crisis=crisis.name))
    return page


def _append_revision(
    page: Page,
    *,
    title: str,
    body: str,
    categories: list[str],
    comment: str,
    kind: str,
    author: User | None,
    parent: Revision | None,
    rendered: Rendered | None = None,
) -> Revision:
    if rendered is None or rendered.source != body:
        rendered = render(page.crisis, body)
    revision = versioning.append_revision(
        page,
        Revision,
        parent,
        kind=kind,
        comment=comment,
        author=author,
        page=page,
        title=title,
        body=body,
        html=rendered.html,
        categories="\n".join(categories),
    )
    bump_generation(page.crisis_id)
    _refresh_index_rows(page, categories, rendered.links)
    return revision


@dataclass(frozen=True)
class Rendered:
    source: str
    html: str
    links: tuple[str, ...]


def render(crisis: Crisis, body: str) -> Rendered:
    """Render a body ahead of the write lock (rendering is the slow part of a save)."""
    result = render_markdown(body, link_base=page_url_base(crisis))
    return Rendered(body, result.html, result.links)


def _refresh_index_rows(page: Page, categories: list[str], links: tuple[str, ...]) -> None:
    """Keep the category and link tables in step with the current revision."""
    db.session.execute(delete(PageCategory).where(PageCategory.page_id == page.id))
    db.session.execute(delete(PageLink).where(PageLink.page_id == page.id))
    db.session.add_all(PageCategory(page_id=page.id, name=name) for name in categories)
    db.session.add_all(PageLink(page_id=page.id, target_slug=slug) for slug in dict.fromkeys(links))


def _commit_and_announce(page: Page, revision: Revision) -> None:
    plugins.call("page_before_commit", page=page, revision=revision)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_("Someone saved this page at the same moment; reload it and try again.")) from exc
    plugins.call("page_saved", page=page, revision=revision)


def create_page(
    crisis: Crisis, title: str, body: str, author: User | None, comment: str = "", categories=None
) -> Revision:
    """Create a page with its first revision; a title already in use is a 409."""
    require("create_page", author)
    title, body = clean_title(title), clean_body(body)
    comment, categories = clean_comment(comment), clean_categories(categories)
    slug = slugify(title)
    rendered = render(crisis, body)
    begin_write()
    existing, _redirected = find_page(crisis, slug, include_deleted=True)
    if existing is not None and existing.slug == slug:
        raise Conflict(
            _("A page called “%(title)s” already exists.", title=existing.title), field="title", page=existing.slug
        )
    page = Page(crisis=crisis, slug=slug, title=title, created_at=utcnow())
    db.session.add(page)
    try:
        db.session.flush()
        if existing is not None:  # the title was a redirect left by a rename: the new page wins
            db.session.execute(
                delete(PageRedirect).where(PageRedirect.crisis_id == crisis.id, PageRedirect.slug == slug)
            )
        revision = _append_revision(
            page,
            title=title,
            body=body,
            categories=categories,
            rendered=rendered,
            comment=comment or _("Created page"),
            kind="create",
            author=author,
            parent=None,
        )
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(
            _("A page called “%(title)s” was just created by someone else.", title=title), field="title"
        ) from exc
    _commit_and_announce(page, revision)
    return revision


def save_revision(
    page: Page,
    body: str,
    base_revision_id: int | None,
    author: User | None,
    comment: str = "",
    categories=None,
    resolving_conflict: bool = False,
) -> SaveResult:
    """Save an edit that started from `base_revision_id`.

    If the page moved on since then, the edit is merged three-way with what was saved
    meanwhile; overlapping changes raise EditConflict (409) and nothing is written."""
    require_edit_page(page, author)
    body, comment = clean_body(body), clean_comment(comment)
    rendered = render(page.crisis, body)
    begin_write()
    page = versioning.lock(page)
    current = page.current_revision
    categories = current.category_list if categories is None else clean_categories(categories)
    if base_revision_id is None:
        raise InvalidInput(_("An edit must say which revision it started from (base_revision)."), field="base_revision")
    base = db.session.get(Revision, base_revision_id) if fits_id(base_revision_id) else None
    if base is None or base.page_id != page.id:
        raise InvalidInput(
            _("Revision %(id)s is not a revision of this page.", id=base_revision_id), field="base_revision"
        )
    if resolving_conflict and has_conflict_markers(body):
        raise InvalidInput(
            _(
                "The text still contains conflict markers (<<<<<<< … >>>>>>>); "
                "keep the lines you want and remove the markers."
            ),
            field="body",
        )

    merged = False
    if base.id != current.id:
        result = merge_three_way(base.body, current.body, body)
        if result.conflicts:
            raise EditConflict(page, base, current, body, result.text)
        body, merged = result.text, True
        comment = comment or _("Merged with revision %(n)d", n=current.number)

    if body == current.body and categories == current.category_list:
        return SaveResult(current, merged=merged, unchanged=True)
    revision = _append_revision(
        page,
        title=page.title,
        body=body,
        categories=categories,
        comment=comment,
        kind="merge" if merged else "edit",
        author=author,
        parent=current,
        rendered=rendered,
    )
    _commit_and_announce(page, revision)
    return SaveResult(revision, merged=merged)


def revert_page(page: Page, target: Revision, author: User | None, comment: str = "") -> Revision:
    """Make `target`'s text current again, as a new revision (history is never rewritten)."""
    require_edit_page(page, author)
    page = versioning.lock(page)
    if target.page_id != page.id:
        raise InvalidInput(_("That revision belongs to another page."), field="revision")
    current = page.current_revision
    comment = versioning.revert_comment(clean_comment(comment), target)
    revision = _append_revision(
        page,
        title=page.title,
        body=target.body,
        categories=target.category_list,
        comment=comment,
        kind="revert",
        author=author,
        parent=current,
    )
    _commit_and_announce(page, revision)
    return revision


def rename_page(page: Page, new_title: str, author: User | None, comment: str = "") -> Revision:
    """Move a page to a new title; the old address keeps working as a redirect."""
    require_edit_page(page, author)
    require("create_page", author)
    page = versioning.lock(page)
    new_title = clean_title(new_title)
    new_slug = slugify(new_title)
    old_slug, old_title = page.slug, page.title
    if new_slug != old_slug:
        taken, _redirected = find_page(page.crisis, new_slug, include_deleted=True)
        if taken is not None and taken.slug == new_slug:
            raise Conflict(_("A page called “%(title)s” already exists.", title=taken.title), field="title")
        db.session.execute(
            delete(PageRedirect).where(PageRedirect.crisis_id == page.crisis_id, PageRedirect.slug == new_slug)
        )
        db.session.add(PageRedirect(crisis_id=page.crisis_id, slug=old_slug, page_id=page.id))
        page.slug = new_slug
    elif new_title == old_title:
        raise InvalidInput(_("The new title is the same as the old one."), field="title")
    current = page.current_revision
    comment = clean_comment(comment) or _("Renamed from “%(old)s” to “%(new)s”", old=old_title, new=new_title)
    revision = _append_revision(
        page,
        title=new_title,
        body=current.body,
        categories=current.category_list,
        comment=comment,
        kind="rename",
        author=author,
        parent=current,
    )
    _commit_and_announce(page, revision)
    return revision


def delete_page(page: Page, author: User | None) -> None:
    """Soft delete: the page disappears from view, every revision stays; admins can restore."""
    require("delete_page", author)
    page = versioning.lock(page)
    if not versioning.mark_deleted(page, author):
        return
    bump_generation(page.crisis_id)
    db.session.commit()
    plugins.call("page_deleted", page=page)


def restore_page(page: Page, author: User | None) -> None:
    require("restore_page", author)
    page = versioning.lock(page)
    if not page.is_deleted:
        return
    taken = db.session.scalar(
        select(Page.id).where(Page.crisis_id == page.crisis_id, Page.slug == page.slug, Page.id != page.id)
    )
    if taken is not None:
        raise Conflict(_("Another page now uses this title; rename that page first."), field="title")
    versioning.mark_restored(page)
    bump_generation(page.crisis_id)
    plugins.call("page_before_commit", page=page, revision=page.current_revision)
    db.session.commit()
    plugins.call("page_saved", page=page, revision=page.current_revision)


def set_protected(page: Page, protected: bool, author: User | None) -> None:
    require("protect_page", author)
    page = versioning.lock(page)
    page.protected = bool(protected)
    bump_generation(page.crisis_id)
    db.session.commit()

"""Versioned documents: pages and map layers are rows whose content lives in append-only
revisions. What they share is here: locking the row for a change, appending a revision (its
number, its parent, its author, the row's current revision), the comment of a revert, and soft
deletion. Each feature keeps what is its own: a page's merge of concurrent edits and its
rendering (wiki.pages.revisions), a layer's GeoJSON checks (wiki.maps.layers).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from .clock import utcnow
from .extensions import db

Document = TypeVar("Document")


def lock(document: Document) -> Document:
    """Re-read the row with a write lock (PostgreSQL; SQLite's writer already holds its lock)."""
    model = type(document)
    return db.session.execute(
        select(model).where(model.id == document.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def author_fields(author) -> dict[str, Any]:
    if author is not None and getattr(author, "is_authenticated", False):
        return {"author_id": author.id, "author_name": author.name}
    return {"author_id": None, "author_name": "anonymous"}


def append_revision(document, revision_model: type, parent, *, kind: str, comment: str, author, **content: Any):
    """Add the next revision of `document` (after `parent`, its current one) and make it current.
    `content` holds the revision's own columns, and its document (`page=...`, `layer=...`)."""
    revision = revision_model(
        number=(parent.number + 1) if parent else 1,
        parent_id=parent.id if parent else None,
        kind=kind,
        comment=comment,
        created_at=utcnow(),
        **author_fields(author),
        **content,
    )
    db.session.add(revision)
    db.session.flush()
    document.current_revision = revision
    document.title = revision.title
    document.updated_at = revision.created_at
    return revision


def revert_comment(comment: str, target) -> str:
    return comment or _("Reverted to revision %(n)d", n=target.number)


def mark_deleted(document, author) -> bool:
    """Soft delete (every revision stays); False when it was deleted already."""
    if document.deleted_at is not None:
        return False
    document.deleted_at = utcnow()
    document.deleted_by_id = getattr(author, "id", None)
    return True


def mark_restored(document) -> bool:
    if document.deleted_at is None:
        return False
    document.deleted_at = None
    document.deleted_by_id = None
    return True

"""JSON shapes of core objects, shared by every API route."""

from __future__ import annotations

from typing import Any

from flask import url_for

from ..models import Crisis, Page, Revision


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def crisis_json(crisis: Crisis) -> dict[str, Any]:
    return {
        "slug": crisis.slug,
        "name": crisis.name,
        "glide": crisis.glide,
        "description": crisis.description,
        "bbox": list(crisis.bbox) if crisis.bbox else None,
        "start_date": iso(crisis.start_date),
        "end_date": iso(crisis.end_date),
        "language": crisis.language,
        "links": {
            "html": url_for("crises.home", crisis_slug=crisis.slug, _external=True),
            "self": url_for("api.get_crisis", crisis_slug=crisis.slug, _external=True),
        },
    }


def revision_json(revision: Revision, with_body: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": revision.id,
        "number": revision.number,
        "parent_id": revision.parent_id,
        "title": revision.title,
        "comment": revision.comment,
        "kind": revision.kind,
        "author": revision.author_name,
        "created_at": iso(revision.created_at),
    }
    if with_body:
        data.update(body=revision.body, html=revision.html, categories=revision.category_list)
    return data


def page_json(page: Page, revision: Revision | None = None) -> dict[str, Any]:
    revision = revision or page.current_revision
    crisis = page.crisis
    return {
        "crisis": crisis.slug,
        "slug": page.slug,
        "title": page.title,
        "protected": page.protected,
        "deleted": page.is_deleted,
        "revision": revision_json(revision),
        "base_revision": revision.id,
        "body": revision.body,
        "html": revision.html,
        "categories": revision.category_list,
        "links": {
            "html": url_for("pages.view", crisis_slug=crisis.slug, slug=page.slug, _external=True),
            "self": url_for("api.get_page", crisis_slug=crisis.slug, slug=page.slug, _external=True),
            "revisions": url_for("api.page_revisions", crisis_slug=crisis.slug, slug=page.slug, _external=True),
        },
    }

"""Pages in the API. A page is addressed as <crisis>/<page>, e.g. /api/v1/pages/haiti-2010/Main_Page."""

from __future__ import annotations

from flask import jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.permissions import can, require
from ..crises.services import get_crisis_or_404
from ..database import reads_first
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import Revision
from ..pages import revisions as service
from .blueprint import bp
from .requests import json_body, keyset_page, string_field
from .serialise import page_json, revision_json
from .spec import ERROR, PAGING_PARAMETERS, SLUG_PARAMETER, json_response, operation


@bp.get("/pages/<crisis_slug>/<slug>")
@operation(
    summary="Read a page's current revision",
    responses={
        "200": json_response("Page"),
        "404": ERROR,
    },
    parameters=[
        SLUG_PARAMETER,
    ],
)
def get_page(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    return jsonify(page_json(page))


@bp.put("/pages/<crisis_slug>/<slug>")
@reads_first
@operation(
    summary="Create a page (no base_revision) or save an edit of it",
    responses={
        "200": json_response("Page", "Saved (or merged with a newer revision)"),
        "201": json_response("Page", "Created"),
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "409": json_response(
            "EditConflict", "Edit conflict: the page changed since base_revision and the changes overlap"
        ),
        "413": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
    parameters=[
        SLUG_PARAMETER,
    ],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PageEdit"}}},
    },
)
def put_page(crisis_slug: str, slug: str):
    """Create the page (no base_revision) or save an edit of it (base_revision = the revision
    id the edit started from; 409 with both versions if it overlaps a newer save)."""
    crisis = get_crisis_or_404(crisis_slug)
    if not (can("edit_page") or can("create_page")):
        require("edit_page")  # refuse before reading the body: 401/403, not a validation error
    data = json_body()
    body = string_field(data, "body", required=True)
    comment = string_field(data, "comment")
    base = data.get("base_revision")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
        raise InvalidInput(_("base_revision must be a revision id (an integer)."), field="base_revision")
    categories = data.get("categories")
    page, _redirected = service.find_page(crisis, slug)
    if page is None:
        if base is not None:
            raise NotFound(_("There is no page %(slug)s to edit; send no base_revision to create it.", slug=slug))
        title = string_field(data, "title") or slug.replace("_", " ")
        revision = service.create_page(crisis, title, body, current_user, comment, categories)
        return jsonify(page_json(revision.page)), 201
    result = service.save_revision(page, body, base, current_user, comment, categories)
    payload = page_json(page, result.revision)
    payload["merged"] = result.merged
    payload["unchanged"] = result.unchanged
    return jsonify(payload), 200


@bp.get("/pages/<crisis_slug>/<slug>/revisions")
@operation(
    summary="A page's revisions, newest first",
    responses={
        "200": json_response("RevisionList"),
        "404": ERROR,
        "422": ERROR,
    },
    parameters=[
        SLUG_PARAMETER,
        *PAGING_PARAMETERS,
    ],
)
def page_revisions(crisis_slug: str, slug: str):
    """Newest first; `cursor` is the revision number to continue below."""
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    query = select(Revision).where(Revision.page_id == page.id).order_by(Revision.number.desc())
    rows, next_cursor = keyset_page(query, Revision.number)
    return jsonify(
        {
            "page": {"crisis": crisis.slug, "slug": page.slug, "title": page.title},
            "revisions": [revision_json(r) for r in rows],
            "next_cursor": next_cursor,
        }
    )


@bp.get("/pages/<crisis_slug>/<slug>/revisions/<int:number>")
@operation(
    summary="One revision with its text",
    responses={
        "200": json_response("Revision"),
        "404": ERROR,
    },
    parameters=[
        SLUG_PARAMETER,
    ],
)
def get_revision(crisis_slug: str, slug: str, number: int):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    revision = db.session.scalar(select(Revision).where(Revision.page_id == page.id, Revision.number == number))
    if revision is None:
        raise NotFound(_("Revision %(n)d of this page does not exist.", n=number))
    return jsonify(revision_json(revision, with_body=True))


@bp.post("/crises/<crisis_slug>/sitrep-drafts")
@operation(
    summary="Draft a situation report from the reports of a period (and an admin area): a new page "
    "(coordinators, admins)",
    responses={
        "201": {
            "description": "slug, title, url, revision, period, area, cited (report ids), previous "
            "(the draft before, if any) and changes_url (the diff since it)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
    requestBody={
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["from", "to"],
                    "properties": {
                        "from": {"type": "string", "format": "date"},
                        "to": {"type": "string", "format": "date"},
                        "area": {"type": "string", "description": "an admin area's P-code"},
                    },
                }
            }
        },
    },
)
def create_sitrep_draft(crisis_slug: str):
    """Coordinators (draft_sitrep): draft a situation report from the reports of a period (and an admin area)."""
    from ..pages.drafts import draft_sitrep

    crisis = get_crisis_or_404(crisis_slug)
    require("draft_sitrep")
    record = draft_sitrep(crisis, json_body(), current_user)
    page = record.page
    body = {
        "slug": page.slug,
        "title": page.title,
        "url": url_for("pages.view", crisis_slug=crisis.slug, slug=page.slug, _external=True),
        "revision": record.revision.number,
        "period": {"from": record.period_start, "to": record.period_end},
        "area": record.area,
        "cited": record.cited,
        "previous": record.previous_id and db.session.get(type(record), record.previous_id).page.slug,
        "changes_url": url_for("pages.since_last_draft", crisis_slug=crisis.slug, slug=page.slug, _external=True)
        if record.previous_id
        else None,
    }
    return jsonify(body), 201

"""The claims API: record a report's structured claims, and read what truth discovery proposes."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from wiki.api.requests import cursor_arg, json_body, page_limit
from wiki.crises.services import get_crisis_or_404
from wiki.errors import InvalidInput
from wiki.toolkit import operation
from wiki.visibility import get_visible_report

from .claims import claim_input, require_claim_editor, store_claim
from .openapi import ERROR
from .proposals import pending_crises, subject_views, subjects_page
from .refresh import wake_worker

bp = Blueprint("validation_truth", __name__, url_prefix="/api/v1")


@bp.post("/reports/<int:report_id>/claims")
@operation(
    summary=(
        "Record a structured claim the report makes (coordinators "
        "and verifiers); truth discovery re-runs for the crisis in "
        "the background (the subject answers pending: true until then)"
    ),
    parameters=[{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClaimInput"}}},
    },
    responses={
        "201": {
            "description": "Recorded",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClaimRecorded"}}},
        },
        "200": {
            "description": "The report's earlier value for this subject was replaced",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClaimRecorded"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "409": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
)
def create_claim(report_id: int):
    """Coordinators and verifiers: record what a report says about a subject; 201 for a new
    claim, 200 when it replaces the report's earlier value for the same subject. The subject is
    shown as the last run of truth discovery left it, with `pending: true`: the background
    worker re-runs it for the crisis within seconds (refresh.py)."""
    require_claim_editor(current_user)
    report = get_visible_report(report_id, current_user)
    given = claim_input(json_body())
    stored = store_claim(report, given, current_user)
    claim_id, subject = stored.claim.id, stored.claim.subject
    wake_worker()
    view = subject_views([subject], current_user)[0]
    response = jsonify({"claim_id": claim_id, "created": stored.created, "subject": view})
    response.status_code = 201 if stored.created else 200
    return response


@bp.get("/claims")
@operation(
    summary=(
        "A crisis's claim subjects: the proposed value, its "
        "confidence, and the competing values with their sources' "
        "reliability"
    ),
    parameters=[
        {"name": "crisis", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "attribute", "in": "query", "schema": {"type": "string"}},
        {"name": "subject", "in": "query", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {
            "name": "cursor",
            "in": "query",
            "schema": {"type": "string"},
            "description": "next_cursor from the previous response.",
        },
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClaimSubjectList"}}},
        },
        "404": ERROR,
        "422": ERROR,
    },
)
def list_claims():
    """A crisis's claim subjects with the proposed value, its confidence and the competing values."""
    slug = request.args.get("crisis", "").strip()
    if not slug:
        raise InvalidInput(_("Name the crisis: ?crisis=<short name>."), field="crisis")
    crisis = get_crisis_or_404(slug)
    subjects, next_id = subjects_page(
        crisis, page_limit(), cursor_arg(), attribute=request.args.get("attribute"), subject=request.args.get("subject")
    )
    return jsonify(
        {
            "crisis": crisis.slug,
            "subjects": subject_views(subjects, current_user),
            # truth discovery waits for a re-run: the values are the last run's, soon replaced
            "pending": crisis.id in pending_crises([crisis.id]),
            "next_cursor": str(next_id) if next_id is not None else None,
        }
    )

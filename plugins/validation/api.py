"""The plugin's JSON API under /api/v1 (documented through the `openapi_paths` hook)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wiki.api.requests import json_body
from wiki.auth.permissions import require
from wiki.crises.services import get_crisis_or_404
from wiki.errors import InvalidInput
from wiki.models import Report
from wiki.toolkit import operation
from wiki.visibility import get_visible_report

from .assessments import add_assessment, assessments_of, create_combined
from .finder import find_related, parse_query, related_features
from .models import Assessment
from .openapi import ERROR
from .presentation import score_properties
from .shown_scores import score_row
from .source_record import source_record

bp = Blueprint("validation_api", __name__, url_prefix="/api/v1")


def _report(report_id: int) -> Report:
    return get_visible_report(report_id, current_user)


def assessment_json(assessment: Assessment) -> dict:
    return {
        "id": assessment.id,
        "report_id": assessment.report_id,
        "reliability": assessment.reliability,
        "credibility": assessment.credibility,
        "code": assessment.code,
        "note": assessment.note,
        "verifier": assessment.verifier.username if assessment.verifier else None,
        "created_at": assessment.created_at.isoformat(),
    }


@bp.post("/reports/<int:report_id>/assessments")
@operation(
    summary="Grade a report (verifiers): source reliability A-F and credibility 1-6, The Matrix's grading",
    parameters=[{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AssessmentInput"}}},
    },
    responses={
        "201": {
            "description": "Saved; with the report's updated score",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Assessment"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "413": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
)
def post_assessment(report_id: int):
    """Verifiers: {"reliability": "B", "credibility": 2, "note": ""}."""
    require("assess_report")
    report = _report(report_id)
    assessment = add_assessment(report, json_body(), current_user)
    body = assessment_json(assessment)
    body.update(score_properties(score_row(report.id), current_user))
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("validation_api.list_assessments", report_id=report.id, _external=True)
    return response


@bp.get("/reports/<int:report_id>/assessments")
@operation(
    summary="Every grading of a report, newest first (verifiers)",
    parameters=[{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AssessmentList"}}},
        },
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
    },
)
def list_assessments(report_id: int):
    """Verifiers: every grading of the report, newest first."""
    require("assess_report")
    report = _report(report_id)
    return jsonify({"assessments": [assessment_json(a) for a in assessments_of(report.id)]})


@bp.get("/sources/<int:source_id>/record")
@operation(
    summary="A source's record: reports, outcomes, grades, reliability over time (verifiers and admins)",
    parameters=[{"name": "source_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SourceRecord"}}},
        },
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
    },
)
def get_source_record(source_id: int):
    return jsonify(source_record(source_id, current_user))


@bp.get("/crises/<crisis_slug>/related")
@operation(
    summary="Related reports (The Matrix's finder): within a radius of a report or a point, nearest first",
    parameters=[
        {"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "report", "in": "query", "schema": {"type": "integer"}, "description": "search around this report"},
        {"name": "lat", "in": "query", "schema": {"type": "number"}, "description": "or around this point"},
        {"name": "lon", "in": "query", "schema": {"type": "number"}},
        {"name": "radius_km", "in": "query", "schema": {"type": "number", "minimum": 1, "maximum": 100, "default": 20}},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "sector", "in": "query", "schema": {"type": "string"}},
    ],
    responses={
        "200": {
            "description": (
                "FeatureCollection with distance_km, score, admiralty, "
                "verdict and assessment on each feature (see "
                "ValidationProperties: null until there is a basis for them)"
            )
        },
        "404": ERROR,
        "422": ERROR,
    },
)
def related(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    query = parse_query(crisis, request.args, current_user)
    features = related_features(find_related(crisis, query, current_user), current_user)
    return jsonify(
        {
            "type": "FeatureCollection",
            "features": features,
            "query": {
                "lat": query.lat,
                "lon": query.lon,
                "radius_km": query.radius_km,
                "report": query.around.id if query.around else None,
            },
        }
    )


@bp.post("/crises/<crisis_slug>/combined-assessments")
@operation(
    summary=(
        "Write one report from several related ones (verifiers); optionally withdraw the originals from public view"
    ),
    parameters=[{"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CombinedAssessmentInput"}}},
    },
    responses={
        "201": {
            "description": "Created",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CombinedAssessment"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
)
def post_combined(crisis_slug: str):
    """Verifiers: {"report_ids": [..], "title", "description", "withdraw_originals": false, ...}."""
    require("assess_report")
    crisis = get_crisis_or_404(crisis_slug)
    data = json_body()
    if "report_ids" not in data:
        raise InvalidInput(_("Choose the reports to combine (report_ids)."), field="report_ids")
    combined = create_combined(crisis, data, current_user)
    response = jsonify(
        {
            "id": combined.id,
            "report_id": combined.report_id,
            "crisis": crisis.slug,
            "sources": [link.report_id for link in combined.sources],
            "withdrew_originals": combined.withdrew_originals,
            "report_url": url_for("api.get_report", report_id=combined.report_id, _external=True),
        }
    )
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_report", report_id=combined.report_id, _external=True)
    return response

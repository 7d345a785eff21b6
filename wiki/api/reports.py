"""Field reports in the API, as GeoJSON Features and FeatureCollections."""

from __future__ import annotations

import json

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..auth.permissions import require
from ..auth.tokens import token_scope
from ..database import fits_id, reads_first
from ..errors import BadRequest, InvalidInput, UnsupportedMediaType
from ..extensions import db
from ..models import Report
from ..reports.input import report_input_from_feature
from ..reports.queries import ReportFilters, report_list_query
from ..reports.serialise import announce_listing, report_feature
from ..reports.submission import Photo, submit_report
from ..reports.triage import merge_duplicate, republish_report, update_report, withdraw_report
from ..visibility import get_visible_report
from .blueprint import bp
from .requests import json_body, keyset_page
from .spec import ERROR, PAGING_PARAMETERS, REASON_BODY, REPORT_FEATURE, json_response, operation

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _feature_and_photos() -> tuple[dict, list[Photo]]:
    """A JSON Feature, or multipart/form-data with the Feature in `feature` and files in `photos`."""
    if request.mimetype == "multipart/form-data":
        raw = request.form.get("feature")
        if raw is None:
            raise BadRequest(_("Send the report as JSON in the form field 'feature'."), field="feature")
        try:
            feature = json.loads(raw)
        except ValueError:
            raise BadRequest(_("The 'feature' field is not valid JSON."), field="feature")
        photos = [Photo(f.filename or "photo", f.stream) for f in request.files.getlist("photos") if f.filename]
        return feature, photos
    if not request.is_json:
        raise UnsupportedMediaType(
            _("Send a GeoJSON Feature as application/json (or multipart/form-data with photos).")
        )
    return json_body(), []


@bp.post("/reports")
@token_scope("submit")
@reads_first
@operation(
    summary="Submit a field report (a GeoJSON Feature with a Point). Send Idempotency-Key to make retries safe.",
    responses={
        "201": REPORT_FEATURE,
        "200": {"description": "An idempotent retry: the report stored the first time"},
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "413": ERROR,
        "415": ERROR,
        "422": ERROR,
        "429": {"description": "Too many anonymous reports from this address; see Retry-After"},
        "507": ERROR,  # the storage for photos is full: nothing stored; send the same report again later
    },
    parameters=[{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}],
    requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ReportInput"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "feature": {"type": "string", "description": "the ReportInput Feature as JSON"},
                        "photos": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
        },
    },
)
def create_report():
    require("submit_report")
    feature, photos = _feature_and_photos()
    client_id = request.headers.get(IDEMPOTENCY_HEADER)
    given = report_input_from_feature(feature, default_channel="api", client_id=client_id)
    result = submit_report(given, current_user, photos)
    response = jsonify(report_feature(result.report, current_user))
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = url_for("api.get_report", report_id=result.report.id, _external=True)
    if not result.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _get_visible(report_id: int) -> Report:
    return get_visible_report(report_id, current_user, options=[selectinload(Report.photos)])


@bp.get("/reports/<int:report_id>")
@operation(
    summary="One report",
    responses={
        "200": REPORT_FEATURE,
        "404": ERROR,
    },
)
def get_report(report_id: int):
    return jsonify(report_feature(_get_visible(report_id), current_user))


@bp.patch("/reports/<int:report_id>")
@operation(
    summary="Change a report's fields or status, or merge it as a duplicate (coordinators)",
    responses={
        "200": REPORT_FEATURE,
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportPatch"}}},
    },
)
def patch_report(report_id: int):
    """Coordinators: change fields or status; {"duplicate_of": id} merges a duplicate."""
    require("triage_report")
    report = _get_visible(report_id)
    data = json_body()
    comment = data.pop("comment", "") or ""
    if not isinstance(comment, str):
        raise InvalidInput(_("comment must be text."), field="comment")
    if "duplicate_of" in data:
        original_id = data.pop("duplicate_of")
        if not isinstance(original_id, int) or isinstance(original_id, bool):
            raise InvalidInput(_("duplicate_of must be a report id."), field="duplicate_of")
        original = db.session.get(Report, original_id) if fits_id(original_id) else None
        if original is None:
            raise InvalidInput(_("There is no report %(id)d.", id=original_id), field="duplicate_of")
        if data:
            update_report(report, data, current_user, comment)
        merge_duplicate(report, original, current_user, comment)
    else:
        if not data:
            raise InvalidInput(_("Send at least one field to change."), field="body")
        update_report(report, data, current_user, comment)
    db.session.refresh(report)
    return jsonify(report_feature(report, current_user))


def _reason_from_body() -> str:
    data = json_body()
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput(_("reason must be text."), field="reason")
    return reason or ""


@bp.post("/reports/<int:report_id>/withdraw")
@operation(
    summary=(
        "Withdraw a report from public view for good, to protect the "
        "people who sent it (verifiers, coordinators); only "
        "republishing makes it public again"
    ),
    responses={
        "200": REPORT_FEATURE,
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
    requestBody=REASON_BODY,
)
def withdraw(report_id: int):
    """Verifiers, coordinators: take a report out of public view for good, with a reason
    (to shield the people who sent it). Only republishing makes it public again."""
    require("withdraw_report")
    report = _get_visible(report_id)
    withdraw_report(report, current_user, _reason_from_body())
    db.session.refresh(report)
    return jsonify(report_feature(report, current_user))


@bp.post("/reports/<int:report_id>/republish")
@operation(
    summary="Make a withdrawn report public again, with a reason for its history (coordinators)",
    responses={
        "200": REPORT_FEATURE,
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "409": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
    requestBody=REASON_BODY,
)
def republish(report_id: int):
    """Coordinators: make a withdrawn report public again, with a reason for the history."""
    require("republish_report")
    report = _get_visible(report_id)
    republish_report(report, current_user, _reason_from_body())
    db.session.refresh(report)
    return jsonify(report_feature(report, current_user))


@bp.get("/reports")
@operation(
    summary="Reports visible to the caller, newest first (a FeatureCollection)",
    responses={
        "200": json_response("ReportCollection", "FeatureCollection with next_cursor"),
        "422": ERROR,
    },
    parameters=[
        {
            "name": "bbox",
            "in": "query",
            "schema": {"type": "string"},
            "description": "west,south,east,north in degrees",
        },
        {
            "name": "q",
            "in": "query",
            "schema": {"type": "string"},
            "description": "words in the title, description or place",
        },
        {
            "name": "sector",
            "in": "query",
            "schema": {"type": "string"},
            "description": "IASC cluster key(s), comma-separated",
        },
        {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "status(es), comma-separated"},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "crisis", "in": "query", "schema": {"type": "string"}},
        {"name": "adm", "in": "query", "schema": {"type": "string"}, "description": "admin-1 or admin-2 P-code"},
        *PAGING_PARAMETERS,
    ],
)
def list_reports():
    """Newest first, keyset-paginated: `next_cursor` continues below the last report."""
    filters = ReportFilters.from_args(request.args)
    rows, next_cursor = keyset_page(report_list_query(filters, current_user), Report.id)
    announce_listing((report.id for report in rows), current_user)
    return jsonify(
        {
            "type": "FeatureCollection",
            "features": [report_feature(report, current_user) for report in rows],
            "next_cursor": next_cursor,
        }
    )

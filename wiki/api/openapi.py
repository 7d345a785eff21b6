"""The OpenAPI 3.1 document at /api/v1/openapi.json.

Core paths are declared here; plugins add theirs through the `openapi_paths` hook. A test
checks that every /api/v1 route of the running app appears in the document.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from .. import plugins
from .blueprint import bp

ERROR = {"$ref": "#/components/responses/Error"}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    operation = {"summary": summary, "responses": responses}
    operation.update(extra)
    return operation


def _json(schema_ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


CRISIS_PARAM = {"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}}
SLUG_PARAM = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The page's title with spaces as underscores.",
}
LIMIT_PARAM = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}
CURSOR_PARAM = {
    "name": "cursor",
    "in": "query",
    "schema": {"type": "string"},
    "description": "next_cursor from the previous response.",
}

CORE_PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {"get": _op("This document", {"200": {"description": "OpenAPI document"}})},
    "/api/v1/health": {"get": _op("Health check: the database answers", {"200": {"description": "ok"}})},
    "/api/v1/crises": {
        "get": _op("List crises", {"200": _json("#/components/schemas/CrisisList")}),
        "post": _op(
            "Create a crisis (coordinators)",
            {
                "201": _json("#/components/schemas/Crisis"),
                "400": ERROR,
                "401": ERROR,
                "403": ERROR,
                "409": ERROR,
                "415": ERROR,
                "422": ERROR,
            },
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CrisisInput"}}},
            },
        ),
    },
    "/api/v1/crises/{crisis_slug}": {
        "get": _op(
            "Read a crisis", {"200": _json("#/components/schemas/Crisis"), "404": ERROR}, parameters=[CRISIS_PARAM]
        ),
    },
    "/api/v1/crises/{crisis_slug}/dashboard": {
        "get": _op(
            "The crisis dashboard's numbers, chart by chart, for the filters in the query (verifiers, "
            "coordinators, admins); the same numbers as the page /c/{crisis_slug}/dashboard and its CSVs",
            {
                "200": {
                    "description": "crisis, filters, unit, level, reports, verified and charts (each with its "
                    "categories, series, extra columns and the report list behind every number)",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "401": ERROR,
                "403": ERROR,
                "404": ERROR,
                "422": ERROR,
            },
            parameters=[
                CRISIS_PARAM,
                *(
                    {"name": name, "in": "query", "schema": {"type": "string"}}
                    for name in ("sector", "status", "since", "until", "adm", "q", "channel", "min_score", "max_score")
                ),
                {"name": "unit", "in": "query", "schema": {"type": "string", "enum": ["day", "hour"]}},
                {"name": "level", "in": "query", "schema": {"type": "string", "enum": ["1", "2"]}},
            ],
        ),
    },
    "/api/v1/crises/{crisis_slug}/sitrep-drafts": {
        "post": _op(
            "Draft a situation report from the reports of a period (and an admin area): a new page "
            "(coordinators, admins)",
            {
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
            parameters=[CRISIS_PARAM],
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
        ),
    },
    "/api/v1/pages/{crisis_slug}/{slug}": {
        "get": _op(
            "Read a page's current revision",
            {"200": _json("#/components/schemas/Page"), "404": ERROR},
            parameters=[CRISIS_PARAM, SLUG_PARAM],
        ),
        "put": _op(
            "Create a page (no base_revision) or save an edit of it",
            {
                "200": _json("#/components/schemas/Page", "Saved (or merged with a newer revision)"),
                "201": _json("#/components/schemas/Page", "Created"),
                "400": ERROR,
                "401": ERROR,
                "403": ERROR,
                "404": ERROR,
                "409": {
                    "description": "Edit conflict: the page changed since base_revision and the changes overlap",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EditConflict"}}},
                },
                "413": ERROR,
                "415": ERROR,
                "422": ERROR,
            },
            parameters=[CRISIS_PARAM, SLUG_PARAM],
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PageEdit"}}},
            },
        ),
    },
    "/api/v1/pages/{crisis_slug}/{slug}/revisions": {
        "get": _op(
            "A page's revisions, newest first",
            {"200": _json("#/components/schemas/RevisionList"), "404": ERROR, "422": ERROR},
            parameters=[CRISIS_PARAM, SLUG_PARAM, LIMIT_PARAM, CURSOR_PARAM],
        ),
    },
    "/api/v1/pages/{crisis_slug}/{slug}/revisions/{number}": {
        "get": _op(
            "One revision with its text",
            {"200": _json("#/components/schemas/Revision"), "404": ERROR},
            parameters=[
                CRISIS_PARAM,
                SLUG_PARAM,
                {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}},
            ],
        ),
    },
}

REPORT_FILTERS = [
    {"name": "bbox", "in": "query", "schema": {"type": "string"}, "description": "west,south,east,north in degrees"},
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
    LIMIT_PARAM,
    CURSOR_PARAM,
]
REPORT_ID = {"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}
REASON_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["reason"],
                "properties": {
                    "reason": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 500,
                        "description": "kept in the report's history",
                    }
                },
            }
        }
    },
}
GEOJSON_FEATURE = {
    "description": "A report as a GeoJSON Feature",
    "content": {
        "application/geo+json": {"schema": {"$ref": "#/components/schemas/ReportFeature"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/ReportFeature"}},
    },
}

CORE_PATHS.update(
    {
        "/api/v1/reports": {
            "get": _op(
                "Reports visible to the caller, newest first (a FeatureCollection)",
                {
                    "200": {
                        "description": "FeatureCollection with next_cursor",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportCollection"}}},
                    },
                    "422": ERROR,
                },
                parameters=REPORT_FILTERS,
            ),
            "post": _op(
                "Submit a field report (a GeoJSON Feature with a Point). Send Idempotency-Key to make retries safe.",
                {
                    "201": GEOJSON_FEATURE,
                    "200": {"description": "An idempotent retry: the report stored the first time"},
                    "400": ERROR,
                    "401": ERROR,
                    "403": ERROR,
                    "413": ERROR,
                    "415": ERROR,
                    "422": ERROR,
                    "429": {"description": "Too many anonymous reports from this address; see Retry-After"},
                },
                parameters=[
                    {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}
                ],
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
            ),
        },
        "/api/v1/reports/{report_id}": {
            "get": _op("One report", {"200": GEOJSON_FEATURE, "404": ERROR}, parameters=[REPORT_ID]),
            "patch": _op(
                "Change a report's fields or status, or merge it as a duplicate (coordinators)",
                {
                    "200": GEOJSON_FEATURE,
                    "400": ERROR,
                    "401": ERROR,
                    "403": ERROR,
                    "404": ERROR,
                    "415": ERROR,
                    "422": ERROR,
                },
                parameters=[REPORT_ID],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportPatch"}}},
                },
            ),
        },
        "/api/v1/reports/{report_id}/withdraw": {
            "post": _op(
                "Withdraw a report from public view for good, to protect the people who sent it "
                "(verifiers, coordinators); "
                "only republishing makes it public again",
                {
                    "200": GEOJSON_FEATURE,
                    "400": ERROR,
                    "401": ERROR,
                    "403": ERROR,
                    "404": ERROR,
                    "415": ERROR,
                    "422": ERROR,
                },
                parameters=[REPORT_ID],
                requestBody=REASON_BODY,
            ),
        },
        "/api/v1/reports/{report_id}/republish": {
            "post": _op(
                "Make a withdrawn report public again, with a reason for its history (coordinators)",
                {
                    "200": GEOJSON_FEATURE,
                    "400": ERROR,
                    "401": ERROR,
                    "403": ERROR,
                    "404": ERROR,
                    "409": ERROR,
                    "415": ERROR,
                    "422": ERROR,
                },
                parameters=[REPORT_ID],
                requestBody=REASON_BODY,
            ),
        },
    }
)

SCHEMAS: dict[str, Any] = {
    "ReportInput": {
        "type": "object",
        "description": "A GeoJSON Feature. Without coordinates (geometry null or left out) the report is located "
        "by `place` (a P-code, a place's id, or a name the crisis's gazetteer knows: 422 with `candidates` when "
        "several places share it), or filed with its location unknown.",
        "required": ["type", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "geometry": {
                "type": ["object", "null"],
                "properties": {
                    "type": {"const": "Point"},
                    "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2},
                },
            },
            "properties": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "crisis": {
                        "type": "string",
                        "description": "the crisis's short name (may be left out "
                        "when only one crisis covers the point)",
                    },
                    "title": {"type": "string", "maxLength": 200},
                    "description": {"type": "string"},
                    "sector": {
                        "type": "string",
                        "enum": [
                            "cccm",
                            "early_recovery",
                            "education",
                            "shelter",
                            "telecoms",
                            "food",
                            "health",
                            "logistics",
                            "nutrition",
                            "protection",
                            "wash",
                            "other",
                        ],
                    },
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "place_name": {"type": "string"},
                    "place": {
                        "type": "string",
                        "maxLength": 200,
                        "description": "where, when there are no coordinates: a P-code (HT0112), a place id "
                        "from a 422's candidates (pcode:HT0112, layer:3:7, geonames:3718426) or a place name",
                    },
                    "sensitive": {"type": "boolean"},
                    "client_id": {"type": "string", "description": "same as Idempotency-Key"},
                    "source": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "contact": {"type": "string"},
                            "organisation": {"type": "string"},
                            "channel": {"type": "string", "enum": ["web", "api", "sms", "email"]},
                        },
                    },
                },
            },
        },
    },
    "ReportFeature": {
        "type": "object",
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "integer"},
            "geometry": {"type": ["object", "null"], "description": "null when the location is unknown"},
            "properties": {
                "type": "object",
                "description": "id, crisis, title, description, sector, status, published, sensitive, "
                "location_coarsened, location (kind: point, place, area or unknown; radius_m; ref), place_name, "
                "occurred_at, received_at, photos, adm1/adm2 codes and names; "
                "source (name, contact) only for verifiers, coordinators and admins; plugin fields such as score",
            },
        },
    },
    "ReportCollection": {
        "type": "object",
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/ReportFeature"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "ReportPatch": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "sector": {"type": "string"},
            "status": {"type": "string", "enum": ["new", "under_review", "verified", "refuted", "archived"]},
            "place_name": {"type": "string"},
            "occurred_at": {"type": "string"},
            "sensitive": {"type": "boolean"},
            "published": {"type": "boolean"},
            "geometry": {"type": "object"},
            "place": {"type": "string", "description": "move the report to a place (P-code, place id or name)"},
            "duplicate_of": {"type": "integer"},
            "comment": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
            }
        },
    },
    "CrisisInput": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "slug": {"type": "string"},
            "glide": {"type": "string", "example": "EQ-2010-000009-HTI"},
            "description": {"type": "string"},
            "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
            "start_date": {"type": "string", "format": "date"},
            "end_date": {"type": "string", "format": "date"},
        },
    },
    "Crisis": {
        "type": "object",
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "glide": {"type": ["string", "null"]},
            "description": {"type": "string"},
            "bbox": {"type": ["array", "null"], "items": {"type": "number"}},
            "start_date": {"type": ["string", "null"]},
            "end_date": {"type": ["string", "null"]},
            "links": {"type": "object"},
        },
    },
    "CrisisList": {
        "type": "object",
        "properties": {"crises": {"type": "array", "items": {"$ref": "#/components/schemas/Crisis"}}},
    },
    "Revision": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "integer"},
            "parent_id": {"type": ["integer", "null"]},
            "title": {"type": "string"},
            "comment": {"type": "string"},
            "kind": {"type": "string"},
            "author": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "body": {"type": "string"},
            "html": {"type": "string"},
            "categories": {"type": "array", "items": {"type": "string"}},
        },
    },
    "RevisionList": {
        "type": "object",
        "properties": {
            "revisions": {"type": "array", "items": {"$ref": "#/components/schemas/Revision"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Page": {
        "type": "object",
        "properties": {
            "crisis": {"type": "string"},
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "protected": {"type": "boolean"},
            "revision": {"$ref": "#/components/schemas/Revision"},
            "base_revision": {"type": "integer", "description": "Send this back as base_revision when saving an edit."},
            "body": {"type": "string"},
            "html": {"type": "string"},
            "categories": {"type": "array", "items": {"type": "string"}},
            "merged": {"type": "boolean"},
            "unchanged": {"type": "boolean"},
            "links": {"type": "object"},
        },
    },
    "PageEdit": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": {"type": "string", "description": "Markdown"},
            "base_revision": {"type": "integer"},
            "comment": {"type": "string"},
            "title": {"type": "string", "description": "Only when creating"},
            "categories": {"type": "array", "items": {"type": "string"}},
        },
    },
    "EditConflict": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"const": "edit_conflict"},
                    "message": {"type": "string"},
                    "base_revision": {"type": "integer"},
                    "current_revision": {"type": "integer"},
                    "current_body": {"type": "string"},
                    "your_body": {"type": "string"},
                    "merged_with_conflict_markers": {"type": "string"},
                },
            }
        },
    },
}


def register(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add a core feature's API paths (called at import time by the feature's API module)."""
    CORE_PATHS.update(paths)
    SCHEMAS.update(schemas or {})


def document() -> dict[str, Any]:
    paths = dict(CORE_PATHS)
    schemas = dict(SCHEMAS)
    for extra in plugins.call("openapi_paths"):
        paths.update(extra.get("paths", {}))
        schemas.update(extra.get("schemas", {}))
        # Query parameters a plugin adds to an existing operation (e.g. min_score on GET /api/v1/reports).
        for path, methods in extra.get("parameters", {}).items():
            if path in paths:
                item = paths[path] = dict(paths[path])
                for method, parameters in methods.items():
                    if method in item:
                        item[method] = {
                            **item[method],
                            "parameters": [*item[method].get("parameters", []), *parameters],
                        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crisiswiki API",
            "version": "1",
            "description": "Crisis pages, field reports (GeoJSON), layers and search. Errors are "
            '{"error": {"code", "message", "field"}}. Authenticate scripts with '
            "Authorization: Bearer <token> (create one under Account → API tokens).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Error": _json("#/components/schemas/Error", "Error")},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{}, {"bearer": []}, {"session": []}],
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())

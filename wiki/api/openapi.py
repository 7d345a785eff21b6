"""The OpenAPI 3.1 document at /api/v1/openapi.json.

Core paths are declared here; plugins add theirs through the `openapi_paths` hook. A test
checks that every /api/v1 route of the running app appears in the document.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify

from .. import plugins
from . import bp

ERROR = {"$ref": "#/components/responses/Error"}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    operation = {"summary": summary, "responses": responses}
    operation.update(extra)
    return operation


def _json(schema_ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


CRISIS_PARAM = {"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}}
SLUG_PARAM = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "The page's title with spaces as underscores."}
LIMIT_PARAM = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}
CURSOR_PARAM = {"name": "cursor", "in": "query", "schema": {"type": "string"},
                "description": "next_cursor from the previous response."}

CORE_PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {"get": _op("This document", {"200": {"description": "OpenAPI document"}})},
    "/api/v1/health": {"get": _op("Health check: the database answers", {"200": {"description": "ok"}})},
    "/api/v1/crises": {
        "get": _op("List crises", {"200": _json("#/components/schemas/CrisisList")}),
        "post": _op("Create a crisis (coordinators)", {"201": _json("#/components/schemas/Crisis"), "401": ERROR, "403": ERROR,
                                                       "409": ERROR, "415": ERROR, "422": ERROR},
                    requestBody={"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CrisisInput"}}}}),
    },
    "/api/v1/crises/{crisis_slug}": {
        "get": _op("Read a crisis", {"200": _json("#/components/schemas/Crisis"), "404": ERROR}, parameters=[CRISIS_PARAM]),
    },
    "/api/v1/pages/{crisis_slug}/{slug}": {
        "get": _op("Read a page's current revision", {"200": _json("#/components/schemas/Page"), "404": ERROR},
                   parameters=[CRISIS_PARAM, SLUG_PARAM]),
        "put": _op(
            "Create a page (no base_revision) or save an edit of it",
            {"200": _json("#/components/schemas/Page", "Saved (or merged with a newer revision)"),
             "201": _json("#/components/schemas/Page", "Created"),
             "400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR,
             "409": {"description": "Edit conflict: the page changed since base_revision and the changes overlap",
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EditConflict"}}}},
             "413": ERROR, "415": ERROR, "422": ERROR},
            parameters=[CRISIS_PARAM, SLUG_PARAM],
            requestBody={"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PageEdit"}}}},
        ),
    },
    "/api/v1/pages/{crisis_slug}/{slug}/revisions": {
        "get": _op("A page's revisions, newest first", {"200": _json("#/components/schemas/RevisionList"), "404": ERROR, "422": ERROR},
                   parameters=[CRISIS_PARAM, SLUG_PARAM, LIMIT_PARAM, CURSOR_PARAM]),
    },
    "/api/v1/pages/{crisis_slug}/{slug}/revisions/{number}": {
        "get": _op("One revision with its text", {"200": _json("#/components/schemas/Revision"), "404": ERROR},
                   parameters=[CRISIS_PARAM, SLUG_PARAM, {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}]),
    },
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}},
    },
    "CrisisInput": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "slug": {"type": "string"}, "glide": {"type": "string", "example": "EQ-2010-000009-HTI"},
        "description": {"type": "string"}, "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "start_date": {"type": "string", "format": "date"}, "end_date": {"type": "string", "format": "date"}}},
    "Crisis": {"type": "object", "properties": {
        "slug": {"type": "string"}, "name": {"type": "string"}, "glide": {"type": ["string", "null"]},
        "description": {"type": "string"}, "bbox": {"type": ["array", "null"], "items": {"type": "number"}},
        "start_date": {"type": ["string", "null"]}, "end_date": {"type": ["string", "null"]}, "links": {"type": "object"}}},
    "CrisisList": {"type": "object", "properties": {"crises": {"type": "array", "items": {"$ref": "#/components/schemas/Crisis"}}}},
    "Revision": {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "integer"}, "parent_id": {"type": ["integer", "null"]},
        "title": {"type": "string"}, "comment": {"type": "string"}, "kind": {"type": "string"},
        "author": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
        "body": {"type": "string"}, "html": {"type": "string"}, "categories": {"type": "array", "items": {"type": "string"}}}},
    "RevisionList": {"type": "object", "properties": {
        "revisions": {"type": "array", "items": {"$ref": "#/components/schemas/Revision"}},
        "next_cursor": {"type": ["string", "null"]}}},
    "Page": {"type": "object", "properties": {
        "crisis": {"type": "string"}, "slug": {"type": "string"}, "title": {"type": "string"},
        "protected": {"type": "boolean"}, "revision": {"$ref": "#/components/schemas/Revision"},
        "base_revision": {"type": "integer", "description": "Send this back as base_revision when saving an edit."},
        "body": {"type": "string"}, "html": {"type": "string"}, "categories": {"type": "array", "items": {"type": "string"}},
        "merged": {"type": "boolean"}, "unchanged": {"type": "boolean"}, "links": {"type": "object"}}},
    "PageEdit": {"type": "object", "required": ["body"], "properties": {
        "body": {"type": "string", "description": "Markdown"}, "base_revision": {"type": "integer"},
        "comment": {"type": "string"}, "title": {"type": "string", "description": "Only when creating"},
        "categories": {"type": "array", "items": {"type": "string"}}}},
    "EditConflict": {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"const": "edit_conflict"}, "message": {"type": "string"}, "base_revision": {"type": "integer"},
        "current_revision": {"type": "integer"}, "current_body": {"type": "string"}, "your_body": {"type": "string"},
        "merged_with_conflict_markers": {"type": "string"}}}}},
}


def document() -> dict[str, Any]:
    paths = dict(CORE_PATHS)
    schemas = dict(SCHEMAS)
    for extra in plugins.call("openapi_paths"):
        paths.update(extra.get("paths", {}))
        schemas.update(extra.get("schemas", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "crisiswiki API", "version": "1",
                 "description": "Crisis pages, field reports (GeoJSON), layers and search. Errors are "
                                "{\"error\": {\"code\", \"message\", \"field\"}}. Authenticate scripts with "
                                "Authorization: Bearer <token> (create one under Account → API tokens)."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Error": _json("#/components/schemas/Error", "Error")},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
        "security": [{}, {"bearer": []}, {"session": []}],
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())

"""The OpenAPI 3.1 document at /api/v1/openapi.json, generated from the code that serves the API
(wiki.api.spec): each route declares its operation with `@operation`, and the document is
assembled from the URL map. The core's own schemas are here; features register theirs with
`register_schemas`, plugins through the `openapi_paths` hook (schemas, and query parameters they
add to core operations, such as min_score on GET /api/v1/reports)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from .. import plugins
from .blueprint import bp
from .spec import document, operation, register_schemas

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
    "Gazetteer": {
        "type": "object",
        "required": ["crisis", "version", "places"],
        "properties": {
            "crisis": {"type": "string"},
            "version": {"type": "string", "description": "changes whenever the places change"},
            "places": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "kind", "lon", "lat", "radius_m", "keys"],
                    "properties": {
                        "id": {"type": "string", "description": "send it as the report's place"},
                        "name": {"type": "string"},
                        "kind": {"type": "string", "enum": ["facility", "adm1", "adm2", "adm3", "city"]},
                        "label": {"type": "string"},
                        "parent": {"type": "string"},
                        "lon": {"type": "number"},
                        "lat": {"type": "number"},
                        "radius_m": {"type": "integer"},
                        "keys": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
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


SCHEMAS["ReportInput"]["examples"] = [
    {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-72.3388, 18.5392]},
        "properties": {
            "crisis": "haiti-2010",
            "title": "Bridge down on Route Nationale 2",
            "description": "Trucks cannot pass; people cross on foot.",
            "sector": "logistics",
            "occurred_at": "2010-01-13T08:00:00Z",
        },
    }
]
register_schemas(SCHEMAS)


def openapi_document() -> dict[str, Any]:
    """The document for this request's site (its server URL)."""
    return document(current_app._get_current_object(), request.url_root, plugins.call("openapi_paths"))


@bp.get("/openapi.json")
@operation(
    summary="This document: the API described in OpenAPI 3.1",
    tags=["meta"],
    responses={
        200: {"description": "OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
def openapi_json():
    return jsonify(openapi_document())

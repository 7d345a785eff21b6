"""The claims API in OpenAPI 3.1 terms, for the plugin's `openapi_paths` hook to merge."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


PATHS: dict[str, Any] = {
    "/api/v1/reports/{report_id}/claims": {
        "post": {
            "summary": "Record a structured claim the report makes (coordinators and verifiers); "
            "truth discovery re-runs for the crisis",
            "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClaimInput"}}},
            },
            "responses": {
                "201": _json("ClaimRecorded", "Recorded"),
                "200": _json("ClaimRecorded", "The report's earlier value for this subject was replaced"),
                "400": ERROR,
                "401": ERROR,
                "403": ERROR,
                "404": ERROR,
                "409": ERROR,
                "415": ERROR,
                "422": ERROR,
            },
        },
    },
    "/api/v1/claims": {
        "get": {
            "summary": "A crisis's claim subjects: the proposed value, its confidence, "
            "and the competing values with their sources' reliability",
            "parameters": [
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
            "responses": {"200": _json("ClaimSubjectList", "OK"), "404": ERROR, "422": ERROR},
        },
    },
}

_VALUE = {"oneOf": [{"type": "number"}, {"type": "string"}]}
_NULLABLE_VALUE = {"oneOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}

SCHEMAS: dict[str, Any] = {
    "ClaimInput": {
        "type": "object",
        "required": ["subject", "attribute", "value"],
        "additionalProperties": False,
        "properties": {
            "subject": {
                "type": "string",
                "maxLength": 200,
                "description": "the entity: a P-code, an admin area, a road, a camp",
                "example": "HT0111",
            },
            "attribute": {
                "type": "string",
                "maxLength": 100,
                "description": "what about it",
                "example": "people_displaced",
            },
            "value": {**_VALUE, "description": 'a number (a key figure) or a word or phrase (e.g. "closed")'},
            "unit": {
                "type": "string",
                "maxLength": 40,
                "description": "numbers only; every claim about a subject uses one unit",
            },
            "as_of": {
                "type": "string",
                "format": "date",
                "description": "the day the value holds for; default: the day the report's event happened",
            },
        },
    },
    "ClaimSubject": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "crisis": {"type": "string"},
            "subject": {"type": "string"},
            "attribute": {"type": "string"},
            "as_of": {"type": "string", "format": "date"},
            "kind": {"type": "string", "enum": ["numeric", "categorical"]},
            "unit": {"type": "string"},
            "proposed_value": {
                **_NULLABLE_VALUE,
                "description": "null when the evidence is evenly split (or rests on reports you may not see)",
            },
            "confidence": {
                "type": ["number", "null"],
                "description": "probability that the proposed value is right (numbers: within about 10 %)",
            },
            "computed_at": {"type": ["string", "null"], "format": "date-time"},
            "values": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "value": _VALUE,
                        "probability": {"type": ["number", "null"]},
                        "claims": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "integer"},
                                    "report_id": {"type": "integer"},
                                    "counted": {
                                        "type": "boolean",
                                        "description": "false for a duplicate report or a source's superseded claim",
                                    },
                                    "weight": {
                                        "type": "number",
                                        "description": "anonymous sources share one unit of weight per subject",
                                    },
                                    "source_reliability": {
                                        "type": ["number", "null"],
                                        "description": "the source's reliability as truth discovery estimated it",
                                    },
                                    "source": {
                                        "type": "object",
                                        "description": "verifiers and admins only; never contact details",
                                        "properties": {
                                            "id": {"type": "integer"},
                                            "name": {"type": "string"},
                                            "organisation": {"type": "string"},
                                            "anonymous": {"type": "boolean"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "ClaimSubjectList": {
        "type": "object",
        "properties": {
            "crisis": {"type": "string"},
            "subjects": {"type": "array", "items": {"$ref": "#/components/schemas/ClaimSubject"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "ClaimRecorded": {
        "type": "object",
        "properties": {
            "claim_id": {"type": "integer"},
            "created": {"type": "boolean"},
            "subject": {"$ref": "#/components/schemas/ClaimSubject"},
        },
    },
}

OPENAPI: dict[str, Any] = {"paths": PATHS, "schemas": SCHEMAS}

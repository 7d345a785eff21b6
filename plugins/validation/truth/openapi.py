"""The claims API in OpenAPI 3.1 terms, for the plugin's `openapi_paths` hook to merge."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
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
            "computed_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "when truth discovery last ran on this subject's claims as they are; null while pending",
            },
            "pending": {
                "type": "boolean",
                "description": (
                    "claims of the crisis changed since the values shown were computed: truth discovery "
                    "re-runs in the background within seconds; until then the values are the last run's "
                    "(none for a subject it has not run on yet)"
                ),
            },
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
            "pending": {"type": "boolean", "description": "the crisis's truth discovery waits for a re-run"},
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

OPENAPI: dict[str, Any] = {"schemas": SCHEMAS}

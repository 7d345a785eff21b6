"""The plugin's part of /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}
REPORT_ID = {"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}
CRISIS = {"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}}


def _json(ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


EXPLANATION = {
    "type": "array",
    "description": "With a score: the factors in the order they were added, their "
    "delta_score adding up to the score. With no score: one entry, factor no_score, saying why there is none.",
    "items": {
        "type": "object",
        "properties": {
            "factor": {
                "type": "string",
                "enum": ["base", "source", "status", "verifiers", "corroboration", "contradiction", "no_score"],
            },
            "name": {"type": "string"},
            "value": {},
            "delta_log_odds": {"type": "number"},
            "delta_score": {
                "type": "number",
                "description": "change in the score when this factor was added (base: the starting score)",
            },
            "sentence": {"type": "string"},
        },
    },
}

ASSESSMENT_STATE = {
    "type": "object",
    "required": ["state", "reason"],
    "properties": {
        "state": {
            "type": "string",
            "enum": ["not_assessed", "partly_assessed", "assessed", "graded"],
            "description": "not_assessed: no verifier graded it and nothing is known of its source or its information "
            "(score, admiralty and verdict are null); partly_assessed: one part has a basis (a score, no "
            "verdict); assessed: both parts derived from evidence; graded: a verifier graded it",
        },
        "reason": {"type": "string", "description": "why, in the reader's language (e.g. what is missing)"},
        "reliability": {
            "type": ["string", "null"],
            "enum": ["A", "B", "C", "D", "E", "F", None],
            "description": "the source part of the grading; null while there is no basis for it (never F: F is "
            'a verifier\'s "cannot be judged")',
        },
        "credibility": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": 6,
            "description": "the information part; null while there is no basis for it (never 6 unless a verifier "
            'said "cannot be judged")',
        },
    },
}

VALIDATION_PROPERTIES = {
    "score": {
        "type": ["number", "null"],
        "minimum": 0,
        "maximum": 1,
        "description": "estimated probability that the report is accurate; null while nothing is known of its source "
        "or its information",
    },
    "admiralty": {
        "type": ["string", "null"],
        "pattern": "^[A-F][1-6]$",
        "description": "the Admiralty grading, only when both parts have a basis (or a verifier graded it)",
    },
    "verdict": {
        "type": ["string", "null"],
        "enum": ["accept", "tend_to_accept", "tend_to_reject", "reject", None],
        "description": "The Matrix's verdict for the grading; null with no full grading",
    },
    "assessment": {"$ref": "#/components/schemas/AssessmentState"},
    "score_explanation": EXPLANATION,
    "score_stale": {
        "type": "boolean",
        "description": "true while this score is being brought up to date in the background after a change it "
        "depends on (a grading or status change of another report of the same source, or of a neighbour); "
        "usually within seconds. The report acted on is rescored before the answer, so its own is false",
    },
    "score_updated_at": {"type": "string", "format": "date-time", "description": "absent until the report is scored"},
}

SCHEMAS: dict[str, Any] = {
    "AssessmentInput": {
        "type": "object",
        "required": ["reliability", "credibility"],
        "properties": {
            "reliability": {
                "type": "string",
                "enum": ["A", "B", "C", "D", "E", "F"],
                "description": "F: cannot be judged",
            },
            "credibility": {"type": "integer", "minimum": 1, "maximum": 6, "description": "6: cannot be judged"},
            "note": {"type": "string", "maxLength": 2000},
        },
    },
    "Assessment": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "report_id": {"type": "integer"},
            "reliability": {"type": "string"},
            "credibility": {"type": "integer"},
            "code": {"type": "string", "example": "B2"},
            "note": {"type": "string"},
            "verifier": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            **VALIDATION_PROPERTIES,
        },
    },
    "AssessmentState": ASSESSMENT_STATE,
    "ValidationProperties": {
        "type": "object",
        "description": "What the validation plugin adds to a report's properties "
        "(GET /api/v1/reports, the map's points, search results, GeoJSON exports) for those who may "
        "see scores; CSV exports have score (#meta+score), admiralty (#meta+x_admiralty) and "
        "assessment (#meta+x_assessment, the state), the first two empty while null.",
        "properties": VALIDATION_PROPERTIES,
    },
    "AssessmentList": {
        "type": "object",
        "properties": {"assessments": {"type": "array", "items": {"$ref": "#/components/schemas/Assessment"}}},
    },
    "SourceRecord": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "organisation": {"type": "string"},
            "channel": {"type": "string"},
            "has_account": {"type": "boolean"},
            "reliability": {"type": "number"},
            "prior": {"type": "number"},
            "prior_basis": {"type": "string"},
            "established": {"type": "boolean"},
            "verified": {"type": "integer"},
            "refuted": {"type": "integer"},
            "reliability_over_time": {"type": "array", "items": {"type": "object"}},
            "reports": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "title": {"type": "string"},
                        "status": {"type": "string"},
                        "crisis": {"type": "string"},
                        "occurred_at": {"type": "string", "format": "date-time"},
                        "score": {"type": ["number", "null"]},
                        "admiralty": {"type": ["string", "null"]},
                        "assessment": ASSESSMENT_STATE["properties"]["state"],
                        "grades": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
    "CombinedAssessmentInput": {
        "type": "object",
        "required": ["report_ids", "title"],
        "properties": {
            "report_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "sector": {"type": "string"},
            "place_name": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "geometry": {"type": "object", "description": "a Point; default: the centre of the originals"},
            "withdraw_originals": {"type": "boolean", "default": False},
            "reliability": {"type": "string"},
            "credibility": {"type": "integer"},
            "note": {"type": "string"},
        },
    },
    "CombinedAssessment": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "report_id": {"type": "integer"},
            "crisis": {"type": "string"},
            "sources": {"type": "array", "items": {"type": "integer"}},
            "withdrew_originals": {"type": "boolean"},
            "report_url": {"type": "string"},
        },
    },
}

# min_score narrows the core's report lists (through the filter_reports hook): the API's, and the
# OGC API's report collections (GIS clients pass it as a query parameter of the items).
SCORE_PARAMETERS = [
    {
        "name": "min_score",
        "in": "query",
        "schema": {"type": "number", "minimum": 0, "maximum": 1},
        "description": "only reports whose validation score is at least this; "
        "reports with no score (not yet assessed) are left out, "
        "so min_score=0 lists the scored ones",
    },
    {
        "name": "max_score",
        "in": "query",
        "schema": {"type": "number", "minimum": 0, "maximum": 1},
        "description": "only reports whose validation score is below this (at most 1 for 1); "
        "the dashboard's score bars open these ranges",
    },
]
PARAMETERS = {
    "/api/v1/reports": {"get": SCORE_PARAMETERS},
    "/ogc/collections/{collection_id}/items": {"get": SCORE_PARAMETERS},
}


def document() -> dict[str, Any]:
    return {"schemas": SCHEMAS, "parameters": PARAMETERS}

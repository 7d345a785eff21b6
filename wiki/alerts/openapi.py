"""The alert subscriptions' part of /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}
SUBSCRIPTION_ID = {"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "integer"}}
MESSAGE_ID = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json(ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}


AREA = {
    "description": 'A GeoJSON Polygon or MultiPolygon, {"pcode": "HT0111"}, or '
    '{"point": [lon, lat], "radius_km": 5}; null for the whole crisis',
    "type": ["object", "null"],
}
LIST = {"type": "array", "items": {"type": "string"}}
SCHEMAS: dict[str, Any] = {
    "SubscriptionInput": {
        "type": "object",
        "required": ["crisis", "deliver"],
        "properties": {
            "crisis": {"type": "string"},
            "kind": {"enum": ["reports", "watchlist", "sitreps", "layers"]},
            "area": AREA,
            "sectors": LIST,
            "statuses": LIST,
            "min_score": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "verdicts": LIST,
            "keywords": {"type": "string", "description": "the search query language"},
            "deliver": {
                "type": "object",
                "description": '{"email": address}, {"webhook": URL}, {"sms": "+509..."} or {"feed": true}',
            },
            "frequency": {"enum": ["immediate", "hourly", "daily"]},
            "quiet_hours": {
                "type": ["object", "null"],
                "properties": {"start": {"type": "string"}, "end": {"type": "string"}, "timezone": {"type": "string"}},
            },
            "language": {"type": "string"},
            "paused": {"type": "boolean"},
        },
    },
    "SubscriptionChange": {
        "type": "object",
        "description": 'Any field of SubscriptionInput but crisis; or {"code": ...} for a phone number',
    },
    "Subscription": {
        "type": "object",
        "required": ["state"],
        "properties": {
            "id": {"type": "integer"},
            "crisis": {"type": "string"},
            "kind": {"type": "string"},
            "area": AREA,
            "bbox": {"type": ["array", "null"], "items": {"type": "number"}},
            "sectors": LIST,
            "statuses": LIST,
            "min_score": {"type": ["number", "null"]},
            "verdicts": LIST,
            "keywords": {"type": "string"},
            "deliver": {"type": "object"},
            "frequency": {"type": "string"},
            "quiet_hours": {"type": ["object", "null"]},
            "language": {"type": "string"},
            "state": {"enum": ["unconfirmed", "active", "paused"]},
            "feed_url": {"type": "string"},
            "webhook_secret": {"type": "string", "description": "the HMAC-SHA256 key of X-Crisiswiki-Signature"},
            "sms_gateway": {"enum": ["configured", "none"]},
            "message": {"type": "string"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
        },
    },
    "SubscriptionList": {
        "type": "object",
        "properties": {"subscriptions": {"type": "array", "items": {"$ref": "#/components/schemas/Subscription"}}},
    },
    "DeliveryLog": {
        "type": "object",
        "properties": {
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "channel": {"type": "string"},
                        "items": {"type": "integer"},
                        "state": {"enum": ["pending", "sent", "dead", "mailed"]},
                        "attempts": {"type": "array", "items": {"type": "object"}},
                        "next_attempt_at": {"type": ["string", "null"]},
                        "created_at": {"type": "string"},
                        "sent_at": {"type": ["string", "null"]},
                        "last_error": {"type": ["string", "null"]},
                    },
                },
            }
        },
    },
}

"""The inbox in the API: GET /api/v1/messages?crisis=<short name> (without `crisis`: the messages
no rule routed to a crisis yet), newest first, keyset-paginated; for those who read the inbox."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..api.blueprint import bp
from ..api.requests import keyset_page
from ..api.spec import operation, register_schemas
from ..auth.permissions import require
from ..clock import iso
from ..crises.services import get_crisis_or_404
from ..models import InboundMessage
from ..visibility import message_sender
from .inbox import inbox_query, parse_states


def message_json(message: InboundMessage, viewer) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel,
        "crisis": message.crisis.slug if message.crisis else None,
        "sender": message_sender(message, viewer),
        "recipient": message.recipient,
        "subject": message.subject,
        "text": message.text,
        "language": message.language or None,
        "translation": message.translation or None,
        "translation_language": message.translation_language or None,
        "place": message.place,
        "sector": message.sector or None,
        "state": message.state,
        "sent_at": iso(message.sent_at),
        "received_at": iso(message.received_at),
        "report": message.report_id,
        "attachments": [
            {
                "id": attachment.id,
                "content_type": attachment.content_type,
                "width": attachment.width,
                "height": attachment.height,
                "url": url_for("inbox.attachment", attachment_id=attachment.id, size="display", _external=True),
            }
            for attachment in message.attachments
        ],
        "url": url_for("inbox.message", message_id=message.id, _external=True),
    }


@bp.get("/messages")
@operation(
    summary=(
        "Messages that came through the channels (SMS, mail), for "
        "verifiers, coordinators and admins; without crisis, those "
        "not routed to a crisis yet"
    ),
    parameters=[
        {"name": "crisis", "in": "query", "schema": {"type": "string"}},
        {
            "name": "state",
            "in": "query",
            "schema": {"type": "string"},
            "description": "inbox (default), reported, attached, irrelevant, spam; comma-separated",
        },
        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessageList"}}},
        },
        "401": {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
        "403": {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
        "404": {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
        "422": {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    },
)
def list_messages():
    require("read_inbox")
    slug = request.args.get("crisis")
    crisis = get_crisis_or_404(slug) if slug else None
    states = parse_states(request.args.getlist("state")) or ("inbox",)
    query = inbox_query(crisis, states).options(
        selectinload(InboundMessage.attachments), selectinload(InboundMessage.crisis)
    )
    rows, next_cursor = keyset_page(query, InboundMessage.id)
    return jsonify({"messages": [message_json(row, current_user) for row in rows], "next_cursor": next_cursor})


_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
register_schemas(
    {
        "MessageList": {
            "type": "object",
            "required": ["messages", "next_cursor"],
            "properties": {
                "messages": {"type": "array", "items": {"type": "object"}},
                "next_cursor": {"type": ["string", "null"]},
            },
        }
    },
)

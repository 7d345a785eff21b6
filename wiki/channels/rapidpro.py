"""RapidPro and TextIt: messages forwarded as JSON, with the shared secret in X-Crisiswiki-Secret.

Two shapes are read, whichever the RapidPro side is set up to send:

- a flow's "Call Webhook" action with RapidPro's default body: the message is `input` (`uuid`,
  `urn` such as "tel:+50937000000", `text`, `attachments` as "image/jpeg:https://..."), the
  sender also in `contact.urn`, the time in `input.created_on` or `run.created_on`;
- the message JSON of RapidPro's External API channel: `id`, `text`, `from` (the person),
  `to` (the channel's number) and optionally `date`.

Replies go out as broadcasts through RapidPro's API (RAPIDPRO_API_URL, RAPIDPRO_API_TOKEN).
"""

from __future__ import annotations

import json
import urllib.request

from flask import Request, current_app
from flask_babel import gettext as _

from ..errors import InvalidInput
from ..models import OutboundMessage
from .base import Channel, DeliveryError, Incoming
from .posting import post
from .reading import json_object, text_value
from .shared_secret import check_secret, parse_time

MAX_MEDIA = 10


def _urn_address(urn: str) -> str:
    """ "tel:+50937000000" -> "+50937000000"; other schemes keep their address ("mailto:...")."""
    scheme, _sep, address = urn.partition(":")
    return address if scheme in ("tel", "mailto", "whatsapp", "telegram", "ext") and address else urn


class RapidPro(Channel):
    name = "rapidpro"
    label = "RapidPro"
    can_send = True

    def configured(self) -> bool:
        return bool(current_app.config["RAPIDPRO_SECRET"])

    def receive(self, request: Request) -> list[Incoming]:
        check_secret(request, current_app.config["RAPIDPRO_SECRET"], self.label)
        data, raw = json_object(request)
        given = data.get("input")
        if isinstance(given, dict):
            message_id = text_value(given.get("uuid"))
            urn = text_value(given.get("urn")) or text_value((data.get("contact") or {}).get("urn"))
            text = text_value(given.get("text"))
            channel = given.get("channel") if isinstance(given.get("channel"), dict) else {}
            recipient = text_value(channel.get("address")) or text_value(channel.get("name")) or ""
            when = given.get("created_on") or (data.get("run") or {}).get("created_on")
            attachments = given.get("attachments") or []
            media = tuple(
                item.partition(":")[2] for item in attachments[:MAX_MEDIA] if isinstance(item, str) and ":" in item
            )
            id_field, sender_field = "input.uuid", "input.urn"
        else:
            message_id = text_value(data.get("id"))
            urn = text_value(data.get("from"))
            text = text_value(data.get("text"))
            recipient = text_value(data.get("to")) or ""
            when = data.get("date")
            media = ()
            id_field, sender_field = "id", "from"
        if not message_id:
            raise InvalidInput(
                _(
                    "%(field)s is missing: the message's id, which makes a retried delivery one message.",
                    field=id_field,
                ),
                field=id_field,
            )
        if not urn:
            raise InvalidInput(_("%(field)s is missing: who sent the message.", field=sender_field), field=sender_field)
        if text is None:
            raise InvalidInput(_("The message's text is missing."), field="text")
        return [
            Incoming(
                external_id=message_id[:255],
                sender=_urn_address(urn)[:254],
                recipient=_urn_address(recipient)[:254],
                text=text,
                raw=raw,
                sent_at=parse_time(when, "created_on"),
                media=media,
            )
        ]

    def deliver(self, message: OutboundMessage) -> str:
        config = current_app.config
        if not (config["RAPIDPRO_API_URL"] and config["RAPIDPRO_API_TOKEN"]):
            raise DeliveryError("set RAPIDPRO_API_URL and RAPIDPRO_API_TOKEN to send through RapidPro")
        scheme = "mailto" if "@" in message.recipient else "tel"
        body = json.dumps({"urns": [f"{scheme}:{message.recipient}"], "text": message.text}).encode()
        request = urllib.request.Request(
            config["RAPIDPRO_API_URL"].rstrip("/") + "/api/v2/broadcasts.json", data=body, method="POST"
        )
        request.add_header("Authorization", f"Token {config['RAPIDPRO_API_TOKEN']}")
        request.add_header("Content-Type", "application/json")
        return post(request, lambda answer: json.loads(answer).get("uuid") or json.loads(answer).get("id", ""))

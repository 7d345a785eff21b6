"""A generic JSON webhook, for any gateway or script: POST {"id", "from", "text"} (optionally
"to", "sent_at" as ISO 8601, "media": [URL, ...]) with the shared secret in X-Crisiswiki-Secret.
Replies, when WEBHOOK_SEND_URL is set, are posted there as {"id", "to", "text"} with the same
header."""

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
from .shared_secret import SECRET_HEADER, check_secret, parse_time


class Webhook(Channel):
    name = "webhook"
    label = "webhook"
    can_send = True

    def configured(self) -> bool:
        return bool(current_app.config["WEBHOOK_SECRET"])

    def receive(self, request: Request) -> list[Incoming]:
        check_secret(request, current_app.config["WEBHOOK_SECRET"], self.label)
        data, raw = json_object(request)
        message_id, sender, text = (text_value(data.get(name)) for name in ("id", "from", "text"))
        if not message_id:
            raise InvalidInput(
                _("id is missing: the gateway's id for the message, which makes a retry one message."), field="id"
            )
        if not sender:
            raise InvalidInput(_("from is missing: who sent the message (a phone number or address)."), field="from")
        if text is None:
            raise InvalidInput(_("text is missing: the message itself."), field="text")
        media = data.get("media") or []
        if not isinstance(media, list) or not all(isinstance(url, str) for url in media):
            raise InvalidInput(_("media must be a list of URLs."), field="media")
        return [
            Incoming(
                external_id=message_id[:255],
                sender=sender[:254],
                recipient=(text_value(data.get("to")) or "")[:254],
                text=text,
                raw=raw,
                sent_at=parse_time(data.get("sent_at"), "sent_at"),
                media=tuple(media[:10]),
            )
        ]

    def deliver(self, message: OutboundMessage) -> str:
        config = current_app.config
        if not config["WEBHOOK_SEND_URL"]:
            raise DeliveryError("set WEBHOOK_SEND_URL to send through the webhook channel")
        body = json.dumps({"id": message.uuid, "to": message.recipient, "text": message.text}).encode()
        request = urllib.request.Request(config["WEBHOOK_SEND_URL"], data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header(SECRET_HEADER, config["WEBHOOK_SECRET"])
        return post(request, lambda answer: (json.loads(answer) or {}).get("id", "") if answer else "")

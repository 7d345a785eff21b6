"""Twilio (and gateways that copy its webhook: SignalWire, Telnyx's TeXML): an SMS arrives as a
form POST (From, To, Body, MessageSid, NumMedia, MediaUrl0 ...) signed with X-Twilio-Signature,
and replies go out through the Messages REST API.

The signature, as Twilio documents it: HMAC-SHA1, keyed with the account's auth token, of the
full URL Twilio called followed by every POST parameter's name and value, sorted by name (no
separators), base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import urllib.request

from flask import Request, Response, current_app
from flask_babel import gettext as _

from ..errors import InvalidInput
from ..models import OutboundMessage
from .base import Channel, DeliveryError, Incoming, wrong_secret
from .posting import post
from .reading import form

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_MEDIA = 10


def signature(url: str, params: list[tuple[str, str]], auth_token: str) -> str:
    """X-Twilio-Signature for a POST of `params` to `url`."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _media(fields: dict[str, str]) -> tuple[str, ...]:
    try:
        count = min(int(fields.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        raise InvalidInput(_("NumMedia must be a number."), field="NumMedia") from None
    return tuple(fields[f"MediaUrl{i}"] for i in range(count) if fields.get(f"MediaUrl{i}"))


def _urls_called(request: Request) -> list[str]:
    """The URL Twilio signed: as this app sees it, and as BASE_URL says the world sees it
    (behind a proxy that does not pass the scheme or host)."""
    urls = [request.url]
    base = current_app.config["BASE_URL"].rstrip("/")
    if base:
        query = request.query_string.decode("latin-1")
        urls.append(base + request.path + (f"?{query}" if query else ""))
    return urls


class Twilio(Channel):
    name = "twilio"
    label = "Twilio"
    can_send = True

    def configured(self) -> bool:
        return bool(current_app.config["TWILIO_AUTH_TOKEN"])

    def receive(self, request: Request) -> list[Incoming]:
        params, raw = form(request)
        given = request.headers.get("X-Twilio-Signature", "")
        token = current_app.config["TWILIO_AUTH_TOKEN"]
        if not given or not any(
            hmac.compare_digest(signature(url, params, token), given) for url in _urls_called(request)
        ):
            raise wrong_secret(self.label)
        fields = dict(params)
        sid = fields.get("MessageSid") or fields.get("SmsSid")
        if not sid:
            raise InvalidInput(_("MessageSid is missing: this is not a Twilio message webhook."), field="MessageSid")
        sender = fields.get("From", "").strip()
        if not sender:
            raise InvalidInput(_("From is missing."), field="From")
        media = _media(fields)
        return [
            Incoming(
                external_id=sid[:255],
                sender=sender[:254],
                recipient=fields.get("To", "")[:254],
                text=fields.get("Body", ""),
                raw=raw,
                media=media,
            )
        ]

    def media_addresses(self, raw: bytes) -> list[str]:
        fields = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            return list(_media(fields))
        except InvalidInput:  # refused on arrival: a stored message's NumMedia is a number
            return []

    def media_credentials(self) -> tuple[str, str] | None:
        config = current_app.config
        sid, token = config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"]
        return (sid, token) if sid and token else None

    def answer(self, stored, request: Request) -> Response:
        # An empty TwiML response: Twilio sends nothing back by itself (replies go through the API).
        return Response(EMPTY_TWIML, 200, mimetype="text/xml")

    def deliver(self, message: OutboundMessage) -> str:
        config = current_app.config
        sid, token = config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"]
        if not (sid and token and config["TWILIO_FROM"]):
            raise DeliveryError("set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM to send SMS through Twilio")
        url = f"{config['TWILIO_API_URL'].rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json"
        data = urllib.parse.urlencode({"To": message.recipient, "From": config["TWILIO_FROM"], "Body": message.text})
        request = urllib.request.Request(url, data=data.encode(), method="POST")
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode())
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        return post(request, lambda body: json.loads(body).get("sid", ""))

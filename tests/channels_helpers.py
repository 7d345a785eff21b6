"""Requests shaped exactly as each gateway sends them (signatures computed as the gateway
computes them), and a stand-in for a gateway's send API on a loopback port."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

TWILIO_TOKEN = "twilio-auth-token-0123456789"
SMSSYNC_SECRET = "smssync-secret"
RAPIDPRO_SECRET = "rapidpro-secret"
WEBHOOK_SECRET = "webhook-secret"
SECRETS = {
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "TWILIO_FROM": "+15005550006",
    "SMSSYNC_SECRET": SMSSYNC_SECRET,
    "RAPIDPRO_SECRET": RAPIDPRO_SECRET,
    "WEBHOOK_SECRET": WEBHOOK_SECRET,
}


def twilio_signature(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    """As Twilio documents it: the full URL, then each POST parameter's name and value sorted by
    name, HMAC-SHA1 with the auth token, base64."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def twilio_sms(sid: str, body: str, sender: str = "+50937000001", to: str = "+15005550006", **extra) -> dict[str, str]:
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": SECRETS["TWILIO_ACCOUNT_SID"],
        "From": sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def twilio_request(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> dict:
    """Keyword arguments for the test client (or requests) to post as Twilio does."""
    return {
        "data": urlencode(params),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "X-Twilio-Signature": twilio_signature(url, params, token),
            "User-Agent": "TwilioProxy/1.1",
        },
    }


def smssync_sms(message_id: str, text: str, sender: str = "+50937000002", secret: str = SMSSYNC_SECRET) -> dict:
    return {
        "data": urlencode(
            {
                "from": sender,
                "message": text,
                "message_id": message_id,
                "sent_to": "+50937999999",
                "secret": secret,
                "device_id": "phone-1",
                "sent_timestamp": "1263315180000",
            }
        ),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


def rapidpro_webhook(uuid: str, text: str, urn: str = "tel:+50937000003", secret: str = RAPIDPRO_SECRET) -> dict:
    """RapidPro's "Call Webhook" action with its default body."""
    body = {
        "contact": {"uuid": "c1a1-0000", "name": "", "urn": urn},
        "flow": {"uuid": "f1f1-0000", "name": "Reports"},
        "path": [],
        "results": {},
        "run": {"uuid": "r1r1-0000", "created_on": "2010-01-13T10:00:00.000000Z"},
        "input": {
            "uuid": uuid,
            "type": "msg",
            "channel": {"uuid": "ch-0000", "name": "Haiti shortcode", "address": "4636"},
            "urn": urn,
            "text": text,
            "attachments": [],
            "created_on": "2010-01-13T10:00:00.000000Z",
        },
    }
    return {"data": json.dumps(body), "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": secret}}


def webhook_message(message_id: str, text: str, sender: str = "+50937000004", secret: str = WEBHOOK_SECRET) -> dict:
    body = {"id": message_id, "from": sender, "to": "4636", "text": text, "sent_at": "2010-01-13T10:00:00Z"}
    return {"data": json.dumps(body), "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": secret}}


class GatewayAPI:
    """A loopback HTTP server that answers like a gateway's send API and keeps what it got."""

    def __init__(self, status: int = 201, answer: dict | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = status
        self.answer = answer or {"sid": "SM" + "f" * 32}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append((self.path, dict(self.headers), self.rfile.read(length)))
                body = json.dumps(outer.answer).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> GatewayAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

"""What the alert tests share: a real HTTP server on loopback that receives webhooks (and checks
nothing itself: the tests check the signatures), an SMS gateway plugin that keeps what it is
given, admin boundaries with two communes, and running the background worker's jobs."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wiki.hooks import hookimpl

from .postgres_cluster import free_port

# Two communes of the Ouest department: Port-au-Prince (HT0111) and Carrefour (HT0113).
BOUNDARIES = {
    1: {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"adm1_pcode": "HT01", "adm1_name": "Ouest"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[-72.6, 18.3], [-72.0, 18.3], [-72.0, 18.7], [-72.6, 18.7], [-72.6, 18.3]]],
                },
            }
        ],
    },
    2: {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"adm2_pcode": "HT0111", "adm2_name": "Port-au-Prince", "adm1_pcode": "HT01"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-72.36, 18.50], [-72.28, 18.50], [-72.28, 18.58], [-72.36, 18.58], [-72.36, 18.50]]
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {"adm2_pcode": "HT0113", "adm2_name": "Carrefour", "adm1_pcode": "HT01"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-72.45, 18.50], [-72.36, 18.50], [-72.36, 18.58], [-72.45, 18.58], [-72.45, 18.50]]
                    ],
                },
            },
        ],
    },
}
IN_PORT_AU_PRINCE = (-72.33, 18.54)
IN_CARREFOUR = (-72.40, 18.53)
LINK = re.compile(r"https?://\S+")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP server on 127.0.0.1; answers each POST with the next status of `answers`
    (then 200), and keeps what it was sent."""

    port: int
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/crisiswiki"


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received(self.path, dict(self.headers), body))
            status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class SmsGateway:
    """A plugin implementing deliver_sms, as the channels' gateway will: keeps every SMS."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    @hookimpl
    def deliver_sms(self, to, text, crisis):
        self.sent.append((to, text, crisis.slug))
        return f"gateway-{len(self.sent)}"


def run_worker(app) -> None:
    """Every job of the background worker until none has work left (as `crisiswiki worker --once`);
    a job that failed (the worker logs it and carries on) fails the test."""
    from wiki.workers import worker_for

    with app.app_context():
        worker = worker_for(app)
        before = {name: state.failures for name, state in worker.states.items()}
        worker.run_until_idle(timeout=60)
        failed = [name for name, state in worker.states.items() if state.failures != before[name]]
        assert not failed, f"background jobs failed: {failed} (see the log)"


def links_in(message) -> list[str]:
    return LINK.findall(message.get_body(("plain",)).get_content())


def import_boundaries_into(app, slug: str, admin_id: int) -> None:
    from wiki.crises.services import get_crisis_or_404
    from wiki.extensions import db
    from wiki.maps.boundaries import import_boundaries
    from wiki.models import User

    with app.test_request_context():
        crisis = get_crisis_or_404(slug)
        for level, document in BOUNDARIES.items():
            import_boundaries(crisis, level, document, db.session.get(User, admin_id))

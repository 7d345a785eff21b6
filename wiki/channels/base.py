"""What a channel is: a gateway that messages arrive through (and replies may go out through).

Channels are plugins: each is an object a plugin returns from the `register_channels` hook
(wiki/hooks.py); the core's own (Twilio, SMSSync, RapidPro, a generic webhook, email) are
registered the same way by wiki.channels.plugin. A channel reads the gateway's request
exactly as the gateway sends it, checks its signature or secret, and says what to answer.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Request, Response, current_app, jsonify
from flask_babel import gettext as _

from ..errors import DomainError, Forbidden, NotFound
from ..models import OutboundMessage


@dataclass(frozen=True)
class Incoming:
    """One message as a gateway delivered it, before anything is made of it."""

    external_id: str  # the gateway's id for it: a retried delivery carries the same one
    sender: str
    text: str
    raw: bytes  # exactly what came, kept with the message
    recipient: str = ""
    subject: str = ""
    sent_at: datetime | None = None
    media: tuple[str, ...] = ()  # addresses of media the gateway holds (Twilio's MediaUrl0 ...)
    extra: Mapping[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """A gateway refused or could not take an outgoing message; it is tried again later."""


class Channel:
    """A gateway. Subclasses set `name` and implement `receive`; those that can send set
    `can_send` and implement `deliver`."""

    name = ""
    label = ""
    kind = "sms"  # sms or email: how a sender's address is written, which replies it can take
    can_send = False
    pulls_outgoing = False  # the gateway fetches what to send (SMSSync) instead of being sent it

    def settings(self) -> dict[str, Any]:
        return current_app.config

    def configured(self) -> bool:
        """Whether this deployment has set the channel up (its secret or token)."""
        return True

    def receive(self, request: Request) -> list[Incoming]:
        """Check the request (signature, secret) and read the messages in it. Raise a
        DomainError: Forbidden (403) for a wrong signature or secret, BadRequest (400),
        UnsupportedMediaType (415), InvalidInput (422), TooLarge (413) for bad input."""
        raise NotImplementedError

    def answer(self, stored: list[tuple[int, bool]], request: Request) -> Response:
        """The gateway's expected answer once the messages are committed: `stored` is
        [(message id, True when it was a retry of one stored before)]."""
        return jsonify({"received": [{"id": message_id, "duplicate": retry} for message_id, retry in stored]})

    def refuse(self, error: DomainError, request: Request) -> Response | None:
        """The answer to a refused request in the gateway's own format (None: the core's)."""
        return None

    def poll(self, request: Request) -> Response:
        """GET on the inbound URL: gateways that fetch work (SMSSync's tasks)."""
        raise NotFound(_("This channel takes messages by POST only."))

    def media_addresses(self, raw: bytes) -> list[str]:
        """Addresses of the media the gateway holds for a stored message (its raw request), in
        order: fetched by the channel-media job (wiki.channels.media)."""
        return []

    def media_credentials(self) -> tuple[str, str] | None:
        """(user, password) for HTTP Basic authentication when fetching those media."""
        return None

    def deliver(self, message: OutboundMessage) -> str:
        """Send one outgoing message; returns the gateway's id for it. Raise DeliveryError."""
        raise DeliveryError(f"the {self.name} channel cannot send")


def secret_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; an unset secret matches nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def wrong_secret(channel: str) -> Forbidden:
    return Forbidden(
        _(
            "The %(channel)s gateway's secret or signature does not match this server's: check the secret (or auth "
            "token) configured on both sides. Nothing was stored.",
            channel=channel,
        )
    )

"""The gateways' URL: POST /channels/<channel>/inbound (optionally ?crisis=<short name>), and GET
on it for gateways that fetch their outgoing messages (SMSSync's ?task=send).

The answer the gateway waits for is sent only after the message is committed (wiki.channels.
intake). Every refusal (wrong secret or signature: 403; unknown channel or crisis: 404; too
large: 413; not the gateway's content type: 415; malformed: 400; a field missing: 422) stores
nothing, and says what is wrong in the gateway's own answer format where it has one.
"""

from __future__ import annotations

import time

from flask import Blueprint, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..database import reads_first
from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import Crisis
from .intake import store_messages
from .registry import channel_named

bp = Blueprint("channels", __name__)


def _channel(name: str):
    channel = channel_named(name)
    if channel is None or not channel.configured():
        raise NotFound(
            _(
                "There is no channel %(name)s here (or it is not set up on this server): use twilio, smssync, "
                "rapidpro or webhook, each with its secret configured.",
                name=name,
            )
        )
    return channel


_known_crises: dict[tuple[str, str], float] = {}  # (database, slug) -> when last seen to exist
KNOWN_FOR_SECONDS = 60.0


def _crisis_exists(slug: str) -> bool:
    """Whether the crisis exists, remembered for a minute per process: a surge of SMS all name
    the same one, and crises are not deleted."""
    key, now = (str(db.engine.url), slug), time.monotonic()
    if _known_crises.get(key, 0.0) > now:
        return True
    if db.session.scalar(select(Crisis.id).where(Crisis.slug == slug)) is None:
        return False
    _known_crises[key] = now + KNOWN_FOR_SECONDS
    return True


def _crisis_hint() -> str:
    slug = request.args.get("crisis", "").strip()
    if not slug:
        return ""
    if "\x00" in slug or len(slug) > 100 or not _crisis_exists(slug):
        raise NotFound(
            _("There is no crisis %(slug)s: fix ?crisis= in the URL configured on the gateway.", slug=slug[:100])
        )
    return slug


def _gateway_error(channel, error: DomainError):
    answer = channel.refuse(error, request) if channel is not None else None
    if answer is None:
        raise error
    return answer


@bp.route("/channels/<name>/inbound", methods=["POST"])
@reads_first
def inbound(name: str):
    channel = _channel(name)
    try:
        if name == "smssync" and request.args.get("task") == "sent":
            return channel.sent(request)
        if name == "smssync" and request.args.get("task") == "result":
            return channel.results(request)
        messages = channel.receive(request)
        hint = _crisis_hint()
    except DomainError as error:
        db.session.rollback()
        return _gateway_error(channel, error)
    stored = store_messages(channel.name, messages, hint)
    return channel.answer(stored, request)


@bp.route("/channels/<name>/inbound", methods=["GET"])
@reads_first
def poll(name: str):
    channel = _channel(name)
    try:
        return channel.poll(request)
    except DomainError as error:
        db.session.rollback()
        return _gateway_error(channel, error)


inbound.authenticated_by_secret = True
poll.authenticated_by_secret = True

"""Sending webhook and SMS messages: one sender at a time per message (a lease, as the mail
outbox does), retries with exponential backoff, a dead-letter state after
ALERT_MAX_ATTEMPTS failures, and a log of every attempt that the subscriber reads and can replay.

Webhooks are POSTed as JSON with an HMAC-SHA256 signature of "<timestamp>.<body>" under the
subscription's own secret (headers X-Crisiswiki-Signature: sha256=<hex> and
X-Crisiswiki-Timestamp), and X-Crisiswiki-Delivery: the message's id, the same on every retry
so the receiver can tell a repeat: a sender that dies after the receiver answered and before
the answer was written down sends it again (at least once; once per message id when the
receiver keeps the ids). SMS go through the `deliver_sms` hook; with no gateway they wait.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from .. import metrics, plugins
from ..database import fits_id, write_transaction
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import AlertAttempt, AlertMessage, AlertSubscription
from ..models.base import utcnow
from .addresses import check_webhook, post

USER_AGENT = "crisiswiki-alerts/1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sms_gateway_configured() -> bool:
    return plugins.implemented("deliver_sms")


def retry_delay(attempts: int) -> timedelta:
    """After the `attempts`-th failure: ALERT_RETRY_SECONDS, doubling each time, at most an hour."""
    first = float(current_app.config["ALERT_RETRY_SECONDS"])
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 3600))


def waiting(now, limit: int) -> list[int]:
    """Webhook and SMS messages due now (SMS only when a gateway is configured)."""
    lease = timedelta(seconds=current_app.config["ALERT_CLAIM_SECONDS"])
    channels = ["webhook", "sms"] if sms_gateway_configured() else ["webhook"]
    ids = db.session.scalars(
        select(AlertMessage.id)
        .where(
            AlertMessage.state == "pending",
            AlertMessage.channel.in_(channels),
            or_(AlertMessage.next_attempt_at.is_(None), AlertMessage.next_attempt_at <= now),
            or_(AlertMessage.claimed_at.is_(None), AlertMessage.claimed_at < now - lease),
        )
        .order_by(AlertMessage.next_attempt_at, AlertMessage.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    return list(ids)


def _claim(message_id: int, token: str) -> AlertMessage | None:
    now = utcnow()
    lease = timedelta(seconds=current_app.config["ALERT_CLAIM_SECONDS"])
    with write_transaction():
        claimed = db.session.execute(
            update(AlertMessage)
            .where(
                AlertMessage.id == message_id,
                AlertMessage.state == "pending",
                or_(AlertMessage.claimed_at.is_(None), AlertMessage.claimed_at < now - lease),
            )
            .values(claim_token=token, claimed_at=now)
        )
        if claimed.rowcount != 1:
            return None
        return db.session.get(AlertMessage, message_id, populate_existing=True)


def _record(message: AlertMessage, token: str, status: int | None, error: str | None, started: float) -> None:
    """Write down one attempt and the message's new state, if this sender still holds it."""
    now = utcnow()
    attempts = message.attempts + 1
    ok = error is None
    if ok:
        values = {"state": "sent", "sent_at": now, "last_error": None}
    elif attempts >= int(current_app.config["ALERT_MAX_ATTEMPTS"]):
        values = {"state": "dead", "last_error": error[:2000]}
    else:
        values = {"last_error": error[:2000], "next_attempt_at": now + retry_delay(attempts)}
    with write_transaction():
        replay = bool(
            message.attempts == 0
            and db.session.scalar(select(AlertAttempt.id).where(AlertAttempt.message_id == message.id).limit(1))
        )
        changed = db.session.execute(
            update(AlertMessage)
            .where(AlertMessage.id == message.id, AlertMessage.claim_token == token)
            .values(attempts=attempts, claim_token=None, claimed_at=None, **values)
        ).rowcount
        if changed:
            db.session.add(
                AlertAttempt(
                    message_id=message.id,
                    at=now,
                    status_code=status,
                    error=error[:2000] if error else None,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    replay=replay,
                )
            )
    if changed:
        metrics.inc("alert_deliveries" if ok else "alert_delivery_failures", channel=message.channel)


def _send_webhook(message: AlertMessage, subscription: AlertSubscription) -> tuple[int | None, str | None]:
    try:
        target = check_webhook(subscription.address)  # again: the name may point elsewhere now
    except InvalidInput as exc:
        return None, exc.message
    body = message.payload.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Crisiswiki-Delivery": str(message.id),
        "X-Crisiswiki-Timestamp": timestamp,
        "X-Crisiswiki-Signature": signature(subscription.webhook_secret, timestamp, body),
    }
    try:
        status = post(target, body, headers, float(current_app.config["ALERT_WEBHOOK_TIMEOUT"]))
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= status < 300:
        return status, None
    return status, _("The receiver answered %(status)d.", status=status)


def _send_sms(message: AlertMessage, subscription: AlertSubscription) -> tuple[int | None, str | None]:
    try:
        handed = plugins.call("deliver_sms", to=subscription.address, text=message.payload, crisis=subscription.crisis)
    except Exception as exc:  # the gateway's failure: tried again later
        return None, f"{type(exc).__name__}: {exc}"
    if handed is None:
        return None, _("No SMS gateway is configured.")
    return None, None


def send_waiting(deadline: float, limit: int = 100) -> int:
    """Send due webhook and SMS messages until `deadline` (at least one); returns how many were tried."""
    token = secrets.token_hex(16)
    tried = 0
    for message_id in waiting(utcnow(), limit):
        if tried and time.monotonic() > deadline:
            break
        message = _claim(message_id, token)
        if message is None:
            continue
        subscription = db.session.get(AlertSubscription, message.subscription_id)
        started = time.monotonic()
        if subscription is None:
            continue
        sender = _send_webhook if message.channel == "webhook" else _send_sms
        status, error = sender(message, subscription)
        if error is not None:
            current_app.logger.info("alert message %s not delivered: %s", message.id, error)
        _record(message, token, status, error, started)
        tried += 1
    return tried


def delivery_log(subscription: AlertSubscription, limit: int = 100) -> list[tuple[AlertMessage, list[AlertAttempt]]]:
    """The subscription's latest messages, newest first, each with its attempts (two queries)."""
    messages = db.session.scalars(
        select(AlertMessage)
        .where(AlertMessage.subscription_id == subscription.id)
        .order_by(AlertMessage.id.desc())
        .limit(limit)
    ).all()
    attempts: dict[int, list[AlertAttempt]] = {}
    if messages:
        for attempt in db.session.scalars(
            select(AlertAttempt).where(AlertAttempt.message_id.in_([m.id for m in messages])).order_by(AlertAttempt.id)
        ):
            attempts.setdefault(attempt.message_id, []).append(attempt)
    return [(message, attempts.get(message.id, [])) for message in messages]


def message_of(subscription: AlertSubscription, message_id) -> AlertMessage:
    """One of the subscription's messages, or NotFound."""
    message = db.session.get(AlertMessage, message_id) if isinstance(message_id, int) and fits_id(message_id) else None
    if message is None or message.subscription_id != subscription.id:
        raise NotFound(_("There is no such message."))
    return message


def replay(message: AlertMessage) -> None:
    """Send a webhook or SMS message again (its owner asked; the caller commits): a fresh series of
    attempts, logged as a replay; the receiver sees the same X-Crisiswiki-Delivery id."""
    if message.channel not in ("webhook", "sms"):
        raise InvalidInput(_("Only webhook and SMS messages can be sent again."), field="message")
    db.session.execute(
        update(AlertMessage)
        .where(AlertMessage.id == message.id, AlertMessage.claim_token.is_(None))
        .values(state="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
    )

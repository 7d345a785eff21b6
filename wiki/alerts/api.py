"""Alert subscriptions in the API (/api/v1/subscriptions): make one (anyone, by e-mail; logged-in
users by any channel), read, change and delete one's own (admins: any), and read the delivery
log of a subscription and replay a webhook from it."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..api.blueprint import bp
from ..api.requests import json_body
from ..api.spec import ERROR, operation, register_schemas
from ..crises.services import get_crisis_or_404
from ..errors import InvalidInput, Unauthorized
from ..extensions import db
from ..models import AlertSubscription
from . import subscriptions as service
from .areas import area_of
from .openapi import SCHEMAS
from .senders import delivery_log, message_of, replay, sms_gateway_configured

LOG_LIMIT = 100
register_schemas(SCHEMAS)


def describe(subscription: AlertSubscription) -> dict[str, Any]:
    """A subscription as its owner (or an admin: without the webhook's secret) sees it."""
    area = area_of(subscription)
    body: dict[str, Any] = {
        "id": subscription.id,
        "crisis": subscription.crisis.slug,
        "kind": subscription.kind,
        "area": area.describe() if area else None,
        "bbox": list(area.bbox) if area else None,
        "sectors": subscription.sectors or [],
        "statuses": subscription.statuses or [],
        "min_score": subscription.min_score,
        "verdicts": subscription.verdicts or [],
        "keywords": subscription.keywords,
        "deliver": {subscription.channel: subscription.address or True},
        "frequency": subscription.frequency,
        "quiet_hours": {
            "start": subscription.quiet_start,
            "end": subscription.quiet_end,
            "timezone": subscription.timezone,
        }
        if subscription.quiet_start
        else None,
        "language": subscription.language,
        "state": subscription.state,
        "feed_url": service.feed_url(subscription),
        "created_at": subscription.created_at.isoformat(),
        "updated_at": subscription.updated_at.isoformat(),
    }
    if subscription.channel == "webhook" and subscription.user_id == getattr(current_user, "id", None):
        body["webhook_secret"] = subscription.webhook_secret
    if subscription.channel == "sms":
        body["sms_gateway"] = "configured" if sms_gateway_configured() else "none"
    return body


def _logged_in() -> None:
    if not getattr(current_user, "is_authenticated", False):
        raise Unauthorized(_("Log in (or send a bearer token) to see subscriptions."))


@bp.post("/subscriptions")
@operation(
    summary="Subscribe to alerts (anyone by e-mail, confirmed by a link; logged-in users also by webhook, SMS or feed)",
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubscriptionInput"}}},
    },
    responses={
        "201": {
            "description": "Made (an e-mail address or phone number must be confirmed before alerts go to it)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Subscription"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "413": ERROR,
        "415": ERROR,
        "422": ERROR,
        "429": ERROR,
    },
)
def create_subscription():
    subscription = service.create_subscription(json_body(), current_user)
    db.session.commit()
    if not getattr(current_user, "is_authenticated", False):
        # Someone without an account learns nothing but that a mail is on its way.
        return jsonify({"state": "unconfirmed", "message": _("Open the link in the mail we sent to confirm.")}), 201
    response = jsonify(describe(subscription))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_subscription", subscription_id=subscription.id, _external=True)
    return response


@bp.get("/subscriptions")
@operation(
    summary="Your subscriptions (admins: ?crisis= gives every subscription of a crisis)",
    parameters=[{"name": "crisis", "in": "query", "schema": {"type": "string"}}],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubscriptionList"}}},
        },
        "401": ERROR,
        "404": ERROR,
    },
)
def list_subscriptions():
    _logged_in()
    crisis = get_crisis_or_404(request.args["crisis"]) if request.args.get("crisis") else None
    return jsonify({"subscriptions": [describe(s) for s in service.subscriptions_of(current_user, crisis)]})


def _visible(subscription_id: int) -> AlertSubscription:
    _logged_in()
    return service.get_visible_subscription(subscription_id, current_user)


@bp.get("/subscriptions/<int:subscription_id>")
@operation(
    summary="A subscription (its owner, admins)",
    parameters=[{"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Subscription"}}},
        },
        "401": ERROR,
        "404": ERROR,
    },
)
def get_subscription(subscription_id: int):
    return jsonify(describe(_visible(subscription_id)))


@bp.patch("/subscriptions/<int:subscription_id>")
@operation(
    summary='Change a subscription, pause it ({"paused": true}), or confirm a phone number ({"code": "123456"})',
    parameters=[{"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubscriptionChange"}}},
    },
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Subscription"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "404": ERROR,
        "413": ERROR,
        "415": ERROR,
        "422": ERROR,
        "429": ERROR,
    },
)
def patch_subscription(subscription_id: int):
    subscription = _visible(subscription_id)
    data = json_body()
    code = data.pop("code", None)
    if code is not None:
        service.confirm_code(subscription, code, current_user)
    elif not data:
        raise InvalidInput(_("Send at least one field to change."), field="body")
    service.update_subscription(subscription, data, current_user)
    db.session.commit()
    return jsonify(describe(subscription))


@bp.delete("/subscriptions/<int:subscription_id>")
@operation(
    summary="Delete a subscription",
    parameters=[{"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={"204": {"description": "Deleted"}, "401": ERROR, "404": ERROR},
)
def delete_subscription(subscription_id: int):
    service.delete_subscription(_visible(subscription_id), current_user)
    db.session.commit()
    return "", 204


@bp.get("/subscriptions/<int:subscription_id>/deliveries")
@operation(
    summary="The delivery log: the latest messages with each attempt (status, error, time)",
    parameters=[{"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeliveryLog"}}},
        },
        "401": ERROR,
        "404": ERROR,
    },
)
def subscription_deliveries(subscription_id: int):
    """The delivery log: the latest messages, each with its attempts."""
    subscription = _visible(subscription_id)
    return jsonify(
        {
            "messages": [
                {
                    "id": m.id,
                    "channel": m.channel,
                    "items": m.items,
                    "state": m.state,
                    "attempts": [
                        {
                            "at": attempt.at.isoformat(),
                            "status_code": attempt.status_code,
                            "error": attempt.error,
                            "duration_ms": attempt.duration_ms,
                            "replay": attempt.replay,
                        }
                        for attempt in attempts
                    ],
                    "next_attempt_at": m.next_attempt_at.isoformat()
                    if m.next_attempt_at and m.state == "pending"
                    else None,
                    "created_at": m.created_at.isoformat(),
                    "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                    "last_error": m.last_error,
                }
                for m, attempts in delivery_log(subscription, LOG_LIMIT)
            ]
        }
    )


@bp.post("/subscriptions/<int:subscription_id>/messages/<int:message_id>/replay")
@operation(
    summary="Send a webhook or SMS message again (the receiver sees the same X-Crisiswiki-Delivery id)",
    parameters=[
        {"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer"}},
    ],
    responses={"202": {"description": "It will be sent again"}, "401": ERROR, "404": ERROR, "422": ERROR},
)
def replay_message(subscription_id: int, message_id: int):
    message = message_of(_visible(subscription_id), message_id)
    replay(message)
    db.session.commit()
    return jsonify({"id": message.id, "state": "pending"}), 202

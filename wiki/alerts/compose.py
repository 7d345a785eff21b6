"""Making messages of the deliveries that are due: one message per subscription and turn (an
alert, a minute's alerts collapsed, or a digest), written in one transaction together with the
deliveries it carries being marked; e-mail goes into the mail outbox in that same transaction.
So a delivery is in exactly one message, however often the job is interrupted or run at once
by several servers (on PostgreSQL the subscription's row is locked while its message is made)."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from .. import metrics
from ..database import write_transaction
from ..extensions import db
from ..mail import queue_mail
from ..models import AlertDelivery, AlertMessage, AlertSubscription
from . import schedule
from .items import Item, item_label, items_for
from .subscriptions import feed_url, site_url, unsubscribe_token

MAX_ITEMS = 100  # in one message; more wait for the next one (a minute later)
SMS_LENGTH = 320


def due_subscriptions(now: datetime, limit: int) -> list[int]:
    """Active subscriptions whose waiting deliveries are due now."""
    rows = db.session.execute(
        select(
            AlertSubscription.id,
            AlertSubscription.frequency,
            AlertSubscription.last_sent_at,
            AlertSubscription.quiet_start,
            AlertSubscription.quiet_end,
            AlertSubscription.timezone,
            func.min(AlertDelivery.created_at),
        )
        .join(AlertDelivery, AlertDelivery.subscription_id == AlertSubscription.id)
        .where(
            AlertDelivery.state == "pending",
            AlertSubscription.confirmed_at.is_not(None),
            AlertSubscription.paused_at.is_(None),
        )
        .group_by(AlertSubscription.id)
    ).all()
    due = []
    for sid, frequency, last_sent, quiet_start, quiet_end, zone, oldest in rows:
        when = schedule.due_at(
            frequency,
            oldest,
            last_sent,
            schedule.parse_clock(quiet_start) if quiet_start else None,
            schedule.parse_clock(quiet_end) if quiet_end else None,
            zone,
        )
        if when <= now:
            due.append((when, sid))
    return [sid for _when, sid in sorted(due)[:limit]]


def compose(subscription_id: int, now: datetime) -> AlertMessage | None:
    """Make the subscription's next message, in one write transaction; None when nothing was due
    (another server made it, or everything waiting is no longer to be seen)."""
    return compose_many([subscription_id], now)[0]


def compose_many(subscription_ids: list[int], now: datetime) -> list[AlertMessage | None]:
    """The next message of each subscription, all in one write transaction (a surge makes
    thousands: one commit each would be most of the work). Rows are locked in id order, so two
    servers composing at once wait for each other instead of deadlocking."""
    with write_transaction():
        made = {subscription_id: _compose(subscription_id, now) for subscription_id in sorted(subscription_ids)}
    return [made[subscription_id] for subscription_id in subscription_ids]


def _compose(subscription_id: int, now: datetime) -> AlertMessage | None:
    """One subscription's message, in the caller's transaction (its row locked on PostgreSQL; FOR
    NO KEY UPDATE, which lets the matcher insert deliveries that refer to it meanwhile)."""
    subscription = db.session.execute(
        select(AlertSubscription)
        .where(AlertSubscription.id == subscription_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if subscription is None or not subscription.active:
        return None
    deliveries = list(
        db.session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.subscription_id == subscription_id, AlertDelivery.state == "pending")
            .order_by(AlertDelivery.id)
            .limit(MAX_ITEMS)
        )
    )
    if not deliveries:
        return None
    with (
        current_app.test_request_context(base_url=subscription.base_url or None),
        force_locale(subscription.language),
    ):
        shown, dropped = items_for(subscription, deliveries)
        if dropped:
            _mark([delivery.id for delivery in dropped], "dropped", None)
        if not shown:
            return None
        message = _message(subscription, [item for _delivery, item in shown], now)
    db.session.add(message)
    db.session.flush()
    _mark([delivery.id for delivery, _item in shown], "sent", message.id)
    subscription.last_sent_at = now
    if message.state in ("mailed", "sent"):  # handed to the mail outbox, or in the feed
        metrics.inc("alert_deliveries", channel=message.channel)
    return message


def _mark(ids: list[int], state: str, message_id: int | None) -> None:
    db.session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id.in_(ids), AlertDelivery.state == "pending")
        .values(state=state, message_id=message_id)
    )


def _message(subscription: AlertSubscription, items: list[Item], now: datetime) -> AlertMessage:
    channel = subscription.channel
    message = AlertMessage(subscription_id=subscription.id, channel=channel, items=len(items), created_at=now)
    if channel == "email":
        message.mail_id = _queue_mail(subscription, items).id
        message.state = "mailed"
        message.sent_at = now
    elif channel == "webhook":
        message.payload = json.dumps(webhook_body(subscription, items, now), ensure_ascii=False)
    elif channel == "sms":
        message.payload = sms_text(subscription, items)
    else:  # a feed only: the deliveries are the feed's entries
        message.state = "sent"
        message.sent_at = now
    return message


def subject_line(subscription: AlertSubscription, items: list[Item]) -> str:
    crisis = subscription.crisis.name
    if len(items) == 1:
        return _("[%(crisis)s] %(title)s", crisis=crisis, title=items[0].title)
    return ngettext("[%(crisis)s] %(num)d new alert", "[%(crisis)s] %(num)d new alerts", len(items), crisis=crisis)


def _queue_mail(subscription: AlertSubscription, items: list[Item]):
    unsubscribe = site_url(subscription, "alerts.unsubscribe", token=unsubscribe_token(subscription))
    manage = site_url(subscription, "alerts.account_alerts") if subscription.user_id else None
    context = {
        "subscription": subscription,
        "crisis": subscription.crisis,
        "items": items,
        "labels": [item_label(item) for item in items],
        "unsubscribe_url": unsubscribe,
        "manage_url": manage,
        "feed_url": feed_url(subscription),
        "site": current_app.config["SITE_NAME"],
    }
    host = urlsplit(site_url(subscription, "pages.home")).hostname or "localhost"
    headers = {
        # RFC 8058: one-click unsubscribe, by a POST the mail client makes to the link.
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"<alerts-{subscription.id}.{subscription.crisis.slug}.{host}>",
        "Auto-Submitted": "auto-generated",
    }
    return queue_mail(
        subscription.address,
        subject_line(subscription, items),
        render_template("alerts/mail_alert_text.html", **context),
        render_template("alerts/mail_alert.html", **context),
        headers,
    )


def webhook_body(subscription: AlertSubscription, items: list[Item], now: datetime) -> dict:
    return {
        "subscription": subscription.id,
        "crisis": subscription.crisis.slug,
        "sent_at": now.isoformat(),
        "alerts": [item.as_json() for item in items],
    }


def sms_text(subscription: AlertSubscription, items: list[Item]) -> str:
    if len(items) == 1:
        text = f"{item_label(items[0])} {items[0].url}"
    else:
        text = ngettext(
            "%(num)d new alert about %(crisis)s: %(url)s",
            "%(num)d new alerts about %(crisis)s: %(url)s",
            len(items),
            crisis=subscription.crisis.name,
            url=feed_url(subscription),
        )
    return text if len(text) <= SMS_LENGTH else text[: SMS_LENGTH - 1] + "…"

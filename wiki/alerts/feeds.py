"""The Atom feed of a subscription, at a secret URL (its `feed_token`): the latest subjects it
matched that its subscriber may still see now, whatever the channel its alerts go by (a paused
subscription keeps its feed, which gets nothing new while it is paused)."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..feeds import new_feed
from ..models import AlertDelivery, AlertSubscription
from .items import item_label, items_for
from .subscriptions import feed_url, site_url

ENTRIES = 50


def subscription_for_feed(token: str) -> AlertSubscription | None:
    if not token or len(token) > 64:
        return None
    subscription = db.session.scalar(select(AlertSubscription).where(AlertSubscription.feed_token == token))
    if subscription is None or subscription.confirmed_at is None:
        return None
    return subscription


def atom(subscription: AlertSubscription) -> bytes:
    deliveries = list(
        db.session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.subscription_id == subscription.id, AlertDelivery.state != "dropped")
            .order_by(AlertDelivery.id.desc())
            .limit(ENTRIES)
        )
    )
    with force_locale(subscription.language):
        shown, _dropped = items_for(subscription, deliveries)
        own = feed_url(subscription)
        feed = new_feed(
            _("Alerts: %(crisis)s", crisis=subscription.crisis.name),
            own,
            site_url(subscription, "crises.home", crisis_slug=subscription.crisis.slug),
            deliveries[0].created_at if deliveries else subscription.created_at,
            language=subscription.language,
        )
        for delivery, item in reversed(shown):  # feedgen prepends each entry
            entry = feed.add_entry()
            entry.id(f"{own}#{delivery.subject}")
            entry.title(item_label(item))
            entry.link(href=item.url)
            entry.updated(delivery.created_at)
            entry.summary(item.summary or item.title)
        return feed.atom_str(pretty=True)

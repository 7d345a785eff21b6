"""Alert subscriptions: the one service behind the account pages, the public subscription form
and the API. Every input is checked before anything is written (InvalidInput, 422, names the
field); an e-mail address is confirmed by a link, a phone number by a code, before any alert
goes to it (double opt-in); webhooks and feeds work at once, for their logged-in owner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app, has_request_context, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from .. import plugins
from ..auth.permissions import can
from ..crises.services import get_crisis_or_404
from ..database import fits_id
from ..errors import DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from ..extensions import db
from ..mail import queue_mail
from ..models import AlertDelivery, AlertMessage, AlertSubscription, Crisis
from ..models.alerts import CHANNELS, FREQUENCIES, KINDS
from ..models.base import utcnow
from ..models.reports import SECTORS, STATUSES
from ..network import client_address
from ..ratelimit import hit
from ..visibility import subscription_visible
from . import areas, schedule
from .addresses import check_webhook, clean_email, clean_phone

FIELDS = (
    "crisis",
    "kind",
    "area",
    "sectors",
    "statuses",
    "min_score",
    "verdicts",
    "keywords",
    "deliver",
    "frequency",
    "quiet_hours",
    "language",
    "paused",
)
CONFIRM_SALT, UNSUBSCRIBE_SALT = "crisiswiki-alert-confirm", "crisiswiki-alert-unsubscribe"
CONFIRM_SECONDS = 7 * 24 * 3600


class InvalidLink(DomainError):
    status = 400
    code = "invalid_link"


def _is_user(viewer) -> bool:
    return bool(getattr(viewer, "is_authenticated", False))


# -- reading the input -------------------------------------------------------------------------


def _choices(value: Any, field: str, allowed) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(_("%(field)s must be a list of names.", field=field), field=field)
    unknown = [item for item in value if item not in allowed]
    if unknown:
        raise InvalidInput(
            _("Unknown %(field)s %(value)s; use: %(list)s.", field=field, value=unknown[0], list=", ".join(allowed)),
            field=field,
        )
    return sorted(set(value))


def verdict_names() -> dict[str, str]:
    """The verdicts the installed plugins give reports (report_verdicts hook)."""
    names: dict[str, str] = {}
    for found in plugins.call("report_verdicts"):
        names.update(found)
    return names


def _min_score(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidInput(_("min_score must be a number between 0 and 1."), field="min_score") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInput(_("min_score must be a number between 0 and 1."), field="min_score")
    if not plugins.implemented("report_map_properties"):
        raise InvalidInput(_("No plugin scores reports here, so there is no score to ask for."), field="min_score")
    return float(value)


def _quiet_hours(value: Any) -> dict[str, Any]:
    if value in (None, {}):
        return {"quiet_start": None, "quiet_end": None}
    if not isinstance(value, dict):
        raise InvalidInput(_('quiet_hours must be {"start": "22:00", "end": "07:00"}.'), field="quiet_hours")
    start, end = (schedule.parse_clock(str(value.get(name, ""))) for name in ("start", "end"))
    if start is None or end is None:
        raise InvalidInput(_("Quiet hours are two times of day such as 22:00 and 07:00."), field="quiet_hours")
    zone = value.get("timezone") or "UTC"
    if not isinstance(zone, str) or not schedule.known_timezone(zone):
        raise InvalidInput(_("Unknown time zone %(zone)s.", zone=str(zone)[:60]), field="quiet_hours")
    return {"quiet_start": start.strftime("%H:%M"), "quiet_end": end.strftime("%H:%M"), "timezone": zone}


def _deliver(value: Any, viewer) -> tuple[str, str]:
    """(channel, address) from {"email": ...}, {"webhook": ...}, {"sms": ...} or {"feed": true}."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in CHANNELS:
        raise InvalidInput(
            _('deliver must be one of {"email": ...}, {"webhook": ...}, {"sms": ...} or {"feed": true}.'),
            field="deliver",
        )
    channel, address = next(iter(value.items()))
    if channel != "email" and not _is_user(viewer):
        raise Unauthorized(_("Log in to get alerts by webhook, SMS or feed; anyone may get them by e-mail."))
    if channel == "email":
        return channel, clean_email(address)
    if channel == "webhook":
        check_webhook(address)
        return channel, address.strip()
    if channel == "sms":
        return channel, clean_phone(address)
    if address is not True:
        raise InvalidInput(_('deliver must be {"feed": true} for a feed only.'), field="deliver")
    return channel, ""


def read_input(data: dict[str, Any], viewer, current: AlertSubscription | None = None) -> dict[str, Any]:
    """Column values from the API's JSON (or the forms' equivalent), all checked; for a change
    (`current`), only the fields given."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidInput(_("Unknown field %(field)s.", field=unknown[0]), field=unknown[0])
    values: dict[str, Any] = {}
    if current is None:
        slug = data.get("crisis")
        if not isinstance(slug, str) or not slug:
            raise InvalidInput(_("crisis is required: the short name of a crisis."), field="crisis")
        try:
            crisis = get_crisis_or_404(slug)
        except NotFound as exc:
            raise InvalidInput(exc.message, field="crisis") from None
        values["crisis_id"] = crisis.id
    else:
        if "crisis" in data and data["crisis"] != current.crisis.slug:
            raise InvalidInput(_("A subscription stays with its crisis; make a new one."), field="crisis")
        crisis = current.crisis
    if current is None or "kind" in data:
        kind = data.get("kind") or "reports"
        if kind not in KINDS:
            raise InvalidInput(_("kind must be one of: %(list)s.", list=", ".join(KINDS)), field="kind")
        if kind == "watchlist" and not _is_user(viewer):
            raise Unauthorized(_("Log in to get alerts about the pages you watch."))
        values["kind"] = kind
    if "area" in data:
        area = areas.parse_area(data["area"], crisis)
        values.update(
            area_kind=area.kind if area else None,
            area=area.geometry if area else None,
            area_pcode=area.pcode if area else None,
            point_lon=area.lon if area else None,
            point_lat=area.lat if area else None,
            radius_km=area.radius_km if area else None,
            west=area.bbox[0] if area else None,
            south=area.bbox[1] if area else None,
            east=area.bbox[2] if area else None,
            north=area.bbox[3] if area else None,
        )
    if "sectors" in data:
        values["sectors"] = _choices(data["sectors"], "sectors", tuple(SECTORS))
    if "statuses" in data:
        values["statuses"] = _choices(data["statuses"], "statuses", STATUSES)
    if "min_score" in data:
        values["min_score"] = _min_score(data["min_score"])
    if "verdicts" in data:
        known = verdict_names()
        if data["verdicts"] and not known:
            raise InvalidInput(_("No plugin gives reports verdicts here."), field="verdicts")
        values["verdicts"] = _choices(data["verdicts"], "verdicts", tuple(known))
    if "keywords" in data:
        keywords = data["keywords"] if data["keywords"] is not None else ""
        if not isinstance(keywords, str) or len(keywords) > 500:
            raise InvalidInput(_("keywords must be text of at most 500 characters."), field="keywords")
        values["keywords"] = keywords.strip()
    if current is None or "frequency" in data:
        frequency = data.get("frequency") or "immediate"
        if frequency not in FREQUENCIES:
            raise InvalidInput(_("frequency must be one of: %(list)s.", list=", ".join(FREQUENCIES)), field="frequency")
        values["frequency"] = frequency
    if "quiet_hours" in data:
        values.update(_quiet_hours(data["quiet_hours"]))
    if "language" in data or current is None:
        language = data.get("language") or _current_language()
        if language not in current_app.config["LANGUAGES"]:
            raise InvalidInput(
                _("language must be one of: %(list)s.", list=", ".join(current_app.config["LANGUAGES"])),
                field="language",
            )
        values["language"] = language
    if current is None or "deliver" in data:
        if current is None and "deliver" not in data:
            raise InvalidInput(_("deliver is required: how the alerts reach you."), field="deliver")
        values["channel"], values["address"] = _deliver(data["deliver"], viewer)
    if "paused" in data and not isinstance(data["paused"], bool):
        raise InvalidInput(_("paused must be true or false."), field="paused")
    return values


def _current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else current_app.config["BABEL_DEFAULT_LOCALE"]


# -- making and changing subscriptions -----------------------------------------------------------


def _already_confirmed(subscription: AlertSubscription) -> bool:
    """Has its owner confirmed this address already (for another subscription)?"""
    user_id, channel, address = subscription.user_id, subscription.channel, subscription.address
    if user_id is None:
        return False
    return (
        db.session.scalar(
            select(AlertSubscription.id)
            .where(
                AlertSubscription.id != subscription.id,
                AlertSubscription.user_id == user_id,
                AlertSubscription.channel == channel,
                func.lower(AlertSubscription.address) == address.lower(),
                AlertSubscription.confirmed_at.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


def create_subscription(data: dict[str, Any], viewer) -> AlertSubscription:
    """Check and store a subscription (the caller commits). An unconfirmed e-mail address gets a
    confirmation mail, a phone number a code by SMS; no alert goes to either before that."""
    if not isinstance(data, dict):
        raise InvalidInput(_("Send the subscription as a JSON object."), field="body")
    if not _is_user(viewer):
        hit(
            f"alert-subscribe:{client_address()}",
            current_app.config["ALERT_SUBSCRIBE_LIMIT"],
            3600,
            _("Too many subscriptions from your address; try again in %(wait)s."),
        )
    values = read_input(data, viewer)
    user_id = viewer.id if _is_user(viewer) else None
    subscription = AlertSubscription(
        user_id=user_id,
        feed_token=secrets.token_urlsafe(32),
        webhook_secret=secrets.token_hex(32),
        link_nonce=secrets.token_hex(8),
        base_url=request.host_url.rstrip("/") if has_request_context() else "",
        **{"sectors": [], "statuses": [], "verdicts": [], **values},
    )
    if data.get("paused"):
        subscription.paused_at, subscription.paused_by_id = utcnow(), user_id
    db.session.add(subscription)
    db.session.flush()
    _ask_for_confirmation(subscription)
    return subscription


def _ask_for_confirmation(subscription: AlertSubscription) -> None:
    if subscription.channel in ("webhook", "feed") or _already_confirmed(subscription):
        subscription.confirmed_at = utcnow()
        return
    subscription.confirmed_at = None
    if subscription.channel == "email":
        _queue_confirmation_mail(subscription)
    else:
        _queue_confirmation_code(subscription)


def update_subscription(subscription: AlertSubscription, data: dict[str, Any], viewer) -> AlertSubscription:
    """Change a subscription (its owner or an admin; the caller commits). A new address must be
    confirmed again."""
    require_manage(subscription, viewer)
    if not isinstance(data, dict):
        raise InvalidInput(_("Send the changes as a JSON object."), field="body")
    _lock(subscription)
    values = read_input(data, viewer, subscription)
    address_changed = "channel" in values and (
        values["channel"] != subscription.channel or values["address"] != subscription.address
    )
    for name, value in values.items():
        setattr(subscription, name, value)
    if "paused" in data:
        set_paused(subscription, data["paused"], viewer)
    subscription.updated_at = utcnow()
    if address_changed:
        subscription.link_nonce = secrets.token_hex(8)  # links sent to the old address stop working
        _drop_waiting(subscription)
        _ask_for_confirmation(subscription)
    return subscription


def set_paused(subscription: AlertSubscription, paused: bool, viewer) -> None:
    """Pause (what waits is dropped: no backlog when it resumes) or resume; its owner or an admin."""
    require_manage(subscription, viewer)
    _lock(subscription)
    if paused and subscription.paused_at is None:
        subscription.paused_at = utcnow()
        subscription.paused_by_id = getattr(viewer, "id", None)
        _drop_waiting(subscription)
    elif not paused and subscription.paused_at is not None:
        subscription.paused_at, subscription.paused_by_id = None, None
    subscription.updated_at = utcnow()


def _lock(subscription: AlertSubscription) -> None:
    """Lock the row before its deliveries change, in the order the composer locks them (PostgreSQL)."""
    db.session.execute(
        select(AlertSubscription.id).where(AlertSubscription.id == subscription.id).with_for_update(key_share=True)
    )


def _drop_waiting(subscription: AlertSubscription) -> None:
    db.session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.subscription_id == subscription.id, AlertDelivery.state == "pending")
        .values(state="dropped")
    )


def delete_subscription(subscription: AlertSubscription, viewer) -> None:
    require_manage(subscription, viewer)
    db.session.delete(subscription)


def require_manage(subscription: AlertSubscription, viewer) -> None:
    if not subscription_visible(subscription, viewer):
        raise NotFound(_("There is no subscription %(id)d.", id=subscription.id))


def get_visible_subscription(subscription_id: int, viewer) -> AlertSubscription:
    """The subscription if `viewer` may see it (its owner, an admin), else NotFound: the same
    answer as for one that does not exist."""
    subscription = db.session.get(AlertSubscription, subscription_id) if fits_id(subscription_id) else None
    if subscription is None or not subscription_visible(subscription, viewer):
        raise NotFound(_("There is no subscription %(id)d.", id=subscription_id))
    return subscription


def subscriptions_of(viewer, crisis: Crisis | None = None) -> list[AlertSubscription]:
    """The viewer's own subscriptions; with `crisis`, an admin gets every subscription of it."""
    if not _is_user(viewer):
        raise Unauthorized(_("Log in to see your subscriptions."))
    query = select(AlertSubscription).order_by(AlertSubscription.id.desc())
    if crisis is not None and can("manage_alerts", viewer):
        query = query.where(AlertSubscription.crisis_id == crisis.id)
    else:
        query = query.where(AlertSubscription.user_id == viewer.id)
        if crisis is not None:
            query = query.where(AlertSubscription.crisis_id == crisis.id)
    return list(db.session.scalars(query))


def crisis_subscriptions(crisis: Crisis, viewer) -> list[AlertSubscription]:
    """Every subscription of a crisis (admins)."""
    if not can("manage_alerts", viewer):
        if not _is_user(viewer):
            raise Unauthorized(_("Log in to do this."))
        raise Forbidden(_("Only administrators see every subscription of a crisis."))
    return list(
        db.session.scalars(
            select(AlertSubscription)
            .where(AlertSubscription.crisis_id == crisis.id)
            .order_by(AlertSubscription.id.desc())
        )
    )


# -- confirming and unsubscribing by link --------------------------------------------------------


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def confirm_token(subscription: AlertSubscription) -> str:
    return URLSafeTimedSerializer(_secret(), salt=CONFIRM_SALT).dumps([subscription.id, subscription.link_nonce])


def unsubscribe_token(subscription: AlertSubscription) -> str:
    """Works for as long as the subscription exists (RFC 8058 links are kept in old mails)."""
    return URLSafeSerializer(_secret(), salt=UNSUBSCRIBE_SALT).dumps([subscription.id, subscription.link_nonce])


def _from_token(data: Any) -> AlertSubscription | None:
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int) and isinstance(data[1], str)):
        return None
    subscription = db.session.get(AlertSubscription, data[0]) if fits_id(data[0]) else None
    if subscription is None or not hmac.compare_digest(subscription.link_nonce, data[1]):
        return None
    return subscription


def subscription_for_confirmation(token: str) -> AlertSubscription:
    try:
        data = URLSafeTimedSerializer(_secret(), salt=CONFIRM_SALT).loads(token, max_age=CONFIRM_SECONDS)
    except SignatureExpired:
        raise InvalidLink(_("This confirmation link has expired. Subscribe again to get a new one.")) from None
    except BadSignature:
        raise InvalidLink(_("This confirmation link is not valid.")) from None
    subscription = _from_token(data)
    if subscription is None:
        raise InvalidLink(_("This confirmation link is not valid."))
    return subscription


def confirm(subscription: AlertSubscription) -> None:
    if subscription.confirmed_at is None:
        subscription.confirmed_at = utcnow()
        subscription.updated_at = utcnow()


def subscription_for_unsubscribe(token: str) -> AlertSubscription | None:
    """The subscription of an unsubscribe link; None when it is gone already (unsubscribing twice
    is no error); InvalidLink for a forged link."""
    try:
        data = URLSafeSerializer(_secret(), salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise InvalidLink(_("This unsubscribe link is not valid.")) from None
    return _from_token(data)


def unsubscribe(subscription: AlertSubscription) -> None:
    db.session.delete(subscription)


# -- links -------------------------------------------------------------------------------------


def site_url(subscription: AlertSubscription, endpoint: str, **values) -> str:
    """An absolute link for mail and webhooks: BASE_URL, else the site as the subscriber reached
    it, else the request's host."""
    base = (current_app.config["BASE_URL"] or subscription.base_url or "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def feed_url(subscription: AlertSubscription) -> str:
    return site_url(subscription, "alerts.feed", token=subscription.feed_token)


def _queue_confirmation_mail(subscription: AlertSubscription) -> None:
    site = current_app.config["SITE_NAME"]
    with force_locale(subscription.language):
        url = site_url(subscription, "alerts.confirm", token=confirm_token(subscription))
        crisis = subscription.crisis or db.session.get(Crisis, subscription.crisis_id)
        subject = _("Confirm your alerts from %(site)s", site=site)
        text = (
            "\n\n".join(
                [
                    _(
                        "Someone, probably you, asked %(site)s to send alerts about %(crisis)s to this address.",
                        site=site,
                        crisis=crisis.name,
                    ),
                    _("To start getting them, open this link and confirm:") + "\n" + url,
                    _("If you did not ask for this, ignore this mail: nothing will be sent."),
                ]
            )
            + "\n"
        )
        html = render_template("alerts/mail_confirm.html", url=url, site=site, crisis=crisis)
    queue_mail(subscription.address, subject, text, html, {"Auto-Submitted": "auto-generated"})


def code_hash(code: str) -> str:
    return hashlib.sha256(("alert-sms:" + code).encode()).hexdigest()


def _queue_confirmation_code(subscription: AlertSubscription) -> None:
    code = f"{secrets.randbelow(1_000_000):06d}"
    subscription.sms_code_hash = code_hash(code)
    with force_locale(subscription.language):
        text = _(
            "%(site)s: your code to confirm alerts by SMS is %(code)s", site=current_app.config["SITE_NAME"], code=code
        )
    db.session.add(AlertMessage(subscription_id=subscription.id, channel="sms", items=0, payload=text))


def confirm_code(subscription: AlertSubscription, code: Any, viewer) -> None:
    require_manage(subscription, viewer)
    if subscription.confirmed_at is not None:
        return
    hit(f"alert-sms-code:{subscription.id}", 10, 3600, _("Too many wrong codes; try again in %(wait)s."))
    if (
        not isinstance(code, str)
        or subscription.sms_code_hash is None
        or not hmac.compare_digest(code_hash(code.strip()), subscription.sms_code_hash)
    ):
        raise InvalidInput(_("That is not the code we sent."), field="code")
    subscription.confirmed_at = utcnow()
    subscription.sms_code_hash = None
    subscription.updated_at = utcnow()

"""Alert pages: a user's subscriptions (/account/alerts), a crisis's public subscription form
(anyone, by e-mail), the confirmation and unsubscribe links, the secret feed, and the
administrators' list of a crisis's subscriptions. They call the same service as the API."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..crises.services import get_crisis_or_404
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..models import AlertDelivery, AlertSubscription, Crisis
from ..models.alerts import FREQUENCIES, KINDS
from ..models.reports import SECTORS, STATUSES
from ..security import without_csrf_token
from . import subscriptions as service
from .feeds import atom, subscription_for_feed
from .senders import delivery_log, message_of, replay, sms_gateway_configured

bp = Blueprint("alerts", __name__)
NO_STORE = {"Cache-Control": "no-store"}  # addresses, feed URLs and webhook secrets
LOG_MESSAGES = 50


def _me():
    return current_user._get_current_object()


def form_data(form, crisis_slug: str | None = None) -> dict[str, Any]:
    """The subscription form as the API's JSON, so both doors share one check."""
    data: dict[str, Any] = {
        "crisis": crisis_slug or form.get("crisis", ""),
        "kind": form.get("kind") or "reports",
        "sectors": form.getlist("sectors"),
        "statuses": form.getlist("statuses"),
        "keywords": form.get("keywords", ""),
        "frequency": form.get("frequency") or "immediate",
    }
    if form.get("language"):
        data["language"] = form["language"]
    area_type = form.get("area_type", "none")
    if area_type == "pcode":
        data["area"] = {"pcode": form.get("pcode", "")}
    elif area_type == "radius":
        data["area"] = {
            "point": [_float(form.get("lon")), _float(form.get("lat"))],
            "radius_km": _float(form.get("radius_km")),
        }
    elif area_type == "polygon":
        try:
            data["area"] = json.loads(form.get("polygon") or "null")
        except ValueError:
            raise InvalidInput(_("The area is not valid GeoJSON."), field="area") from None
    if form.get("min_score"):
        data["min_score"] = form["min_score"]
    if form.getlist("verdicts"):
        data["verdicts"] = form.getlist("verdicts")
    if form.get("quiet_start") or form.get("quiet_end"):
        data["quiet_hours"] = {
            "start": form.get("quiet_start", ""),
            "end": form.get("quiet_end", ""),
            "timezone": form.get("timezone") or "UTC",
        }
    channel = form.get("channel") or "email"
    data["deliver"] = {channel: True if channel == "feed" else form.get("address", "")}
    return data


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _choices() -> dict[str, Any]:
    return {
        "kinds": KINDS,
        "sectors": SECTORS,
        "statuses": STATUSES,
        "frequencies": FREQUENCIES,
        "verdicts": service.verdict_names(),
        "sms_gateway": sms_gateway_configured(),
    }


@bp.route("/account/alerts")
@login_required
def account_alerts():
    mine = service.subscriptions_of(_me())
    return render_template("alerts/account.html", subscriptions=mine, **_choices()), 200, NO_STORE


@bp.route("/account/alerts/new", methods=["GET", "POST"])
@login_required
def new_subscription():
    crises = db.session.scalars(select(Crisis).order_by(Crisis.name)).all()
    error, status = None, 200
    if request.method == "POST":
        try:
            subscription = service.create_subscription(form_data(request.form), _me())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            error, status = exc, exc.status
        else:
            flash(_confirmation_notice(subscription))
            return redirect(url_for("alerts.subscription_page", subscription_id=subscription.id))
    page = render_template("alerts/form.html", crises=crises, error=error, **_choices())
    return page, status, NO_STORE


def _confirmation_notice(subscription: AlertSubscription) -> str:
    if subscription.confirmed_at is not None:
        return _("Your subscription is active.")
    if subscription.channel == "sms":
        return _("We sent a code to your phone: enter it here to start the alerts.")
    return _("We sent you a mail: open its link to confirm the address and start the alerts.")


@bp.route("/account/alerts/<int:subscription_id>", methods=["GET", "POST"])
@login_required
def subscription_page(subscription_id: int):
    me = _me()
    subscription = service.get_visible_subscription(subscription_id, me)
    error, status = None, 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action in ("pause", "resume"):
                service.set_paused(subscription, action == "pause", me)
                flash(_("Paused: nothing is sent until you resume.") if action == "pause" else _("Resumed."))
            elif action == "delete":
                service.delete_subscription(subscription, me)
                db.session.commit()
                flash(_("The subscription was deleted."))
                return redirect(url_for("alerts.account_alerts"))
            elif action == "code":
                service.confirm_code(subscription, request.form.get("code", ""), me)
                flash(_("Your phone number is confirmed: alerts will come by SMS."))
            elif action == "replay":
                raw = request.form.get("message", "")
                replay(message_of(subscription, int(raw) if raw.isdigit() and len(raw) < 10 else None))
                flash(_("The message will be sent again."))
            else:
                raise InvalidInput(_("Unknown action."), field="action")
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            error, status = exc, exc.status
        else:
            return redirect(url_for("alerts.subscription_page", subscription_id=subscription.id))
    waiting = db.session.scalar(
        select(func.count())
        .select_from(AlertDelivery)
        .where(AlertDelivery.subscription_id == subscription.id, AlertDelivery.state == "pending")
    )
    page = render_template(
        "alerts/subscription.html",
        subscription=subscription,
        feed_url=service.feed_url(subscription),
        log=delivery_log(subscription, LOG_MESSAGES),
        waiting=waiting,
        owner=subscription.user_id == me.id,
        error=error,
        **_choices(),
    )
    return page, status, NO_STORE


@bp.route("/c/<crisis_slug>/alerts", methods=["GET", "POST"])
def crisis_alerts(crisis_slug: str):
    """Anyone may subscribe here to a crisis's public information by e-mail (double opt-in)."""
    crisis = get_crisis_or_404(crisis_slug)
    error, status, done = None, 200, None
    if request.method == "POST":
        try:
            data = form_data(request.form, crisis.slug)
            data["deliver"] = {"email": request.form.get("address", "")}
            subscription = service.create_subscription(data, current_user)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            error, status = exc, exc.status
        else:
            done = subscription
    page = render_template("alerts/crisis.html", crisis=crisis, error=error, done=done, **_choices())
    return page, status, NO_STORE


@bp.route("/c/<crisis_slug>/alerts/all")
@login_required
def crisis_subscriptions(crisis_slug: str):
    """Administrators: every subscription of the crisis, to see and pause."""
    crisis = get_crisis_or_404(crisis_slug)
    rows = service.crisis_subscriptions(crisis, _me())
    return render_template("alerts/admin.html", crisis=crisis, subscriptions=rows), 200, NO_STORE


@bp.route("/alerts/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The link in the confirmation mail: a page with a button (a link checker that opens the
    link confirms nothing), which confirms."""
    subscription = service.subscription_for_confirmation(token)
    confirmed = False
    if request.method == "POST":
        service.confirm(subscription)
        db.session.commit()
        confirmed = True
    page = render_template(
        "alerts/confirm.html",
        subscription=subscription,
        confirmed=confirmed or subscription.confirmed_at is not None,
        feed_url=service.feed_url(subscription),
        unsubscribe_url=url_for("alerts.unsubscribe", token=service.unsubscribe_token(subscription)),
    )
    return page, 200, NO_STORE


@bp.route("/alerts/unsubscribe/<token>", methods=["GET", "POST"])
@without_csrf_token  # RFC 8058: mail clients POST here on their own; the signed link is the credential
def unsubscribe(token: str):
    subscription = service.subscription_for_unsubscribe(token)
    done = subscription is None
    if request.method == "POST" and subscription is not None:
        service.unsubscribe(subscription)
        db.session.commit()
        done = True
    page = render_template("alerts/unsubscribe.html", subscription=subscription, done=done, token=token)
    return page, 200, NO_STORE


@bp.route("/alerts/feed/<token>.atom")
def feed(token: str):
    subscription = subscription_for_feed(token)
    if subscription is None:
        abort(404)
    return Response(atom(subscription), mimetype="application/atom+xml", headers=NO_STORE)

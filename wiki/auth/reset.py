"""Password reset by e-mail: a signed link that expires (PASSWORD_RESET_SECONDS) and works once.

The link carries the user id and a digest of the current password hash, signed with the
secret key (itsdangerous). Setting the new password changes the hash, so the same link, and
any other link sent before, stops working: nothing needs to be stored to make it single-use.

Asking for a link gets the same answer whether or not an account matches; the requests are
limited per client address (429) and, silently, per account (no more mails once past the limit).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, render_template, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..mail import queue_mail
from ..models import User
from ..network import client_address
from ..ratelimit import count, hit
from . import throttle
from .login import set_password

SALT = "crisiswiki-password-reset"
WINDOW = 3600


class InvalidLink(DomainError):
    status = 400
    code = "invalid_link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _binding(user: User) -> str:
    return hashlib.sha256(("reset:" + user.password_hash).encode()).hexdigest()[:24]


def link_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "password": _binding(user)})


def user_for(token: str) -> User:
    """The user a reset link is for; InvalidLink (400) if it is forged, expired, used or the
    account is disabled."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_SECONDS"])
    except SignatureExpired:
        raise InvalidLink(_("This password reset link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise InvalidLink(_("This password reset link is not valid. Ask for a new one.")) from None
    user = (
        db.session.get(User, data.get("user")) if isinstance(data, dict) and isinstance(data.get("user"), int) else None
    )
    if user is None or not user.active:
        raise InvalidLink(_("This password reset link is not valid. Ask for a new one."))
    if not hmac.compare_digest(str(data.get("password", "")), _binding(user)):
        raise InvalidLink(_("This password reset link was already used. Ask for a new one if you need to."))
    return user


def reset_url(user: User) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    if base:
        return base + url_for("auth.reset_password", token=link_token(user))
    return url_for("auth.reset_password", token=link_token(user), _external=True)


def matching_users(identifier: str) -> list[User]:
    """Active accounts with this username or e-mail address (case does not matter)."""
    identifier = identifier.strip()
    if not identifier or len(identifier) > 254:
        return []
    column = User.email if "@" in identifier else User.username
    return list(
        db.session.scalars(
            select(User).where(func.lower(column) == identifier.lower(), User.active.is_(True), User.email.is_not(None))
        )
    )


def request_reset(identifier: str) -> None:
    """Queue a reset mail for every account matching `identifier` (the caller commits). Raises
    InvalidInput for an empty field and RateLimited past the per-address limit; otherwise says
    nothing about whether an account matched."""
    if not identifier.strip():
        raise InvalidInput(_("Enter your username or e-mail address."), field="identifier")
    config = current_app.config
    hit(
        f"reset-address:{client_address()}",
        config["PASSWORD_RESET_ADDRESS_LIMIT"],
        WINDOW,
        _("Too many password reset requests from your address; try again in %(wait)s."),
    )
    for user in matching_users(identifier):
        if count(f"reset-account:{user.id}", WINDOW) > config["PASSWORD_RESET_ACCOUNT_LIMIT"]:
            continue  # quietly: a refusal would tell that the account exists
        _queue(user)


def _queue(user: User) -> None:
    url = reset_url(user)
    site = current_app.config["SITE_NAME"]
    minutes = current_app.config["PASSWORD_RESET_SECONDS"] // 60
    subject = _("Reset your password on %(site)s", site=site)
    text = (
        "\n\n".join(
            [
                _(
                    "Someone, probably you, asked to reset the password of the account %(name)s on %(site)s.",
                    name=user.username,
                    site=site,
                ),
                _("To choose a new password, open this link within %(minutes)d minutes:", minutes=minutes) + "\n" + url,
                _("If you did not ask for this, ignore this mail: your password stays as it is."),
            ]
        )
        + "\n"
    )
    html = render_template("mail/password_reset.html", user=user, url=url, site=site, minutes=minutes)
    queue_mail(user.email, subject, text, html)


def set_new_password(user: User, password: str, confirmation: str) -> None:
    """Set the password from a reset link (policy applies): every session ends, the link stops
    working, and the account's failed logins are forgotten."""
    set_password(user, password, confirmation)
    throttle.clear([throttle.account_key(user.username)])

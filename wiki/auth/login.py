"""Logging in, in one or two steps, and checking a password again before a sensitive change.

After the password, a user with two-factor authentication (or one who must set it up,
TWO_FACTOR_REQUIRED_ROLES) is only *pending*: the session remembers who passed the password
step, for a few minutes, but Flask-Login knows nobody, so the half-logged-in state grants
nothing. The code step (or the set-up) completes the login.

Every secret checked here is throttled (wiki/auth/throttle.py). The views that call these
functions are @reads_first: the password hashing happens outside any write transaction, and
each write is a short write_transaction of its own.
"""

from __future__ import annotations

import time

from flask import current_app, request, session
from flask_babel import gettext as _
from flask_login import login_user

from ..database import write_transaction
from ..errors import InvalidInput, Unauthorized
from ..extensions import db
from ..models import User
from . import throttle, two_factor
from .accounts import authenticate
from .passwords import validate_password

PENDING = "pending_login"
PENDING_SECONDS = 600  # time to fetch the phone and type the code


class LoginFailed(Unauthorized):
    """A wrong password or code (401); the login form shows the message."""

    def headers(self) -> dict[str, str]:
        return {}


def password_step(username: str, password: str) -> User:
    """The active user with this username and password; LoginFailed or RateLimited otherwise."""
    attempt = throttle.begin_attempt(throttle.login_keys(username))
    user = authenticate(username, password)
    if user is None:
        raise LoginFailed(_("Unknown username or wrong password."))
    throttle.succeeded(attempt, clear=[throttle.account_key(username)])
    return user


def start(user: User, remember: bool, next_url: str) -> str | None:
    """Log `user` in, or make them pending; returns the endpoint of the next step, if any."""
    if not (user.two_factor_enabled or two_factor.required_for(user)):
        login_user(user, remember=remember)
        return None
    enrol = not user.two_factor_enabled
    if enrol and user.totp_secret is None:
        two_factor.start_enrolment(user)
    session[PENDING] = {
        "user": user.id,
        "fingerprint": user.session_fingerprint,
        "since": int(time.time()),
        "remember": remember,
        "next": next_url,
        "enrol": enrol,
    }
    return "auth.login_setup" if enrol else "auth.login_code"


def pending() -> tuple[User, dict] | None:
    """The user who passed the password step in this session, still valid, and the step's details."""
    data = session.get(PENDING)
    if not isinstance(data, dict) or time.time() - data.get("since", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, data.get("user"))
    if user is None or not user.active or user.session_fingerprint != data.get("fingerprint"):
        return None
    return user, data


def finish(user: User, data: dict) -> str:
    """Complete a pending login; returns where to go next."""
    session.pop(PENDING, None)
    login_user(user, remember=bool(data.get("remember")))
    return data.get("next") or "/"


def code_step(user: User, code: str) -> None:
    """Accept a TOTP or recovery code for the pending `user`, throttled like passwords."""
    attempt = throttle.begin_attempt(throttle.code_keys(user.id))
    if not two_factor.use_code(user, code):
        raise LoginFailed(_("That code is not right, or it was already used."), field="code")
    throttle.succeeded(attempt, clear=[throttle.code_key(user.id)])


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Confirm a new authenticator app with its first code (throttled); returns the recovery codes."""
    attempt = throttle.begin_attempt(throttle.code_keys(user.id))
    codes = two_factor.confirm_enrolment(user, code)
    throttle.succeeded(attempt, clear=[throttle.code_key(user.id)])
    return codes


def verify_password(user: User, password: str, field: str = "current_password") -> None:
    """Check a logged-in user's password again before a sensitive change (throttled with the
    logins: a stolen session is no way to guess the password)."""
    attempt = throttle.begin_attempt(throttle.login_keys(user.username))
    if not user.check_password(password or ""):
        raise InvalidInput(_("Your current password is not right."), field=field)
    throttle.succeeded(attempt, clear=[throttle.account_key(user.username)])


def set_password(user: User, password: str, confirmation: str) -> None:
    """Set a new password (the policy applies); every other session ends with the old hash."""
    if password != confirmation:
        raise InvalidInput(_("The two new passwords are not the same."), field="confirmation")
    validate_password(password, user.username)
    hashed = User.hash_password(password)  # outside the write lock: hashing is slow on purpose
    with write_transaction():
        user.password_hash = hashed


def change_password(user: User, current: str, password: str, confirmation: str) -> None:
    verify_password(user, current)
    set_password(user, password, confirmation)
    # The session fingerprint follows the hash: renew this session's, and its remember-me cookie.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=remembered)

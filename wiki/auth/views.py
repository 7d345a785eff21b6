"""Logging in (password, then the second factor when there is one), out, and resetting a
forgotten password. The account pages are in account_views.py, the admin's in admin_views.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import logout_user

from ..database import reads_first
from ..errors import InvalidInput, RateLimited, Unauthorized
from ..extensions import db
from . import login as login_service
from . import reset, two_factor
from .login import LoginFailed

bp = Blueprint("auth", __name__)

NO_STORE = {"Cache-Control": "no-store"}


def safe_next(target: str | None) -> str:
    """Only redirect back inside this site (no open redirects).

    Browsers read a backslash as a slash ("/\\evil.example" goes to evil.example) and drop
    tabs and newlines ("/\\t/evil.example"), so a target containing any of them is refused."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target)
        and not urlsplit(target).netloc
        and not urlsplit(target).scheme
    ):
        return target
    return url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
@reads_first
def login():
    error, status, headers = None, 200, {}
    if request.method == "POST":
        try:
            user = login_service.password_step(
                request.form.get("username", "").strip(), request.form.get("password", "")
            )
        except (LoginFailed, RateLimited) as exc:
            error, status, headers = exc.message, exc.status, exc.headers()
        else:
            next_url = safe_next(request.args.get("next"))
            step = login_service.start(user, bool(request.form.get("remember")), next_url)
            return redirect(url_for(step) if step else next_url)
    return render_template("auth/login.html", error=error), status, headers


def _pending_or_restart():
    """The pending login of this session; a GET without one goes back to the login form, a
    POST without one is refused (401)."""
    found = login_service.pending()
    if found is None:
        if request.method == "POST":
            raise Unauthorized(_("Log in again: the first step has expired or was not done."))
        flash(_("Log in again: the first step has expired or was not done."))
    return found


@bp.route("/login/two-factor", methods=["GET", "POST"])
@reads_first
def login_code():
    """The second step: a code from the authenticator app, or a recovery code."""
    found = _pending_or_restart()
    if found is None:
        return redirect(url_for("auth.login"))
    user, data = found
    if data.get("enrol"):
        return redirect(url_for("auth.login_setup"))
    error, status, headers = None, 200, {}
    if request.method == "POST":
        try:
            login_service.code_step(user, request.form.get("code", ""))
        except (LoginFailed, RateLimited) as exc:
            error, status, headers = exc.message, exc.status, exc.headers()
        else:
            return redirect(login_service.finish(user, data))
    return render_template("auth/login_code.html", error=error), status, headers


@bp.route("/login/two-factor/setup", methods=["GET", "POST"])
@reads_first
def login_setup():
    """The second step for someone whose role must use two-factor authentication and who has
    not set it up yet (TWO_FACTOR_REQUIRED_ROLES): set it up now, then come in."""
    found = _pending_or_restart()
    if found is None:
        return redirect(url_for("auth.login"))
    user, data = found
    if not data.get("enrol"):
        return redirect(url_for("auth.login_code"))
    error, status, headers = None, 200, dict(NO_STORE)
    if request.method == "POST":
        try:
            codes = login_service.confirm_enrolment(user, request.form.get("code", ""))
        except (InvalidInput, RateLimited) as exc:
            error, status = exc.message, exc.status
            headers.update(exc.headers())
        else:
            next_url = login_service.finish(user, data)
            return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url), 200, NO_STORE
    if user.totp_secret is None:  # reset by an administrator since the password step
        two_factor.start_enrolment(user)
    uri = two_factor.provisioning_uri(user)
    return (
        render_template(
            "auth/two_factor_setup.html",
            user=user,
            secret=user.totp_secret,
            uri=uri,
            qr=two_factor.qr_svg(uri),
            action=url_for("auth.login_setup"),
            required=True,
            error=error,
        ),
        status,
        headers,
    )


@bp.route("/logout", methods=["POST"])
def logout():
    session.pop(login_service.PENDING, None)
    logout_user()
    return redirect(url_for("pages.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link: the same answer whether or not an account matches."""
    error, status, headers, sent = None, 200, {}, False
    if request.method == "POST":
        try:
            reset.request_reset(request.form.get("identifier", ""))
            db.session.commit()
            sent = True
        except (InvalidInput, RateLimited) as exc:
            db.session.rollback()
            error, status, headers = exc.message, exc.status, exc.headers()
    return render_template("auth/forgot.html", error=error, sent=sent), status, headers


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@reads_first
def reset_password(token: str):
    # The token is in the address: send it nowhere else, and keep the page out of caches.
    headers = {**NO_STORE, "Referrer-Policy": "no-referrer"}
    try:
        user = reset.user_for(token)
    except reset.InvalidLink as exc:
        return render_template("auth/reset_invalid.html", error=exc.message), exc.status, headers
    error, status = None, 200
    if request.method == "POST":
        try:
            reset.set_new_password(user, request.form.get("password", ""), request.form.get("confirmation", ""))
        except InvalidInput as exc:
            error, status = exc, exc.status
        else:
            flash(_("Your password was changed. Log in with the new one."))
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", user=user, error=error), status, headers

"""A user's own account: e-mail address, password, two-factor authentication, API tokens."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..database import reads_first, write_transaction
from ..errors import Forbidden, InvalidInput, NotFound, RateLimited
from ..extensions import db
from ..models import ApiToken
from ..models.base import utcnow
from ..models.users import TOKEN_SCOPES
from . import login as login_service
from . import tokens as token_service
from . import two_factor
from .accounts import validate_email
from .views import NO_STORE, bp


def _me():
    return current_user._get_current_object()


@bp.route("/account", methods=["GET", "POST"])
@login_required
@reads_first
def account():
    """The account page: the e-mail address (for password reset mails) and links to the rest."""
    me = _me()
    error, status, headers = None, 200, {}
    if request.method == "POST":
        try:
            email = validate_email(request.form.get("email"))
            login_service.verify_password(me, request.form.get("current_password", ""))
            with write_transaction():
                me.email = email
        except (InvalidInput, RateLimited) as exc:
            error, status, headers = exc, exc.status, exc.headers()
        else:
            flash(_("Your e-mail address was saved.") if email else _("Your e-mail address was removed."))
            return redirect(url_for("auth.account"))
    return (
        render_template("auth/account.html", user=me, error=error, two_factor_offered=two_factor.offered_to(me)),
        status,
        headers,
    )


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@reads_first
def change_password():
    error, status, headers = None, 200, {}
    if request.method == "POST":
        try:
            login_service.change_password(
                _me(),
                request.form.get("current_password", ""),
                request.form.get("password", ""),
                request.form.get("confirmation", ""),
            )
        except (InvalidInput, RateLimited) as exc:
            error, status, headers = exc, exc.status, exc.headers()
        else:
            flash(_("Your password was changed. You stay logged in here; everywhere else you were logged out."))
            return redirect(url_for("auth.account"))
    return render_template("auth/password.html", error=error), status, headers


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
@reads_first
def two_factor_settings():
    """Set up (start, then confirm with a first code), or turn off (password and a code)."""
    me = _me()
    if not two_factor.offered_to(me):
        raise Forbidden(_("Two-factor authentication is for verifiers, coordinators and administrators."))
    error, status, headers = None, 200, dict(NO_STORE)
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "start":
                two_factor.start_enrolment(me)
                return redirect(url_for("auth.two_factor_settings"))
            if action == "confirm":
                codes = login_service.confirm_enrolment(me, request.form.get("code", ""))
                return (
                    render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account")),
                    200,
                    NO_STORE,
                )
            if action == "disable":
                login_service.verify_password(me, request.form.get("password", ""), field="password")
                login_service.code_step(me, request.form.get("code", ""))
                two_factor.remove(me)
                flash(_("Two-factor authentication is off."))
                return redirect(url_for("auth.account"))
            raise InvalidInput(_("Unknown action %(action)r.", action=action), field="action")
        except (InvalidInput, login_service.LoginFailed, RateLimited) as exc:
            # A wrong code here is a mistake in a form of a logged-in user (422), not a failed login.
            error, status = exc, (422 if isinstance(exc, login_service.LoginFailed) else exc.status)
            headers.update(exc.headers())
    context = {"user": me, "error": error}
    if me.two_factor_enabled:
        context["codes_left"] = two_factor.recovery_codes_left(me)
    elif me.totp_secret:
        uri = two_factor.provisioning_uri(me)
        context.update(
            secret=me.totp_secret, uri=uri, qr=two_factor.qr_svg(uri), action=url_for("auth.two_factor_settings")
        )
    return render_template("auth/two_factor.html", **context), status, headers


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    new_token, error, status = None, None, 200
    if request.method == "POST":
        try:
            new_token = token_service.issue_token(
                _me(),
                request.form.get("name", ""),
                request.form.get("scope", "full"),
                request.form.get("expires_days", ""),
                request.form.get("expires_on", ""),
            )
        except InvalidInput as exc:
            db.session.rollback()
            error, status = exc, exc.status
    mine = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    page = render_template(
        "auth/tokens.html",
        tokens=mine,
        new_token=new_token,
        scopes=TOKEN_SCOPES,
        error=error,
        now=utcnow(),
        form=request.form if error else {},
    )
    # The only copy of a new token: keep it out of caches.
    return page, status, (NO_STORE if new_token else {})


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        raise NotFound(_("No such record."))
    token.revoked = True
    db.session.commit()
    flash(_("Token revoked."))
    return redirect(url_for("auth.tokens"))

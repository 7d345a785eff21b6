"""Log in and out, manage users (admins) and personal API tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..errors import DomainError, NotFound
from ..extensions import db
from ..i18n import label
from ..models import ApiToken, User
from ..models.users import ROLES
from . import accounts
from .permissions import require

bp = Blueprint("auth", __name__)
bp.after_app_request(accounts.record_token_use)


def _safe_next(target: str | None) -> str:
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
def login():
    error = None
    if request.method == "POST":
        user = accounts.authenticate(request.form.get("username", "").strip(), request.form.get("password", ""))
        if user is None:
            error = _("Unknown username or wrong password.")
        else:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("pages.home"))


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def users():
    require("manage_users")
    error, status = None, 200
    if request.method == "POST":
        try:
            user = accounts.create_user(
                request.form.get("username", "").strip(), request.form.get("password", ""),
                request.form.get("role", "volunteer"), request.form.get("display_name", "").strip(),
            )
            flash(_("Created %(name)s (%(role)s).", name=user.username, role=label("role", user.role)))
            return redirect(url_for("auth.users"))
        except DomainError as exc:
            db.session.rollback()
            error, status = exc.message, exc.status  # 422 for a bad field, 409 for a taken username
    everyone = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("auth/users.html", users=everyone, roles=ROLES, error=error), status


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@login_required
def update_user(user_id: int):
    require("manage_users")
    user = db.session.get(User, user_id) or _not_found()
    active = None
    if "active" in request.form:
        active = request.form["active"] == "1"
    accounts.update_user(user, role=request.form.get("role") or None, active=active,
                         password=request.form.get("password") or None)
    flash(_("Updated %(name)s.", name=user.username))
    return redirect(url_for("auth.users"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    new_token = None
    if request.method == "POST":
        _, new_token = ApiToken.issue(current_user._get_current_object(), request.form.get("name", "").strip()[:120])
        db.session.commit()
    mine = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                              .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    response = make_response(render_template("auth/tokens.html", tokens=mine, new_token=new_token))
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # the only copy of the token: keep it out of caches
    return response


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        _not_found()
    token.revoked = True
    db.session.commit()
    flash(_("Token revoked."))
    return redirect(url_for("auth.tokens"))


def _not_found():
    raise NotFound(_("No such record."))

"""Log in and out, manage users (admins) and personal API tokens."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import ApiToken, User
from ..models.users import ROLES
from . import accounts
from .permissions import require

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only redirect back inside this site (no open redirects)."""
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None or not user.active or not user.check_password(request.form.get("password", "")):
            error = "Unknown username or wrong password."
        else:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():  # noqa: ANN201
    logout_user()
    return redirect(url_for("pages.home"))


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def users():  # noqa: ANN201
    require("manage_users")
    error = None
    if request.method == "POST":
        try:
            user = accounts.create_user(
                request.form.get("username", "").strip(), request.form.get("password", ""),
                request.form.get("role", "volunteer"), request.form.get("display_name", "").strip(),
            )
            flash(f"Created {user.username} ({user.role}).")
            return redirect(url_for("auth.users"))
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
    everyone = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("auth/users.html", users=everyone, roles=ROLES, error=error), (422 if error else 200)


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@login_required
def update_user(user_id: int):  # noqa: ANN201
    require("manage_users")
    user = db.session.get(User, user_id) or _not_found()
    role = request.form.get("role")
    if role:
        if role not in ROLES:
            from ..errors import InvalidInput

            raise InvalidInput(f"Unknown role {role!r}.", field="role")
        user.role = role
    if "active" in request.form:
        user.active = request.form["active"] == "1"
    if request.form.get("password"):
        if len(request.form["password"]) < accounts.MIN_PASSWORD:
            from ..errors import InvalidInput

            raise InvalidInput(f"A password needs at least {accounts.MIN_PASSWORD} characters.", field="password")
        user.set_password(request.form["password"])
    db.session.commit()
    flash(f"Updated {user.username}.")
    return redirect(url_for("auth.users"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():  # noqa: ANN201
    new_token = None
    if request.method == "POST":
        _, new_token = ApiToken.issue(current_user, request.form.get("name", "").strip()[:120])
        db.session.commit()
    mine = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())).all()
    return render_template("auth/tokens.html", tokens=mine, new_token=new_token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):  # noqa: ANN201
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        _not_found()
    token.revoked = True
    db.session.commit()
    flash("Token revoked.")
    return redirect(url_for("auth.tokens"))


def _not_found():  # noqa: ANN202
    raise NotFound("No such record.")

"""Administrators: users (create, role, state, password), and resetting a user's second factor."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import User
from ..models.users import ROLES
from ..vocabulary import label
from . import accounts, two_factor
from .permissions import require
from .views import bp


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such record."))
    return user


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def users():
    require("manage_users")
    error, status = None, 200
    if request.method == "POST":
        try:
            user = accounts.create_user(
                request.form.get("username", "").strip(),
                request.form.get("password", ""),
                request.form.get("role", "volunteer"),
                request.form.get("display_name", "").strip(),
                email=request.form.get("email"),
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
    user = _user_or_404(user_id)
    active = None
    if "active" in request.form:
        active = request.form["active"] == "1"
    accounts.update_user(
        user, role=request.form.get("role") or None, active=active, password=request.form.get("password") or None
    )
    flash(_("Updated %(name)s.", name=user.username))
    return redirect(url_for("auth.users"))


@bp.route("/admin/users/<int:user_id>/two-factor/reset", methods=["POST"])
@login_required
def reset_two_factor(user_id: int):
    """For someone who lost both their phone and their recovery codes: they log in with the
    password alone next time (and set it up again, if their role requires it)."""
    require("manage_users")
    user = _user_or_404(user_id)
    two_factor.remove(user)
    flash(_("Two-factor authentication of %(name)s was reset.", name=user.username))
    return redirect(url_for("auth.users"))

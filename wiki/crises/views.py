"""Crisis workspaces: create, edit, and each crisis's home page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.permissions import can, require
from ..errors import InvalidInput
from ..extensions import db
from ..models import Page, PageCategory
from ..pages.cache import cached_for_anonymous
from ..pages.changes import recent_changes
from ..pages.sitrep import SITREP_CATEGORY
from . import services
from .services import get_crisis_or_404

bp = Blueprint("crises", __name__)
FIELDS = ("name", "slug", "glide", "description", "bbox", "start_date", "end_date", "language")


def _form_from(crisis=None) -> dict:
    if crisis is None:
        return dict.fromkeys(FIELDS, "")
    return {
        "name": crisis.name,
        "slug": crisis.slug,
        "glide": crisis.glide or "",
        "description": crisis.description,
        "bbox": ",".join(f"{v:g}" for v in crisis.bbox) if crisis.bbox else "",
        "start_date": crisis.start_date.isoformat() if crisis.start_date else "",
        "end_date": crisis.end_date.isoformat() if crisis.end_date else "",
        "language": crisis.language,
    }


@bp.route("/crises/new", methods=["GET", "POST"])
def new():
    require("create_crisis")
    form, error = _form_from(), None
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in FIELDS}
        try:
            crisis = services.create_crisis(form, current_user)
            return redirect(url_for("crises.home", crisis_slug=crisis.slug))
        except InvalidInput as exc:
            db.session.rollback()
            error = exc
    return render_template("crises/form.html", crisis=None, form=form, error=error), (error.status if error else 200)


@bp.route("/c/<crisis_slug>/settings", methods=["GET", "POST"])
def settings(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("edit_crisis")
    form, error = _form_from(crisis), None
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in FIELDS}
        form["slug"] = crisis.slug  # the short name is part of every link; it never changes
        try:
            services.update_crisis(crisis, form, current_user)
            return redirect(url_for("crises.home", crisis_slug=crisis.slug))
        except InvalidInput as exc:
            db.session.rollback()
            error = exc
    return render_template("crises/form.html", crisis=crisis, form=form, error=error), (error.status if error else 200)


@bp.route("/c/<crisis_slug>/")
@cached_for_anonymous
def home(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    sitreps = db.session.scalars(
        select(Page)
        .join(PageCategory, PageCategory.page_id == Page.id)
        .where(Page.crisis_id == crisis.id, Page.deleted_at.is_(None), PageCategory.name == SITREP_CATEGORY)
        .order_by(Page.created_at.desc())
        .limit(5)
    ).all()
    pages = db.session.scalars(
        select(Page)
        .where(Page.crisis_id == crisis.id, Page.deleted_at.is_(None))
        .order_by(Page.updated_at.desc())
        .limit(20)
    ).all()
    return render_template(
        "crises/home.html",
        crisis=crisis,
        sitreps=sitreps,
        pages=pages,
        changes=recent_changes(crisis, limit=10),
        can_create=can("create_page"),
    )

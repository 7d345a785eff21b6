"""Creating and editing crises, with the checks that keep their data clean."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..auth.permissions import require
from ..cache_generations import generation_changed
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models import Crisis, User

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
# GLIDE numbers: hazard code, year, six-digit serial, ISO 3166 alpha-3 country (glidenumber.net).
_GLIDE = re.compile(r"^[A-Z]{2}-\d{4}-\d{6}-[A-Z]{3}$")


def crisis_slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:100].strip("-")


def get_crisis_or_404(slug: str) -> Crisis:
    """The crisis with this short name (looked up once per request)."""
    known = g.setdefault("crises", {})
    crisis = known.get(slug)
    if "\x00" in slug:  # no short name has one, and PostgreSQL refuses it in a query (a 500)
        crisis = None
    elif crisis is None or crisis not in db.session:
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == slug))
        known[slug] = crisis
    if crisis is None:
        raise NotFound(_("There is no crisis %(slug)s.", slug=slug))
    return crisis


def _parse_date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("Give the date as YYYY-MM-DD."), field=field) from None


def _parse_bbox(value) -> tuple[float, float, float, float] | None:
    """A bbox as "west,south,east,north" or a 4-item list, in WGS 84 degrees."""
    if value in (None, "", []):
        return None
    parts = value.split(",") if isinstance(value, str) else value
    try:
        west, south, east, north = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise InvalidInput(_("The area is four numbers: west, south, east, north."), field="bbox") from None
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidInput(_("Longitudes lie between -180 and 180."), field="bbox")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidInput(_("Latitudes lie between -90 and 90."), field="bbox")
    if south >= north:
        raise InvalidInput(_("The south edge must lie below the north edge."), field="bbox")
    return west, south, east, north


def apply_fields(crisis: Crisis, data: dict) -> None:
    """Validate and copy crisis fields from a form or JSON body; raises before changing anything."""
    name = " ".join(str(data.get("name", crisis.name or "")).split())
    if not name or len(name) > 200:
        raise InvalidInput(_("A crisis needs a name of at most 200 characters."), field="name")
    glide = str(data.get("glide") or "").strip().upper() or None
    if glide and not _GLIDE.match(glide):
        raise InvalidInput(_("A GLIDE number looks like EQ-2010-000009-HTI."), field="glide")
    start = _parse_date(data.get("start_date"), "start_date")
    end = _parse_date(data.get("end_date"), "end_date")
    if start and end and end < start:
        raise InvalidInput(_("The end date is before the start date."), field="end_date")
    bbox = _parse_bbox(data.get("bbox"))
    language = str(data.get("language") or crisis.language or "en")
    if language not in current_app.config["LANGUAGES"]:
        raise InvalidInput(
            _("The language is one of: %(list)s.", list=", ".join(current_app.config["LANGUAGES"])), field="language"
        )
    description = str(data.get("description") or "")
    if len(description) > 5000:
        raise InvalidInput(_("The description has at most 5000 characters."), field="description")
    crisis.name, crisis.glide, crisis.start_date, crisis.end_date = name, glide, start, end
    crisis.description, crisis.language = description, language
    crisis.west, crisis.south, crisis.east, crisis.north = bbox or (None, None, None, None)


def create_crisis(data: dict, author: User) -> Crisis:
    require("create_crisis", author)
    crisis = Crisis()
    apply_fields(crisis, data)
    slug = str(data.get("slug") or "").strip().lower() or crisis_slug(crisis.name)
    if not _SLUG.match(slug):
        raise InvalidInput(_("A short name uses lowercase letters, digits and hyphens."), field="slug")
    if db.session.scalar(select(Crisis.id).where(Crisis.slug == slug)) is not None:
        raise Conflict(_("The short name %(slug)s is taken.", slug=slug), field="slug")
    crisis.slug = slug
    crisis.created_by_id = author.id
    db.session.add(crisis)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_("The short name %(slug)s is taken.", slug=slug), field="slug") from exc
    return crisis


def update_crisis(crisis: Crisis, data: dict, author: User) -> Crisis:
    require("edit_crisis", author)
    apply_fields(crisis, data)
    crisis.generation = (crisis.generation or 0) + 1  # every page shows the crisis's name
    generation_changed(crisis.id)
    db.session.commit()
    return crisis

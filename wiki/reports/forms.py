"""The volunteer's report form: plain HTML fields turned into the same GeoJSON Feature the API
takes, so the form and the API share one validation."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..errors import InvalidInput
from ..extensions import db
from ..models import Crisis, Report

# "18.54, -72.34" or "18.54 -72.34" (latitude first, as people say it and phones show it).
_LAT_LON = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)).strip()


def _number(value: str, field: str) -> float:
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise InvalidInput(_("%(field)s must be a number in decimal degrees.", field=field), field=f"geometry.{field}")


def locate(crisis: Crisis, form: dict[str, str]) -> tuple[float, float] | None:
    """(lon, lat) from the form: the coordinate fields (filled by the map or the phone's
    location), else coordinates typed as the place, else a place already reported in this
    crisis; None when the place is left to the gazetteer (wiki.reports.location), or when
    there is no place at all (the report is then filed with its location unknown)."""
    lat_text, lon_text = form.get("lat", "").strip(), form.get("lon", "").strip()
    if lat_text or lon_text:
        if not (lat_text and lon_text):
            raise InvalidInput(_("Give both latitude and longitude."), field="geometry")
        return _number(lon_text, "longitude"), _number(lat_text, "latitude")
    place = form.get("place_name", "").strip()
    if (match := _LAT_LON.match(place)) is not None:
        return float(match.group(2)), float(match.group(1))
    if not place or form.get("place_choice"):
        return None
    folded = _fold(place)
    known = db.session.execute(
        select(Report.place_name, func.avg(Report.lon), func.avg(Report.lat))
        .where(
            Report.crisis_id == crisis.id,
            func.lower(Report.place_name) == place.lower(),
            Report.status != "refuted",
            Report.location_kind == "point",
        )
        .group_by(Report.place_name)
        .limit(1)
    ).first()
    if known is None:  # accents folded in Python: SQLite's lower() knows only ASCII
        for name, lon, lat in db.session.execute(
            select(Report.place_name, func.avg(Report.lon), func.avg(Report.lat))
            .where(Report.crisis_id == crisis.id, Report.place_name != "", Report.location_kind == "point")
            .group_by(Report.place_name)
            .limit(5000)
        ):
            if _fold(name) == folded:
                known = (name, lon, lat)
                break
    if known is not None:
        return float(known[1]), float(known[2])
    return None


def feature_from_form(crisis: Crisis, form: dict[str, str]) -> dict[str, Any]:
    point = locate(crisis, form)
    occurred = form.get("occurred_at", "").strip() or None
    place = ""
    if point is None:  # the gazetteer locates it by the place typed (or the choice made among several)
        place = form.get("place_choice", "").strip() or form.get("place_name", "").strip()
    return {
        "type": "Feature",
        "geometry": None if point is None else {"type": "Point", "coordinates": list(point)},
        "properties": {
            "place": place,
            "crisis": crisis.slug,
            "title": form.get("title", ""),
            "description": form.get("description", ""),
            "sector": form.get("sector", ""),
            "occurred_at": occurred,
            "place_name": form.get("place_name", ""),
            "sensitive": form.get("sensitive") == "1",
            "client_id": form.get("client_id") or None,
            "source": {"name": form.get("name", ""), "contact": form.get("contact", ""), "channel": "web"},
        },
    }

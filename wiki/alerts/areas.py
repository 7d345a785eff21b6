"""The area of a subscription: a drawn polygon (GeoJSON), an admin area by its P-code, or a
circle around a point. Each is checked and stored with its bounding box, which the matching
uses as its first, cheap filter."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import shapely
from flask import current_app
from flask_babel import gettext as _
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy import select

from ..errors import InvalidInput
from ..extensions import db
from ..geo import bounding_box
from ..models import AdminArea, Crisis

MAX_VERTICES = 20_000
POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Area:
    kind: str  # polygon | pcode | radius
    geometry: str  # GeoJSON of what is matched (a circle: its point, matched by distance)
    bbox: tuple[float, float, float, float]  # west, south, east, north
    pcode: str | None = None
    lon: float | None = None
    lat: float | None = None
    radius_km: float | None = None

    def describe(self) -> dict[str, Any]:
        """The area as the API gives it back."""
        if self.kind == "pcode":
            return {"pcode": self.pcode}
        if self.kind == "radius":
            return {"point": [self.lon, self.lat], "radius_km": self.radius_km}
        return json.loads(self.geometry)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(_("%(field)s must be a number.", field=field), field=field)
    return float(value)


def _lon_lat(value: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InvalidInput(_("point must be [longitude, latitude]."), field="area")
    lon, lat = _number(value[0], "area"), _number(value[1], "area")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(_("point must be [longitude, latitude] in degrees (WGS 84)."), field="area")
    return lon, lat


def parse_area(value: Any, crisis: Crisis) -> Area | None:
    """An area from the API's `area` (or the form's equivalent); None for the whole crisis.
    InvalidInput (422) names what is wrong."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(
            _('area must be a GeoJSON polygon, {"pcode": ...} or {"point": [lon, lat], "radius_km": ...}.'),
            field="area",
        )
    if "pcode" in value:
        return _admin_area(value["pcode"], crisis)
    if "point" in value or "radius_km" in value:
        return circle(value.get("point"), value.get("radius_km"))
    return polygon(value)


def circle(point: Any, radius: Any) -> Area:
    lon, lat = _lon_lat(point)
    radius_km = _number(radius, "radius_km") if radius is not None else None
    most = float(current_app.config["ALERT_MAX_RADIUS_KM"])
    if radius_km is None or not 0 < radius_km <= most:
        raise InvalidInput(
            _("radius_km must be more than 0 and at most %(most)s.", most=f"{most:g}"), field="radius_km"
        )
    south, north, west, east = bounding_box(lat, lon, radius_km)
    if west > east:  # across the antimeridian: the box of every longitude
        west, east = -180.0, 180.0
    geometry = json.dumps({"type": "Point", "coordinates": [lon, lat]})
    return Area("radius", geometry, (west, south, east, north), lon=lon, lat=lat, radius_km=radius_km)


def polygon(value: dict) -> Area:
    """A drawn area: a GeoJSON Polygon or MultiPolygon, valid (closed rings, no self-intersection)."""
    if value.get("type") not in POLYGONAL:
        raise InvalidInput(_("The area must be a GeoJSON Polygon or MultiPolygon."), field="area")
    try:
        geometry = shape(value)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise InvalidInput(_("The area is not a readable GeoJSON polygon: %(reason)s", reason=str(exc)), field="area")
    if geometry.is_empty:
        raise InvalidInput(_("The area is empty."), field="area")
    if shapely.get_num_coordinates(geometry) > MAX_VERTICES:
        raise InvalidInput(_("The area has more than %(n)d points.", n=MAX_VERTICES), field="area")
    west, south, east, north = geometry.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidInput(_("The area's coordinates must be longitude, latitude in degrees."), field="area")
    if not geometry.is_valid:
        raise InvalidInput(
            _("The area is not a valid polygon: %(reason)s.", reason=explain_validity(geometry)), field="area"
        )
    if geometry.area == 0:
        raise InvalidInput(_("The area is empty."), field="area")
    return Area("polygon", json.dumps(mapping(geometry)), (west, south, east, north))


def _admin_area(pcode: Any, crisis: Crisis) -> Area:
    if not isinstance(pcode, str) or not pcode.strip():
        raise InvalidInput(_('pcode must be a P-code given as text, e.g. "HT0111".'), field="area")
    pcode = pcode.strip()
    row = db.session.execute(
        select(AdminArea.geometry)
        .where(AdminArea.crisis_id == crisis.id, AdminArea.pcode == pcode)
        .order_by(AdminArea.level.desc())
        .limit(1)
    ).first()
    if row is None:
        raise InvalidInput(
            _("There is no admin area with the P-code %(pcode)s in this crisis.", pcode=pcode), field="area"
        )
    geometry = shape(json.loads(row.geometry))
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    return Area("pcode", json.dumps(mapping(geometry)), tuple(geometry.bounds), pcode=pcode)


def area_of(subscription) -> Area | None:
    """The stored area of a subscription."""
    if subscription.area_kind is None:
        return None
    return Area(
        subscription.area_kind,
        subscription.area,
        (subscription.west, subscription.south, subscription.east, subscription.north),
        pcode=subscription.area_pcode,
        lon=subscription.point_lon,
        lat=subscription.point_lat,
        radius_km=subscription.radius_km,
    )

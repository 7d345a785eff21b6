"""A crisis's gazetteer: every place name it knows, to locate reports that come without
coordinates (no online geocoder is asked).

Built from, most specific first: the named features of the crisis's map layers (shelters,
hospitals, camps, neighbourhoods), its admin boundaries (every level imported, with P-codes and
the other names in the files: French, Creole, Arabic ...), and the GeoNames cities inside the
crisis's area (wiki.places.world). A world city that only repeats an admin area's name inside
that area is left out: the area is the better answer. Each process keeps one gazetteer per
crisis and builds it again when the crisis's boundaries, layers or area change.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from shapely.geometry import shape
from sqlalchemy import func, select

from ..extensions import db
from ..geo import haversine_km
from ..i18n import N_
from ..models import AdminArea, Crisis, Layer, LayerRevision
from .names import deletes, fuzzy_limit, key
from .world import cities_in

# How specific a kind of place is: the more specific of two places a message names wins.
SPECIFICITY = {"facility": 5, "adm3": 4, "adm2": 3, "city": 2, "adm1": 1}
KIND_LABELS = {
    "facility": N_("mapped place"),
    "adm1": N_("admin area, level 1"),
    "adm2": N_("admin area, level 2"),
    "adm3": N_("admin area, level 3"),
    "city": N_("town or city"),
}
FACILITY_RADIUS_M = 150.0
NAME_PROPERTIES = ("name", "title", "nom", "nombre", "name_en", "name_fr", "label", "NAME", "Name")
MAX_LAYER_FEATURES = 20000  # a layer larger than this is a dataset, not a list of named places


@dataclass(frozen=True)
class Place:
    """One place the gazetteer knows (a report located there gets its point and radius)."""

    id: str  # "pcode:HT0112", "layer:12:3" (layer 12, feature 3), "geonames:3718426"
    name: str
    kind: str  # facility, adm1, adm2, adm3, city
    lon: float
    lat: float
    radius_m: float
    pcode: str | None = None  # an admin area's own P-code
    parent: str = ""  # where it is, to tell places of the same name apart ("Ouest", "Delmas")
    names: tuple[str, ...] = field(default=(), compare=False)

    @property
    def location_kind(self) -> str:
        """How a report located here is located: an admin area, or a named place."""
        return "area" if self.kind.startswith("adm") else "place"

    def as_dict(self) -> dict:
        found = asdict(self)
        found.pop("names")
        found["location_kind"] = self.location_kind
        found["kind_label"] = KIND_LABELS.get(self.kind, self.kind)
        return found


class Gazetteer:
    """Places indexed by the key of each of their names, and a deletion index for misspellings."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.places: dict[str, Place] = {}
        self.by_key: dict[str, list[Place]] = {}
        self.by_pcode: dict[str, Place] = {}
        self._deletions: dict[str, set[str]] = {}
        self.longest = 1  # words in the longest name
        for place in places:
            self.places[place.id] = place
            if place.pcode:
                self.by_pcode[place.pcode.upper()] = place
            for name in {place.name, *place.names}:
                name_key = key(name)
                if not name_key:
                    continue
                bucket = self.by_key.setdefault(name_key, [])
                if place not in bucket:
                    bucket.append(place)
                self.longest = max(self.longest, name_key.count(" ") + 1)
        for name_key in self.by_key:
            for variant in deletes(name_key, fuzzy_limit(name_key)):
                self._deletions.setdefault(variant, set()).add(name_key)

    def __len__(self) -> int:
        return len(self.places)

    def exact(self, name_key: str) -> list[Place]:
        return list(self.by_key.get(name_key, ()))

    def fuzzy(self, name_key: str) -> list[tuple[str, int]]:
        """Names within their allowed edit distance of `name_key`: [(name key, distance)]."""
        from .names import within_distance

        limit = fuzzy_limit(name_key)
        if limit == 0:
            return []
        candidates: set[str] = set()
        for variant in deletes(name_key, limit):
            candidates |= self._deletions.get(variant, set())
        found = []
        for candidate in candidates:
            allowed = min(limit, fuzzy_limit(candidate))
            distance = within_distance(name_key, candidate, allowed) if allowed else None
            if distance is not None and distance > 0:
                found.append((candidate, distance))
        return sorted(found, key=lambda item: (item[1], item[0]))


# -- building a crisis's gazetteer -----------------------------------------------------------


def _radius_m(geometry, lon: float, lat: float) -> float:
    """The distance from (lon, lat) to the farthest corner of the geometry's convex hull."""
    hull = geometry.convex_hull
    coordinates = list(getattr(hull, "exterior", hull).coords) if hasattr(hull, "exterior") else list(hull.coords)
    farthest = max((haversine_km(lat, lon, y, x) for x, y in coordinates), default=0.0)
    return max(FACILITY_RADIUS_M, farthest * 1000.0)


def _centre(geometry) -> tuple[float, float]:
    centroid = geometry.centroid
    point = centroid if geometry.contains(centroid) else geometry.representative_point()
    return round(point.x, 6), round(point.y, 6)


def admin_places(crisis_id: int) -> list[Place]:
    rows = db.session.execute(
        select(
            AdminArea.level,
            AdminArea.pcode,
            AdminArea.name,
            AdminArea.alt_names,
            AdminArea.parent_name,
            AdminArea.geometry,
        ).where(AdminArea.crisis_id == crisis_id)
    ).all()
    places = []
    for level, pcode, name, alt_names, parent_name, geometry_text in rows:
        geometry = shape(json.loads(geometry_text))
        lon, lat = _centre(geometry)
        places.append(
            Place(
                id=f"pcode:{pcode}",
                name=name,
                kind=f"adm{level}",
                lon=lon,
                lat=lat,
                radius_m=round(_radius_m(geometry, lon, lat)),
                pcode=pcode,
                parent=parent_name or "",
                names=(*(n for n in (alt_names or []) if isinstance(n, str)), pcode),
            )
        )
    return places


def _feature_names(properties: dict) -> tuple[str, tuple[str, ...]]:
    name = next(
        (str(properties[k]) for k in NAME_PROPERTIES if isinstance(properties.get(k), str) and properties[k]), ""
    )
    others = tuple(
        str(value)
        for prop, value in properties.items()
        if isinstance(value, str)
        and value
        and value != name
        and (prop.startswith(("name:", "name_", "alt_name", "official_name", "short_name", "nom_")))
    )
    return name.strip(), others


def layer_places(crisis_id: int) -> list[Place]:
    rows = db.session.execute(
        select(Layer.id, LayerRevision.geojson)
        .join(LayerRevision, LayerRevision.id == Layer.current_revision_id)
        .where(
            Layer.crisis_id == crisis_id, Layer.deleted_at.is_(None), LayerRevision.feature_count <= MAX_LAYER_FEATURES
        )
    ).all()
    places = []
    for layer_id, text in rows:
        for index, feature in enumerate(json.loads(text).get("features", [])):
            name, others = _feature_names(feature.get("properties") or {})
            geometry = feature.get("geometry")
            if not name or not geometry:
                continue
            try:
                shaped = shape(geometry)
            except (ValueError, TypeError, AttributeError):
                continue
            if shaped.is_empty:
                continue
            if shaped.geom_type == "Point":
                lon, lat, radius = round(shaped.x, 6), round(shaped.y, 6), FACILITY_RADIUS_M
            else:
                lon, lat = _centre(shaped)
                radius = round(_radius_m(shaped, lon, lat))
            places.append(Place(f"layer:{layer_id}:{index}", name, "facility", lon, lat, radius, names=others))
    return places


def world_places(bbox, areas: list[Place]) -> list[Place]:
    """The GeoNames cities in the crisis's area, but not those that repeat the name of an admin
    area they lie in."""
    area_names = {}
    for area in areas:
        for name in (area.name, *area.names):
            area_names.setdefault(key(name), []).append(area)
    places = []
    for city in cities_in(bbox):
        names = (city.name, *city.alternate_names)
        repeats = any(
            haversine_km(city.lat, city.lon, area.lat, area.lon) * 1000 <= area.radius_m
            for name in names
            for area in area_names.get(key(name), ())
        )
        if repeats:
            continue
        places.append(
            Place(
                f"geonames:{city.geonameid}", city.name, "city", city.lon, city.lat, round(city.radius_m), names=names
            )
        )
    return places


def build(crisis: Crisis) -> Gazetteer:
    areas = admin_places(crisis.id)
    return Gazetteer([*layer_places(crisis.id), *areas, *world_places(crisis.bbox, areas)])


_cache: dict[tuple[str, int], tuple[tuple, Gazetteer]] = {}
_cache_lock = threading.Lock()


def _version(crisis: Crisis) -> tuple:
    """Changes whenever what the gazetteer is built from changes."""
    areas = db.session.execute(
        select(func.count(AdminArea.id), func.max(AdminArea.id), func.max(AdminArea.imported_at)).where(
            AdminArea.crisis_id == crisis.id
        )
    ).one()
    layers = db.session.execute(
        select(func.count(Layer.id), func.max(Layer.current_revision_id), func.max(Layer.updated_at)).where(
            Layer.crisis_id == crisis.id, Layer.deleted_at.is_(None)
        )
    ).one()
    return (*areas, *layers, crisis.bbox)


def gazetteer_for(crisis: Crisis) -> Gazetteer:
    """The crisis's gazetteer, from this process's cache while it is current."""
    cache_key = (str(db.engine.url), crisis.id)
    version = _version(crisis)
    with _cache_lock:
        cached = _cache.get(cache_key)
        if cached is not None and cached[0] == version:
            return cached[1]
    built = build(crisis)
    with _cache_lock:
        _cache[cache_key] = (version, built)
    return built


def distance_m(a: Place, b: Place) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon) * 1000.0


def contains(area: Place, place: Place) -> bool:
    """Is `place` within `area`'s radius (a cheap test of "in that area")?"""
    return (
        area is not place
        and distance_m(area, place) <= area.radius_m + place.radius_m * 0.1
        and not math.isnan(area.radius_m)
    )

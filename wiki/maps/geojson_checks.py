"""Checking GeoJSON before a layer stores it: RFC 7946, the `geojson` package and simplestyle.

A refusal names the feature (its index in `features`), the place inside it (a JSON path such as
`features[3].geometry.coordinates[0][2]`) and what is wrong, for the first few problems, so a
coordinator can fix the file in one go. Nothing is stored unless everything passes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import geojson
from flask_babel import gettext as _

from ..errors import InvalidInput
from .styles import style_problems

GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
# RFC 7946 asks writers to avoid nested GeometryCollections; one level is tolerated, deeper
# nesting (a way to make readers recurse without end) is refused.
MAX_COLLECTION_DEPTH = 2
MAX_PROBLEMS = 20
_CRS84 = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"}


@dataclass(frozen=True)
class Problem:
    feature: int | None  # index in `features`; None for the document itself
    path: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class CheckedGeoJSON:
    collection: dict[str, Any]  # a FeatureCollection, whatever was uploaded (a lone Feature is wrapped)
    feature_count: int
    bbox: tuple[float, float, float, float] | None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(raw: str | bytes) -> Any:
    """JSON text to Python, refusing NaN/Infinity and answering 422 with where it broke."""
    try:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8-sig")
        return json.loads(raw, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise InvalidInput(_("The GeoJSON is not UTF-8 text."), field="geojson") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            _(
                "The GeoJSON is not valid JSON: %(error)s (line %(line)d, column %(column)d).",
                error=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            ),
            field="geojson",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(
            _("The GeoJSON is not valid JSON: %(error)s.", error=str(exc)[:200]), field="geojson"
        ) from None


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.west = self.south = math.inf
        self.east = self.north = -math.inf
        self.feature: int | None = None

    def problem(self, path: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(self.feature, path, message))

    # -- positions -----------------------------------------------------------------------
    def position(self, value: Any, path: str) -> bool:
        if not isinstance(value, list) or not 2 <= len(value) <= 3:
            self.problem(path, _("A position is [longitude, latitude] or [longitude, latitude, elevation]."))
            return False
        if not all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in value):
            self.problem(path, _("A position holds numbers only."))
            return False
        lon, lat = value[0], value[1]
        ok = True
        if not -180 <= lon <= 180:
            self.problem(
                path,
                _(
                    "Longitude %(value)s is outside -180..180 (RFC 7946 positions are WGS 84 [longitude, latitude]).",
                    value=lon,
                ),
            )
            ok = False
        if not -90 <= lat <= 90:
            self.problem(
                path,
                _(
                    "Latitude %(value)s is outside -90..90 (RFC 7946 positions are WGS 84 [longitude, latitude]).",
                    value=lat,
                ),
            )
            ok = False
        if ok:
            self.west, self.east = min(self.west, lon), max(self.east, lon)
            self.south, self.north = min(self.south, lat), max(self.north, lat)
        return ok

    def positions(self, value: Any, path: str, minimum: int, what: str) -> bool:
        if not isinstance(value, list):
            self.problem(path, _("%(what)s must be an array of positions.", what=what))
            return False
        ok = all([self.position(item, f"{path}[{i}]") for i, item in enumerate(value)])
        if ok and len(value) < minimum:
            self.problem(
                path,
                _("%(what)s needs at least %(n)d positions, not %(count)d.", what=what, n=minimum, count=len(value)),
            )
            return False
        return ok

    def ring(self, value: Any, path: str) -> bool:
        if not self.positions(value, path, 4, _("A linear ring")):
            return False
        if value[0] != value[-1]:
            self.problem(path, _("A linear ring must be closed: its last position must equal its first."))
            return False
        return True

    def polygon(self, value: Any, path: str) -> bool:
        if not isinstance(value, list):
            self.problem(path, _("Polygon coordinates must be an array of linear rings."))
            return False
        return all([self.ring(ring, f"{path}[{i}]") for i, ring in enumerate(value)])

    def many(self, value: Any, path: str, check, what: str) -> bool:
        if not isinstance(value, list):
            self.problem(path, _("%(what)s coordinates must be an array.", what=what))
            return False
        return all([check(item, f"{path}[{i}]") for i, item in enumerate(value)])

    # -- geometries ----------------------------------------------------------------------
    def geometry(self, value: Any, path: str, depth: int = 0) -> None:
        if value is None:
            return  # a Feature without a location is allowed
        if not isinstance(value, dict):
            self.problem(path, _("A geometry must be an object or null."))
            return
        kind = value.get("type")
        if kind not in GEOMETRY_TYPES:
            self.problem(
                f"{path}.type",
                _("Unknown geometry type %(type)r; use one of: %(list)s.", type=kind, list=", ".join(GEOMETRY_TYPES)),
            )
            return
        if kind == "GeometryCollection":
            self.collection(value, path, depth)
            return
        if "coordinates" not in value:
            self.problem(path, _("A %(type)s needs coordinates.", type=kind))
            return
        coordinates, where = value["coordinates"], f"{path}.coordinates"
        checks = {
            "Point": lambda: self.position(coordinates, where),
            "MultiPoint": lambda: self.many(coordinates, where, self.position, kind),
            "LineString": lambda: self.positions(coordinates, where, 2, _("A LineString")),
            "MultiLineString": lambda: self.many(
                coordinates, where, lambda line, p: self.positions(line, p, 2, _("A LineString")), kind
            ),
            "Polygon": lambda: self.polygon(coordinates, where),
            "MultiPolygon": lambda: self.many(coordinates, where, self.polygon, kind),
        }
        if checks[kind]():
            self.library_check(value, path)

    def collection(self, value: dict, path: str, depth: int) -> None:
        if depth >= MAX_COLLECTION_DEPTH:
            self.problem(path, _("GeometryCollections are nested too deeply (RFC 7946 asks not to nest them)."))
            return
        members = value.get("geometries")
        if not isinstance(members, list):
            self.problem(f"{path}.geometries", _("A GeometryCollection needs an array of geometries."))
            return
        for i, member in enumerate(members):
            if member is None:
                self.problem(f"{path}.geometries[{i}]", _("A GeometryCollection holds geometries, not null."))
                continue
            self.geometry(member, f"{path}.geometries[{i}]", depth + 1)

    def library_check(self, value: dict, path: str) -> None:
        """Ask the `geojson` package too: a second opinion on a geometry our checks passed."""
        try:
            errors = geojson.GeoJSON.to_instance(value, strict=True).errors()
        except Exception as exc:  # the package raises assorted errors on odd input
            errors = str(exc)
        if errors:
            self.problem(path, str(errors))

    # -- features ------------------------------------------------------------------------
    def feature_object(self, value: Any, index: int | None, path: str) -> None:
        self.feature = index
        if not isinstance(value, dict) or value.get("type") != "Feature":
            self.problem(path, _('Each item of features must be an object with "type": "Feature".'))
            return
        if "geometry" not in value:
            self.problem(path, _("A Feature needs a geometry member (null if it has no location)."))
        else:
            self.geometry(value["geometry"], f"{path}.geometry")
        if "properties" not in value:
            self.problem(path, _("A Feature needs a properties member (an object, or null)."))
        elif value["properties"] is not None and not isinstance(value["properties"], dict):
            self.problem(f"{path}.properties", _("properties must be an object or null."))
        elif value["properties"]:
            for key, message in style_problems(value["properties"]):
                self.problem(f"{path}.properties.{key}", message)
        if "id" in value and not (isinstance(value["id"], (str, int, float)) and not isinstance(value["id"], bool)):
            self.problem(f"{path}.id", _("A Feature's id must be a string or a number."))

    def bbox(self, value: dict, path: str) -> None:
        box = value.get("bbox")
        if box is not None and not (
            isinstance(box, list)
            and len(box) in (4, 6)
            and all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in box)
        ):
            self.problem(f"{path}bbox", _("bbox must be an array of 4 (or 6) numbers."))


def check_layer_geojson(document: Any) -> CheckedGeoJSON:
    """Validate a parsed GeoJSON document for a layer; raise InvalidInput naming the problems."""
    checker = _Checker()
    if not isinstance(document, dict):
        raise InvalidInput(_("A layer is a GeoJSON FeatureCollection or Feature (a JSON object)."), field="geojson")
    kind = document.get("type")
    if kind == "Feature":
        checker.feature_object(document, 0, "")
        collection = {"type": "FeatureCollection", "features": [document]}
    elif kind == "FeatureCollection":
        checker.bbox(document, "")
        features = document.get("features")
        if not isinstance(features, list):
            raise InvalidInput(_("A FeatureCollection needs a features array."), field="geojson", path="features")
        for i, feature in enumerate(features):
            checker.feature_object(feature, i, f"features[{i}]")
            if len(checker.problems) >= MAX_PROBLEMS:
                break
        collection = document
    elif kind in GEOMETRY_TYPES:
        raise InvalidInput(
            _("A layer is a FeatureCollection or a Feature: wrap this %(type)s in a Feature.", type=kind),
            field="geojson",
            path="type",
        )
    else:
        raise InvalidInput(
            _("Unknown GeoJSON type %(type)r; a layer is a FeatureCollection or a Feature.", type=kind),
            field="geojson",
            path="type",
        )
    if checker.problems:
        _raise(checker.problems, document)
    bbox = None if checker.west == math.inf else (checker.west, checker.south, checker.east, checker.north)
    return CheckedGeoJSON(collection=collection, feature_count=len(collection["features"]), bbox=bbox)


def _raise(problems: list[Problem], document: dict) -> None:
    first = problems[0]
    where = _("Feature %(n)d", n=first.feature) if first.feature is not None else _("The document")
    message = f"{where}: {first.message}"
    if len(problems) > 1:
        message += " " + _("(and %(n)d more problems; see errors)", n=len(problems) - 1)
    crs = _crs_name(document)
    if crs and crs not in _CRS84:
        message += " " + _(
            "This file declares the coordinate system %(crs)s; RFC 7946 GeoJSON is always WGS 84 "
            "longitude/latitude, so re-export it as EPSG:4326.",
            crs=crs,
        )
    raise InvalidInput(
        message,
        field="geojson",
        feature=first.feature,
        path=first.path,
        errors=[problem.as_dict() for problem in problems],
    )


def _crs_name(document: dict) -> str | None:
    crs = document.get("crs")
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        name = crs["properties"].get("name")
        return str(name) if name else None
    return None

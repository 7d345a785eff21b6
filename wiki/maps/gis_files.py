"""Reading the GIS files people have, not only GeoJSON: zipped Shapefiles, GeoPackages, KML and
KMZ, GPX, and GeoJSON in a projected CRS, through pyogrio (GDAL in a wheel). Whatever CRS a file
carries, its geometries are reprojected to WGS 84 (pyproj), checked with shapely, and invalid ones
repaired with make_valid; each repair is reported with the feature it was made on, so a
coordinator can see what changed. The result is an RFC 7946 FeatureCollection that goes through
the same checks as an uploaded GeoJSON layer (wiki.maps.geojson_checks)."""

from __future__ import annotations

import json
import math
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from flask_babel import gettext as _

from ..errors import InvalidInput

SQLITE = b"SQLite format 3\x00"
ZIP = b"PK\x03\x04"
# GPX layers that repeat the others point by point.
SKIPPED_LAYERS = frozenset({"route_points", "track_points"})
# KML's display settings, which GDAL's LIBKML driver gives every feature as fields: left out
# when they say nothing (their defaults); "Name" becomes the simplestyle "name" people expect.
KML_SETTINGS = frozenset({"altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon", "id"})
MAX_REPAIRS_LISTED = 50


@dataclass(frozen=True)
class Repair:
    feature: int  # index in the resulting FeatureCollection
    layer: str
    problem: str  # shapely's is_valid_reason, e.g. "Self-intersection[-72.3 18.5]"
    result: str  # the repaired geometry's type

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "layer": self.layer, "problem": self.problem, "result": self.result}


@dataclass(frozen=True)
class GisDocument:
    collection: dict[str, Any]
    repairs: tuple[Repair, ...] = ()
    source_crs: str | None = None  # the CRS the file was in, when it was not WGS 84
    format: str = "GeoJSON"


def kind_of(raw: bytes) -> str | None:
    """The GIS format of an uploaded file, told from its bytes; None for plain GeoJSON in WGS 84
    (which the GeoJSON checks read as it is)."""
    head = raw[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if raw.startswith(SQLITE):
        return "GPKG"
    if raw.startswith(ZIP):
        return "zip"
    lowered = head[:2048].lower()
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<"):
        if b"<kml" in lowered:
            return "KML"
        if b"<gpx" in lowered:
            return "GPX"
        return None
    if head.startswith(b"{") and b'"crs"' in raw[:65536] and not _is_wgs84_member(raw):
        return "GeoJSON"  # GeoJSON 2008 with a projected "crs" member
    return None


def _is_wgs84_member(raw: bytes) -> bool:
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return True  # not ours to judge: the GeoJSON checks say what is wrong
    name = ((document.get("crs") or {}).get("properties") or {}).get("name") if isinstance(document, dict) else None
    return not name or "CRS84" in name or name.endswith(("EPSG:4326", "EPSG::4326"))


def read_gis_file(raw: bytes, filename: str = "") -> GisDocument:
    """Read a Shapefile (zipped), GeoPackage, KML/KMZ, GPX or projected GeoJSON into WGS 84 GeoJSON."""
    kind = kind_of(raw)
    if kind is None:
        raise InvalidInput(_("This is not a GIS file we can read."), field="geojson")
    with tempfile.TemporaryDirectory(prefix="crisiswiki-gis-") as folder:
        path = Path(folder) / _safe_name(filename, kind)
        path.write_bytes(raw)
        source, label = _dataset(path, kind)
        return _read_layers(source, label)


def _safe_name(filename: str, kind: str) -> str:
    suffix = {"GPKG": ".gpkg", "zip": ".zip", "KML": ".kml", "GPX": ".gpx", "GeoJSON": ".geojson"}[kind]
    stem = "".join(c for c in Path(filename or "upload").stem if c.isalnum() or c in "-_")[:60] or "upload"
    return stem + suffix


def _dataset(path: Path, kind: str) -> tuple[str, str]:
    """What GDAL should open, and the format's name for messages."""
    if kind != "zip":
        return str(path), kind
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile:
        raise InvalidInput(_("The zip file is damaged."), field="geojson") from None
    shapefiles = [name for name in names if name.lower().endswith(".shp") and "__MACOSX" not in name]
    if shapefiles:
        return f"/vsizip/{path}/{shapefiles[0]}", "Shapefile"
    if any(name.lower().endswith(".kml") for name in names):
        kmz = path.rename(path.with_suffix(".kmz"))  # GDAL opens a KMZ whole (its doc.kml may link the others)
        return str(kmz), "KMZ"
    geopackages = [name for name in names if name.lower().endswith(".gpkg")]
    if geopackages:
        return f"/vsizip/{path}/{geopackages[0]}", "GPKG"
    raise InvalidInput(
        _("The zip file holds no Shapefile (.shp with its .shx, .dbf and .prj), KML or GeoPackage."), field="geojson"
    )


def _read_layers(source: str, label: str) -> GisDocument:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        layers = [str(name) for name, _geometry_type in pyogrio.list_layers(source)]
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InvalidInput(
            _("The %(format)s file cannot be read: %(reason)s", format=label, reason=str(exc)[:300]), field="geojson"
        ) from None
    features: list[dict[str, Any]] = []
    repairs: list[Repair] = []
    source_crs = None
    for layer in layers:
        if layer in SKIPPED_LAYERS:
            continue
        try:
            meta, _fids, geometries, values = pyogrio.raw.read(source, layer=layer, datetime_as_string=True)
        except (DataSourceError, DataLayerError) as exc:
            raise InvalidInput(
                _("Layer %(layer)s cannot be read: %(reason)s", layer=layer, reason=str(exc)[:300]), field="geojson"
            ) from None
        if geometries is None or not len(geometries):
            continue
        shapes = shapely.from_wkb(geometries)
        crs = meta.get("crs")
        if crs and not _is_wgs84(crs):
            shapes = _reproject(shapes, crs)
            source_crs = crs
        names = list(meta.get("fields", []))
        for row, geometry in enumerate(shapes):
            if geometry is None or geometry.is_empty:
                continue
            if not geometry.is_valid:
                problem = shapely.is_valid_reason(geometry)
                geometry = _repaired(geometry)
                repairs.append(Repair(len(features), layer, problem, geometry.geom_type))
                if geometry.is_empty:
                    continue
            properties = _properties(names, values, row, label)
            features.append(
                {"type": "Feature", "properties": properties, "geometry": json.loads(shapely.to_geojson(geometry))}
            )
    if not features:
        raise InvalidInput(_("The %(format)s file holds no features with a geometry.", format=label), field="geojson")
    return GisDocument({"type": "FeatureCollection", "features": features}, tuple(repairs), source_crs, label)


def _properties(names: list[str], values: list, row: int, label: str) -> dict[str, Any]:
    properties = {name: _plain(column[row]) for name, column in zip(names, values, strict=True)}
    if label in ("KML", "KMZ"):
        properties = {
            ("name" if name == "Name" else name): value
            for name, value in properties.items()
            if value not in (None, -1, 0, "") or name not in KML_SETTINGS
        }
        properties = {name: value for name, value in properties.items() if value is not None}
    return properties


def _is_wgs84(crs: str) -> bool:
    from pyproj import CRS

    try:
        parsed = CRS.from_user_input(crs)
    except Exception:
        return False
    return parsed.equals(CRS.from_epsg(4326), ignore_axis_order=True) or parsed.equals(CRS("OGC:CRS84"))


def _reproject(shapes: np.ndarray, crs: str) -> np.ndarray:
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        transformer = Transformer.from_crs(CRS.from_user_input(crs), CRS("OGC:CRS84"), always_xy=True)
    except CRSError as exc:
        raise InvalidInput(
            _("The file's coordinate system cannot be used: %(reason)s", reason=str(exc)[:300]), field="geojson"
        ) from None

    def transform(coordinates: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coordinates[:, 0], coordinates[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(shapes, transform)


def _repaired(geometry):
    """make_valid, keeping the geometry's own dimension (a polygon stays areal: the slivers of
    lines and points make_valid can leave beside it are dropped)."""
    fixed = shapely.make_valid(geometry)
    dimension = shapely.get_dimensions(geometry)
    if fixed.geom_type == "GeometryCollection":
        parts = [part for part in fixed.geoms if shapely.get_dimensions(part) == dimension]
        if not parts:
            return fixed
        fixed = shapely.union_all(parts)
    return fixed


def _plain(value: Any) -> Any:
    """A cell as JSON: numpy scalars as Python numbers, NaN as null, dates as ISO text."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value

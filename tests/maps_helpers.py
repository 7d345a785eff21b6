"""Small factories for the maps tests: GeoJSON layers, admin boundaries drawn by hand over the
`crisis` fixture's area (-74.5, 17.9, -71.6, 20.1), and reports inserted in bulk."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from wiki.extensions import db

# Two admin-1 areas split at longitude -73, each split into two admin-2 areas at latitude 19.
WEST, SOUTH, EAST, NORTH, SPLIT_LON, SPLIT_LAT = -74.5, 17.9, -71.6, 20.1, -73.0, 19.0


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def adm1_collection(upper_case: bool = False) -> dict[str, Any]:
    keys = ("ADM1_PCODE", "ADM1_EN") if upper_case else ("adm1_pcode", "adm1_name")
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {keys[0]: "HT01", keys[1]: "Ouest"},
                "geometry": box(WEST, SOUTH, SPLIT_LON, NORTH),
            },
            {
                "type": "Feature",
                "properties": {keys[0]: "HT02", keys[1]: "Est"},
                "geometry": box(SPLIT_LON, SOUTH, EAST, NORTH),
            },
        ],
    }


def adm2_collection(upper_case: bool = False, codes: dict[str, str] | None = None) -> dict[str, Any]:
    """Four admin-2 areas; `codes` renames P-codes (to test a re-import)."""
    codes = codes or {}
    p2, n2, p1, n1 = (
        ("ADM2_PCODE", "ADM2_EN", "ADM1_PCODE", "ADM1_EN")
        if upper_case
        else ("adm2_pcode", "adm2_name", "adm1_pcode", "adm1_name")
    )
    areas = [
        ("HT0101", "Sud-Ouest", "HT01", "Ouest", box(WEST, SOUTH, SPLIT_LON, SPLIT_LAT)),
        ("HT0102", "Nord-Ouest", "HT01", "Ouest", box(WEST, SPLIT_LAT, SPLIT_LON, NORTH)),
        ("HT0201", "Sud-Est", "HT02", "Est", box(SPLIT_LON, SOUTH, EAST, SPLIT_LAT)),
        ("HT0202", "Nord-Est", "HT02", "Est", box(SPLIT_LON, SPLIT_LAT, EAST, NORTH)),
    ]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {p2: codes.get(code, code), n2: name, p1: parent, n1: parent_name},
                "geometry": geometry,
            }
            for code, name, parent, parent_name, geometry in areas
        ],
    }


def point_layer(**properties: Any) -> dict[str, Any]:
    props = {"name": "Field hospital", **properties}
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [-72.34, 18.54]}},
            {"type": "Feature", "properties": {"name": "Camp"}, "geometry": box(-72.4, 18.5, -72.3, 18.6)},
        ],
    }


def as_text(document: Any) -> str:
    return json.dumps(document)


def add_reports(app: Flask, crisis_slug: str, points: list[tuple[float, float]], **fields: Any) -> list[int]:
    """Insert reports straight into the database (the R*Tree triggers fire as for any insert)."""
    from sqlalchemy import select

    from wiki.models import Crisis, Report, Source
    from wiki.models.base import utcnow

    with app.app_context():
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == crisis_slug))
        source = Source(name="tester", channel="web")
        db.session.add(source)
        now = utcnow()
        reports = [
            Report(
                crisis_id=crisis.id,
                title=fields.get("title", f"Report {i}"),
                description="",
                lon=lon,
                lat=lat,
                place_name="",
                received_at=now,
                updated_at=now,
                source=source,
                **{k: v for k, v in fields.items() if k != "title"},
            )
            for i, (lon, lat) in enumerate(points)
        ]
        db.session.add_all(reports)
        db.session.commit()
        return [report.id for report in reports]

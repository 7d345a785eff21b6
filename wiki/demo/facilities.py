"""The demo's two GeoJSON layers, MADE UP for illustration: evacuation centres and health
facilities near real towns of the typhoon's path (the towns' points from GeoNames, each site a
few hundred metres off with a made-up name and figures). Their names enter the crisis's
gazetteer with the layers' other named features."""

from __future__ import annotations

import random

from ..places.world import _all_cities

NOTE = "Made up for the demo: not a real site."
SHELTER_TOWNS = (
    ("Tacloban", "Tacloban Astrodome", 6000),
    ("Tacloban", "Tacloban City Convention Center", 3500),
    ("Tacloban", "Leyte National High School", 1200),
    ("Palo", "Palo Cathedral grounds", 900),
    ("Ormoc", "Ormoc Superdome", 2500),
    ("Guiuan", "Guiuan Central School", 800),
    ("Borongan", "Borongan Sports Complex", 600),
    ("Catbalogan", "Catbalogan Gymnasium", 700),
    ("Baybay", "Baybay Central School", 450),
    ("Carigara", "Carigara Parish Hall", 400),
    ("Roxas", "Capiz Gymnasium", 1100),
    ("Estancia", "Estancia Covered Court", 500),
    ("Bogo", "Bogo City Gym", 650),
    ("Kalibo", "Aklan Sports Complex", 900),
)
HEALTH_TOWNS = (
    ("Tacloban", "Eastern Visayas Regional Medical Center", "hospital", "partly functioning"),
    ("Tacloban", "Field hospital (airport)", "field hospital", "functioning"),
    ("Palo", "Palo district hospital", "hospital", "not functioning"),
    ("Ormoc", "Ormoc district hospital", "hospital", "functioning"),
    ("Guiuan", "Guiuan rural health unit", "health centre", "not functioning"),
    ("Borongan", "Eastern Samar provincial hospital", "hospital", "partly functioning"),
    ("Catbalogan", "Samar provincial hospital", "hospital", "functioning"),
    ("Roxas", "Capiz provincial hospital", "hospital", "functioning"),
    ("Bogo", "Bogo rural health unit", "health centre", "partly functioning"),
    ("Carigara", "Carigara district hospital", "hospital", "partly functioning"),
)
STATE_COLOURS = {"functioning": "#1a7f37", "partly functioning": "#9a6700", "not functioning": "#b42318"}


def _towns() -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float, int]] = {}
    for city in _all_cities():
        if city.country == "PH" and (city.name not in found or city.population > found[city.name][2]):
            found[city.name] = (city.lon, city.lat, city.population)
    return {name: (lon, lat) for name, (lon, lat, _p) in found.items()}


def _point(towns, rng: random.Random, town: str) -> dict:
    lon, lat = towns[town]
    return {
        "type": "Point",
        "coordinates": [round(lon + rng.uniform(-0.01, 0.01), 5), round(lat + rng.uniform(-0.01, 0.01), 5)],
    }


def facility_layers() -> dict[str, tuple[dict, dict]]:
    """{"shelters": (metadata, FeatureCollection), "health": (...)} for wiki.maps.layers.create_layer."""
    towns = _towns()
    rng = random.Random(8)
    shelters = [
        {
            "type": "Feature",
            "properties": {
                "name": f"Evacuation centre: {site}",
                "town": town,
                "people": people,
                "note": NOTE,
                "marker-color": "#0b5cad",
            },
            "geometry": _point(towns, rng, town),
        }
        for town, site, people in SHELTER_TOWNS
        if town in towns
    ]
    health = [
        {
            "type": "Feature",
            "properties": {
                "name": name,
                "town": town,
                "type": kind,
                "state": state,
                "note": NOTE,
                "marker-color": STATE_COLOURS[state],
                "marker-size": "large" if kind == "hospital" else "medium",
            },
            "geometry": _point(towns, rng, town),
        }
        for town, name, kind, state in HEALTH_TOWNS
        if town in towns
    ]
    return {
        "shelters": (
            {
                "title": "Evacuation centres (made up for the demo)",
                "description": "People sheltering per site, as reported. " + NOTE,
                "source": "crisiswiki demo",
                "licence": "CC0",
            },
            {"type": "FeatureCollection", "features": shelters},
        ),
        "health": (
            {
                "title": "Health facilities (made up for the demo)",
                "description": "Functioning state as reported. " + NOTE,
                "source": "crisiswiki demo",
                "licence": "CC0",
            },
            {"type": "FeatureCollection", "features": health},
        ),
    }

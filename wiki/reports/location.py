"""Where a report is: coordinates, a named place (a point with an uncertainty radius), an admin
area (its centre and a radius that holds it), or unknown. People in a crisis often give a place
name or nothing at all; a report is taken in either way and says how precisely it is placed."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from ..errors import InvalidInput
from ..models import Crisis
from ..places import Place, resolve_place

LOCATION_KINDS = ("point", "place", "area", "unknown")


@dataclass(frozen=True)
class Location:
    kind: str
    lon: float | None = None
    lat: float | None = None
    radius_m: float | None = None
    ref: str | None = None  # the gazetteer's id of the place or area
    name: str = ""  # the place's name, for the report's place name when it has none


UNKNOWN = Location("unknown")


def point(lon: float, lat: float) -> Location:
    return Location("point", lon, lat)


def at_place(place: Place) -> Location:
    return Location(place.location_kind, place.lon, place.lat, float(place.radius_m), place.id, place.name)


class AmbiguousPlace(InvalidInput):
    """Several places go by the name given: 422 with them as `candidates` to choose from (send
    one's `id` as the place)."""

    def __init__(self, query: str, candidates: tuple[Place, ...], field: str = "place") -> None:
        super().__init__(
            _(
                "Several places are called “%(place)s”: send one of the candidates' id as the place, or send "
                "coordinates.",
                place=query,
            ),
            field=field,
            candidates=[candidate.as_dict() for candidate in candidates],
        )
        self.candidates = candidates


def locate(crisis: Crisis, lon: float | None, lat: float | None, place: str, field: str = "place") -> Location:
    """The location of a report from its coordinates, else from the place (a P-code, a
    gazetteer id or a name), else unknown. A place nobody knows, or that several places share,
    is refused (422) rather than guessed."""
    if lon is not None and lat is not None:
        return point(lon, lat)
    if not place:
        return UNKNOWN
    found = resolve_place(place, crisis)
    if found.place is not None:
        return at_place(found.place)
    if found.candidates:
        raise AmbiguousPlace(place, found.candidates, field)
    raise InvalidInput(
        _(
            "We do not know where “%(place)s” is: send coordinates, a P-code, the name of an admin area or a "
            "mapped place, or no place at all (the report is then filed with its location unknown).",
            place=place,
        ),
        field=field,
    )

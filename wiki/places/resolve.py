"""A place given by a person instead of coordinates (the report form, the API, the inbox): a
P-code, a gazetteer id from an earlier answer's choices, or a name."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Crisis
from .detection import detect
from .gazetteer import Gazetteer, Place, gazetteer_for
from .names import key


@dataclass(frozen=True)
class Resolution:
    place: Place | None = None
    candidates: tuple[Place, ...] = ()  # several places of that name: choose one (by its id)


def resolve_in(query: str, gazetteer: Gazetteer) -> Resolution:
    query = query.strip()
    if not query:
        return Resolution()
    if query in gazetteer.places:  # an id offered as a choice before
        return Resolution(gazetteer.places[query])
    code = query.upper().removeprefix("PCODE:")
    if code in gazetteer.by_pcode:
        return Resolution(gazetteer.by_pcode[code])
    exact = gazetteer.exact(key(query))
    if len(exact) == 1:
        return Resolution(exact[0])
    if len(exact) > 1:
        most = max(place_rank(place) for place in exact)
        best = [place for place in exact if place_rank(place) == most]
        return Resolution(best[0]) if len(best) == 1 else Resolution(None, tuple(best))
    detection = detect(query, gazetteer)
    return Resolution(detection.place, detection.candidates)


def place_rank(place: Place) -> int:
    from .gazetteer import SPECIFICITY

    return SPECIFICITY.get(place.kind, 0)


def resolve_place(query: str, crisis: Crisis) -> Resolution:
    return resolve_in(query, gazetteer_for(crisis))

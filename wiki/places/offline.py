"""A crisis's gazetteer as the offline report app keeps it on the phone: every place with its
name, where it is, and the keys its names are looked up by (wiki.places.names.key, which the
phone's script computes the same way for what the volunteer types).

Public data only: the crisis's admin areas, the named features of its (public) layers and the
GeoNames cities in its area, exactly what the boundaries and layers already show; never a place
name taken from a report. Coordinates are rounded to a precision finer than the place's own
uncertainty radius (a city is placed within kilometres), which also keeps the file small."""

from __future__ import annotations

import hashlib

from flask import url_for
from flask_babel import gettext as _

from ..models import Crisis
from .gazetteer import KIND_LABELS, Gazetteer, _version, gazetteer_for
from .names import key


def _decimals(radius_m: float) -> int:
    if radius_m < 1000:
        return 4  # about 11 m
    if radius_m < 5000:
        return 3  # about 110 m
    return 2  # about 1.1 km


def offline_entries(gazetteer: Gazetteer) -> list[dict]:
    entries = []
    for place in gazetteer.places.values():
        keys = sorted({k for k in (key(name) for name in (place.name, *place.names)) if k})
        if not keys:
            continue
        decimals = _decimals(place.radius_m)
        entries.append(
            {
                "id": place.id,
                "name": place.name,
                "kind": place.kind,
                "label": _(KIND_LABELS.get(place.kind, place.kind)),
                "parent": place.parent,
                "lon": round(place.lon, decimals),
                "lat": round(place.lat, decimals),
                "radius_m": round(place.radius_m),
                "keys": keys,
            }
        )
    entries.sort(key=lambda entry: entry["id"])
    return entries


def data_version(crisis: Crisis) -> str:
    """Changes whenever the crisis's gazetteer or boundaries change (the offline app's cached
    copies are addressed with it, so a change is a new address, fetched once)."""
    return hashlib.sha256(repr(_version(crisis)).encode()).hexdigest()[:12]


def offline_gazetteer(crisis: Crisis) -> dict:
    return {"crisis": crisis.slug, "version": data_version(crisis), "places": offline_entries(gazetteer_for(crisis))}


def data_urls(crisis: Crisis) -> dict[str, str]:
    """The crisis's boundaries and gazetteer as the offline app fetches and keeps them: addressed
    with the version of the data, so a change is a new address."""
    version = data_version(crisis)
    return {
        "boundaries": url_for("api.crisis_boundaries", crisis_slug=crisis.slug, level=1, v=version),
        "gazetteer": url_for("api.crisis_gazetteer", crisis_slug=crisis.slug, v=version),
    }

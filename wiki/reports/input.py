"""Checking a field report before anything is stored.

The API (a GeoJSON Feature), the web form and the importer all turn their input into the same
`ReportInput` through `report_input_from_feature`, so a report is validated the same way
whichever door it came through, and every refusal names the field that is wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from ..errors import InvalidInput, TooLarge
from ..models.reports import CHANNELS, SECTORS

_SECTOR_NAMES = {unicodedata.normalize("NFKD", v).lower(): k for k, v in SECTORS.items()}
_SECTOR_ALIASES = {
    "water": "wash",
    "sanitation": "wash",
    "food security": "food",
    "camp": "cccm",
    "emergency shelter": "shelter",
    "emergency telecommunications": "telecoms",
    "telecom": "telecoms",
}
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass
class SourceInput:
    name: str = ""
    contact: str = ""
    organisation: str = ""
    channel: str = "api"


@dataclass
class ReportInput:
    title: str
    description: str
    lon: float | None  # None: located by `place`, or the location is unknown
    lat: float | None
    place_name: str = ""
    place: str = ""  # a P-code, gazetteer id or place name to locate the report by (wiki.reports.location)
    occurred_at: datetime | None = None
    sector: str = "other"
    sensitive: bool = False
    crisis: str | None = None
    client_id: str | None = None
    source: SourceInput = field(default_factory=SourceInput)

    def fingerprint(self) -> str:
        """A hash of what was submitted, to tell a true retry from a reused idempotency key."""
        # A shallow copy (asdict's deep copy is most of an import's validation time); the
        # only nested value, the source, holds plain strings.
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "client_id"}
        data["source"] = {f.name: getattr(self.source, f.name) for f in fields(self.source)}
        data["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _text(value: Any, name: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be text.", field=name), field=name)
    value = value.strip()
    if required and not value:
        raise InvalidInput(_("%(field)s is required.", field=name), field=name)
    if len(value) > limit:
        raise TooLarge(_("%(field)s is longer than %(n)d characters.", field=name, n=limit), field=name)
    return value


def parse_sector(value: Any) -> str:
    if value in (None, ""):
        return "other"
    if not isinstance(value, str):
        raise InvalidInput(_("sector must be text."), field="sector")
    key = unicodedata.normalize("NFKD", value.strip()).lower()
    if key in SECTORS:
        return key
    found = _SECTOR_NAMES.get(key) or _SECTOR_ALIASES.get(key)
    if found:
        return found
    raise InvalidInput(
        _("Unknown sector %(value)r; use one of: %(list)s.", value=value, list=", ".join(SECTORS)), field="sector"
    )


def parse_datetime(value: Any, name: str = "occurred_at", allow_future: bool = False) -> datetime | None:
    """ISO 8601 date or date-time; naive times are taken as UTC. Refuses the far future,
    except in filters (`allow_future`)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be an ISO 8601 date and time.", field=name), field=name)
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("%(field)s is not a date and time like 2010-01-12T16:53:00Z.", field=name), field=name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    slack = timedelta(hours=current_app.config["REPORT_FUTURE_SLACK_HOURS"])
    if not allow_future and moment > datetime.now(UTC) + slack:
        raise InvalidInput(_("%(field)s is in the future.", field=name), field=name)
    if moment < EARLIEST:
        raise InvalidInput(_("%(field)s is before 1900.", field=name), field=name)
    return moment


def parse_point(geometry: Any) -> tuple[float, float]:
    """(lon, lat) from a GeoJSON Point, with RFC 7946 ranges."""
    if geometry is None:
        raise InvalidInput(_("A report needs a location: a GeoJSON Point geometry."), field="geometry")
    if not isinstance(geometry, dict):
        raise InvalidInput(_("geometry must be a GeoJSON object."), field="geometry")
    if geometry.get("type") != "Point":
        raise InvalidInput(
            _("geometry must be a Point, not %(type)s.", type=geometry.get("type")), field="geometry.type"
        )
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
        raise InvalidInput(_("coordinates must be [longitude, latitude]."), field="geometry.coordinates")
    if not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coordinates):
        raise InvalidInput(_("coordinates must be numbers."), field="geometry.coordinates")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput(_("coordinates must be finite numbers."), field="geometry.coordinates")
    if not -180 <= lon <= 180:
        raise InvalidInput(_("longitude %(lon)s is outside -180 to 180.", lon=lon), field="geometry.coordinates")
    if not -90 <= lat <= 90:
        raise InvalidInput(_("latitude %(lat)s is outside -90 to 90.", lat=lat), field="geometry.coordinates")
    return lon, lat


def parse_source(value: Any, default_channel: str) -> SourceInput:
    if value in (None, ""):
        return SourceInput(channel=default_channel)
    if not isinstance(value, dict):
        raise InvalidInput(_("source must be an object with name, contact and channel."), field="source")
    channel = value.get("channel") or default_channel
    if channel not in CHANNELS:
        raise InvalidInput(
            _("Unknown channel %(value)r; use one of: %(list)s.", value=channel, list=", ".join(CHANNELS)),
            field="source.channel",
        )
    return SourceInput(
        name=_text(value.get("name"), "source.name", 120),
        contact=_text(value.get("contact"), "source.contact", 254),
        organisation=_text(value.get("organisation"), "source.organisation", 200),
        channel=channel,
    )


def report_input_from_feature(feature: Any, default_channel: str = "api", client_id: str | None = None) -> ReportInput:
    """Validate a GeoJSON Feature as a report."""
    if not isinstance(feature, dict):
        raise InvalidInput(_("The body must be a GeoJSON Feature object."), field="type")
    if feature.get("type") != "Feature":
        raise InvalidInput(_("The body must be a GeoJSON Feature (type: Feature)."), field="type")
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise InvalidInput(_("properties must be an object."), field="properties")
    geometry = feature.get("geometry")
    lon, lat = (None, None) if geometry is None else parse_point(geometry)
    max_text = current_app.config["REPORT_MAX_TEXT"]
    sensitive = properties.get("sensitive", False)
    if not isinstance(sensitive, bool):
        raise InvalidInput(_("sensitive must be true or false."), field="sensitive")
    crisis = properties.get("crisis")
    if crisis is not None and not isinstance(crisis, str):
        raise InvalidInput(_("crisis must be the crisis's short name."), field="crisis")
    key = client_id or properties.get("client_id")
    if key is not None:
        key = _text(key, "client_id", 200) or None
    return ReportInput(
        title=_text(properties.get("title"), "title", 200, required=True),
        description=_text(properties.get("description"), "description", max_text),
        lon=lon,
        lat=lat,
        place_name=_text(properties.get("place_name"), "place_name", 200),
        place=_text(properties.get("place"), "place", 200),
        occurred_at=parse_datetime(properties.get("occurred_at")),
        sector=parse_sector(properties.get("sector")),
        sensitive=sensitive,
        crisis=crisis,
        client_id=key,
        source=parse_source(properties.get("source"), default_channel),
    )


_CONTACT_SPACES = re.compile(r"[\s().\-]")


def normalise_contact(contact: str) -> str:
    """The form of a contact used to recognise a returning source: e-mail addresses in lower
    case, phone numbers as digits with their leading +."""
    contact = contact.strip()
    if "@" in contact:
        return contact.lower()
    compact = _CONTACT_SPACES.sub("", contact)
    if re.fullmatch(r"\+?\d{5,20}", compact):
        return compact
    return " ".join(contact.lower().split())

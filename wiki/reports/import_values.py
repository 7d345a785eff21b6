"""Reading the cells of an imported file the way people fill them in: dates in the day/month
order of the file (or the one chosen) and in its time zone, categories as the tools that made
the file write them (several in a cell, Ushahidi's numbered categories, XLSForm choice names),
and a point written as one "lat, lon" cell (KoboToolbox's _geolocation, ODK geopoints).

Every refusal is an InvalidInput whose `group` says what kind of problem it is, so that an
import's failures are counted by kind rather than listed row by row (wiki.reports.import_failures).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as date_parser
from flask import current_app
from flask_babel import gettext as _

from ..errors import InvalidInput
from ..models.reports import SECTORS
from .input import EARLIEST, parse_sector

DAY_FIRST_CHOICES = ("auto", "day", "month")
# A date written with slashes, dots or dashes, day and month in either order: 13/11/2026, 1.2.26.
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)


def time_zone(name: str | None) -> tzinfo:
    """A time zone from its IANA name ("Africa/Khartoum"), "UTC" when none is given."""
    name = (name or "").strip()
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            _("Unknown time zone %(name)r; use a name such as Africa/Khartoum or UTC.", name=name), field="timezone"
        ) from None


def day_first_evidence(values) -> str | None:
    """'day' or 'month' when a date among `values` can only be read one way (13/11/2026 is
    day-first, 11/13/2026 month-first); None when every one could be either (or none is numeric)."""
    for value in values:
        if not isinstance(value, str):
            continue
        match = _NUMERIC_DATE.match(value)
        if match is None:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            return "day"
        if second > 12 >= first:
            return "month"
    return None


@dataclass(frozen=True)
class DateReader:
    """Reads dates of one import: `day_first` is "day", "month" or "auto" (ISO dates and dates that
    can be read only one way need no choice; a date such as 03/04/2026 under "auto" is refused,
    saying to choose); naive times are in `zone`."""

    day_first: str = "auto"
    zone: tzinfo = UTC

    def read(self, value: Any, name: str) -> datetime | None:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time())
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            moment = _from_serial(value, name)  # a spreadsheet's day number
        elif isinstance(value, str):
            moment = self._parse(value.strip(), name)
        else:
            raise InvalidInput(_("%(field)s is not a date.", field=name), field=name, group="date_unreadable")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        moment = moment.astimezone(UTC)
        slack = timedelta(hours=current_app.config["REPORT_FUTURE_SLACK_HOURS"])
        if moment > datetime.now(UTC) + slack:
            raise InvalidInput(
                _("%(field)s %(value)s is in the future.", field=name, value=value), field=name, group="date_future"
            )
        if moment < EARLIEST:
            raise InvalidInput(_("%(field)s is before 1900.", field=name), field=name, group="date_old")
        return moment

    def _parse(self, text: str, name: str) -> datetime:
        if _ISO_DATE.match(text):
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                pass  # ISO-like but more than fromisoformat knows: dateutil below
        numeric = _NUMERIC_DATE.match(text)
        if numeric is not None:
            first, second = int(numeric.group(1)), int(numeric.group(2))
            only = "day" if first > 12 >= second else "month" if second > 12 >= first else None
            if only is not None and self.day_first != "auto" and only != self.day_first:
                if only == "day":
                    message = _("date %(value)s is day-first; choose day-first.", value=text)
                else:
                    message = _("date %(value)s is month-first; choose month-first.", value=text)
                raise InvalidInput(message, field=name, group=f"date_{only}_first")
            if only is None and self.day_first == "auto" and first != second:
                raise InvalidInput(
                    _(
                        "date %(value)s could be day-first or month-first; choose which the file uses.",
                        value=text,
                    ),
                    field=name,
                    group="date_ambiguous",
                )
            day_first = (only or self.day_first) == "day"
        else:
            day_first = self.day_first == "day"
        try:
            return date_parser.parse(text, dayfirst=day_first)
        except (ValueError, OverflowError):
            raise InvalidInput(
                _("%(field)s %(value)r is not a date.", field=name, value=text), field=name, group="date_unreadable"
            ) from None


def _from_serial(number: float, name: str) -> datetime:
    if not 1 <= number <= 2958465:  # 1900-01-01 .. 9999-12-31 in a spreadsheet's day numbers
        raise InvalidInput(_("%(field)s is not a date.", field=name), field=name, group="date_unreadable")
    return (_EXCEL_EPOCH + timedelta(days=float(number))).replace(tzinfo=None)


# -- categories ----------------------------------------------------------------------------------

# Words that name a cluster inside longer category names ("2a. Food Shortage", "Medical Emergency").
_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("food", "food"),
    ("hunger", "food"),
    ("nutrition", "nutrition"),
    ("malnutrition", "nutrition"),
    ("water", "wash"),
    ("sanitation", "wash"),
    ("hygiene", "wash"),
    ("wash", "wash"),
    ("latrine", "wash"),
    ("health", "health"),
    ("medical", "health"),
    ("hospital", "health"),
    ("clinic", "health"),
    ("injur", "health"),
    ("disease", "health"),
    ("cholera", "health"),
    ("shelter", "shelter"),
    ("housing", "shelter"),
    ("collapsed", "shelter"),
    ("tent", "shelter"),
    ("camp", "cccm"),
    ("displace", "cccm"),
    ("idp", "cccm"),
    ("school", "education"),
    ("education", "education"),
    ("protection", "protection"),
    ("violence", "protection"),
    ("security", "protection"),
    ("child", "protection"),
    ("road", "logistics"),
    ("bridge", "logistics"),
    ("fuel", "logistics"),
    ("transport", "logistics"),
    ("logistic", "logistics"),
    ("telecom", "telecoms"),
    ("communication", "telecoms"),
    ("electricity", "early_recovery"),
    ("recovery", "early_recovery"),
    ("rubble", "early_recovery"),
)
_NUMBERING = re.compile(r"^\s*\d+[a-z]?[.)]\s*", re.IGNORECASE)
_SPLIT = re.compile(r"[,;|\n]+")


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c)).lower().strip()


def sector_of(term: str) -> str | None:
    """The cluster one category term names, or None: a key ("food"), a cluster name ("Food
    Security"), an XLSForm choice name ("food_security"), a numbered Ushahidi category ("2a. Food
    Shortage"), or a name holding a cluster's keyword ("Medical Emergency")."""
    term = _NUMBERING.sub("", term).strip()
    if not term:
        return None
    for candidate in (term, term.replace("_", " ")):
        try:
            sector = parse_sector(candidate)
        except InvalidInput:
            continue
        return sector
    plain = _plain(term.replace("_", " "))
    for word, sector in _KEYWORDS:
        if word in plain:
            return sector
    return None


def read_sector(value: Any) -> tuple[str, str | None]:
    """(sector, the cell's text when it named no cluster at all). Several categories in one cell
    (comma, semicolon, pipe or, for XLSForm select_multiple, space between choice names) give the
    first that names a cluster; a cell naming none files the report under "other"."""
    if value is None or value == "":
        return "other", None
    text = str(value).strip()
    if not text:
        return "other", None
    if text.lower() in SECTORS:
        return text.lower(), None
    terms = [t for t in _SPLIT.split(text) if t.strip()]
    if len(terms) == 1 and re.fullmatch(r"[a-z0-9_]+( [a-z0-9_]+)+", text):
        terms = text.split()  # "logistics food_security": XLSForm's select_multiple, choice names
    for term in terms:
        sector = sector_of(term)
        if sector is not None:
            return sector, None
    return "other", text


# -- a point in one cell -------------------------------------------------------------------------

_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
_PAIR = re.compile(rf"^\s*\[?\s*({_NUMBER})\s*[,; ]\s*({_NUMBER})(?:\s+{_NUMBER})*\s*\]?\s*$")


def read_lat_lon(value: Any) -> tuple[float, float] | None:
    """(lat, lon) from one cell: "[18.54, -72.34]" (KoboToolbox's _geolocation), "18.54 -72.34 0 5"
    (an ODK geopoint: latitude, longitude, altitude, accuracy) or "18.54, -72.34"; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) and len(value) >= 2:
        value = f"{value[0]} {value[1]}"
    text = str(value).strip()
    if not text or text in ("[None, None]", "[null, null]", "[]"):
        return None
    match = _PAIR.match(text.replace(", ", ","))
    if match is None:
        match = _PAIR.match(text)
    if match is None:
        raise InvalidInput(
            _("location %(value)r is not “latitude, longitude”.", value=text), field="geolocation", group="geolocation"
        )
    lat, lon = (float(group.replace(",", ".")) for group in match.groups()[:2])
    return lat, lon


def configured_zone() -> str:
    return current_app.config.get("IMPORT_DEFAULT_TIMEZONE") or "UTC"

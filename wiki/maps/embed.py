"""A live map in a wiki page, written as a fenced block:

    ```map
    crisis: haiti-2010
    sector: health, wash
    status: verified
    layers: 3, 5
    height: 400
    ```

Pages are rendered once per revision and the HTML is kept, so the block becomes an empty
`<div class="crisiswiki-map" data-map-...>` carrying the options; static/js/map-embed.js
fetches the reports and layers each time the page is viewed. An invalid block becomes a
visible error box (class "map-error") saying what is wrong, never a broken page.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from html import escape
from urllib.parse import urlencode

import markdown
from flask_babel import gettext as _
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from ..markup import EXTRA_EXTENSIONS
from ..models.reports import SECTORS, STATUSES

FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*map[ \t]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
_PCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
HEIGHT_RANGE = (150, 1200)
MAX_LAYERS = 20
OPTIONS = ("crisis", "sector", "status", "layers", "height", "q", "since", "until", "adm", "center", "zoom", "reports")


class MapBlockError(ValueError):
    """An option of a map block is wrong; the message says which and why."""


def _choices(value: str, allowed, name: str) -> str:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    for item in chosen:
        if item not in allowed:
            raise MapBlockError(
                _("Unknown %(name)s %(value)r; use: %(list)s.", name=name, value=item, list=", ".join(allowed))
            )
    return ",".join(chosen)


def _when(value: str, name: str) -> str:
    try:
        (date.fromisoformat if len(value) == 10 else datetime.fromisoformat)(value)
    except ValueError:
        raise MapBlockError(_("%(name)s is a date like 2010-01-12.", name=name)) from None
    return value


def _whole(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise MapBlockError(_("%(name)s is a whole number.", name=name)) from None
    if not low <= number <= high:
        raise MapBlockError(_("%(name)s must lie between %(low)d and %(high)d.", name=name, low=low, high=high))
    return number


def _center(value: str) -> str:
    try:
        lat, lon = (float(part) for part in value.split(","))
    except ValueError:
        raise MapBlockError(_("center is latitude, longitude, e.g. 18.54, -72.34.")) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise MapBlockError(_("center is outside the world (latitude, longitude)."))
    return f"{lat:g},{lon:g}"


def _layers(value: str) -> str:
    ids = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise MapBlockError(
                _("layers are layer numbers separated by commas, e.g. 3, 5 (not %(value)r).", value=part)
            )
        ids.append(str(int(part)))
    if len(ids) > MAX_LAYERS:
        raise MapBlockError(_("At most %(n)d layers on one map.", n=MAX_LAYERS))
    return ",".join(dict.fromkeys(ids))


def parse_options(body: str) -> dict[str, str]:
    """The block's `key: value` lines, checked, as the data-map-* attributes to emit."""
    options: dict[str, str] = {}
    for number, line in enumerate(body.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, colon, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not colon:
            raise MapBlockError(_("Line %(n)d is not “option: value”.", n=number))
        if key not in OPTIONS:
            raise MapBlockError(_("Unknown option %(key)r; use: %(list)s.", key=key, list=", ".join(OPTIONS)))
        if key in options:
            raise MapBlockError(_("%(key)s is given twice.", key=key))
        options[key] = _check(key, value)
    return options


def _check(key: str, value: str) -> str:
    if key == "crisis":
        if not _SLUG.match(value):
            raise MapBlockError(_("crisis is a crisis's short name, e.g. haiti-2010."))
        return value
    if key == "sector":
        return _choices(value, SECTORS, "sector")
    if key == "status":
        return _choices(value, STATUSES, "status")
    if key == "layers":
        return _layers(value)
    if key == "height":
        return str(_whole(value, "height", *HEIGHT_RANGE))
    if key == "zoom":
        return str(_whole(value, "zoom", 0, 19))
    if key == "center":
        return _center(value)
    if key in ("since", "until"):
        return _when(value, key)
    if key == "adm":
        if not _PCODE.match(value):
            raise MapBlockError(_("adm is an admin area's P-code, e.g. HT01."))
        return value
    if key == "reports":
        if value.lower() not in ("yes", "no", "true", "false"):
            raise MapBlockError(_("reports is yes or no."))
        return "yes" if value.lower() in ("yes", "true") else "no"
    if len(value) > 200:  # q
        raise MapBlockError(_("q has at most 200 characters."))
    return value


def render_block(body: str) -> str:
    try:
        options = parse_options(body)
    except MapBlockError as exc:
        return (
            f'<div class="map-error"><strong>{escape(_("This map cannot be shown:"))}</strong> {escape(str(exc))}</div>'
        )
    attributes = " ".join(f'data-map-{key}="{escape(value)}"' for key, value in options.items())
    fallback = escape(_("Map (needs JavaScript)."))
    if "crisis" in options:
        query = {
            key: options[key] for key in ("q", "sector", "status", "since", "until", "adm", "layers") if key in options
        }
        href = escape(f"/c/{options['crisis']}/map" + (f"?{urlencode(query)}" if query else ""))
        fallback = f'<a href="{href}">{escape(_("Open this map"))}</a>'
    return f'<div class="crisiswiki-map" {attributes}>{fallback}</div>'.replace(" >", ">")


class _MapBlockPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)

        def replace(match: re.Match) -> str:
            placeholder = self.md.htmlStash.store(render_block(match.group("body")))
            return f"\n\n{placeholder}\n\n"

        return FENCE.sub(replace, text).split("\n")


class MapEmbedExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (markdown's API)
        # Before fenced_code (25), which would otherwise show the block as code.
        md.preprocessors.register(_MapBlockPreprocessor(md), "crisiswiki_map", 28)


def register() -> None:
    """Add the map block to every page render (once per process)."""
    if MapEmbedExtension not in EXTRA_EXTENSIONS:
        EXTRA_EXTENSIONS.append(MapEmbedExtension)

"""simplestyle: how a GeoJSON feature asks to be drawn, as Mapbox, GitHub and Kartographer read
it (simplestyle-spec 1.1.0). A layer keeps its features' style properties as they were
uploaded, after checking them here, and may carry layer-wide defaults of the same keys."""

from __future__ import annotations

import math
import re
from typing import Any

from flask_babel import gettext as _

COLOUR_KEYS = ("marker-color", "stroke", "fill")
OPACITY_KEYS = ("stroke-opacity", "fill-opacity")
MARKER_SIZES = ("small", "medium", "large")
STYLE_KEYS = frozenset({*COLOUR_KEYS, *OPACITY_KEYS, "stroke-width", "marker-size", "marker-symbol"})
MAX_STROKE_WIDTH = 50
_COLOUR = re.compile(r"^#?(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def style_problems(properties: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, what is wrong) for each simplestyle property of a feature that breaks the spec;
    other properties are the data's own business."""
    problems: list[tuple[str, str]] = []
    for key in COLOUR_KEYS:
        if key in properties and not (isinstance(properties[key], str) and _COLOUR.match(properties[key])):
            problems.append(
                (
                    key,
                    _(
                        "%(key)s must be a colour like #f00 or #ff0000, not %(value)s.",
                        key=key,
                        value=_shown(properties[key]),
                    ),
                )
            )
    for key in OPACITY_KEYS:
        if key in properties and not (_number(properties[key]) and 0 <= properties[key] <= 1):
            problems.append(
                (key, _("%(key)s must be a number from 0 to 1, not %(value)s.", key=key, value=_shown(properties[key])))
            )
    if "stroke-width" in properties:
        width = properties["stroke-width"]
        if not (_number(width) and 0 <= width <= MAX_STROKE_WIDTH):
            problems.append(
                (
                    "stroke-width",
                    _(
                        "stroke-width must be a number of pixels from 0 to %(n)d, not %(value)s.",
                        n=MAX_STROKE_WIDTH,
                        value=_shown(width),
                    ),
                )
            )
    if "marker-size" in properties and properties["marker-size"] not in MARKER_SIZES:
        problems.append(
            (
                "marker-size",
                _(
                    "marker-size must be small, medium or large, not %(value)s.",
                    value=_shown(properties["marker-size"]),
                ),
            )
        )
    if "marker-symbol" in properties and not (
        isinstance(properties["marker-symbol"], str) and len(properties["marker-symbol"]) <= 100
    ):
        problems.append(("marker-symbol", _("marker-symbol must be a short text.")))
    return problems


def clean_layer_style(style: Any) -> dict[str, Any]:
    """A layer's default style: only simplestyle keys, each valid. Raises InvalidInput."""
    from ..errors import InvalidInput

    if style in (None, ""):
        return {}
    if not isinstance(style, dict):
        raise InvalidInput(
            _('style must be an object of simplestyle properties, e.g. {"stroke": "#c00"}.'), field="style"
        )
    unknown = sorted(set(style) - STYLE_KEYS)
    if unknown:
        raise InvalidInput(
            _(
                "style has unknown keys (%(keys)s); use: %(allowed)s.",
                keys=", ".join(unknown),
                allowed=", ".join(sorted(STYLE_KEYS)),
            ),
            field="style",
        )
    problems = style_problems(style)
    if problems:
        key, message = problems[0]
        raise InvalidInput(message, field=f"style.{key}")
    return dict(style)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

"""Reading a gateway's request body: within a size limit, in the one content type the gateway
sends, every refusal a clear 4xx naming what is wrong."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from flask import Request, current_app
from flask_babel import gettext as _

from ..errors import BadRequest, TooLarge, UnsupportedMediaType
from ..i18n import human_size


def body(request: Request) -> bytes:
    """The request body, refused (413) beyond CHANNEL_MAX_BYTES: an SMS gateway's post is a few
    kilobytes, and nothing larger is read into memory."""
    limit = current_app.config["CHANNEL_MAX_BYTES"]
    too_large = TooLarge(
        _(
            "The request is larger than %(size)s, the most a gateway's message may be here; send the message "
            "alone (media by URL).",
            size=human_size(limit),
        )
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large
    return data


def form(request: Request) -> tuple[list[tuple[str, str]], bytes]:
    """An application/x-www-form-urlencoded body as (name, value) pairs in their order, and the raw bytes."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType(
            _(
                "This gateway posts a form: send Content-Type: application/x-www-form-urlencoded (got %(type)s).",
                type=request.mimetype or _("none"),
            )
        )
    raw = body(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(_("The form is not UTF-8 text.")) from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=200)
    except ValueError:
        raise BadRequest(_("The body is not a URL-encoded form (name=value&...).")) from None
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise BadRequest(_("The form holds NUL characters."))
    return pairs, raw


def json_object(request: Request) -> tuple[dict[str, Any], bytes]:
    """A JSON object body and its raw bytes."""
    if not request.is_json:
        raise UnsupportedMediaType(
            _(
                "This gateway posts JSON: send Content-Type: application/json (got %(type)s).",
                type=request.mimetype or _("none"),
            )
        )
    raw = body(request)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(_("The body is not valid JSON (UTF-8).")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return data, raw


def text_value(value: Any) -> str | None:
    """A JSON value that should be text, or None when it is not (a number is read as text)."""
    if isinstance(value, str):
        return value if "\x00" not in value else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None

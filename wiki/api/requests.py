"""Reading API requests: JSON bodies, pagination parameters."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from ..database import LARGEST_ID
from ..errors import BadRequest, InvalidInput, UnsupportedMediaType
from ..extensions import db


def json_body() -> dict[str, Any]:
    """The request's JSON object: 415 if it is not JSON, 400 if it does not parse or is not an object."""
    if not request.is_json:
        raise UnsupportedMediaType(_("Send the body as JSON with Content-Type: application/json."))
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest(_("The body is not valid JSON."))
    if not isinstance(data, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return data


def page_limit() -> int:
    default, most = current_app.config["API_PAGE_SIZE"], current_app.config["API_MAX_PAGE_SIZE"]
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(_("limit must be a whole number."), field="limit") from None
    if not 1 <= value <= most:
        raise InvalidInput(_("limit must lie between 1 and %(n)d.", n=most), field="limit")
    return value


def cursor_arg() -> int | None:
    """The `cursor` request argument (a previous response's next_cursor), or None."""
    cursor = request.args.get("cursor")
    if not cursor:
        return None
    if not cursor.isdigit():
        raise InvalidInput(_("cursor must come from a previous response's next_cursor."), field="cursor")
    number = int(cursor)
    return number if number <= LARGEST_ID else None  # every row lies below a larger one: no cursor


def keyset_page(query: Select, column: InstrumentedAttribute) -> tuple[list, str | None]:
    """One page of `query` (ordered by `column`, descending) below the request's cursor, and
    the cursor of the next page (None on the last one)."""
    limit = page_limit()
    cursor = cursor_arg()
    if cursor is not None:
        query = query.where(column < cursor)
    rows = db.session.scalars(query.limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, str(getattr(rows[-1], column.key))


def string_field(data: dict[str, Any], name: str, required: bool = False, default: str = "") -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidInput(_("%(field)s is required.", field=name), field=name)
        return default
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be a string.", field=name), field=name)
    return value

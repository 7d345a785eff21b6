"""The shared secret the JSON gateways (RapidPro's webhook, the generic webhook) send in a header
of their own. Not `Authorization`: that header is crisiswiki's API tokens' (a gateway's secret
there would be refused as a malformed bearer token)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Request
from flask_babel import gettext as _

from ..errors import InvalidInput
from .base import secret_matches, wrong_secret

SECRET_HEADER = "X-Crisiswiki-Secret"


def check_secret(request: Request, expected: str, label: str) -> None:
    if not secret_matches(request.headers.get(SECRET_HEADER), expected):
        raise wrong_secret(label)


def parse_time(value, field: str) -> datetime | None:
    """An ISO 8601 time from a gateway (naive: UTC)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be an ISO 8601 time.", field=field), field=field)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(_("%(field)s is not a time like 2010-01-12T16:53:00Z.", field=field), field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

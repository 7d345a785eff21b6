"""Time as crisiswiki keeps it: aware UTC datetimes in the database, ISO 8601 for people and
programs."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601, or None for no time."""
    return value.isoformat() if value is not None else None

"""Rate limits counted in the database, in fixed windows.

Flask-Limiter keeps its counters in process memory or in an external server (Redis,
Memcached). crisiswiki's embedded default runs several gunicorn workers and no such server, so
per-process counters would let a client through N times the limit. The counters live instead
in the database every worker (and every server on PostgreSQL) already shares: one upsert per
counted event. Used for anonymous report submission and password reset requests.
"""

from __future__ import annotations

import time

from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .errors import RateLimited
from .extensions import db
from .i18n import format_wait
from .models import RateLimitCounter


def _increment(key: str, window_seconds: int) -> tuple[int, int]:
    """Count one event for `key` in the current window; (count so far, seconds left in the window)."""
    now = int(time.time())
    window = now - now % window_seconds
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateLimitCounter).values(key=key, window=window, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window"], set_={"count": RateLimitCounter.count + 1}
    ).returning(RateLimitCounter.count)
    count = db.session.execute(statement).scalar_one()
    if count == 1:  # first hit of a new window: forget the finished windows of this key
        db.session.execute(
            delete(RateLimitCounter).where(RateLimitCounter.key == key, RateLimitCounter.window < window)
        )
    return count, window + window_seconds - now


def count(key: str, window_seconds: int) -> int:
    """Count one event for `key` and return how many there were in this window (no refusal)."""
    return _increment(key, window_seconds)[0]


def hit(key: str, limit: int, window_seconds: int, message: str | None = None) -> None:
    """Count one event for `key`; raise RateLimited (429 with Retry-After) past `limit` per
    window. `message` (translated, with %(wait)s) says what was limited."""
    count, retry_after = _increment(key, window_seconds)
    if count > limit:
        db.session.rollback()
        retry_after = max(retry_after, 1)
        if message is None:
            message = _("Too many reports from your address; try again in %(n)d seconds.", n=retry_after)
        else:
            message = message % {"wait": format_wait(retry_after)}
        raise RateLimited(message, retry_after=retry_after)

"""Rate limits on anonymous submission, counted in the database.

Flask-Limiter keeps its counters in process memory or in an external server (Redis,
Memcached). crisiswiki's embedded default runs several gunicorn workers and no such server, so
per-process counters would let a client through N times the limit. The counters live instead
in the database every worker (and every server on PostgreSQL) already shares: one upsert per
anonymous submission, in fixed windows.
"""
from __future__ import annotations

import time

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import RateLimited
from ..extensions import db
from ..models import RateLimitCounter


def client_address() -> str:
    return request.remote_addr or "unknown"


def hit(key: str, limit: int, window_seconds: int) -> None:
    """Count one event for `key`; raise RateLimited (429 with Retry-After) past `limit` per window."""
    now = int(time.time())
    window = now - now % window_seconds
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateLimitCounter).values(key=key, window=window, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window"], set_={"count": RateLimitCounter.count + 1}
    ).returning(RateLimitCounter.count)
    count = db.session.execute(statement).scalar_one()
    if count > limit:
        db.session.rollback()
        retry_after = window + window_seconds - now
        raise RateLimited(_("Too many reports from your address; try again in %(n)d seconds.", n=retry_after),
                          retry_after=max(retry_after, 1))
    if count == 1:  # first hit of a new window: forget the finished windows of this key
        db.session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key, RateLimitCounter.window < window))


def check_anonymous_submission() -> None:
    config = current_app.config
    hit(f"submit:{client_address()}", config["ANONYMOUS_SUBMIT_LIMIT"], config["ANONYMOUS_SUBMIT_WINDOW"])

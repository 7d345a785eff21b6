"""Login throttling: after a few failures, each further attempt waits longer (exponentially, up
to LOGIN_MAX_DELAY_SECONDS), per account and per client address, for passwords and TOTP codes.

The counters live in the database (table login_throttle), so they hold across gunicorn workers
and app servers. An attempt is counted *before* the secret is checked and given back when it
succeeds: counting only after a failed check would let a burst of parallel guesses through
while the first ones are still being hashed. A throttled attempt is refused without looking at
the secret at all, and the account key is the name as typed, so an unknown username is
throttled exactly like a known one and the answer tells nothing about which names exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import write_transaction
from ..errors import RateLimited
from ..extensions import db
from ..i18n import format_wait
from ..models import LoginThrottle
from ..models.base import utcnow
from ..network import client_address


def delay_after(failures: int, free: int, cap: int) -> int:
    """Seconds the next attempt must wait after `failures` failed ones in a row: nothing before
    the `free`-th failure, then 1, 2, 4, 8 ... seconds, at most `cap`."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free, 32))


@dataclass(frozen=True)
class State:
    failures: int
    locked_until: datetime | None


def remembered(current: State, updated_at: datetime | None, now: datetime, forget_seconds: int) -> State:
    """Failures nobody has added to for `forget_seconds` are forgotten."""
    if updated_at is not None and (now - updated_at).total_seconds() > forget_seconds:
        return State(0, None)
    return current


def next_state(current: State, now: datetime, free: int, cap: int) -> tuple[int | None, State]:
    """(seconds to wait, or None if the attempt may go ahead; the state counting it as failed)."""
    if current.locked_until is not None and current.locked_until > now:
        return max(1, math.ceil((current.locked_until - now).total_seconds())), current
    failures = current.failures + 1
    delay = delay_after(failures, free, cap)
    return None, State(failures, now + timedelta(seconds=delay) if delay else None)


@dataclass(frozen=True)
class Key:
    """One counter: its key in the table, how many failures are free, and what a refusal says
    (a message with %(wait)s, already marked for translation)."""

    name: str
    free: int
    message: str


def account_key(username: str) -> Key:
    message = _("Too many failed logins for this account; try again in %(wait)s or reset your password.")
    return Key(f"login-account:{username.strip().lower()[:150]}", current_app.config["LOGIN_FREE_ATTEMPTS"], message)


def address_key() -> Key:
    message = _("Too many failed logins from your address; try again in %(wait)s.")
    return Key(f"login-address:{client_address()}", current_app.config["LOGIN_ADDRESS_FREE_ATTEMPTS"], message)


def code_key(user_id: int) -> Key:
    message = _("Too many wrong codes for this account; try again in %(wait)s.")
    return Key(f"totp-account:{user_id}", current_app.config["LOGIN_FREE_ATTEMPTS"], message)


def login_keys(username: str) -> list[Key]:
    return [account_key(username), address_key()]


def code_keys(user_id: int) -> list[Key]:
    return [code_key(user_id), address_key()]


@dataclass
class Attempt:
    """An attempt counted as failed until `succeeded()` says otherwise."""

    keys: list[Key]
    before: dict[str, State]  # each key's state before this attempt
    after: dict[str, State]  # ... and as this attempt left it


def _rows(names: list[str]) -> dict[str, LoginThrottle]:
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    for name in names:
        created = db.session.execute(
            insert(LoginThrottle)
            .values(key=name, failures=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        if created.rowcount:  # a new key: forget the ones nobody has failed with for a long time
            forget = now - timedelta(seconds=current_app.config["LOGIN_FORGET_SECONDS"])
            db.session.execute(
                delete(LoginThrottle).where(LoginThrottle.updated_at < forget, LoginThrottle.key != name)
            )
    # Row locks on PostgreSQL, always in the same order; SQLite's write lock is already held.
    rows = db.session.scalars(
        select(LoginThrottle).where(LoginThrottle.key.in_(names)).order_by(LoginThrottle.key).with_for_update()
    ).all()
    return {row.key: row for row in rows}


def begin_attempt(keys: list[Key]) -> Attempt:
    """Count an attempt against every key, or raise RateLimited (429, Retry-After) without
    counting anything if one of them must still wait. Commits in a write transaction of its own."""
    config = current_app.config
    cap, forget = config["LOGIN_MAX_DELAY_SECONDS"], config["LOGIN_FORGET_SECONDS"]
    refusal: tuple[int, Key] | None = None
    before: dict[str, State] = {}
    after: dict[str, State] = {}
    with write_transaction():
        rows = _rows(sorted({key.name for key in keys}))
        now = utcnow()
        for key in keys:
            row = rows[key.name]
            before[key.name] = remembered(State(row.failures, row.locked_until), row.updated_at, now, forget)
            wait, state = next_state(before[key.name], now, key.free, cap)
            if wait is not None and (refusal is None or wait > refusal[0]):
                refusal = (wait, key)
            after[key.name] = state
        if refusal is None:
            for key in keys:
                rows[key.name].failures = after[key.name].failures
                rows[key.name].locked_until = after[key.name].locked_until
                rows[key.name].updated_at = now
    if refusal is not None:
        wait, key = refusal
        raise RateLimited(key.message % {"wait": format_wait(wait)}, retry_after=wait)
    return Attempt(keys, before, after)


def succeeded(attempt: Attempt, clear: list[Key]) -> None:
    """The secret was right: forget the `clear` keys' failures (the account's), and take this
    attempt back from the others (the address's), unless someone else failed there meanwhile."""
    clear_names = {key.name for key in clear}
    with write_transaction():
        if clear_names:
            db.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(clear_names)))
        rest = sorted({key.name for key in attempt.keys} - clear_names)
        if not rest:
            return
        for row in db.session.scalars(
            select(LoginThrottle).where(LoginThrottle.key.in_(rest)).order_by(LoginThrottle.key).with_for_update()
        ):
            if row.failures == attempt.after[row.key].failures:
                row.failures = attempt.before[row.key].failures
                row.locked_until = attempt.before[row.key].locked_until
            else:
                row.failures = max(0, row.failures - 1)


def clear(keys: list[Key]) -> None:
    """Forget the failures of these keys (a password was reset)."""
    with write_transaction():
        db.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([key.name for key in keys])))

"""Login throttling per account and per client address, kept in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.fixtures import PASSWORD
from wiki import create_app
from wiki.auth.throttle import State, delay_after, next_state, remembered
from wiki.extensions import db
from wiki.models import LoginThrottle

ACCOUNT_MESSAGE = b"Too many failed logins for this account; try again in"
T0 = datetime(2026, 1, 12, 21, 53, tzinfo=UTC)


class Clock:
    """The throttle's clock, moved by hand (no sleeping in tests)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr("wiki.auth.throttle.utcnow", moved)
    return moved


def attempt(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def row(app, key: str) -> LoginThrottle | None:
    with app.app_context():
        found = db.session.get(LoginThrottle, key)
        if found is not None:
            db.session.expunge(found)
        return found


# --- the arithmetic ---------------------------------------------------------------------------


def test_the_delay_doubles_after_the_free_attempts_up_to_the_cap():
    assert [delay_after(n, free=5, cap=900) for n in range(1, 17)] == [
        0,
        0,
        0,
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        900,
        900,
    ]
    assert delay_after(10_000, free=5, cap=900) == 900


def test_a_locked_key_refuses_without_counting_and_an_open_one_counts():
    locked = State(7, T0 + timedelta(seconds=3.2))
    assert next_state(locked, T0, free=5, cap=900) == (4, locked)
    assert next_state(State(4, None), T0, free=5, cap=900) == (None, State(5, T0 + timedelta(seconds=1)))
    assert next_state(State(5, T0 - timedelta(seconds=1)), T0, free=5, cap=900) == (
        None,
        State(6, T0 + timedelta(seconds=2)),
    )


def test_old_failures_are_forgotten():
    old = State(12, T0 - timedelta(hours=1))
    assert remembered(old, T0 - timedelta(days=2), T0, forget_seconds=86400) == State(0, None)
    assert remembered(old, T0 - timedelta(hours=23), T0, forget_seconds=86400) == old


# --- logging in -------------------------------------------------------------------------------


def test_thirty_wrong_passwords_in_a_row_for_the_admin_end_up_throttled(app, client, make_user, clock):
    admin = make_user("admin", username="admin")
    statuses = [attempt(client, "admin", f"guess number {n}").status_code for n in range(30)]
    assert statuses == [401] * 5 + [429] * 25
    last = attempt(client, "admin", f"guess number {30}")
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert ACCOUNT_MESSAGE in last.data and b"or reset your password" in last.data
    # A throttled attempt is not even checked: the right password is refused too.
    assert attempt(client, "admin", admin.password).status_code == 429
    assert row(app, "login-account:admin").failures == 5


def test_each_further_failure_waits_longer_and_success_clears_the_account(app, client, make_user, clock):
    make_user("coordinator", username="amina")
    for _ in range(5):
        attempt(client, "amina", "wrong")
    waits = []
    for _ in range(4):
        refused = attempt(client, "amina", "wrong")
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(waits[-1])  # the wait is over: the next attempt is checked, and fails
        assert attempt(client, "amina", "wrong").status_code == 401
    assert waits == [1, 2, 4, 8]
    clock.advance(16)
    assert attempt(client, "amina", PASSWORD).status_code == 302
    assert row(app, "login-account:amina") is None
    assert attempt(app.test_client(), "amina", "wrong").status_code == 401  # counting starts again


def test_the_wait_is_capped_at_fifteen_minutes(app, client, make_user, clock):
    make_user("verifier", username="vera")
    for _ in range(40):
        assert attempt(client, "vera", "wrong").status_code == 401  # each after the previous wait is over
        clock.advance(900)
    assert attempt(client, "vera", "wrong").status_code == 401
    refused = attempt(client, "vera", "wrong")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 900
    assert b"try again in 15 minutes" in refused.data


def test_an_unknown_username_is_throttled_exactly_like_a_known_one(app, make_user, clock):
    make_user("admin", username="known")

    def run(username: str) -> list[tuple[int, bytes]]:
        client = app.test_client()
        answers = [attempt(client, username, "wrong") for _ in range(7)]
        return [
            (a.status_code, a.headers.get("Retry-After", "").encode() + a.data.split(b'role="alert">')[1][:120])
            for a in answers
        ]

    assert run("known") == run("unknown-person")


def test_usernames_are_counted_without_regard_to_case(app, client, make_user, clock):
    make_user("admin", username="admin")
    for name in ("admin", "Admin", "ADMIN", "aDmIn", "admin "):
        attempt(client, name, "wrong")
    assert attempt(client, "admin", PASSWORD).status_code == 429


def test_one_address_guessing_many_usernames_is_throttled_and_other_addresses_are_not(app, make_user, clock):
    app.config["LOGIN_ADDRESS_FREE_ATTEMPTS"] = 3
    person = make_user("volunteer", username="bystander")
    guesser = app.test_client()
    assert [attempt(guesser, f"user{n}", "wrong", "10.0.0.9").status_code for n in range(3)] == [401, 401, 401]
    refused = attempt(guesser, "bystander", PASSWORD, "10.0.0.9")
    assert refused.status_code == 429 and b"Too many failed logins from your address" in refused.data
    assert attempt(app.test_client(), "bystander", person.password, "10.0.0.10").status_code == 302


def test_a_successful_login_does_not_wipe_its_addresss_failures(app, make_user, clock):
    app.config["LOGIN_ADDRESS_FREE_ATTEMPTS"] = 3
    make_user("volunteer", username="insider")
    client = app.test_client()
    for n in range(2):
        attempt(client, f"victim{n}", "wrong", "10.0.0.7")
    assert attempt(client, "insider", PASSWORD, "10.0.0.7").status_code == 302
    assert row(app, "login-address:10.0.0.7").failures == 2  # the success was taken back, not the failures
    assert attempt(app.test_client(), "victim3", "wrong", "10.0.0.7").status_code == 401
    assert attempt(app.test_client(), "victim4", "wrong", "10.0.0.7").status_code == 429


def test_the_counters_are_shared_by_every_worker(app, app_config, make_user, clock):
    make_user("admin", username="admin")
    other_worker = create_app(app_config)  # another process would have another app on the same database
    try:
        for n in range(5):
            worker = app if n % 2 else other_worker
            assert attempt(worker.test_client(), "admin", "wrong").status_code == 401
        assert attempt(other_worker.test_client(), "admin", PASSWORD).status_code == 429
        assert attempt(app.test_client(), "admin", PASSWORD).status_code == 429
    finally:
        with other_worker.app_context():
            db.session.remove()
            db.engine.dispose()


def test_old_rows_are_cleaned_up_when_new_keys_arrive(app, clock):
    for n in range(3):
        attempt(app.test_client(), f"sprayed{n}", "wrong", f"10.9.0.{n}")
    clock.advance(2 * 86400)
    attempt(app.test_client(), "fresh", "wrong", "10.9.1.1")
    with app.app_context():
        keys = set(db.session.scalars(select(LoginThrottle.key)))
    assert keys == {"login-account:fresh", "login-address:10.9.1.1"}

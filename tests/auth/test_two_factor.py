"""TOTP two-factor authentication: set-up, the second login step, recovery codes, resets."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from tests.fixtures import PASSWORD
from tests.reports_helpers import feature
from wiki.auth.two_factor import STEP_SECONDS, matching_step
from wiki.extensions import db
from wiki.models import RecoveryCode, User

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol(client) -> tuple[str, list[str]]:
    """Set up two-factor authentication through the pages; returns the secret and the recovery codes."""
    assert client.post("/account/two-factor", data={"action": "start"}).status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="token">([A-Z2-7]{32})</code>', page).group(1)
    done = client.post("/account/two-factor", data={"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(
        r'<code class="token">([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code>', done.get_data(as_text=True)
    )
    return secret, codes


def code_for(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + steps_from_now * STEP_SECONDS)


def password_step(client, person):
    return client.post("/login", data={"username": person.username, "password": PASSWORD})


def logged_in(client) -> bool:
    return client.get("/account").status_code == 200


@pytest.fixture
def enrolled(app, client, make_user, login):
    """A coordinator with two-factor authentication on; returns (person, secret, recovery codes)."""
    person = make_user("coordinator")
    login(person)
    secret, codes = enrol(client)
    return person, secret, codes


# --- the arithmetic ---------------------------------------------------------------------------


def test_codes_are_valid_one_step_either_side_and_only_after_the_last_used_step():
    totp, now = pyotp.TOTP(SECRET), 1_700_000_000.0
    step = int(now // STEP_SECONDS)
    assert matching_step(SECRET, totp.at(now), now, None) == step
    assert matching_step(SECRET, totp.at(now - STEP_SECONDS), now, None) == step - 1
    assert matching_step(SECRET, totp.at(now + STEP_SECONDS), now, None) == step + 1
    assert matching_step(SECRET, totp.at(now - 2 * STEP_SECONDS), now, None) is None
    assert matching_step(SECRET, totp.at(now), now, last_step=step) is None  # replayed
    assert matching_step(SECRET, totp.at(now + STEP_SECONDS), now, last_step=step) == step + 1


# --- setting it up --------------------------------------------------------------------------


def test_set_up_shows_a_key_an_otpauth_uri_and_an_inline_svg_qr_code(app, client, make_user, login):
    login(make_user("verifier"))
    assert client.post("/account/two-factor", data={"action": "start"}).status_code == 302
    page = client.get("/account/two-factor")
    text = page.get_data(as_text=True)
    secret = re.search(r'<code class="token">([A-Z2-7]{32})</code>', text).group(1)
    assert "otpauth://totp/crisiswiki:verifier" in text and f"secret={secret}" in text
    svg = re.search(r"<svg.*?</svg>", text, re.S).group(0)
    assert "<path" in svg and "<script" not in svg and "style=" not in svg
    assert page.headers["Cache-Control"] == "no-store"


def test_confirming_with_a_wrong_code_is_422_and_turns_nothing_on(app, client, make_user, login):
    person = make_user("admin")
    login(person)
    client.post("/account/two-factor", data={"action": "start"})
    for code in ("000000", "12345", "abcdef", ""):
        response = client.post("/account/two-factor", data={"action": "confirm", "code": code})
        assert response.status_code == 422, code
    with app.app_context():
        assert not db.session.get(User, person.id).two_factor_enabled


def test_confirming_shows_ten_recovery_codes_once_and_stores_only_their_hashes(app, client, enrolled):
    person, _secret, codes = enrolled
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        stored = list(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == person.id)))
        assert db.session.get(User, person.id).two_factor_enabled
    assert len(stored) == 10 and not set(codes) & set(stored)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "10 recovery codes left." in page and not any(code in page for code in codes)


def test_volunteers_are_not_offered_two_factor_authentication(app, client, make_user, login):
    login(make_user("volunteer"))
    assert client.post("/account/two-factor", data={"action": "start"}).status_code == 403
    assert b"two-factor" not in client.get("/account").data


# --- logging in with it -----------------------------------------------------------------------


def test_login_then_asks_for_a_code_and_the_half_logged_in_state_grants_nothing(app, crisis, enrolled):
    person, secret, _codes = enrolled
    browser = app.test_client()
    first = password_step(browser, person)
    assert first.status_code == 302 and first.headers["Location"] == "/login/two-factor"
    assert not logged_in(browser)
    assert browser.post("/c/quake/new", data={"title": "Sneaky", "body": "x"}).status_code == 401
    assert browser.post("/account/tokens", data={"name": "sneaky"}).status_code == 401
    assert browser.post("/login/two-factor", data={"code": "000000"}).status_code == 401
    assert not logged_in(browser)
    done = browser.post("/login/two-factor", data={"code": code_for(secret, 1)})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert logged_in(browser)


def test_a_code_is_accepted_once(app, enrolled):
    person, secret, _codes = enrolled
    code = code_for(secret, 1)
    first = app.test_client()
    password_step(first, person)
    assert first.post("/login/two-factor", data={"code": code}).status_code == 302
    replay = app.test_client()
    password_step(replay, person)
    refused = replay.post("/login/two-factor", data={"code": code})
    assert refused.status_code == 401 and b"already used" in refused.data
    assert not logged_in(replay)


def test_a_recovery_code_works_once_instead_of_a_code(app, enrolled):
    person, _secret, codes = enrolled
    first = app.test_client()
    password_step(first, person)
    assert first.post("/login/two-factor", data={"code": codes[3].lower().replace("-", " ")}).status_code == 302
    again = app.test_client()
    password_step(again, person)
    assert again.post("/login/two-factor", data={"code": codes[3]}).status_code == 401
    assert again.post("/login/two-factor", data={"code": codes[4]}).status_code == 302
    assert b"8 recovery codes left." in again.get("/account/two-factor").data


def test_wrong_codes_are_throttled(app, enrolled):
    person, secret, _codes = enrolled
    browser = app.test_client()
    password_step(browser, person)
    statuses = [browser.post("/login/two-factor", data={"code": f"{n:06d}"}).status_code for n in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    refused = browser.post("/login/two-factor", data={"code": code_for(secret, 1)})
    assert refused.status_code == 429 and b"Too many wrong codes" in refused.data and "Retry-After" in refused.headers
    assert not logged_in(browser)


def test_the_code_step_needs_a_fresh_password_step(app, enrolled):
    person, secret, _codes = enrolled
    stranger = app.test_client()
    assert stranger.get("/login/two-factor").headers["Location"] == "/login"
    assert stranger.post("/login/two-factor", data={"code": code_for(secret)}).status_code == 401
    browser = app.test_client()
    password_step(browser, person)
    with browser.session_transaction() as session:
        session["pending_login"] = {**session["pending_login"], "since": int(time.time()) - 3600}
    assert browser.post("/login/two-factor", data={"code": code_for(secret, 1)}).status_code == 401
    assert not logged_in(browser)


def test_the_login_redirect_keeps_its_local_next_page(app, enrolled):
    person, secret, _codes = enrolled
    browser = app.test_client()
    browser.post("/login?next=/watchlist", data={"username": person.username, "password": PASSWORD})
    assert browser.post("/login/two-factor", data={"code": code_for(secret, 1)}).headers["Location"] == "/watchlist"


def test_api_tokens_are_not_asked_for_a_code(app, crisis, enrolled, token_for):
    person, _secret, _codes = enrolled
    response = app.test_client().post(
        "/api/v1/reports", json=feature(), headers={"Authorization": f"Bearer {token_for(person)}"}
    )
    assert response.status_code == 201


# --- turning it off, and the administrators' reset --------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(app, client, enrolled):
    person, secret, _codes = enrolled
    wrong_password = client.post(
        "/account/two-factor", data={"action": "disable", "password": "nope", "code": code_for(secret, 1)}
    )
    assert wrong_password.status_code == 422
    wrong_code = client.post("/account/two-factor", data={"action": "disable", "password": PASSWORD, "code": "000000"})
    assert wrong_code.status_code == 422
    with app.app_context():
        assert db.session.get(User, person.id).two_factor_enabled
    done = client.post(
        "/account/two-factor", data={"action": "disable", "password": PASSWORD, "code": code_for(secret, 1)}
    )
    assert done.status_code == 302
    with app.app_context():
        assert not db.session.get(User, person.id).two_factor_enabled
        assert db.session.scalars(select(RecoveryCode)).all() == []
    assert password_step(app.test_client(), person).headers["Location"] == "/"


def test_an_administrator_resets_a_users_second_factor(app, enrolled, make_user, login):
    person, _secret, _codes = enrolled
    admin = app.test_client()
    login(make_user("admin"), admin)
    assert b"Reset two-factor authentication of " + person.username.encode() in admin.get("/admin/users").data
    assert admin.post(f"/admin/users/{person.id}/two-factor/reset").status_code == 302
    assert password_step(app.test_client(), person).headers["Location"] == "/"


def test_required_roles_must_set_it_up_at_their_next_login(app, make_user):
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ["coordinator"]
    person = make_user("coordinator")
    browser = app.test_client()
    first = password_step(browser, person)
    assert first.headers["Location"] == "/login/two-factor/setup"
    assert not logged_in(browser)
    assert browser.get("/login/two-factor").headers["Location"] == "/login/two-factor/setup"
    page = browser.get("/login/two-factor/setup").get_data(as_text=True)
    assert "<svg" in page and "Your role must use two-factor authentication" in page
    secret = re.search(r'<code class="token">([A-Z2-7]{32})</code>', page).group(1)
    assert browser.post("/login/two-factor/setup", data={"code": "000000"}).status_code == 422
    assert not logged_in(browser)
    done = browser.post("/login/two-factor/setup", data={"code": code_for(secret)})
    assert done.status_code == 200 and done.data.count(b'<code class="token">') == 10
    assert logged_in(browser)
    # Volunteers are not concerned by the setting.
    assert password_step(app.test_client(), make_user("volunteer")).headers["Location"] == "/"

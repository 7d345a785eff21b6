"""The password policy, and changing one's own password at /account/password."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.fixtures import PASSWORD
from wiki.auth.passwords import COMMON_PASSWORDS, common_passwords, validate_password
from wiki.errors import InvalidInput
from wiki.extensions import db
from wiki.models import User

NEW = "sandbags along the river"


def test_the_bundled_list_is_the_20000_common_passwords_with_its_licence():
    assert len(common_passwords()) == 19640  # 20,000 lowercased and deduplicated, as Django ships it
    assert {"password", "123456", "qwerty", "iloveyou"} <= common_passwords()
    assert (
        (COMMON_PASSWORDS.parent / "LICENSE-django.txt")
        .read_text()
        .startswith("Copyright (c) Django Software Foundation")
    )


@pytest.mark.parametrize(
    "password, username, message",
    [
        ("1234567", None, "at least 8 characters"),
        ("password", None, "most commonly used"),
        ("PassWord1", None, "most commonly used"),  # compared without regard to case
        ("  baseball ", None, "most commonly used"),
        ("x" * 1025, None, "at most 1024 characters"),
        ("Field.Volunteer", "field.volunteer", "must not be the username"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(app, password, username, message):
    with app.test_request_context(), pytest.raises(InvalidInput) as refused:
        validate_password(password, username)
    assert message in refused.value.message and refused.value.field == "password"


@pytest.mark.parametrize("password", [PASSWORD, "long enough pw", "x" * 1024, "volunteer.field"])
def test_reasonable_passwords_pass(app, password):
    with app.test_request_context():
        validate_password(password, "field.volunteer")


def test_the_minimum_length_is_a_setting_but_never_below_8(app):
    with app.test_request_context():
        app.config["PASSWORD_MIN_LENGTH"] = 15
        with pytest.raises(InvalidInput):
            validate_password("fourteen chars", None)
        validate_password("fifteen chars!!", None)
        app.config["PASSWORD_MIN_LENGTH"] = 4
        with pytest.raises(InvalidInput):
            validate_password("seven77", None)


def test_an_admin_cannot_create_a_user_with_a_common_password(app, client, make_user, login):
    login(make_user("admin"))
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(User))
    response = client.post("/admin/users", data={"username": "weak", "password": "iloveyou1", "role": "volunteer"})
    assert response.status_code == 422 and b"most commonly used" in response.data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == before


# --- changing one's own password ------------------------------------------------------------


def change(client, current: str, new: str, confirmation: str | None = None):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "password": new,
            "confirmation": new if confirmation is None else confirmation,
        },
    )


def password_hash(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, make_user, login):
    person = make_user("verifier")
    login(person)
    other_device = app.test_client()
    login(person, other_device)
    response = change(client, PASSWORD, NEW)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 401
    assert app.test_client().post("/login", data={"username": person.username, "password": NEW}).status_code == 302
    assert app.test_client().post("/login", data={"username": person.username, "password": PASSWORD}).status_code == 401


def test_a_remembered_login_is_renewed_with_the_new_password(app, make_user):
    person = make_user("coordinator")
    browser = app.test_client()
    assert (
        browser.post("/login", data={"username": person.username, "password": PASSWORD, "remember": "1"}).status_code
        == 302
    )
    response = change(browser, PASSWORD, NEW)
    assert "remember_token=" in " ".join(response.headers.getlist("Set-Cookie"))
    # Only the renewed remember-me cookie is left: without the session it still logs in.
    browser.delete_cookie("session", domain="wiki.test")
    assert browser.get("/account").status_code == 200


@pytest.mark.parametrize(
    "current, new, confirmation, message",
    [
        ("not my password", NEW, None, b"Your current password is not right."),
        (PASSWORD, NEW, NEW + " ", b"not the same"),
        (PASSWORD, "qwertyuiop", None, b"most commonly used"),
        (PASSWORD, "short", None, b"at least 8 characters"),
    ],
)
def test_bad_password_changes_are_422_and_change_nothing(
    app, client, make_user, login, current, new, confirmation, message
):
    person = make_user("volunteer")
    login(person)
    before = password_hash(app, person.id)
    response = change(client, current, new, confirmation)
    assert response.status_code == 422 and message in response.data
    assert password_hash(app, person.id) == before
    assert client.get("/account").status_code == 200


def test_guessing_the_current_password_is_throttled_like_logins(app, client, make_user, login):
    person = make_user("coordinator")
    login(person)
    before = password_hash(app, person.id)
    for n in range(5):
        assert change(client, f"guess {n}", NEW).status_code == 422
    refused = change(client, PASSWORD, NEW)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert password_hash(app, person.id) == before
    # One counter for the account: the login form is throttled as well.
    assert app.test_client().post("/login", data={"username": person.username, "password": PASSWORD}).status_code == 429


def test_the_password_page_needs_a_login(client):
    assert client.get("/account/password").status_code == 401
    assert change(client, PASSWORD, NEW).status_code == 401


# --- the e-mail address on the account page -------------------------------------------------


def test_the_account_page_sets_the_email_address_with_the_password(app, client, make_user, login):
    person = make_user("volunteer")
    login(person)
    assert client.post("/account", data={"email": "me@example.org", "current_password": "wrong"}).status_code == 422
    bad = client.post("/account", data={"email": "not an address", "current_password": PASSWORD})
    assert bad.status_code == 422 and b"is not an e-mail address" in bad.data
    with app.app_context():
        assert db.session.get(User, person.id).email is None
    assert client.post("/account", data={"email": " me@example.org ", "current_password": PASSWORD}).status_code == 302
    with app.app_context():
        assert db.session.get(User, person.id).email == "me@example.org"
    assert b'value="me@example.org"' in client.get("/account").data

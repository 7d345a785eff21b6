"""Password reset by e-mail, delivered through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from tests.fixtures import PASSWORD
from tests.smtp_helpers import smtp_server  # noqa: F401  (fixture)
from wiki.extensions import db
from wiki.models import LoginThrottle, MailMessage, User

NEW_PASSWORD = "tarpaulins and rope 2010"
NEUTRAL = b"If an account matches, we sent a link"


@pytest.fixture
def app_config(app_config: dict, smtp_server) -> dict:  # noqa: F811
    return {**app_config, **smtp_server.settings()}


@pytest.fixture
def amina(app, make_user):
    person = make_user("coordinator", username="amina")
    with app.app_context():
        db.session.get(User, person.id).email = "Amina@Example.org"
        db.session.commit()
    return person


def ask(client, identifier: str, address: str = "127.0.0.1"):
    response = client.post("/forgot-password", data={"identifier": identifier}, environ_base={"REMOTE_ADDR": address})
    response.close()  # as a WSGI server does once the response is sent: the queued mail goes out then
    return response


def reset_link(message) -> str:
    found = re.findall(r"https?://wiki\.test(/reset-password/\S+)", message.get_body(("plain",)).get_content())
    assert len(found) == 1
    return found[0]


def mails(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(MailMessage))


def logs_in(app, username: str, password: str) -> bool:
    return app.test_client().post("/login", data={"username": username, "password": password}).status_code == 302


def test_a_forgotten_password_is_reset_through_a_mailed_link(app, client, amina, smtp_server):  # noqa: F811
    assert b'href="/forgot-password"' in client.get("/login").data
    response = ask(client, "amina")
    assert response.status_code == 200 and NEUTRAL in response.data
    [message] = smtp_server.messages
    assert message["To"] == "Amina@Example.org" and message["Subject"] == "Reset your password on crisiswiki"
    link = reset_link(message)
    assert link in message.get_body(("html",)).get_content()
    form = client.get(link)
    assert form.status_code == 200 and b"amina" in form.data
    assert form.headers["Cache-Control"] == "no-store" and form.headers["Referrer-Policy"] == "no-referrer"
    done = client.post(link, data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert logs_in(app, "amina", NEW_PASSWORD)
    assert not logs_in(app, "amina", PASSWORD)
    with app.app_context():
        assert db.session.scalar(select(MailMessage.sent_at)) is not None


def test_the_address_is_matched_without_regard_to_case(app, client, amina, smtp_server):  # noqa: F811
    assert ask(client, "  AMINA@example.ORG ").status_code == 200
    assert [m["To"] for m in smtp_server.messages] == ["Amina@Example.org"]


def test_the_answer_is_the_same_whether_or_not_an_account_matches(app, client, amina, make_user, smtp_server):  # noqa: F811
    make_user("verifier", username="no-email")
    answers = [ask(app.test_client(), who) for who in ("amina", "nobody-at-all", "nobody@example.org", "no-email")]
    assert {a.status_code for a in answers} == {200}
    bodies = {re.sub(rb'name="csrf-token" content="[^"]*"', b"", a.data) for a in answers}
    assert len(bodies) == 1 and NEUTRAL in bodies.pop()
    assert len(smtp_server.messages) == 1


def test_an_empty_request_is_422(app, client):
    response = ask(client, "   ")
    assert response.status_code == 422 and b"Enter your username or e-mail address." in response.data
    assert mails(app) == 0


def test_a_disabled_account_gets_no_link(app, client, amina, smtp_server):  # noqa: F811
    with app.app_context():
        db.session.get(User, amina.id).active = False
        db.session.commit()
    assert ask(client, "amina").status_code == 200
    assert smtp_server.messages == []


def test_a_reset_link_works_once(app, client, amina, smtp_server):  # noqa: F811
    ask(client, "amina")
    ask(client, "amina")  # a second link, sent before the first was used
    first, second = (reset_link(m) for m in smtp_server.messages)
    assert client.post(first, data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}).status_code == 302
    for link in (first, second):
        again = client.get(link)
        assert again.status_code == 400 and b"already used" in again.data
        refused = client.post(link, data={"password": "someone elses choice", "confirmation": "someone elses choice"})
        assert refused.status_code == 400
    assert logs_in(app, "amina", NEW_PASSWORD)


def test_an_expired_link_is_refused(app, client, amina, smtp_server, monkeypatch):  # noqa: F811
    with monkeypatch.context() as patch:  # the link is signed as if an hour and a second ago
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3601)
        ask(client, "amina")
    link = reset_link(smtp_server.messages[0])
    response = client.get(link)
    assert response.status_code == 400 and b"expired" in response.data and b'href="/forgot-password"' in response.data
    assert client.post(link, data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}).status_code == 400
    assert logs_in(app, "amina", PASSWORD)


@pytest.mark.parametrize("tamper", [lambda link: link[:-3] + "abc", lambda link: "/reset-password/forged"])
def test_a_forged_link_is_refused(app, client, amina, smtp_server, tamper):  # noqa: F811
    ask(client, "amina")
    response = client.post(
        tamper(reset_link(smtp_server.messages[0])), data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    )
    assert response.status_code == 400 and b"not valid" in response.data
    assert logs_in(app, "amina", PASSWORD)


@pytest.mark.parametrize(
    "password, confirmation, message",
    [
        ("password1", "password1", b"most commonly used"),
        ("short", "short", b"at least 8 characters"),
        ("amina", "amina", b"at least 8 characters"),
        ("AMINA-amina", "AMINA-amina", None),  # not the username, not common: fine
        (NEW_PASSWORD, NEW_PASSWORD + "x", b"not the same"),
    ],
)
def test_the_new_password_follows_the_policy(app, client, amina, smtp_server, password, confirmation, message):  # noqa: F811
    ask(client, "amina")
    link = reset_link(smtp_server.messages[0])
    response = client.post(link, data={"password": password, "confirmation": confirmation})
    if message is None:
        assert response.status_code == 302
        return
    assert response.status_code == 422 and message in response.data
    assert logs_in(app, "amina", PASSWORD)
    assert client.get(link).status_code == 200  # a refused password does not use the link up


def test_requests_are_limited_per_client_address(app, client, amina, smtp_server):  # noqa: F811
    app.config["PASSWORD_RESET_ADDRESS_LIMIT"] = 2
    assert [ask(client, "nobody", "10.1.1.1").status_code for _ in range(2)] == [200, 200]
    refused = ask(client, "amina", "10.1.1.1")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert b"Too many password reset requests from your address" in refused.data
    assert smtp_server.messages == []
    assert ask(client, "amina", "10.1.1.2").status_code == 200  # another address is not limited
    assert len(smtp_server.messages) == 1


def test_mails_are_limited_per_account_without_saying_so(app, client, amina, smtp_server):  # noqa: F811
    app.config["PASSWORD_RESET_ACCOUNT_LIMIT"] = 2
    answers = [ask(client, "amina", f"10.2.0.{n}") for n in range(1, 5)]
    assert [a.status_code for a in answers] == [200] * 4 and all(NEUTRAL in a.data for a in answers)
    assert len(smtp_server.messages) == 2


def test_a_reset_ends_other_sessions_and_lifts_the_login_throttle(app, client, amina, login, smtp_server):  # noqa: F811
    browser = app.test_client()
    login(amina, browser)
    attacker = app.test_client()
    for _ in range(6):
        attacker.post("/login", data={"username": "amina", "password": "guess"})
    assert attacker.post("/login", data={"username": "amina", "password": PASSWORD}).status_code == 429
    ask(client, "amina")
    client.post(reset_link(smtp_server.messages[0]), data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    with app.app_context():
        assert db.session.get(LoginThrottle, "login-account:amina") is None
    assert logs_in(app, "amina", NEW_PASSWORD)
    assert browser.get("/account").status_code == 401  # the old session ended with the old password

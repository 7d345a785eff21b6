"""Security headers on every kind of response, HSTS only over HTTPS, and the cookie policy."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.fixtures import PASSWORD
from wiki import create_app
from wiki.extensions import db

pytestmark = pytest.mark.one_database  # headers and cookies are set above the database

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
}


class HttpsClient(FlaskClient):
    """A test client whose requests come over HTTPS."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", "https://wiki.test")
        return super().open(*args, **kwargs)


def over_https(client: FlaskClient) -> HttpsClient:
    return HttpsClient(client.application, client.response_wrapper, use_cookies=True)


def cached_page(app, client, make_user, login) -> None:
    """A page in the anonymous page cache."""
    editor = app.test_client()
    login(make_user("coordinator"), editor)
    editor.post("/c/quake/new", data={"title": "Main", "body": "x"})
    client.get("/c/quake/wiki/Main")


RESPONSES = {
    "html page": lambda client: client.get("/c/quake/"),
    "api response": lambda client: client.get("/api/v1/reports"),
    "not found": lambda client: client.get("/no/such/thing"),
    "api error": lambda client: client.put("/api/v1/pages/quake/X", json={"body": "x"}),
    "cached page": lambda client: client.get("/c/quake/wiki/Main"),
    "static file": lambda client: client.get("/static/css/wiki.css"),
}


def check_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'self'" in policy
    permissions = response.headers["Permissions-Policy"]
    assert "geolocation=(self)" in permissions and "camera=(self)" in permissions
    assert "microphone=()" in permissions and "payment=()" in permissions and "usb=()" in permissions


@pytest.mark.parametrize("kind", sorted(RESPONSES))
def test_every_kind_of_response_carries_the_headers(app, client, crisis, make_user, login, kind):
    cached_page(app, client, make_user, login)
    response = RESPONSES[kind](client)
    if kind == "cached page":
        assert response.headers["X-Page-Cache"] == "hit"  # answered before Flask
    if kind in ("not found", "api error"):
        assert response.status_code in (401, 404)
    check_headers(response)
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


@pytest.mark.parametrize("kind", sorted(RESPONSES))
def test_https_responses_also_carry_strict_transport_security(app, crisis, make_user, login, kind):
    client = app.test_client()
    cached_page(app, client, make_user, login)
    response = RESPONSES[kind](over_https(app.test_client()))
    if kind == "cached page":
        assert response.headers["X-Page-Cache"] == "hit"
    check_headers(response)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}


def login_and_remember(client, person):
    return client.post("/login", data={"username": person.username, "password": PASSWORD, "remember": "1"})


def attributes(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_cookies_are_httponly_lax_and_not_secure_over_plain_http(app, make_user):
    response = login_and_remember(app.test_client(), make_user("volunteer"))
    for name in ("session", "remember_token"):
        assert {"httponly", "samesite=lax"} <= attributes(cookies(response)[name]), name
        assert "secure" not in attributes(cookies(response)[name]), name


def test_cookies_are_secure_over_https(app, make_user):
    response = login_and_remember(over_https(app.test_client()), make_user("volunteer"))
    for name in ("session", "remember_token"):
        assert {"httponly", "samesite=lax", "secure"} <= attributes(cookies(response)[name]), name
    language = over_https(app.test_client()).get("/language/fr")
    assert "secure" in attributes(cookies(language)["lang"])


@pytest.fixture
def proxied_app(app_config):
    """The app as deployed behind one reverse proxy."""
    app = create_app({**app_config, "PROXY_FIX_X_FOR": 1})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_behind_a_proxy_https_is_what_the_proxy_says(proxied_app, make_user):
    from wiki.auth.accounts import create_user

    with proxied_app.app_context():
        create_user("proxied", PASSWORD, role="volunteer")
    over_https = proxied_app.test_client().post(
        "/login",
        data={"username": "proxied", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert "secure" in attributes(cookies(over_https)["session"])
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = proxied_app.test_client().get("/", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


@pytest.mark.parametrize(
    "setting, https, secure",
    [("true", False, True), ("false", True, False), ("auto", True, True), ("auto", False, False)],
)
def test_session_cookie_secure_can_be_forced_either_way(app_config, setting, https, secure):
    app = create_app({**app_config, "SESSION_COOKIE_SECURE": setting})
    try:
        client = over_https(app.test_client()) if https else app.test_client()
        response = client.get("/login")  # the form's CSRF token starts a session
        assert ("secure" in attributes(cookies(response)["session"])) is secure
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_bad_session_cookie_secure_setting_stops_the_start(app_config):
    with pytest.raises(ValueError, match="SESSION_COOKIE_SECURE"):
        create_app({**app_config, "SESSION_COOKIE_SECURE": "sometimes"})

"""CSRF protection, switched on as in production.

Every form POST needs the token from the form; API calls need it (as an X-CSRFToken header)
only when they ride on a logged-in browser session. Calls with a bearer token, and anonymous
calls with no session user, cannot be forged from a victim's browser and need none.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.fixtures import PASSWORD
from wiki.extensions import db
from wiki.models import Page

pytestmark = pytest.mark.one_database  # the token is checked before any query


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "WTF_CSRF_ENABLED": True}


def form_token(client: FlaskClient, url: str) -> str:
    """The csrf_token of the form on the page at `url`."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    found = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', response.get_data(as_text=True))
    assert found, f"no csrf_token input on {url}"
    return found.group(1)


def login_with_token(client: FlaskClient, person) -> None:
    token = form_token(client, "/login")
    response = client.post("/login", data={"username": person.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def logged_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def page_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Page))


@pytest.fixture
def coordinator_client(app, client, crisis, make_user) -> FlaskClient:
    login_with_token(client, make_user("coordinator"))
    return client


# --- forms --------------------------------------------------------------------------------


def test_a_form_post_without_the_token_is_refused_and_changes_nothing(app, coordinator_client):
    response = coordinator_client.post("/c/quake/new", data={"title": "Forged", "body": "x"})
    assert response.status_code == 400
    assert b"security token" in response.data
    assert page_count(app) == 0


def test_a_form_post_with_a_wrong_token_is_refused(app, coordinator_client):
    response = coordinator_client.post("/c/quake/new", data={"title": "Forged", "body": "x", "csrf_token": "not-it"})
    assert response.status_code == 400
    assert page_count(app) == 0


def test_a_form_post_with_the_token_from_the_pages_form_works(app, coordinator_client):
    token = form_token(coordinator_client, "/c/quake/new")
    response = coordinator_client.post("/c/quake/new", data={"title": "Genuine", "body": "x", "csrf_token": token})
    assert response.status_code == 302
    assert page_count(app) == 1


def test_a_token_from_another_browser_session_does_not_work(app, coordinator_client, make_user):
    other = app.test_client()
    login_with_token(other, make_user("coordinator"))
    foreign = form_token(other, "/c/quake/new")
    response = coordinator_client.post("/c/quake/new", data={"title": "Forged", "body": "x", "csrf_token": foreign})
    assert response.status_code == 400
    assert page_count(app) == 0


def test_the_login_form_needs_the_token(client, make_user):
    person = make_user("volunteer")
    response = client.post("/login", data={"username": person.username, "password": PASSWORD})
    assert response.status_code == 400
    assert not logged_in(client)


def test_logout_needs_the_token(coordinator_client):
    assert coordinator_client.post("/logout").status_code == 400
    assert logged_in(coordinator_client)
    token = form_token(coordinator_client, "/account/tokens")
    assert coordinator_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not logged_in(coordinator_client)


def test_admin_user_changes_need_the_token(app, client, make_user):
    login_with_token(client, make_user("admin"))
    person = make_user("volunteer")
    assert client.post(f"/admin/users/{person.id}", data={"role": "admin"}).status_code == 400
    token = form_token(client, "/admin/users")
    assert (
        client.post(f"/admin/users/{person.id}", data={"role": "coordinator", "csrf_token": token}).status_code == 302
    )


def test_a_bearer_header_does_not_exempt_web_forms(app, client, crisis, make_user, token_for):
    plain = token_for(make_user("coordinator"))
    response = client.post(
        "/c/quake/new", data={"title": "Scripted form", "body": "x"}, headers={"Authorization": f"Bearer {plain}"}
    )
    assert response.status_code == 400
    assert page_count(app) == 0


# --- the API ------------------------------------------------------------------------------


def test_an_api_call_with_a_bearer_token_needs_no_csrf_token(app, crisis, make_user, token_for):
    plain = token_for(make_user("coordinator"))
    response = app.test_client().put(
        "/api/v1/pages/quake/Scripted", json={"body": "x"}, headers={"Authorization": f"Bearer {plain}"}
    )
    assert response.status_code == 201
    assert page_count(app) == 1


def test_an_api_call_with_a_session_cookie_but_no_csrf_header_is_refused(app, coordinator_client):
    response = coordinator_client.put("/api/v1/pages/quake/Forged", json={"body": "x"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "csrf"
    assert page_count(app) == 0
    response = coordinator_client.post("/api/v1/crises", json={"name": "Forged crisis"})
    assert response.status_code == 400


def test_an_api_call_with_a_session_cookie_and_the_csrf_header_works(app, coordinator_client):
    token = form_token(coordinator_client, "/c/quake/new")
    response = coordinator_client.put(
        "/api/v1/pages/quake/From_the_browser", json={"body": "x"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201
    assert page_count(app) == 1


def test_an_api_call_with_a_session_cookie_and_a_wrong_csrf_header_is_refused(app, coordinator_client):
    response = coordinator_client.put("/api/v1/pages/quake/Forged", json={"body": "x"}, headers={"X-CSRFToken": "nope"})
    assert response.status_code == 400
    assert page_count(app) == 0


def test_an_anonymous_api_call_is_not_blocked_by_csrf(app, client, crisis):
    # Not 400 (CSRF) but 401: an anonymous visitor may not edit with the default settings.
    response = client.put("/api/v1/pages/quake/Anonymous", json={"body": "x"})
    assert response.status_code == 401
    assert client.post("/api/v1/crises", json={"name": "Anonymous crisis"}).status_code == 401
    # A browser session without a user (it has only seen the login form) is still anonymous.
    form_token(client, "/login")
    assert client.put("/api/v1/pages/quake/Anonymous", json={"body": "x"}).status_code == 401


def test_an_anonymous_api_call_goes_through_when_the_deployment_allows_anonymous_edits(app, client, crisis):
    app.config["ANONYMOUS_EDIT"] = True
    response = client.put("/api/v1/pages/quake/Anonymous", json={"body": "x"})
    assert response.status_code == 201
    assert page_count(app) == 1


def test_a_disabled_users_leftover_session_is_anonymous_not_a_csrf_bypass(app, coordinator_client):
    from wiki.models import User

    with app.app_context():
        for user in db.session.scalars(select(User).where(User.role == "coordinator")):
            user.active = False
        db.session.commit()
    response = coordinator_client.put("/api/v1/pages/quake/Forged", json={"body": "x"})
    assert response.status_code == 401
    assert page_count(app) == 0


def test_a_made_up_bearer_header_does_not_let_a_session_skip_the_csrf_check(app, coordinator_client):
    # The check is skipped for bearer requests, so the session must not authenticate them either.
    response = coordinator_client.put(
        "/api/v1/pages/quake/Forged", json={"body": "x"}, headers={"Authorization": "Bearer made-up"}
    )
    assert response.status_code == 401
    assert page_count(app) == 0

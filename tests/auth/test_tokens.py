"""Bearer tokens (RFC 6750): bad tokens are 401 everywhere, never anonymous; scopes and expiry."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.reports_helpers import feature
from wiki.auth.tokens import accepted_scopes, expiry, token_scope
from wiki.errors import InvalidInput
from wiki.extensions import db
from wiki.models import ApiToken, Report, User


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(client, **form) -> str:
    """A token made through the tokens page (the client is logged in); returns it."""
    response = client.post("/account/tokens", data={"name": "script", **form})
    assert response.status_code == 200, response.data
    found = re.findall(r'<code class="token">(cw_[^<]+)</code>', response.get_data(as_text=True))
    assert len(found) == 1
    return found[0]


def report_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Report))


def challenge(response) -> dict[str, str]:
    value = response.headers.get("WWW-Authenticate", "")
    assert value.startswith("Bearer "), value
    return dict(re.findall(r'(\w+)="([^"]*)"', value))


@pytest.fixture
def owner(app, client, make_user, login):
    """A logged-in coordinator (the tokens page is theirs)."""
    person = make_user("coordinator")
    login(person)
    return person


# --- bad tokens are refused everywhere, never anonymous ------------------------------------


def test_a_garbage_token_cannot_submit_a_report_anonymously(app, crisis):
    # Before: anonymous submission is allowed, so a bad token fell through to "anonymous" (201).
    response = app.test_client().post("/api/v1/reports", json=feature(), headers=bearer("garbage"))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"
    params = challenge(response)
    assert params["realm"] == "crisiswiki" and params["error"] == "invalid_token" and params["error_description"]
    assert report_count(app) == 0
    assert app.test_client().post("/api/v1/reports", json=feature()).status_code == 201  # no header: anonymous


@pytest.mark.parametrize(
    "url", ["/", "/c/quake/", "/c/quake/report", "/api/v1/reports", "/api/v1/health", "/no/such/page"]
)
def test_a_bad_token_is_401_on_html_and_api_routes_alike(app, crisis, url):
    response = app.test_client().get(url, headers=bearer("cw_not-a-real-token"))
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_token"


def test_an_html_route_answers_a_bad_token_with_an_error_page(app, crisis):
    response = app.test_client().get("/c/quake/", headers={**bearer("cw_wrong"), "Accept": "text/html"})
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert b"This API token is not valid." in response.data


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "", "Bearer two words"])
def test_a_malformed_authorization_header_is_401_saying_how_to_send_a_token(app, crisis, header):
    response = app.test_client().post("/api/v1/reports", json=feature(), headers={"Authorization": header})
    assert response.status_code == 401
    assert challenge(response)["error"] == "invalid_request"
    assert "Authorization: Bearer <token>" in response.json["error"]["message"]
    assert report_count(app) == 0


def test_a_revoked_token_is_401_with_a_description(app, client, crisis, owner):
    plain = issue(client)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    response = app.test_client().post("/api/v1/reports", json=feature(), headers=bearer(plain))
    assert response.status_code == 401
    assert challenge(response) | {"realm": "crisiswiki"} == {
        "realm": "crisiswiki",
        "error": "invalid_token",
        "error_description": "The token was revoked",
    }
    assert report_count(app) == 0


def test_an_expired_token_is_401(app, client, crisis, owner):
    plain = issue(client, expires_days="1")
    assert app.test_client().get("/api/v1/reports", headers=bearer(plain)).status_code == 200
    with app.app_context():
        db.session.scalar(select(ApiToken)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    response = app.test_client().post("/api/v1/reports", json=feature(), headers=bearer(plain))
    assert response.status_code == 401
    assert challenge(response)["error_description"] == "The token has expired"
    assert app.test_client().get("/c/quake/", headers=bearer(plain)).status_code == 401
    assert report_count(app) == 0


def test_the_token_of_a_disabled_user_is_401_not_anonymous(app, crisis, make_user, token_for):
    person = make_user("volunteer")
    plain = token_for(person)
    assert app.test_client().post("/api/v1/reports", json=feature(), headers=bearer(plain)).status_code == 201
    with app.app_context():
        db.session.get(User, person.id).active = False
        db.session.commit()
    response = app.test_client().post("/api/v1/reports", json=feature(), headers=bearer(plain))
    assert response.status_code == 401
    assert challenge(response)["error_description"] == "The token's owner is disabled"
    assert report_count(app) == 1


def test_a_plain_401_names_the_bearer_scheme_without_an_error_code(app, crisis):
    response = app.test_client().put("/api/v1/pages/quake/X", json={"body": "x"})
    assert response.status_code == 401
    assert challenge(response) == {"realm": "crisiswiki"}


# --- scopes -----------------------------------------------------------------------------------


def test_a_read_token_reads_but_cannot_write(app, client, crisis, owner):
    plain = issue(client, scope="read")
    script = app.test_client()
    assert script.get("/api/v1/reports", headers=bearer(plain)).status_code == 200
    assert script.get("/c/quake/", headers=bearer(plain)).status_code == 200
    response = script.put("/api/v1/pages/quake/Scripted", json={"body": "x"}, headers=bearer(plain))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient_scope"
    assert "“full”" in response.json["error"]["message"]
    params = challenge(response)
    assert params["error"] == "insufficient_scope" and params["scope"] == "full"
    refused = script.post("/api/v1/reports", json=feature(), headers=bearer(plain))
    assert refused.status_code == 403 and challenge(refused)["scope"] == "full submit"
    assert report_count(app) == 0


def test_a_submit_token_only_submits_field_reports(app, client, crisis, owner):
    plain = issue(client, scope="submit")
    script = app.test_client()
    created = script.post("/api/v1/reports", json=feature(), headers=bearer(plain))
    assert created.status_code == 201
    assert script.get("/c/quake/report", headers=bearer(plain)).status_code == 200  # the report form
    form = script.post(
        "/c/quake/report",
        headers=bearer(plain),
        data={"title": "Road blocked", "lat": "18.5", "lon": "-72.3", "sector": "logistics"},
    )
    assert form.status_code == 302
    assert script.get(form.headers["Location"], headers=bearer(plain)).status_code == 200  # the thank-you page
    assert report_count(app) == 2
    for method, url, kwargs, needed in [
        ("GET", "/api/v1/reports", {}, "full read"),
        ("GET", f"/api/v1/reports/{created.json['id']}", {}, "full read"),
        ("PATCH", f"/api/v1/reports/{created.json['id']}", {"json": {"status": "verified"}}, "full"),
        ("PUT", "/api/v1/pages/quake/Scripted", {"json": {"body": "x"}}, "full"),
        ("POST", "/account/tokens", {"data": {"name": "another"}}, "full"),
    ]:
        response = script.open(url, method=method, headers=bearer(plain), **kwargs)
        assert response.status_code == 403, (method, url)
        assert challenge(response)["scope"] == needed, (method, url)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
        assert db.session.get(Report, created.json["id"]).status == "new"


def test_a_full_token_does_what_the_role_allows(app, client, crisis, owner):
    plain = issue(client, scope="full")
    assert (
        app.test_client().put("/api/v1/pages/quake/Scripted", json={"body": "x"}, headers=bearer(plain)).status_code
        == 201
    )


def test_a_new_route_needs_a_full_token_for_writes_and_a_read_token_for_reads(app, client, make_user, login):
    def undeclared():
        return "ok"

    @token_scope("submit")
    def declared():
        return "ok"

    app.add_url_rule("/test-only/undeclared", view_func=undeclared, methods=["GET", "POST"])
    app.add_url_rule("/test-only/declared", view_func=declared, methods=["GET", "POST"])
    login(make_user("coordinator"))  # routes first: Flask takes none after the first request
    read, submit, full = issue(client, scope="read"), issue(client, scope="submit"), issue(client, scope="full")
    script = app.test_client()
    assert script.get("/test-only/undeclared", headers=bearer(read)).status_code == 200
    assert challenge(script.post("/test-only/undeclared", headers=bearer(read)))["scope"] == "full"
    assert challenge(script.get("/test-only/undeclared", headers=bearer(submit)))["scope"] == "full read"
    assert script.post("/test-only/undeclared", headers=bearer(full)).status_code == 200
    assert script.post("/test-only/declared", headers=bearer(submit)).status_code == 200
    assert script.post("/test-only/declared", headers=bearer(read)).status_code == 403


def test_accepted_scopes_follow_the_method_and_the_declaration():
    def view():
        return ""

    assert accepted_scopes(view, "GET") == {"full", "read"}
    assert accepted_scopes(view, "DELETE") == {"full"}
    assert accepted_scopes(token_scope("submit")(view), "POST") == {"full", "submit"}
    assert accepted_scopes(None, "HEAD") == {"full", "read"}
    with pytest.raises(ValueError):
        token_scope("admin")


def test_a_scoped_token_still_acts_within_its_owners_role(app, crisis, make_user, login):
    volunteer = make_user("volunteer")
    browser = app.test_client()
    login(volunteer, browser)
    plain = issue(browser, scope="full")
    assert app.test_client().put("/api/v1/pages/quake/X", json={"body": "x"}, headers=bearer(plain)).status_code == 403


# --- creating tokens: scope and expiry --------------------------------------------------------


def test_the_tokens_page_lists_scope_expiry_and_last_use(app, client, crisis, owner):
    reader = issue(client, name="dashboard", scope="read", expires_on=(date.today() + timedelta(days=30)).isoformat())
    issue(client, name="sms gateway", scope="submit", expires_days="7")
    app.test_client().get("/api/v1/reports", headers=bearer(reader))  # a read is a use too
    with app.app_context():
        rows = {t.name: t for t in db.session.scalars(select(ApiToken))}
        assert rows["dashboard"].scope == "read" and rows["dashboard"].last_used_at is not None
        assert rows["sms gateway"].scope == "submit" and rows["sms gateway"].last_used_at is None
        week = rows["sms gateway"].expires_at - datetime.now(UTC)
        assert timedelta(days=6, hours=23) < week <= timedelta(days=7)
        end = date.today() + timedelta(days=31)
        assert rows["dashboard"].expires_at == datetime(end.year, end.month, end.day, tzinfo=UTC)
    issue(client, name="forever")
    page = client.get("/account/tokens").get_data(as_text=True)

    def row(name: str) -> str:
        return re.search(rf"<tr><td>{name}</td>.*?</tr>", page, re.S).group(0)

    assert "<td>read</td>" in row("dashboard") and "never" not in row("dashboard") and "Revoke" in row("dashboard")
    assert "<td>submit</td>" in row("sms gateway")
    assert "<td>full</td>" in row("forever") and "<td>never</td>" in row("forever")


def test_an_expired_token_is_listed_as_expired(app, client, owner):
    issue(client, name="old", expires_days="1")
    with app.app_context():
        db.session.scalar(select(ApiToken)).expires_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
    row = re.search(r"<tr><td>old</td>.*?</tr>", client.get("/account/tokens").get_data(as_text=True), re.S).group(0)
    assert "expired" in row and "Revoke" not in row


@pytest.mark.parametrize(
    "form, field, message",
    [
        ({"scope": "admin"}, "scope", "Unknown scope"),
        ({"expires_days": "0"}, "expires_days", "from 1 to 3650 days"),
        ({"expires_days": "3651"}, "expires_days", "from 1 to 3650 days"),
        ({"expires_days": "soon"}, "expires_days", "whole number"),
        ({"expires_days": "5", "expires_on": "2099-01-01"}, "expires_days", "not both"),
        ({"expires_on": "2020-01-01"}, "expires_on", "in the past"),
        ({"expires_on": "next week"}, "expires_on", "YYYY-MM-DD"),
    ],
)
def test_bad_token_settings_are_422_and_create_nothing(app, client, owner, form, field, message):
    response = client.post("/account/tokens", data={"name": "bad", **form})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text and f"({field})" in text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_expiry_from_days_or_a_date():
    today = date(2026, 3, 1)
    assert expiry("", "", today) is None
    assert expiry("", "2026-03-01", today) == datetime(2026, 3, 2, tzinfo=UTC)  # through the end of that day
    with pytest.raises(InvalidInput):
        expiry("", "2026-02-28", today)

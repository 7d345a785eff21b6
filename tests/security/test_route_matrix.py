"""Every route of the app, called by every role: the policy in tests/security/expectations.py.

The app is built as in production (the validation plugin loaded from its entry point, CSRF
on). Each role calls each row with a logged-in session (and the form's CSRF token) and with its
bearer token; GET rows are read as a browser (Accept: text/html) and as an API client (Accept:
application/json). Besides the matrix: every unsafe request riding on a session cookie without
the CSRF token is refused (400), and a bad bearer token is refused (401), never taken for an
anonymous caller. A rule of the URL map without a row fails `test_every_rule_has_a_row`.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from wiki import create_app
from wiki.extensions import db

from .conftest import ROLES, csrf_token_of
from .expectations import ROWS, UNSAFE, Row, rules_of

pytestmark = pytest.mark.security

CREDENTIALS = [("anonymous", "none")] + [(role, via) for role in ROLES[1:] for via in ("session", "token")]
JSON_TYPES = ("application/json", "application/geo+json")
# API reads whose answer depends on who asks (what reports they may see, their details).
CALLER_DEPENDENT_READS = frozenset(
    {
        "api.list_reports",
        "api.get_report",
        "api.search",
        "api.map_reports",
        "api.map_areas",
        "validation_api.related",
        "validation_truth.list_claims",
        "api.list_messages",
        "api.list_subscriptions",
        "api.get_subscription",
        "api.subscription_deliveries",
    }
)
# Unsafe routes that take no form token: their credential is a secret in their own URL and they
# use no session (RFC 8058's one-click unsubscribe, POSTed by mail clients on their own).
WITHOUT_CSRF_TOKEN = frozenset({"alerts.unsubscribe"})
# Logging in and out does not authenticate the caller: their rows are not about tokens.
NOT_AUTHENTICATED = frozenset({"auth.login", "auth.logout"})


@pytest.fixture(scope="module", autouse=True)
def count(figures: dict[str, int]):
    """count(kind): one more request of that kind checked (printed at the end of the run)."""
    figures["route matrix: (endpoint, method) pairs"] = len({(row.endpoint, row.method) for row in ROWS})
    figures["route matrix: rows"] = len(ROWS)

    def add(kind: str) -> None:
        key = f"route matrix: requests checked, {kind}"
        figures[key] = figures.get(key, 0) + 1

    return add


def call(client, row: Row, world, headers: dict, csrf: str | None, accept: str | None = None):
    url, kwargs = row.request(world)
    headers = {**kwargs.pop("headers", {}), **headers}  # the row's own (a gateway's secret), then the caller's
    if row.method in UNSAFE and csrf is not None:
        if row.is_api:
            headers["X-CSRFToken"] = csrf
        else:
            kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": csrf}
    if accept:
        headers["Accept"] = accept
    response = client.open(url, method=row.method, headers=headers, **kwargs)
    response.get_data()  # read streamed bodies (exports) to the end, as a client does
    response.close()
    return url, response


def verdict(row: Row, role: str, url: str, response, accept: str | None = None) -> str | None:
    """What is wrong with the response, or None."""
    status = response.status_code
    where = f"{row.name} as {role}{' (Accept: ' + accept + ')' if accept else ''} {url}: got {status}"
    if role in row.allowed:
        if not (200 <= status < 400 or status in row.ok):
            body = response.get_data(as_text=True)[:200].replace("\n", " ")
            return f"{where}, expected success (2xx/3xx) — {body}"
    elif status != row.refusal(role):
        return f"{where}, expected {row.refusal(role)}"
    if row.is_api and status != 204 and not response.mimetype.startswith(JSON_TYPES):
        return f"{where} as {response.mimetype}, expected JSON"
    return None


def test_every_rule_has_a_row(tmp_path):
    """Needs no database: only the URL map, with the plugins a deployment loads."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "INSTANCE_PATH": str(tmp_path),
            "LOAD_ENTRYPOINT_PLUGINS": True,
            "SECRET_KEY": "test",
        }
    )
    listed = {(row.endpoint, row.method) for row in ROWS}
    missing = sorted(rules_of(app) - listed)
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    assert not missing, "add a row to tests/security/expectations.py for: " + "; ".join(
        f"{method} {rules[endpoint]} (endpoint {endpoint})" for endpoint, method in missing
    )
    stale = sorted(listed - rules_of(app))
    assert not stale, f"rows in tests/security/expectations.py for routes that no longer exist: {stale}"


@pytest.mark.parametrize("role, via", CREDENTIALS, ids=[f"{r}-{v}" for r, v in CREDENTIALS])
def test_route_matrix(client_for, world_for, count, role, via):
    client, headers, csrf = client_for(role, via)
    world = world_for(f"{role}-{via}")
    wrong = []
    for row in sorted(ROWS, key=lambda row: row.last):
        accepts = ("text/html", "application/json") if row.method == "GET" else (None,)
        for accept in accepts:
            url, response = call(client, row, world, headers, csrf, accept)
            count("cells")
            if problem := verdict(row, role, url, response, accept):
                wrong.append(problem)
    assert not wrong, f"{role} via {via}:\n" + "\n".join(wrong)


def test_unsafe_requests_on_a_session_without_the_csrf_token_are_refused(client_for, world_for, count):
    """An administrator's session cookie (who may do everything) without the form's token:
    every unsafe route refuses with 400, forms and API alike, before doing anything."""
    client, headers, _csrf = client_for("admin", "session")
    world = world_for("admin-nocsrf")
    wrong = []
    for row in sorted(
        (row for row in ROWS if row.method in UNSAFE and row.csrf and row.endpoint not in WITHOUT_CSRF_TOKEN),
        key=lambda row: row.last,
    ):
        url, response = call(client, row, world, headers, csrf=None)
        count("without CSRF token")
        if response.status_code != 400:
            wrong.append(f"{row.name} {url}: got {response.status_code}, expected 400")
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="module")
def revoked_token(security_app: Flask, people) -> str:
    from wiki.models import ApiToken, User

    with security_app.app_context():
        token, plain = ApiToken.issue(db.session.get(User, people["coordinator"].id), "revoked")
        token.revoked = True
        db.session.commit()
    return plain


@pytest.mark.parametrize("kind", ["garbage", "revoked"])
def test_a_bad_bearer_token_is_refused_not_taken_for_anonymous(security_app, world_for, revoked_token, count, kind):
    """Every unsafe request, and every API read whose answer depends on the caller, with a wrong or
    revoked token: 401. (A script whose token was revoked must hear so, not have its reports
    filed as anonymous or get the public view of the data as if all were well.)"""
    client = security_app.test_client()
    csrf = csrf_token_of(client)  # so that forms reach the credential check
    headers = {"Authorization": f"Bearer {'garbage' if kind == 'garbage' else revoked_token}"}
    world = world_for(f"anonymous-{kind}")
    wrong = []
    rows = [
        row
        for row in ROWS
        if (row.method in UNSAFE or row.endpoint in CALLER_DEPENDENT_READS) and row.endpoint not in NOT_AUTHENTICATED
    ]
    for row in rows:
        url, response = call(client, row, world, headers, csrf)
        count(f"bad token ({kind})")
        if response.status_code != 401:
            wrong.append(f"{row.name} {url}: got {response.status_code}, expected 401")
    assert not wrong, f"{len(wrong)} requests with a {kind} bearer token were not refused:\n" + "\n".join(wrong)


def test_forbidden_writes_change_nothing(security_app, client_for, world_for):
    """A refused request leaves no trace: no page, no revision, no user, no crisis, no report, no layer."""
    from wiki.models import Crisis, Layer, Page, Report, Revision, User

    def counts() -> tuple[int, ...]:
        with security_app.app_context():
            return tuple(
                db.session.scalar(select(func.count()).select_from(model))
                for model in (Page, Revision, User, Crisis, Report, Layer)
            )

    client, headers, csrf = client_for("volunteer", "session")
    world = world_for("volunteer-refused")
    before = counts()
    for row in ROWS:
        if row.method in UNSAFE and "volunteer" not in row.allowed:
            url, response = call(client, row, world, headers, csrf)
            assert response.status_code == 403, (row.name, url, response.status_code)
    assert counts() == before
    with security_app.app_context():
        assert db.session.scalar(select(Page.deleted_at).where(Page.slug == world.pages["delete"])) is None
        assert not db.session.scalar(select(Page.protected).where(Page.slug == world.pages["protect"]))


def test_anonymous_editing_when_the_deployment_allows_it(security_app, world_for):
    """ANONYMOUS_EDIT opens creating and editing pages to everyone, and nothing else."""
    world = world_for("anonymous-editing")
    security_app.config["ANONYMOUS_EDIT"] = True
    try:
        anonymous = security_app.test_client()
        csrf = csrf_token_of(anonymous)
        opened = {
            "pages.new",
            "pages.edit",
            "pages.revert",
            "pages.rename",
            "api.put_page",
            "reports.submit",
            "api.create_report",
            "auth.login",
            "auth.logout",
        }
        for row in ROWS:
            if row.method in UNSAFE and row.endpoint not in opened and "anonymous" not in row.allowed:
                url, response = call(anonymous, row, world, {}, csrf)
                assert response.status_code == 401, (row.name, url, response.status_code)
        form = {"csrf_token": csrf}
        assert (
            anonymous.post(f"/c/{world.crisis}/new", data={"title": "Anonymous page", "body": "x", **form}).status_code
            == 302
        )
        edit = anonymous.post(
            f"/c/{world.crisis}/wiki/{world.pages['edit']}/edit",
            data={"body": "anon", "base_revision": world.revisions["edit"], **form},
        )
        assert edit.status_code == 302
        assert anonymous.put(f"/api/v1/pages/{world.crisis}/Anonymous_API", json={"body": "x"}).status_code == 201
        protected = anonymous.post(
            f"/c/{world.crisis}/wiki/{world.pages['protected']}/edit",
            data={"body": "anon", "base_revision": world.revisions["protected"], **form},
        )
        assert protected.status_code == 403
    finally:
        security_app.config["ANONYMOUS_EDIT"] = False

"""Who may do what: every write endpoint of the app, tried by every role.

The policy below is written out by hand from the table in wiki/auth/permissions.py (with the
default settings: ANONYMOUS_EDIT off; ANONYMOUS_SUBMIT on, so everyone may submit reports).
A forbidden request is 401 for an anonymous visitor and 403 for a logged-in user; an allowed
one is anything else (a redirect, 200, 201, or a validation error), and never a 404 or a 5xx
(which would mean the case was set up wrong and proves nothing).

A new write endpoint makes `test_every_write_endpoint_is_in_the_matrix` fail until it is added.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from wiki import create_app
from wiki.extensions import db
from wiki.models import ApiToken, Page, Report, User

from .conftest import PASSWORD

ROLES = ("anonymous", "volunteer", "verifier", "coordinator", "admin")
LOGGED_IN = frozenset(ROLES) - {"anonymous"}
EDITORS = frozenset({"coordinator", "admin"})
ADMIN = frozenset({"admin"})
STAFF = frozenset({"verifier", "coordinator", "admin"})  # may use two-factor authentication
EVERYONE = frozenset(ROLES)
SHIELDERS = frozenset({"verifier", "coordinator", "admin"})  # may withdraw a report to protect its reporters
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Anyone may try to log in (both steps) or out.
NOT_WRITES = {"auth.login", "auth.login_code", "auth.login_setup", "auth.logout"}


@dataclass
class World:
    """What the requests need, created once per test function."""

    crisis: str
    pages: dict[str, str] = field(default_factory=dict)  # purpose -> slug
    other_user_id: int = 0
    own_token_id: int | None = None
    someone_elses_token_id: int = 0
    reports: dict[str, int] = field(default_factory=dict)  # purpose -> report id
    layers: dict[str, int] = field(default_factory=dict)  # purpose -> layer id


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    allowed: frozenset[str]
    request: Callable[[World], tuple[str, dict[str, Any]]]  # -> (url, keyword arguments of client.open)
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.endpoint}{'-' + self.label if self.label else ''}"


def page_url(world: World, purpose: str, suffix: str = "") -> str:
    return f"/c/{world.crisis}/wiki/{world.pages[purpose]}{suffix}"


def revoke_url(world: World) -> str:
    token_id = world.own_token_id if world.own_token_id is not None else world.someone_elses_token_id
    return f"/account/tokens/{token_id}/revoke"


MATRIX_LAYER = '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]}}'
MATRIX_BOUNDARIES = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"adm1_pcode": "HT01", "adm1_name": "Ouest"}, '
                     '"geometry": {"type": "Polygon", "coordinates": [[[-74, 18], [-72, 18], [-72, 19], [-74, 19], [-74, 18]]]}}]}')

MATRIX: list[Case] = [
    # Accounts
    Case("auth.users", "POST", ADMIN,
         lambda w: ("/admin/users", {"data": {"username": "made-by-matrix", "password": "long enough pw", "role": "volunteer"}})),
    Case("auth.update_user", "POST", ADMIN,
         lambda w: (f"/admin/users/{w.other_user_id}", {"data": {"role": "verifier", "active": "1"}})),
    Case("auth.tokens", "POST", LOGGED_IN, lambda w: ("/account/tokens", {"data": {"name": "matrix"}})),
    Case("auth.revoke_token", "POST", LOGGED_IN, lambda w: (revoke_url(w), {})),
    Case("auth.account", "POST", LOGGED_IN,
         lambda w: ("/account", {"data": {"email": "matrix@example.org", "current_password": PASSWORD}})),
    Case("auth.change_password", "POST", LOGGED_IN,  # a wrong current password: 422, and the session lives on
         lambda w: ("/account/password", {"data": {"current_password": "not it", "password": "x", "confirmation": "x"}})),
    Case("auth.two_factor_settings", "POST", STAFF, lambda w: ("/account/two-factor", {"data": {"action": "start"}})),
    Case("auth.reset_two_factor", "POST", ADMIN, lambda w: (f"/admin/users/{w.other_user_id}/two-factor/reset", {})),
    Case("auth.forgot_password", "POST", EVERYONE, lambda w: ("/forgot-password", {"data": {"identifier": "nobody"}})),
    Case("auth.reset_password", "POST", EVERYONE,  # a forged link: 400 for everyone
         lambda w: ("/reset-password/forged", {"data": {"password": "long enough pw", "confirmation": "long enough pw"}})),
    # Crises
    Case("crises.new", "POST", EDITORS,
         lambda w: ("/crises/new", {"data": {"name": "Matrix flood", "slug": "matrix-flood", "start_date": "2024-05-01"}})),
    Case("crises.settings", "POST", EDITORS,
         lambda w: (f"/c/{w.crisis}/settings", {"data": {"name": "Renamed earthquake", "bbox": "-74.5,17.9,-71.6,20.1"}})),
    Case("api.create_crisis", "POST", EDITORS,
         lambda w: ("/api/v1/crises", {"json": {"name": "Matrix storm", "slug": "matrix-storm"}})),
    # Pages
    Case("pages.new", "POST", EDITORS,
         lambda w: (f"/c/{w.crisis}/new", {"data": {"title": "Made by the matrix", "body": "x"}})),
    Case("pages.edit", "POST", EDITORS,
         lambda w: (page_url(w, "edit", "/edit"), {"data": {"body": "edited", "base_revision": w.pages["edit_base"]}})),
    Case("pages.edit", "POST", EDITORS,
         lambda w: (page_url(w, "protected", "/edit"), {"data": {"body": "edited", "base_revision": w.pages["protected_base"]}}),
         label="protected"),
    Case("pages.revert", "POST", EDITORS, lambda w: (page_url(w, "revert", "/revert/1"), {})),
    Case("pages.rename", "POST", EDITORS, lambda w: (page_url(w, "rename", "/rename"), {"data": {"title": "Renamed by matrix"}})),
    Case("pages.delete", "POST", EDITORS, lambda w: (page_url(w, "delete", "/delete"), {})),
    Case("pages.restore", "POST", ADMIN, lambda w: (page_url(w, "restore", "/restore"), {})),
    Case("pages.protect", "POST", EDITORS, lambda w: (page_url(w, "protect", "/protect"), {"data": {"protected": "1"}})),
    Case("pages.watch", "POST", LOGGED_IN, lambda w: (page_url(w, "watch", "/watch"), {"data": {"watch": "1"}})),
    Case("api.put_page", "PUT", EDITORS,
         lambda w: (f"/api/v1/pages/{w.crisis}/Created_through_the_API", {"json": {"body": "x"}}), label="create"),
    Case("api.put_page", "PUT", EDITORS,
         lambda w: (f"/api/v1/pages/{w.crisis}/{w.pages['api']}", {"json": {"body": "edited", "base_revision": w.pages["api_base"]}}),
         label="edit"),
    # Field reports
    Case("reports.submit", "POST", EVERYONE,
         lambda w: (f"/c/{w.crisis}/report", {"data": {"title": "Road blocked", "lat": "18.5", "lon": "-72.3", "sector": "logistics"}})),
    Case("api.create_report", "POST", EVERYONE,
         lambda w: ("/api/v1/reports", {"json": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]},
                                                 "properties": {"title": "Well dry", "crisis": w.crisis}}})),
    Case("reports.edit", "POST", EDITORS,
         lambda w: (f"/reports/{w.reports['edit']}/edit", {"data": {"status": "under_review"}})),
    Case("reports.merge", "POST", EDITORS,
         lambda w: (f"/reports/{w.reports['duplicate']}/merge", {"data": {"duplicate_of": str(w.reports['original'])}})),
    Case("api.patch_report", "PATCH", EDITORS,
         lambda w: (f"/api/v1/reports/{w.reports['edit']}", {"json": {"status": "verified"}})),
    Case("reports.withdraw", "POST", SHIELDERS,
         lambda w: (f"/reports/{w.reports['withdraw']}/withdraw", {"data": {"reason": "protect the family"}})),
    Case("api.withdraw", "POST", SHIELDERS,
         lambda w: (f"/api/v1/reports/{w.reports['withdraw']}/withdraw", {"json": {"reason": "protect the family"}})),
    Case("reports.republish", "POST", EDITORS,
         lambda w: (f"/reports/{w.reports['republish']}/republish", {"data": {"reason": "family moved away"}})),
    Case("api.republish", "POST", EDITORS,
         lambda w: (f"/api/v1/reports/{w.reports['republish']}/republish", {"json": {"reason": "family moved away"}})),
    Case("exports.import_page", "POST", EDITORS,
         lambda w: (f"/c/{w.crisis}/reports/import", {"data": {"step": "upload", "file": (io.BytesIO(b"title,lat,lon\nA,18.5,-72.3\n"), "m.csv")},
                                                      "content_type": "multipart/form-data"})),
    # Maps: layers and admin boundaries
    Case("maps.new_layer", "POST", EDITORS,
         lambda w: (f"/c/{w.crisis}/layers/new", {"data": {"title": "Matrix layer", "geojson": MATRIX_LAYER}})),
    Case("maps.edit_layer", "POST", EDITORS,
         lambda w: (f"/c/{w.crisis}/layers/{w.layers['edit']}/edit", {"data": {"title": "Edited by the matrix"}})),
    Case("maps.revert_layer", "POST", EDITORS, lambda w: (f"/c/{w.crisis}/layers/{w.layers['revert']}/revert/1", {})),
    Case("maps.delete_layer", "POST", EDITORS, lambda w: (f"/c/{w.crisis}/layers/{w.layers['delete']}/delete", {})),
    Case("maps.boundaries", "POST", EDITORS,
         lambda w: (f"/c/{w.crisis}/boundaries", {"data": {"level": "1", "file": (io.BytesIO(MATRIX_BOUNDARIES.encode()), "adm1.geojson")},
                                                  "content_type": "multipart/form-data"})),
    Case("api.create_layer", "POST", EDITORS,
         lambda w: ("/api/v1/layers", {"json": {"title": "Matrix layer", "crisis": w.crisis, "geojson": MATRIX_LAYER}})),
    Case("api.put_layer", "PUT", EDITORS, lambda w: (f"/api/v1/layers/{w.layers['api']}", {"json": {"title": "Edited by the matrix"}})),
    Case("api.revert_layer", "POST", EDITORS, lambda w: (f"/api/v1/layers/{w.layers['api_revert']}/revert", {"json": {"revision": 1}})),
    Case("api.delete_layer", "DELETE", EDITORS, lambda w: (f"/api/v1/layers/{w.layers['api_delete']}", {})),
    # Media
    Case("media.attachments", "POST", EDITORS,
         lambda w: (f"/c/{w.crisis}/attachments", {"data": {"file": (io.BytesIO(b"road status: open\n"), "notes.txt")},
                                                   "content_type": "multipart/form-data"})),
]


def write_rules(app: Flask) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods & UNSAFE
            if rule.endpoint not in NOT_WRITES}


def test_every_write_endpoint_is_in_the_matrix(tmp_path):
    """Needs no database: only the URL map. (Plugins are off, as in the matrix test; a plugin's
    endpoints belong in that plugin's own permission tests.)"""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": str(tmp_path),
                      "LOAD_ENTRYPOINT_PLUGINS": False, "SECRET_KEY": "test"})
    listed = {(case.endpoint, case.method) for case in MATRIX}
    missing = write_rules(app) - listed
    assert not missing, f"write endpoints without a row in the permission matrix: {sorted(missing)}"
    stale = listed - write_rules(app)
    assert not stale, f"rows in the permission matrix for endpoints that no longer exist: {sorted(stale)}"


def _make_page(app: Flask, crisis_slug: str, author_id: int, title: str, *, edits: int = 0,
               protected: bool = False, deleted: bool = False) -> tuple[str, int]:
    """A page with 1 + `edits` revisions; returns (slug, current revision id)."""
    from wiki.crises.services import get_crisis_or_404
    from wiki.pages import revisions as service

    with app.test_request_context():
        author = db.session.get(User, author_id)
        crisis = get_crisis_or_404(crisis_slug)
        revision = service.create_page(crisis, title, "version 1", author)
        page = revision.page
        for n in range(edits):
            revision = service.save_revision(page, f"version {n + 2}", revision.id, author).revision
        if protected:
            service.set_protected(page, True, author)
        if deleted:
            service.delete_page(page, author)
        page = db.session.scalar(select(Page).where(Page.id == page.id))
        return page.slug, revision.id


def build_world(app: Flask, crisis: str, make_user, me) -> World:
    admin = make_user("admin")
    world = World(crisis=crisis)
    for purpose, options in {
        "edit": {}, "protected": {"protected": True}, "revert": {"edits": 1}, "rename": {}, "delete": {},
        "restore": {"deleted": True}, "protect": {}, "watch": {}, "api": {},
    }.items():
        slug, current = _make_page(app, crisis, admin.id, f"Target for {purpose}", **options)
        world.pages[purpose] = slug
        world.pages[f"{purpose}_base"] = current
    world.other_user_id = make_user("volunteer").id
    with app.test_request_context():
        from wiki.reports.submission import submit_report
        from wiki.reports.validation import report_input_from_feature

        for purpose in ("edit", "duplicate", "original", "withdraw", "republish"):
            given = report_input_from_feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]},
                                               "properties": {"title": f"Report to {purpose}", "crisis": crisis}})
            world.reports[purpose] = submit_report(given, db.session.get(User, admin.id)).report.id
        from wiki.reports.triage import withdraw_report

        withdraw_report(db.session.get(Report, world.reports["republish"]), db.session.get(User, admin.id), "to republish")
        from wiki.crises.services import get_crisis_or_404
        from wiki.maps.layers import create_layer

        for purpose in ("edit", "revert", "delete", "api", "api_revert", "api_delete"):
            layer = create_layer(get_crisis_or_404(crisis), {"title": f"Layer to {purpose}"}, MATRIX_LAYER, db.session.get(User, admin.id))
            world.layers[purpose] = layer.id
    with app.app_context():
        token, _ = ApiToken.issue(db.session.get(User, admin.id), "someone else's")
        db.session.commit()
        world.someone_elses_token_id = token.id
        if me is not None:
            token, _ = ApiToken.issue(db.session.get(User, me.id), "mine, to revoke")
            db.session.commit()
            world.own_token_id = token.id
    return world


CREDENTIALS = [("anonymous", "none")] + [(role, via) for role in ROLES[1:] for via in ("session", "token")]


@pytest.mark.parametrize("role, via", CREDENTIALS, ids=[f"{r}-{v}" for r, v in CREDENTIALS])
def test_permission_matrix(app, client, crisis, make_user, login, token_for, role, via):
    me = None if role == "anonymous" else make_user(role)
    world = build_world(app, crisis, make_user, me)
    headers = {}
    if via == "session":
        login(me)
    elif via == "token":
        headers["Authorization"] = f"Bearer {token_for(me)}"

    wrong = []
    for case in MATRIX:
        url, kwargs = case.request(world)
        response = client.open(url, method=case.method, headers=headers, **kwargs)
        status = response.status_code
        if role in case.allowed:
            ok = status not in (401, 403, 404, 405) and status < 500
            expected = "allowed (not 401/403/404/405/5xx)"
        else:
            expected = 401 if role == "anonymous" else 403
            ok = status == expected
        if not ok:
            wrong.append(f"{case.method} {case.name} ({url}): got {status}, expected {expected}")
    assert not wrong, f"{role} via {via}:\n" + "\n".join(wrong)


def test_forbidden_writes_change_nothing(app, client, crisis, make_user, login):
    """A refused request leaves no trace: no page, no revision, no user, no crisis."""
    from sqlalchemy import func

    from wiki.models import Crisis, Revision

    def counts() -> tuple[int, ...]:
        with app.app_context():
            return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in (Page, Revision, User, Crisis))

    me = make_user("volunteer")
    world = build_world(app, crisis, make_user, me)
    login(me)
    before = counts()
    for case in MATRIX:
        if "volunteer" not in case.allowed:
            url, kwargs = case.request(world)
            assert client.open(url, method=case.method, **kwargs).status_code == 403, case.name
    assert counts() == before
    with app.app_context():
        page = db.session.scalar(select(Page).where(Page.slug == world.pages["delete"]))
        assert page.deleted_at is None and not db.session.scalar(select(Page).where(Page.slug == world.pages["protect"])).protected


def test_anonymous_editing_when_the_deployment_allows_it(app_config, crisis, make_user, app):
    """ANONYMOUS_EDIT opens creating and editing pages to everyone, and nothing else."""
    app.config["ANONYMOUS_EDIT"] = True
    world = build_world(app, crisis, make_user, None)
    anonymous = app.test_client()
    assert anonymous.post(f"/c/{crisis}/new", data={"title": "Anonymous page", "body": "x"}).status_code == 302
    edit = anonymous.post(page_url(world, "edit", "/edit"), data={"body": "anon", "base_revision": world.pages["edit_base"]})
    assert edit.status_code == 302
    assert anonymous.put(f"/api/v1/pages/{crisis}/Anonymous_API", json={"body": "x"}).status_code == 201
    protected = anonymous.post(page_url(world, "protected", "/edit"),
                               data={"body": "anon", "base_revision": world.pages["protected_base"]})
    assert protected.status_code == 403
    for case in MATRIX:
        if case.endpoint in {"pages.new", "pages.edit", "pages.revert", "pages.rename", "api.put_page",
                             "reports.submit", "api.create_report"} or "anonymous" in case.allowed:
            continue
        url, kwargs = case.request(world)
        assert anonymous.open(url, method=case.method, **kwargs).status_code == 401, case.name

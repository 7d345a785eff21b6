"""Who may call each route of the app, and how to make a real request to it.

One row per (endpoint, method) of the URL map, with the validation plugin loaded as in
production (a few endpoints have a second, labelled row: a protected page, an unpublished report).
`allowed` lists the roles that may call it; every other caller is refused with 401 (anonymous)
or 403 (logged in), or with 404 where `hidden` is set: the object must not even be revealed to
them. An allowed call must succeed (2xx or 3xx, or a status listed in `ok`): a 404 or a 422 from
a wrongly built request fails the row instead of passing for a permission check.

The policy is the table in wiki/auth/permissions.py with the default settings (ANONYMOUS_EDIT
off; ANONYMOUS_SUBMIT on, so everyone may submit reports). `request(world)` returns
(url, keyword arguments of the test client's `open`); the world (tests/security/conftest.py)
holds the lane's own crisis, pages, reports, layers, photos, tokens...
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ANONYMOUS = "anonymous"
EVERYONE = frozenset({"anonymous", "volunteer", "verifier", "coordinator", "admin"})
LOGGED_IN = EVERYONE - {ANONYMOUS}
EDITORS = frozenset({"coordinator", "admin"})
ADMIN = frozenset({"admin"})
ASSESSORS = frozenset({"verifier", "admin"})  # assess_report
RECORD_READERS = frozenset({"verifier", "admin"})  # view_source_record
CLAIMERS = frozenset({"verifier", "coordinator", "admin"})  # assess_report or triage_report
PRIVILEGED = frozenset({"verifier", "coordinator", "admin"})  # view_contacts, view_unpublished
STAFF = frozenset({"verifier", "coordinator", "admin"})  # may use two-factor authentication
SHIELDERS = frozenset({"verifier", "coordinator", "admin"})  # withdraw_report (republish_report: EDITORS)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
INBOX_READERS = frozenset({"verifier", "coordinator", "admin"})  # read_inbox
SOURCE_LINKERS = frozenset({"verifier", "coordinator", "admin"})  # link_source (handle_messages: EDITORS)
DISCUSSERS = frozenset({"verifier", "coordinator", "admin"})  # assess_report or triage_report: notes, notices
MERGERS = frozenset({"verifier", "coordinator", "admin"})  # merge_reports
DASHBOARD = frozenset({"verifier", "coordinator", "admin"})  # view_dashboard
# Routes this table does not cover: static files are not the app's (WhiteNoise serves them in production).
NOT_ROUTES = frozenset({"static", "validation.static"})

Request = Callable[[Any], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    allowed: frozenset[str]
    request: Request
    label: str = ""
    hidden: bool = False  # forbidden callers get 404 (the object is not revealed to them)
    ok: frozenset[int] = frozenset()  # statuses besides 2xx/3xx an allowed call may get
    last: bool = False  # changes who the client is (log in, log out): run after the lane's other rows
    # Authenticated by a gateway's secret, not a session (wiki/channels): no CSRF token to check.
    csrf: bool = True

    @property
    def name(self) -> str:
        return f"{self.method} {self.endpoint}{' (' + self.label + ')' if self.label else ''}"

    def refusal(self, role: str) -> int:
        if self.hidden:
            return 404
        return 401 if role == ANONYMOUS else 403

    @property
    def is_api(self) -> bool:
        return self.endpoint.split(".")[0] in {"api", "validation_api", "validation_truth", "channels", "ogc"}


def c(w, suffix: str = "") -> str:
    return f"/c/{w.crisis}{suffix}"


def page(w, purpose: str, suffix: str = "") -> str:
    return f"/c/{w.crisis}/wiki/{w.pages[purpose]}{suffix}"


def upload(name: str, content: bytes) -> tuple[io.BytesIO, str]:
    return io.BytesIO(content), name


def multipart(**data) -> dict[str, Any]:
    return {"data": data, "content_type": "multipart/form-data"}


def feature(w, title: str, **properties) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]},
        "properties": {"title": title, "crisis": w.crisis, **properties},
    }


LAYER = '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]}}'
BOUNDARIES = (
    b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"adm1_pcode": "HT02", '
    b'"adm1_name": "Nord"}, "geometry": {"type": "Polygon", "coordinates": [[[-74, 19], [-72, 19], [-72, 20], '
    b"[-74, 20], [-74, 19]]]}}]}"
)
GRADE = {"reliability": "B", "credibility": "2", "note": "seen on site"}


def gateway_message(w) -> dict[str, Any]:
    """The generic webhook's request, as a gateway sends it (its secret in X-Crisiswiki-Secret)."""
    return {
        "data": json.dumps({"id": f"matrix-{w.crisis}", "from": "+50937000100", "text": "Kafou: water"}),
        "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": "matrix-webhook-secret"},
    }


def odk(w, suffix: str) -> str:
    return f"/openrosa/{w.crisis}{suffix}"


def odk_submission(w) -> dict[str, Any]:
    """A filled-in form as ODK Collect sends it (wiki/openrosa), a new instance id each call."""
    xml = (
        f'<data id="crisiswiki-{w.crisis}-report" version="1"><title>From Collect</title>'
        f"<location>18.54 -72.34 0 5</location><meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    ).encode()
    return {
        "data": {"xml_submission_file": (io.BytesIO(xml), "instance.xml", "text/xml")},
        "content_type": "multipart/form-data",
        "headers": {"X-OpenRosa-Version": "1.0"},
    }


def m(w, purpose: str, suffix: str = "") -> str:
    return f"/messages/{w.messages[purpose]}{suffix}"


ROWS: list[Row] = [
    # --- Reading: pages, crises, changes -------------------------------------------------------
    Row("pages.home", "GET", EVERYONE, lambda w: ("/", {})),
    Row("pages.recent", "GET", EVERYONE, lambda w: ("/recent", {})),
    Row("pages.recent_atom", "GET", EVERYONE, lambda w: ("/recent.atom", {})),
    Row("pages.watchlist", "GET", LOGGED_IN, lambda w: ("/watchlist", {})),
    Row("crises.home", "GET", EVERYONE, lambda w: (c(w, "/"), {})),
    Row("pages.crisis_recent", "GET", EVERYONE, lambda w: (c(w, "/recent"), {})),
    Row("pages.crisis_recent_atom", "GET", EVERYONE, lambda w: (c(w, "/recent.atom"), {})),
    Row("pages.index", "GET", EVERYONE, lambda w: (c(w, "/pages"), {})),
    Row("pages.category", "GET", EVERYONE, lambda w: (c(w, f"/category/{w.category}"), {})),
    Row("pages.go", "GET", EVERYONE, lambda w: (c(w, "/go?title=Target for view"), {})),
    Row("pages.view", "GET", EVERYONE, lambda w: (page(w, "view"), {})),
    Row("pages.view", "GET", ADMIN, lambda w: (page(w, "restore"), {}), label="deleted", hidden=True),
    Row("pages.revision", "GET", EVERYONE, lambda w: (page(w, "revert", "/revisions/1"), {})),
    Row("pages.history", "GET", EVERYONE, lambda w: (page(w, "revert", "/history"), {})),
    Row("pages.diff", "GET", EVERYONE, lambda w: (page(w, "revert", "/diff?from=1&to=2"), {})),
    Row("i18n.choose_language", "GET", EVERYONE, lambda w: ("/language/fr?next=/recent", {})),
    Row("search.search_page", "GET", EVERYONE, lambda w: ("/search?q=report", {})),
    # --- Accounts ------------------------------------------------------------------------------
    Row("auth.login", "GET", EVERYONE, lambda w: ("/login", {})),
    Row(
        "auth.login",
        "POST",
        EVERYONE,
        lambda w: ("/login", {"data": {"username": "sec-other", "password": "correct horse battery"}}),
        last=True,
    ),
    Row("auth.logout", "POST", EVERYONE, lambda w: ("/logout", {}), last=True),
    # The second login step, with no first step done: a GET is sent back to the login form, a POST refused (401).
    Row("auth.login_code", "GET", EVERYONE, lambda w: ("/login/two-factor", {})),
    Row(
        "auth.login_code",
        "POST",
        EVERYONE,
        lambda w: ("/login/two-factor", {"data": {"code": "123456"}}),
        ok=frozenset({401}),
    ),
    Row("auth.login_setup", "GET", EVERYONE, lambda w: ("/login/two-factor/setup", {})),
    Row(
        "auth.login_setup",
        "POST",
        EVERYONE,
        lambda w: ("/login/two-factor/setup", {"data": {"code": "123456"}}),
        ok=frozenset({401}),
    ),
    Row("auth.forgot_password", "GET", EVERYONE, lambda w: ("/forgot-password", {})),
    Row("auth.forgot_password", "POST", EVERYONE, lambda w: ("/forgot-password", {"data": {"identifier": "nobody"}})),
    # A forged link: 400 for everyone.
    Row("auth.reset_password", "GET", EVERYONE, lambda w: ("/reset-password/forged", {}), ok=frozenset({400})),
    Row(
        "auth.reset_password",
        "POST",
        EVERYONE,
        lambda w: (
            "/reset-password/forged",
            {"data": {"password": "long enough pw", "confirmation": "long enough pw"}},
        ),
        ok=frozenset({400}),
    ),
    Row("auth.account", "GET", LOGGED_IN, lambda w: ("/account", {})),
    Row(
        "auth.account",
        "POST",
        LOGGED_IN,
        lambda w: ("/account", {"data": {"email": "matrix@example.org", "current_password": "correct horse battery"}}),
    ),
    Row("auth.change_password", "GET", LOGGED_IN, lambda w: ("/account/password", {})),
    # A wrong current password: 422, and the session lives on.
    Row(
        "auth.change_password",
        "POST",
        LOGGED_IN,
        lambda w: ("/account/password", {"data": {"current_password": "not it", "password": "x", "confirmation": "x"}}),
        ok=frozenset({422}),
    ),
    Row("auth.two_factor_settings", "GET", STAFF, lambda w: ("/account/two-factor", {})),
    Row("auth.two_factor_settings", "POST", STAFF, lambda w: ("/account/two-factor", {"data": {"action": "start"}})),
    Row("auth.reset_two_factor", "POST", ADMIN, lambda w: (f"/admin/users/{w.other_user_id}/two-factor/reset", {})),
    Row("mail.outbox", "GET", ADMIN, lambda w: ("/admin/mail", {})),
    Row("auth.users", "GET", ADMIN, lambda w: ("/admin/users", {})),
    Row("contact_log.contacts_seen", "GET", ADMIN, lambda w: ("/admin/contacts-seen", {})),
    Row(
        "auth.users",
        "POST",
        ADMIN,
        lambda w: (
            "/admin/users",
            {"data": {"username": f"made-in-{w.crisis}", "password": "long enough pw", "role": "volunteer"}},
        ),
    ),
    Row(
        "auth.update_user",
        "POST",
        ADMIN,
        lambda w: (f"/admin/users/{w.other_user_id}", {"data": {"role": "volunteer", "active": "1"}}),
    ),
    Row("auth.tokens", "GET", LOGGED_IN, lambda w: ("/account/tokens", {})),
    Row("auth.tokens", "POST", LOGGED_IN, lambda w: ("/account/tokens", {"data": {"name": "matrix"}})),
    # Anonymous callers are refused before the token is looked up; the others revoke their own.
    Row("auth.revoke_token", "POST", LOGGED_IN, lambda w: (f"/account/tokens/{w.own_token_id}/revoke", {})),
    # --- Alerts: the lane's own subscriptions, a crisis's public form, links from mails -----------
    Row("alerts.account_alerts", "GET", LOGGED_IN, lambda w: ("/account/alerts", {})),
    Row("alerts.new_subscription", "GET", LOGGED_IN, lambda w: ("/account/alerts/new", {})),
    Row(
        "alerts.new_subscription",
        "POST",
        LOGGED_IN,
        lambda w: ("/account/alerts/new", {"data": {"crisis": w.crisis, "channel": "feed", "area_type": "none"}}),
    ),
    Row("alerts.subscription_page", "GET", LOGGED_IN, lambda w: (f"/account/alerts/{w.subscriptions['own']}", {})),
    Row(
        "alerts.subscription_page",
        "POST",
        LOGGED_IN,
        lambda w: (f"/account/alerts/{w.subscriptions['own']}", {"data": {"action": "pause"}}),
    ),
    Row("alerts.crisis_alerts", "GET", EVERYONE, lambda w: (c(w, "/alerts"), {})),
    Row(
        "alerts.crisis_alerts",
        "POST",
        EVERYONE,
        lambda w: (c(w, "/alerts"), {"data": {"address": "matrix@example.org", "area_type": "none"}}),
    ),
    Row("alerts.crisis_subscriptions", "GET", ADMIN, lambda w: (c(w, "/alerts/all"), {})),
    # Links from mails: whoever holds one may use it (the secret in it is the credential).
    Row("alerts.confirm", "GET", EVERYONE, lambda w: (f"/alerts/confirm/{w.alert_links['confirm']}", {})),
    Row("alerts.confirm", "POST", EVERYONE, lambda w: (f"/alerts/confirm/{w.alert_links['confirm']}", {})),
    Row("alerts.unsubscribe", "GET", EVERYONE, lambda w: (f"/alerts/unsubscribe/{w.alert_links['unsubscribe']}", {})),
    Row(
        "alerts.unsubscribe",
        "POST",
        EVERYONE,
        lambda w: (f"/alerts/unsubscribe/{w.alert_links['unsubscribe']}", {}),
        last=True,  # gone afterwards (the GET row finds it first)
    ),
    Row("alerts.feed", "GET", EVERYONE, lambda w: (f"/alerts/feed/{w.alert_links['feed']}.atom", {})),
    # --- Crises --------------------------------------------------------------------------------
    Row("crises.new", "GET", EDITORS, lambda w: ("/crises/new", {})),
    Row(
        "crises.new",
        "POST",
        EDITORS,
        lambda w: (
            "/crises/new",
            {"data": {"name": "Matrix flood", "slug": f"{w.crisis}-flood", "start_date": "2024-05-01"}},
        ),
    ),
    Row("crises.settings", "GET", EDITORS, lambda w: (c(w, "/settings"), {})),
    Row(
        "crises.settings",
        "POST",
        EDITORS,
        lambda w: (c(w, "/settings"), {"data": {"name": f"Renamed {w.crisis}", "bbox": "-74.5,17.9,-71.6,20.1"}}),
    ),
    # --- Pages ---------------------------------------------------------------------------------
    Row("pages.new", "GET", EDITORS, lambda w: (c(w, "/new"), {})),
    Row("pages.new", "POST", EDITORS, lambda w: (c(w, "/new"), {"data": {"title": "Made by the matrix", "body": "x"}})),
    Row("pages.new_sitrep", "GET", EDITORS, lambda w: (c(w, "/new-sitrep"), {})),
    Row("pages.edit", "GET", EDITORS, lambda w: (page(w, "edit", "/edit"), {})),
    Row(
        "pages.edit",
        "POST",
        EDITORS,
        lambda w: (page(w, "edit", "/edit"), {"data": {"body": "edited", "base_revision": w.revisions["edit"]}}),
    ),
    Row(
        "pages.edit",
        "POST",
        EDITORS,
        lambda w: (
            page(w, "protected", "/edit"),
            {"data": {"body": "edited", "base_revision": w.revisions["protected"]}},
        ),
        label="protected",
    ),
    Row("pages.revert", "POST", EDITORS, lambda w: (page(w, "revert", "/revert/1"), {})),
    Row("pages.rename", "GET", EDITORS, lambda w: (page(w, "rename", "/rename"), {})),
    Row(
        "pages.rename",
        "POST",
        EDITORS,
        lambda w: (page(w, "rename", "/rename"), {"data": {"title": "Renamed by the matrix"}}),
    ),
    Row("pages.delete", "POST", EDITORS, lambda w: (page(w, "delete", "/delete"), {})),
    Row("pages.restore", "POST", ADMIN, lambda w: (page(w, "restore", "/restore"), {})),
    Row("pages.protect", "POST", EDITORS, lambda w: (page(w, "protect", "/protect"), {"data": {"protected": "1"}})),
    Row("pages.watch", "POST", LOGGED_IN, lambda w: (page(w, "watch", "/watch"), {"data": {"watch": "1"}})),
    # --- Media ---------------------------------------------------------------------------------
    Row("media.attachments", "GET", EVERYONE, lambda w: (c(w, "/attachments"), {})),
    Row(
        "media.attachments",
        "POST",
        EDITORS,
        lambda w: (c(w, "/attachments"), multipart(file=upload("road.txt", b"road status: open\n"))),
    ),
    Row("media.serve", "GET", EVERYONE, lambda w: (f"/media/{w.attachment[0]}/{w.attachment[1]}", {})),
    # --- Field reports -------------------------------------------------------------------------
    Row("reports.submit", "GET", EVERYONE, lambda w: (c(w, "/report"), {})),
    Row(
        "reports.submit",
        "POST",
        EVERYONE,
        lambda w: (
            c(w, "/report"),
            {"data": {"title": "Road blocked", "lat": "18.5", "lon": "-72.3", "sector": "logistics"}},
        ),
    ),
    Row("reports.thanks", "GET", EVERYONE, lambda w: (f"/reports/{w.reports['view']}/thanks", {})),
    # --- The offline report app (wiki/offline): public shells and lists, nothing about anyone ---
    Row("offline.service_worker", "GET", EVERYONE, lambda w: ("/sw.js?release=test", {})),
    Row("offline.manifest", "GET", EVERYONE, lambda w: (c(w, "/manifest.webmanifest"), {})),
    Row("offline.precache", "GET", EVERYONE, lambda w: (c(w, "/offline.json"), {})),
    Row("offline.sent", "GET", EVERYONE, lambda w: ("/sent", {})),
    Row("offline.csrf_token", "GET", EVERYONE, lambda w: ("/csrf-token", {})),
    Row("reports.submit", "GET", EVERYONE, lambda w: (c(w, "/report?shell=1"), {}), label="offline shell"),
    Row("reports.index", "GET", EVERYONE, lambda w: (c(w, "/reports"), {})),
    Row("reports.verified_atom", "GET", EVERYONE, lambda w: (c(w, "/reports/verified.atom"), {})),
    Row("reports.view", "GET", EVERYONE, lambda w: (f"/reports/{w.reports['sensitive']}", {})),
    Row(
        "reports.view",
        "GET",
        PRIVILEGED,
        lambda w: (f"/reports/{w.reports['unpublished']}", {}),
        label="unpublished",
        hidden=True,
    ),
    Row("reports.photo", "GET", EVERYONE, lambda w: (f"/reports/photos/{w.photos['public']}/thumb", {})),
    Row(
        "reports.photo",
        "GET",
        PRIVILEGED,
        lambda w: (f"/reports/photos/{w.photos['sensitive']}/display", {}),
        label="sensitive",
        hidden=True,
    ),
    Row(
        "reports.edit",
        "POST",
        EDITORS,
        lambda w: (f"/reports/{w.reports['edit']}/edit", {"data": {"status": "under_review"}}),
    ),
    Row(
        "reports.merge",
        "POST",
        MERGERS,
        lambda w: (f"/reports/{w.reports['duplicate']}/merge", {"data": {"duplicate_of": str(w.reports["original"])}}),
    ),
    Row(
        "reports.withdraw",
        "POST",
        SHIELDERS,
        lambda w: (f"/reports/{w.reports['withdraw']}/withdraw", {"data": {"reason": "shield"}}),
    ),
    Row(
        "reports.republish",
        "POST",
        EDITORS,
        lambda w: (f"/reports/{w.reports['republish']}/republish", {"data": {"reason": "safe now"}}),
    ),
    Row("exports.csv_export", "GET", EVERYONE, lambda w: (c(w, "/reports.csv"), {})),
    Row("exports.geojson", "GET", EVERYONE, lambda w: (c(w, "/reports.geojson"), {})),
    Row("imports.import_page", "GET", EDITORS, lambda w: (c(w, "/reports/import"), {})),
    Row(
        "imports.import_page",
        "POST",
        EDITORS,
        lambda w: (
            c(w, "/reports/import"),
            multipart(step="upload", file=upload("m.csv", b"title,lat,lon\nA,18.5,-72.3\n")),
        ),
    ),
    Row("imports.progress", "GET", EDITORS, lambda w: (c(w, f"/reports/import/jobs/{w.import_job}"), {})),
    Row("imports.progress_json", "GET", EDITORS, lambda w: (c(w, f"/reports/import/jobs/{w.import_job}.json"), {})),
    # --- HDX: a coordinator publishes the crisis (no CKAN site is set up here: 409 says so) -------
    Row("hdx.publish_page", "GET", EDITORS, lambda w: (c(w, "/hdx"), {})),
    Row(
        "hdx.publish_page",
        "POST",
        EDITORS,
        lambda w: (c(w, "/hdx"), {"data": {"countries": "HTI"}}),
        ok=frozenset({409}),
    ),
    # --- Maps: layers and admin boundaries -----------------------------------------------------
    Row("maps.crisis_map", "GET", EVERYONE, lambda w: (c(w, "/map"), {})),
    Row("maps.layers", "GET", EVERYONE, lambda w: (c(w, "/layers"), {})),
    Row("maps.layers_atom", "GET", EVERYONE, lambda w: (c(w, "/layers.atom"), {})),
    Row("maps.layer", "GET", EVERYONE, lambda w: (c(w, f"/layers/{w.layers['view']}"), {})),
    Row("maps.layer_history", "GET", EVERYONE, lambda w: (c(w, f"/layers/{w.layers['view']}/history"), {})),
    Row("maps.new_layer", "GET", EDITORS, lambda w: (c(w, "/layers/new"), {})),
    Row(
        "maps.new_layer",
        "POST",
        EDITORS,
        lambda w: (c(w, "/layers/new"), {"data": {"title": "Matrix layer", "geojson": LAYER}}),
    ),
    Row("maps.edit_layer", "GET", EDITORS, lambda w: (c(w, f"/layers/{w.layers['edit']}/edit"), {})),
    Row(
        "maps.edit_layer",
        "POST",
        EDITORS,
        lambda w: (c(w, f"/layers/{w.layers['edit']}/edit"), {"data": {"title": "Edited by the matrix"}}),
    ),
    Row("maps.revert_layer", "POST", EDITORS, lambda w: (c(w, f"/layers/{w.layers['revert']}/revert/1"), {})),
    Row("maps.delete_layer", "POST", EDITORS, lambda w: (c(w, f"/layers/{w.layers['delete']}/delete"), {})),
    Row("maps.boundaries", "GET", EVERYONE, lambda w: (c(w, "/boundaries"), {})),
    Row(
        "maps.boundaries",
        "POST",
        EDITORS,
        lambda w: (c(w, "/boundaries"), multipart(level="1", file=upload("adm1.geojson", BOUNDARIES))),
    ),
    # --- The validation plugin's pages ---------------------------------------------------------
    # Coordinators see the queue too: they assign reports from it.
    Row("validation.queue", "GET", DISCUSSERS, lambda w: (c(w, "/verify"), {})),
    Row("validation.assess", "POST", ASSESSORS, lambda w: (f"/reports/{w.reports['grade']}/grade", {"data": GRADE})),
    Row("validation.source_record", "GET", RECORD_READERS, lambda w: (f"/sources/{w.source_id}/record", {})),
    Row("validation.related", "GET", EVERYONE, lambda w: (c(w, f"/related?report={w.reports['view']}"), {})),
    Row(
        "validation.combine",
        "GET",
        ASSESSORS,
        lambda w: (c(w, f"/combine?ids={w.reports['combine_a']},{w.reports['combine_b']}"), {}),
    ),
    Row(
        "validation.combine",
        "POST",
        ASSESSORS,
        lambda w: (
            c(w, "/combine"),
            {"data": {"ids": f"{w.reports['combine_a']},{w.reports['combine_b']}", "title": "Combined by the matrix"}},
        ),
    ),
    # --- The verifiers' desk (validation plugin): assignments, notes, timeline, merges, notices ---
    Row("validation.take", "POST", ASSESSORS, lambda w: (f"/reports/{w.reports['take']}/take", {})),
    Row(
        "validation.release",
        "POST",
        DISCUSSERS,
        lambda w: (f"/reports/{w.reports['release']}/release", {}),
    ),
    Row(
        "validation.assign",
        "POST",
        EDITORS,
        lambda w: (f"/reports/{w.reports['assign']}/assign", {"data": {"assignee": str(w.verifier_id)}}),
    ),
    Row(
        "validation.add_note",
        "POST",
        DISCUSSERS,
        lambda w: (f"/reports/{w.reports['note']}/notes", {"data": {"body": "Called the clinic: confirmed"}}),
    ),
    Row("validation.report_timeline", "GET", DISCUSSERS, lambda w: (f"/reports/{w.reports['note']}/timeline", {})),
    Row(
        "validation.merge_with",
        "POST",
        MERGERS,
        lambda w: (f"/reports/{w.reports['merge_a']}/merge-with/{w.reports['merge_b']}", {}),
    ),
    Row("validation.notices", "GET", DISCUSSERS, lambda w: ("/notices", {})),
    Row("validation.notices_read", "POST", DISCUSSERS, lambda w: ("/notices/read", {})),
    Row("validation.claims", "GET", EVERYONE, lambda w: (c(w, "/claims"), {})),
    # --- The crisis dashboard and situation reports drafted from the reports --------------------
    Row("desk.dashboard", "GET", DASHBOARD, lambda w: (c(w, "/dashboard?sector=health"), {})),
    Row("desk.chart_csv", "GET", DASHBOARD, lambda w: (c(w, "/dashboard/areas.csv"), {})),
    Row("api.dashboard_json", "GET", DASHBOARD, lambda w: (f"/api/v1/crises/{w.crisis}/dashboard", {})),
    Row(
        "pages.draft_sitrep",
        "POST",
        EDITORS,
        lambda w: (c(w, "/sitrep-drafts"), {"data": {"from": w.draft_period[0], "to": w.draft_period[1]}}),
    ),
    Row(
        "api.create_sitrep_draft",
        "POST",
        EDITORS,
        lambda w: (
            f"/api/v1/crises/{w.crisis}/sitrep-drafts",
            {"json": {"from": w.draft_period[0], "to": w.draft_period[1]}},
        ),
        ok=frozenset({201}),
    ),
    Row("pages.since_last_draft", "GET", EVERYONE, lambda w: (page(w, "drafted", "/since-last-draft"), {})),
    # --- The API: crises, pages --------------------------------------------------------------
    Row("api.openapi_json", "GET", EVERYONE, lambda w: ("/api/v1/openapi.json", {})),
    Row("api.health", "GET", EVERYONE, lambda w: ("/api/v1/health", {})),
    # --- Operations: liveness, readiness (503 while not ready, e.g. with no search index built),
    # metrics (by client address, METRICS_ALLOWED_ADDRESSES: the test client comes from 127.0.0.1)
    Row("operations.healthz", "GET", EVERYONE, lambda w: ("/healthz", {})),
    Row("operations.readyz", "GET", EVERYONE, lambda w: ("/readyz", {}), ok=frozenset({503})),
    Row("operations.metrics_view", "GET", EVERYONE, lambda w: ("/metrics", {})),
    Row("api.list_crises", "GET", EVERYONE, lambda w: ("/api/v1/crises", {})),
    Row(
        "api.create_crisis",
        "POST",
        EDITORS,
        lambda w: ("/api/v1/crises", {"json": {"name": "Matrix storm", "slug": f"{w.crisis}-storm"}}),
    ),
    Row("api.get_crisis", "GET", EVERYONE, lambda w: (f"/api/v1/crises/{w.crisis}", {})),
    Row("api.get_page", "GET", EVERYONE, lambda w: (f"/api/v1/pages/{w.crisis}/{w.pages['view']}", {})),
    Row(
        "api.put_page",
        "PUT",
        EDITORS,
        lambda w: (f"/api/v1/pages/{w.crisis}/Created_through_the_API", {"json": {"body": "x"}}),
        label="create",
    ),
    Row(
        "api.put_page",
        "PUT",
        EDITORS,
        lambda w: (
            f"/api/v1/pages/{w.crisis}/{w.pages['api']}",
            {"json": {"body": "edited", "base_revision": w.revisions["api"]}},
        ),
        label="edit",
    ),
    Row(
        "api.page_revisions", "GET", EVERYONE, lambda w: (f"/api/v1/pages/{w.crisis}/{w.pages['revert']}/revisions", {})
    ),
    Row(
        "api.get_revision", "GET", EVERYONE, lambda w: (f"/api/v1/pages/{w.crisis}/{w.pages['revert']}/revisions/1", {})
    ),
    Row("api.search", "GET", EVERYONE, lambda w: ("/api/v1/search?q=report", {})),
    # --- The API: reports --------------------------------------------------------------------
    Row("api.list_reports", "GET", EVERYONE, lambda w: (f"/api/v1/reports?crisis={w.crisis}", {})),
    Row("api.create_report", "POST", EVERYONE, lambda w: ("/api/v1/reports", {"json": feature(w, "Well dry")})),
    Row("api.get_report", "GET", EVERYONE, lambda w: (f"/api/v1/reports/{w.reports['sensitive']}", {})),
    Row(
        "api.get_report",
        "GET",
        PRIVILEGED,
        lambda w: (f"/api/v1/reports/{w.reports['unpublished']}", {}),
        label="unpublished",
        hidden=True,
    ),
    Row(
        "api.patch_report",
        "PATCH",
        EDITORS,
        lambda w: (f"/api/v1/reports/{w.reports['api_patch']}", {"json": {"status": "verified"}}),
    ),
    Row(
        "api.withdraw",
        "POST",
        SHIELDERS,
        lambda w: (f"/api/v1/reports/{w.reports['api_withdraw']}/withdraw", {"json": {"reason": "shield"}}),
    ),
    Row(
        "api.republish",
        "POST",
        EDITORS,
        lambda w: (f"/api/v1/reports/{w.reports['api_republish']}/republish", {"json": {"reason": "safe now"}}),
    ),
    # --- The API: maps -----------------------------------------------------------------------
    Row("api.list_layers", "GET", EVERYONE, lambda w: (f"/api/v1/layers?crisis={w.crisis}", {})),
    Row(
        "api.create_layer",
        "POST",
        EDITORS,
        lambda w: ("/api/v1/layers", {"json": {"title": "Matrix layer", "crisis": w.crisis, "geojson": LAYER}}),
    ),
    Row("api.get_layer", "GET", EVERYONE, lambda w: (f"/api/v1/layers/{w.layers['view']}", {})),
    Row(
        "api.put_layer",
        "PUT",
        EDITORS,
        lambda w: (f"/api/v1/layers/{w.layers['api']}", {"json": {"title": "Edited by the matrix"}}),
    ),
    Row("api.delete_layer", "DELETE", EDITORS, lambda w: (f"/api/v1/layers/{w.layers['api_delete']}", {})),
    Row(
        "api.revert_layer",
        "POST",
        EDITORS,
        lambda w: (f"/api/v1/layers/{w.layers['api_revert']}/revert", {"json": {"revision": 1}}),
    ),
    Row("api.layer_revisions", "GET", EVERYONE, lambda w: (f"/api/v1/layers/{w.layers['view']}/revisions", {})),
    Row("api.layer_revision", "GET", EVERYONE, lambda w: (f"/api/v1/layers/{w.layers['view']}/revisions/1", {})),
    Row("api.map_reports", "GET", EVERYONE, lambda w: (f"/api/v1/map/reports?crisis={w.crisis}", {})),
    Row("api.map_areas", "GET", EVERYONE, lambda w: (f"/api/v1/map/areas?crisis={w.crisis}", {})),
    Row("api.crisis_boundaries", "GET", EVERYONE, lambda w: (f"/api/v1/crises/{w.crisis}/boundaries", {})),
    Row("api.crisis_gazetteer", "GET", EVERYONE, lambda w: (f"/api/v1/crises/{w.crisis}/gazetteer", {})),
    # --- The API: the validation plugin ------------------------------------------------------
    Row(
        "validation_api.post_assessment",
        "POST",
        ASSESSORS,
        lambda w: (
            f"/api/v1/reports/{w.reports['api_grade']}/assessments",
            {"json": {"reliability": "B", "credibility": 2}},
        ),
    ),
    Row(
        "validation_api.list_assessments",
        "GET",
        ASSESSORS,
        lambda w: (f"/api/v1/reports/{w.reports['grade']}/assessments", {}),
    ),
    Row(
        "validation_api.get_source_record",
        "GET",
        RECORD_READERS,
        lambda w: (f"/api/v1/sources/{w.source_id}/record", {}),
    ),
    Row(
        "validation_api.related",
        "GET",
        EVERYONE,
        lambda w: (f"/api/v1/crises/{w.crisis}/related?report={w.reports['view']}", {}),
    ),
    Row(
        "validation_api.post_combined",
        "POST",
        ASSESSORS,
        lambda w: (
            f"/api/v1/crises/{w.crisis}/combined-assessments",
            {"json": {"report_ids": [w.reports["api_combine_a"], w.reports["api_combine_b"]], "title": "Combined"}},
        ),
    ),
    Row(
        "validation_truth.create_claim",
        "POST",
        CLAIMERS,
        lambda w: (
            f"/api/v1/reports/{w.reports['claim']}/claims",
            {"json": {"subject": "HT0111", "attribute": "people_displaced", "value": 1200}},
        ),
    ),
    Row("validation_truth.list_claims", "GET", EVERYONE, lambda w: (f"/api/v1/claims?crisis={w.crisis}", {})),
    # --- Channels: the gateways' URL (a secret, not a role), the inbox ------------------------
    Row(
        "channels.inbound",
        "POST",
        EVERYONE,
        lambda w: (f"/channels/webhook/inbound?crisis={w.crisis}", gateway_message(w)),
        csrf=False,
    ),
    Row(
        "channels.poll",
        "GET",
        EVERYONE,
        lambda w: ("/channels/smssync/inbound?task=send&secret=matrix-smssync-secret", {}),
        csrf=False,
    ),
    Row("inbox.crisis_inbox", "GET", INBOX_READERS, lambda w: (c(w, "/inbox"), {})),
    Row("inbox.unrouted", "GET", INBOX_READERS, lambda w: ("/inbox/unrouted", {})),
    Row("inbox.message", "GET", INBOX_READERS, lambda w: (m(w, "view"), {})),
    Row(
        "inbox.attachment",
        "GET",
        INBOX_READERS,
        lambda w: (f"/messages/attachments/{w.message_attachment_id}/thumb", {}),
    ),
    Row("inbox.make_report", "POST", EDITORS, lambda w: (m(w, "report", "/report"), {"data": {"title": "From SMS"}})),
    Row(
        "inbox.attach",
        "POST",
        EDITORS,
        lambda w: (m(w, "attach", "/attach"), {"data": {"report": str(w.reports["view"])}}),
    ),
    Row("inbox.mark", "POST", EDITORS, lambda w: (m(w, "mark", "/state"), {"data": {"state": "irrelevant"}})),
    Row(
        "inbox.translate",
        "POST",
        EDITORS,
        lambda w: (m(w, "translate", "/translation"), {"data": {"translation": "water", "language": "en"}}),
    ),
    Row("inbox.reply", "POST", EDITORS, lambda w: (m(w, "reply", "/reply"), {"data": {"text": "Where exactly?"}})),
    Row("inbox.assign", "POST", EDITORS, lambda w: (m(w, "unrouted", "/crisis"), {"data": {"crisis": w.crisis}})),
    Row(
        "inbox.link_source",
        "POST",
        SOURCE_LINKERS,
        lambda w: (m(w, "source", "/source"), {"data": {"source": str(w.source_id)}}),
    ),
    Row("inbox.settings", "GET", EDITORS, lambda w: (c(w, "/channels"), {})),
    Row(
        "inbox.settings",
        "POST",
        EDITORS,
        lambda w: (c(w, "/channels"), {"data": {"action": "settings", "acknowledge": "1"}}),
    ),
    Row("inbox.delete_rule", "POST", EDITORS, lambda w: (c(w, f"/channels/rules/{w.rule_id}/delete"), {})),
    Row("api.list_messages", "GET", INBOX_READERS, lambda w: (f"/api/v1/messages?crisis={w.crisis}", {})),
    # --- The OGC API - Features: read-only, reports as the visibility rule lets the caller see them
    Row("ogc.landing", "GET", EVERYONE, lambda w: ("/ogc", {})),
    Row("ogc.conformance", "GET", EVERYONE, lambda w: ("/ogc/conformance", {})),
    Row("ogc.collections", "GET", EVERYONE, lambda w: ("/ogc/collections", {})),
    Row("ogc.collection", "GET", EVERYONE, lambda w: (f"/ogc/collections/{w.crisis}-reports", {})),
    Row("ogc.items", "GET", EVERYONE, lambda w: (f"/ogc/collections/{w.crisis}-reports/items?limit=5", {})),
    Row(
        "ogc.item",
        "GET",
        EVERYONE,
        lambda w: (f"/ogc/collections/{w.crisis}-reports/items/{w.reports['sensitive']}", {}),
    ),
    Row(
        "ogc.item",
        "GET",
        PRIVILEGED,
        lambda w: (f"/ogc/collections/{w.crisis}-reports/items/{w.reports['unpublished']}", {}),
        label="unpublished",
        hidden=True,
    ),
    Row(
        "ogc.items",
        "GET",
        EVERYONE,
        lambda w: (f"/ogc/collections/layer-{w.layers['view']}/items", {}),
        label="layer",
    ),
    Row("api_docs.docs", "GET", EVERYONE, lambda w: ("/api/docs", {})),
    # --- OpenRosa (ODK Collect): whoever may submit reports; a token as Basic password, never the session
    Row("openrosa.form_list", "GET", EVERYONE, lambda w: (odk(w, "/formList"), {})),
    Row("openrosa.form", "GET", EVERYONE, lambda w: (odk(w, "/forms/report.xml"), {})),
    Row("openrosa.submission", "POST", EVERYONE, lambda w: (odk(w, "/submission"), odk_submission(w)), csrf=False),
    # --- The API: alert subscriptions (anyone subscribes by e-mail; the rest is the owner's) ------
    Row(
        "api.create_subscription",
        "POST",
        EVERYONE,
        lambda w: ("/api/v1/subscriptions", {"json": {"crisis": w.crisis, "deliver": {"email": "matrix@example.org"}}}),
    ),
    Row("api.list_subscriptions", "GET", LOGGED_IN, lambda w: ("/api/v1/subscriptions", {})),
    Row("api.get_subscription", "GET", LOGGED_IN, lambda w: (f"/api/v1/subscriptions/{w.subscriptions['own']}", {})),
    Row(
        "api.patch_subscription",
        "PATCH",
        LOGGED_IN,
        lambda w: (f"/api/v1/subscriptions/{w.subscriptions['own']}", {"json": {"paused": False}}),
    ),
    Row(
        "api.delete_subscription",
        "DELETE",
        LOGGED_IN,
        lambda w: (f"/api/v1/subscriptions/{w.subscriptions['delete']}", {}),
    ),
    Row(
        "api.subscription_deliveries",
        "GET",
        LOGGED_IN,
        lambda w: (f"/api/v1/subscriptions/{w.subscriptions['own']}/deliveries", {}),
    ),
    Row(
        "api.replay_message",
        "POST",
        LOGGED_IN,
        lambda w: (f"/api/v1/subscriptions/{w.subscriptions['own']}/messages/{w.alert_message_id}/replay", {}),
    ),
]


def rules_of(app) -> set[tuple[str, str]]:
    """(endpoint, method) of every rule the app answers, static files, HEAD and OPTIONS aside."""
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in NOT_ROUTES
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

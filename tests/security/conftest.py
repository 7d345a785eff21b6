"""What the security suite shares: an app configured as in production (the validation plugin
found through its entry point, CSRF on), built once per module on a database of its own, the
people of each role, and the objects every request of the route matrix needs ("a world").

A world is made per lane (one lane per kind of caller) so that what an allowed caller deletes,
renames or reverts is its own copy and every other caller still finds a fresh one.
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.fixtures import PASSWORD, _truncate_all
from wiki import create_app
from wiki.extensions import db

from ..figures import figures_of

ROLES = ("anonymous", "volunteer", "verifier", "coordinator", "admin")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
POINT = [-72.3, 18.5]
BOUNDARIES = (
    '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"adm1_pcode": "HT01", '
    '"adm1_name": "Ouest"}, "geometry": {"type": "Polygon", "coordinates": [[[-74, 18], [-72, 18], [-72, 19], '
    "[-74, 19], [-74, 18]]]}}]}"
)
LAYER = '{"type": "Feature", "properties": {"name": "Shelter"}, "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]}}'


def production_config(database_url: str, instance: str, static_build: str, **overrides) -> dict:
    """The settings of a deployment (plugins from their entry points, CSRF on), with a fast
    password hash and a test database."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "security",
        "SERVER_NAME": "wiki.test",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "STATIC_BUILD_DIR": static_build,
        "LOAD_ENTRYPOINT_PLUGINS": True,
        "WTF_CSRF_ENABLED": True,
        "ANONYMOUS_SUBMIT_LIMIT": 100000,
        "ALERT_SUBSCRIBE_LIMIT": 100000,
        "SQLITE_SYNCHRONOUS": "OFF",
        # The gateways' secrets (wiki/channels): a channel without its secret does not exist.
        "WEBHOOK_SECRET": "matrix-webhook-secret",
        "SMSSYNC_SECRET": "matrix-smssync-secret",
        **overrides,
    }


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> dict[str, int]:
    """Counts the suite prints at the end (requests checked, payloads placed and pages loaded...);
    tests/fixtures.py prints them, adding up the xdist workers' (tests/figures.py)."""
    return figures_of(pytestconfig)


@pytest.fixture(scope="module")
def module_database(request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database for this module alone."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("security-db") / "crisiswiki.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_template")
    _truncate_all(url)
    return url


@pytest.fixture(scope="module")
def security_app(module_database: str, tmp_path_factory: pytest.TempPathFactory, static_build) -> Iterator[Flask]:
    app = create_app(
        production_config(module_database, str(tmp_path_factory.mktemp("security-instance")), str(static_build))
    )
    with app.app_context():
        from wiki.search.indexer import build_if_missing

        build_if_missing()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@dataclass
class Person:
    id: int
    username: str
    role: str
    token: str  # a personal API token


@pytest.fixture(scope="module")
def people(security_app: Flask) -> dict[str, Person]:
    """One user per role (by role name), and "other": a volunteer the admin pages act on."""
    from wiki.auth.accounts import create_user
    from wiki.models import ApiToken

    made = {}
    with security_app.app_context():
        for name, role in [*((role, role) for role in ROLES[1:]), ("other", "volunteer")]:
            user = create_user(f"sec-{name}", PASSWORD, role=role, display_name=f"Security {name}")
            _, plain = ApiToken.issue(user, "security suite")
            db.session.commit()
            made[name] = Person(user.id, user.username, role, plain)
    return made


def csrf_token_of(client: FlaskClient, url: str = "/login") -> str:
    found = CSRF_INPUT.search(client.get(url).get_data(as_text=True))
    assert found, f"no csrf_token on {url}"
    return found.group(1)


@pytest.fixture(scope="module")
def client_for(security_app: Flask, people: dict[str, Person]) -> Callable[[str, str], tuple[FlaskClient, dict, str]]:
    """client_for(role, via) -> (client, headers, csrf token): anonymous ("none"), logged in
    through the real login form ("session"), or with the person's bearer token ("token").
    Every client holds a session with a CSRF token, as a browser that loaded a form does."""

    def make(role: str, via: str) -> tuple[FlaskClient, dict, str]:
        client = security_app.test_client()
        token = csrf_token_of(client)
        headers: dict[str, str] = {}
        if via == "session":
            person = people[role]
            response = client.post(
                "/login", data={"username": person.username, "password": PASSWORD, "csrf_token": token}
            )
            assert response.status_code == 302, response.status_code
            token = csrf_token_of(client, "/account/tokens")
        elif via == "token":
            headers["Authorization"] = f"Bearer {people[role].token}"
        return client, headers, token

    return make


@dataclass
class World:
    """The objects one lane's requests act on (ids and slugs)."""

    crisis: str
    pages: dict[str, str] = field(default_factory=dict)  # purpose -> slug
    revisions: dict[str, int] = field(default_factory=dict)  # page purpose -> current revision id
    reports: dict[str, int] = field(default_factory=dict)  # purpose -> report id
    layers: dict[str, int] = field(default_factory=dict)  # purpose -> layer id
    photos: dict[str, int] = field(default_factory=dict)  # "public"/"sensitive" -> photo id
    attachment: tuple[int, str] = (0, "")  # (id, file name)
    source_id: int = 0
    other_user_id: int = 0
    own_token_id: int = 0  # the lane's person's own token (0 for anonymous: someone else's)
    # Alert subscriptions of the lane's person (anonymous lanes: someone else's), by purpose
    # ("own", "delete", "unsubscribe", "confirm"); their links' secrets; a webhook message to replay.
    subscriptions: dict[str, int] = field(default_factory=dict)
    alert_links: dict[str, str] = field(default_factory=dict)
    alert_message_id: int = 0
    category: str = "Logistics"
    messages: dict[str, int] = field(default_factory=dict)  # purpose -> channel message id
    message_attachment_id: int = 0
    rule_id: int = 0
    verifier_id: int = 0  # a verifier reports are assigned to
    draft_period: tuple[str, str] = ("", "")  # the days of the lane's reports (a sitrep draft's period)
    import_job: int = 0  # a finished report import (its progress page)


_lane_numbers = itertools.count(1)
PAGE_PURPOSES = {
    "view": {},
    "edit": {},
    "protected": {"protected": True},
    "revert": {"edits": 1},
    "rename": {},
    "delete": {},
    "restore": {"deleted": True},
    "protect": {},
    "watch": {},
    "api": {},
}
REPORT_PURPOSES = (
    "view",
    "edit",
    "duplicate",
    "original",
    "api_patch",
    "grade",
    "api_grade",
    "claim",
    "combine_a",
    "combine_b",
    "api_combine_a",
    "api_combine_b",
    "withdraw",
    "api_withdraw",
    "republish",
    "api_republish",
    "take",
    "release",
    "assign",
    "note",
    "merge_a",
    "merge_b",
)
LAYER_PURPOSES = ("view", "edit", "revert", "delete", "api", "api_revert", "api_delete")


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 80, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def build_world(app: Flask, people: dict[str, Person], owner: str | None) -> World:
    """A crisis of its own with every kind of object, made through the service layer by the admin."""
    from werkzeug.datastructures import FileStorage

    from wiki.crises.services import create_crisis
    from wiki.maps.boundaries import import_boundaries, read_boundary_file
    from wiki.maps.layers import create_layer
    from wiki.media.views import save_attachment
    from wiki.models import ApiToken, Page, Report, User
    from wiki.pages import revisions as pages
    from wiki.reports.input import report_input_from_feature
    from wiki.reports.submission import Photo, submit_report
    from wiki.reports.triage import update_report

    number = next(_lane_numbers)
    with app.test_request_context():
        admin = db.session.get(User, people["admin"].id)
        crisis = create_crisis(
            {
                "name": f"Lane {number} earthquake",
                "slug": f"lane{number}",
                "bbox": "-74.5,17.9,-71.6,20.1",
                "start_date": "2010-01-12",
            },
            admin,
        )
        world = World(crisis=crisis.slug, other_user_id=people["other"].id)
        for purpose, options in PAGE_PURPOSES.items():
            revision = pages.create_page(
                crisis, f"Target for {purpose}", "version 1\n\n[[Missing page]]", admin, categories=world.category
            )
            page = revision.page
            for n in range(options.get("edits", 0)):
                revision = pages.save_revision(page, f"version {n + 2}", revision.id, admin).revision
            if options.get("protected"):
                pages.set_protected(page, True, admin)
            if options.get("deleted"):
                pages.delete_page(page, admin)
            world.pages[purpose] = db.session.scalar(select(Page.slug).where(Page.id == page.id))
            world.revisions[purpose] = revision.id

        def report(title: str, photo: bool = False, **properties) -> Report:
            given = report_input_from_feature(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": POINT},
                    "properties": {
                        "title": title,
                        "crisis": crisis.slug,
                        "sector": "health",
                        "source": {"name": "Jean", "contact": "+50912345678"},
                        **properties,
                    },
                }
            )
            photos = [Photo("photo.jpg", io.BytesIO(jpeg()))] if photo else []
            return submit_report(given, admin, photos).report

        for purpose in REPORT_PURPOSES:
            world.reports[purpose] = report(f"Report to {purpose}").id
        public = report("Report with a photo", photo=True)
        world.reports["with_photo"], world.photos["public"] = public.id, public.photos[0].id
        sensitive = report("Sensitive report", photo=True, sensitive=True)
        world.reports["sensitive"], world.photos["sensitive"] = sensitive.id, sensitive.photos[0].id
        hidden = report("Unpublished report")
        update_report(hidden, {"published": False}, admin)
        world.reports["unpublished"] = hidden.id
        from wiki.reports.triage import withdraw_report

        for purpose in ("republish", "api_republish"):
            withdraw_report(db.session.get(Report, world.reports[purpose]), admin, "to be republished by the matrix")
        world.source_id = public.source_id
        _desk(world, crisis, admin, people, owner)

        for purpose in LAYER_PURPOSES:
            world.layers[purpose] = create_layer(crisis, {"title": f"Layer to {purpose}"}, LAYER, admin).id
        import_boundaries(crisis, 1, read_boundary_file(BOUNDARIES), admin)
        attachment = save_attachment(crisis, None, FileStorage(io.BytesIO(b"road status: open\n"), "notes.txt"), admin)
        world.attachment = (attachment.id, attachment.filename)

        build_messages(world, admin, crisis, number)
        world.import_job = _import_job(crisis, admin)

        holder = db.session.get(User, people[owner].id if owner else people["other"].id)
        token, _ = ApiToken.issue(holder, "to revoke")
        db.session.commit()
        world.own_token_id = token.id
        _alert_subscriptions(world, crisis, holder)
    return world


def _import_job(crisis, admin) -> int:
    """A report import the background worker has finished (wiki.reports.import_jobs)."""
    from wiki.models import ImportJob

    job = ImportJob(
        token=f"security-{crisis.slug}",
        crisis_id=crisis.id,
        user_id=admin.id,
        filename="m.csv",
        mapping={"title": 0},
        options={"partial": True},
        state="done",
        total_rows=1,
        rows_done=1,
        result={"imported": 1},
    )
    db.session.add(job)
    db.session.commit()
    return job.id


def _desk(world: World, crisis, admin, people: dict[str, Person], owner: str | None) -> None:
    """The verifiers' desk and the sitrep drafts: the report to release is held by the lane's
    person when they may take reports (else by the verifier, whom coordinators may release from);
    a situation report drafted from the lane's reports (and drafted again, to compare)."""
    from datetime import UTC, datetime, timedelta

    from plugins.validation import assignments
    from wiki.models import Report, User
    from wiki.pages.drafts import draft_sitrep

    verifier = db.session.get(User, people["verifier"].id)
    world.verifier_id = verifier.id
    holder = db.session.get(User, people[owner].id) if owner in ("verifier", "admin") else verifier
    assignments.take(db.session.get(Report, world.reports["release"]), holder)
    today = datetime.now(UTC).date()
    world.draft_period = ((today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat())
    period = {"from": world.draft_period[0], "to": world.draft_period[1]}
    draft_sitrep(crisis, period, admin)
    world.pages["drafted"] = draft_sitrep(crisis, period, admin).page.slug


MESSAGE_PURPOSES = ("view", "report", "attach", "mark", "translate", "reply", "source")


def build_messages(world: World, admin, crisis, number: int) -> None:
    """Channel messages for the inbox routes: one per purpose in the lane's crisis, one not
    routed to any crisis, a photo, and a routing rule."""
    from wiki.channels.base import Incoming
    from wiki.channels.inbox import add_rule
    from wiki.channels.intake import store_messages
    from wiki.channels.processing import process_message
    from wiki.media.storage import write_blob
    from wiki.models import MessageAttachment

    for purpose in (*MESSAGE_PURPOSES, "unrouted"):
        incoming = Incoming(f"lane{number}-{purpose}", "+50937123000", f"Message to {purpose}", b"{}")
        [(message_id, _retry)] = store_messages("webhook", [incoming], "" if purpose == "unrouted" else crisis.slug)
        process_message(message_id)
        world.messages[purpose] = message_id
    digest = write_blob(jpeg())
    attachment = MessageAttachment(
        message_id=world.messages["view"],
        filename="p.jpg",
        content_type="image/jpeg",
        sha256=digest,
        display_sha256=digest,
        thumb_sha256=digest,
        size=1,
        width=32,
        height=24,
    )
    db.session.add(attachment)
    db.session.commit()
    world.message_attachment_id = attachment.id
    world.rule_id = add_rule(crisis, "keyword", f"matrixlane{number}", "", False, admin).id


def _alert_subscriptions(world: World, crisis, holder) -> None:
    """Subscriptions of the lane's holder, made as rows (the webhook's address is not checked
    here: nothing is sent in the security suite)."""
    import secrets as random_secrets

    from wiki.alerts.subscriptions import confirm_token, unsubscribe_token
    from wiki.models import AlertMessage, AlertSubscription
    from wiki.models.base import utcnow

    def make(purpose: str, channel: str, address: str, confirmed: bool = True) -> AlertSubscription:
        subscription = AlertSubscription(
            crisis_id=crisis.id,
            user_id=holder.id,
            channel=channel,
            address=address,
            feed_token=random_secrets.token_urlsafe(32),
            webhook_secret=random_secrets.token_hex(32),
            link_nonce=random_secrets.token_hex(8),
            confirmed_at=utcnow() if confirmed else None,
            sectors=[],
            statuses=[],
            verdicts=[],
        )
        db.session.add(subscription)
        db.session.flush()
        world.subscriptions[purpose] = subscription.id
        return subscription

    own = make("own", "webhook", "https://hooks.example.org/crisiswiki")
    make("delete", "feed", "")
    unsubscribing = make("unsubscribe", "email", f"{world.crisis}-unsubscribe@example.org")
    confirming = make("confirm", "email", f"{world.crisis}-confirm@example.org", confirmed=False)
    message = AlertMessage(subscription_id=own.id, channel="webhook", payload="{}", state="dead", attempts=8)
    db.session.add(message)
    db.session.commit()
    world.alert_message_id = message.id
    world.alert_links = {
        "feed": own.feed_token,
        "unsubscribe": unsubscribe_token(unsubscribing),
        "confirm": confirm_token(confirming),
    }


@pytest.fixture(scope="module")
def world_for(security_app: Flask, people: dict[str, Person]) -> Callable[[str], World]:
    """world_for(lane) -> that lane's World, made on first use. The lane name starts with the
    role whose token it makes to revoke ("anonymous-..." revokes someone else's)."""
    made: dict[str, World] = {}

    def get(lane: str) -> World:
        if lane not in made:
            role = lane.split("-")[0]
            made[lane] = build_world(security_app, people, None if role == "anonymous" else role)
        return made[lane]

    return get

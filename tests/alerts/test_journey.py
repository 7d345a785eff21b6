"""The responder's alert journey in a real browser (Debian's chromium through Playwright), with the
app under gunicorn as `make run` serves it (its background worker in the server processes) and a
real SMTP server (aiosmtpd): a responder subscribes on their account page to verified health
reports in one commune, confirms the address from the mail, a coordinator verifies a report
there on its page, and the responder's mailbox holds exactly one alert, whose unsubscribe link
works in the browser. SQLite only, as the other journeys (tests/test_journeys.py)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.alerts_helpers import BOUNDARIES, IN_CARREFOUR, IN_PORT_AU_PRINCE, links_in
from tests.browser_helpers import chromium, require_chromium, watched_page
from tests.postgres_cluster import free_port
from tests.servers import gunicorn
from tests.smtp_helpers import Inbox
from tests.test_journeys import check_accessibility

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
require_chromium()

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def inbox():
    from aiosmtpd.controller import Controller

    box = Inbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory, inbox):
    instance = tmp_path_factory.mktemp("alerts-journey")
    database_url = f"sqlite:///{instance / 'crisiswiki.db'}"
    settings = {
        "MAIL_SERVER": inbox.host,
        "MAIL_PORT": str(inbox.port),
        "MAIL_DEFAULT_SENDER": "crisiswiki <alerts@wiki.test>",
        "MAP_TILE_URL": "",
    }
    with gunicorn(instance, database_url, workers=2, **settings) as base:
        token = _accounts(instance, database_url)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        yield base, api


def _accounts(instance, database_url) -> str:
    """Users, the crisis and its admin boundaries, made in this process; the coordinator's token."""
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.extensions import db
    from wiki.maps.boundaries import import_boundaries
    from wiki.models import ApiToken

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.test_request_context():
        coordinator = create_user("cora", PASSWORD, role="coordinator", display_name="Cora Coordinator")
        create_user("rita", PASSWORD, role="volunteer", display_name="Rita Responder")
        crisis = create_crisis(
            {"name": "Coastal earthquake", "slug": "quake", "bbox": "-74.5,17.9,-71.6,20.1"}, coordinator
        )
        for level, document in BOUNDARIES.items():
            import_boundaries(crisis, level, document, coordinator)
        _, token = ApiToken.issue(coordinator, "journey")
        db.session.commit()
        db.engine.dispose()
    return token


def poll(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_selector("nav.account .who")


def report(api, base: str, title: str, point, sector: str = "health") -> int:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(point)},
        "properties": {"crisis": "quake", "title": title, "sector": sector},
    }
    response = api.post(f"{base}/api/v1/reports", json=feature)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_responder_subscribes_in_the_browser_and_gets_exactly_one_alert(site, inbox):
    base, api = site
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = watched_page(context, base)
        login(page, base, "rita")
        page.click("nav.account >> text=Account")
        page.click("main a:has-text('Alerts')")  # the account page's link
        check_accessibility(page, "your alerts")
        page.click("text=New alert subscription")
        check_accessibility(page, "new alert subscription")
        page.select_option("#alert-crisis", "quake")
        page.check("input[name=area_type][value=pcode]")
        page.fill("#alert-pcode", "HT0111")
        page.check("input[name=sectors][value=health]")
        page.check("input[name=statuses][value=verified]")
        page.select_option("#alert-channel", "email")
        page.fill("#alert-address", "rita@example.org")
        page.click("button:has-text('Subscribe')")
        page.wait_for_selector("#alert-state")
        assert "waiting for confirmation" in page.inner_text("#alert-state")
        check_accessibility(page, "alert subscription")

        confirmation = poll(lambda: [m for m in inbox.messages if m["To"] == "rita@example.org"])
        assert confirmation, "no confirmation mail"
        [link] = [url for url in links_in(confirmation[0]) if "/alerts/confirm/" in url]
        page.goto(link)
        check_accessibility(page, "confirm alerts")
        page.click("button:has-text('Confirm')")
        page.wait_for_selector("#alert-confirmed")

        cora = watched_page(context, base)
        login(cora, base, "cora")
        inside = report(api, base, "Clinic out of oral rehydration salts", IN_PORT_AU_PRINCE)
        report(api, base, "Clinic in Carrefour needs staff", IN_CARREFOUR)
        report(api, base, "Water point broken", IN_PORT_AU_PRINCE, sector="wash")
        cora.goto(f"{base}/reports/{inside}")
        cora.select_option("#t-status", "verified")
        cora.click("form[action$='/edit'] button[type=submit]")
        cora.wait_for_load_state()
        assert api.get(f"{base}/api/v1/reports/{inside}").json()["properties"]["status"] == "verified"

        def alerts():
            return [m for m in inbox.messages if m["To"] == "rita@example.org" and "Confirm" not in m["Subject"]]

        assert poll(alerts), "no alert came"
        time.sleep(3)  # the workers' next turns: nothing more may come
        [alert] = alerts()
        assert alert["Subject"] == "[Coastal earthquake] Clinic out of oral rehydration salts"
        assert f"/reports/{inside}" in alert.get_body(("html",)).get_content()

        [unsubscribe] = [url for url in links_in(alert) if "/alerts/unsubscribe/" in url]
        page.goto(unsubscribe)
        page.click("button:has-text('Unsubscribe')")
        page.wait_for_selector("#alert-unsubscribed")
        page.goto(f"{base}/account/alerts")
        assert "You have no alert subscriptions yet." in page.inner_text("main")
        anonymous = watched_page(browser.new_context(), base)
        anonymous.goto(f"{base}/c/quake/alerts")
        check_accessibility(anonymous, "public alerts form")
        assert not page.problems and not cora.problems, page.problems + cora.problems
        context.close()

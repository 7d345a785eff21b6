"""A coordinator's journey in a real browser (Debian's chromium through Playwright), in the style
of tests/test_journeys.py: an SMS arrives through Twilio's webhook (signed as Twilio signs it),
the background job finds "Delmas 33" in it, and the coordinator turns it into a report from the
inbox, which lands on the crisis map as a circle around the place, not as a precise pin. axe-core
checks the inbox and the message page on the way.

The app runs under gunicorn as `make run` serves it, on SQLite (the server side is tested on
both databases by tests/channels/test_channels.py)."""

from __future__ import annotations

import pytest
import requests

from tests.browser_helpers import chromium, require_chromium, watched_page
from tests.channels_helpers import SECRETS, twilio_request, twilio_sms
from tests.servers import gunicorn
from tests.test_journeys import PASSWORD, check_accessibility, login, poll, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
require_chromium()


def _prepare(instance, database_url) -> None:
    """The crisis with its boundaries and named places, and a coordinator, made in this process."""
    from tests.gazetteer_fixtures import load_crisis
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.migrations import upgrade_all

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade_all()
    with app.test_request_context():
        admin = create_user("ines", PASSWORD, role="admin")
        create_user("cora", PASSWORD, role="coordinator", display_name="Cora Coordinator")
        load_crisis("haiti", admin)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    instance = tmp_path_factory.mktemp("inbox-journey")
    database_url = f"sqlite:///{instance / 'crisiswiki.db'}"
    _prepare(instance, database_url)
    with gunicorn(instance, database_url, workers=2, init=False, MAP_TILE_URL="", **SECRETS) as url:
        yield url


def test_a_coordinator_turns_an_sms_into_a_located_report_from_the_inbox(base):
    url = f"{base}/channels/twilio/inbound?crisis=haiti"
    sms = twilio_sms("SM" + "7" * 32, "Nou bezwen dlo nan Delmas 33, timoun malad depi lendi")
    answer = requests.post(url, **twilio_request(url, sms), timeout=30)
    assert answer.status_code == 200 and "<Response" in answer.text

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = watched_page(context, base)
        login(page, base, "cora")
        page.goto(f"{base}/c/haiti/inbox")
        found = poll(lambda: (page.reload(), page.locator("table.messages tbody tr").count())[1], timeout=30)
        assert found == 1, "the message did not reach the inbox"
        row = page.locator("table.messages tbody tr").first
        assert "Delmas 33" in row.inner_text() and "•" not in row.inner_text()  # the coordinator sees the number
        check_accessibility(page, "inbox")
        row.locator("a").first.click()
        page.wait_for_selector("#make-report")
        assert page.input_value("#r-place").startswith("layer:")  # the place found, ready to use
        assert "Nou bezwen dlo" in page.input_value("#r-description")
        check_accessibility(page, "message")
        screenshot(page, "coordinator-inbox-message.png", full_page=True)
        page.fill("#r-title", "No water in Delmas 33, children sick")
        page.select_option("#r-sector", "wash")
        page.click("#make-report button[type=submit]")
        page.wait_for_url(f"{base}/reports/*")
        text = page.locator("main").inner_text()
        assert "No water in Delmas 33" in text and "Around this place" in text and "+50937000001" in text

        page.goto(f"{base}/c/haiti/map")
        page.wait_for_selector("path.report-area", timeout=20000)  # a circle of its radius, not a pin
        assert page.locator("path.report-area-place").count() == 1
        assert page.problems == [], page.problems
        context.close()

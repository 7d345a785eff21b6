"""Nothing lost, nothing twice: a surge of SMS through the gateways' webhooks (Twilio signed
forms, SMSSync, RapidPro, the generic webhook), with gateway retries, against gunicorn with
several workers; every answered message is stored exactly once and processed. The full-size
surge and its timings are bench/sms_surge.py's."""

from __future__ import annotations

import pytest

from bench.sms_surge import SECRETS, check, stored_messages, surge, wait_processed
from tests.servers import gunicorn
from wiki.extensions import db

pytestmark = pytest.mark.slow

MESSAGES = 1000
CLIENTS = 16
RETRY_EVERY = 10  # every tenth message is delivered twice, as a gateway does when our answer was lost


def test_a_surge_of_sms_is_stored_exactly_once(app, make_user, database_url, tmp_path):
    from wiki.crises.services import create_crisis
    from wiki.models import User

    admin = make_user("admin")
    with app.test_request_context():
        create_crisis(
            {"name": "Haiti", "slug": "haiti", "bbox": "-74.5,17.9,-71.6,20.1"}, db.session.get(User, admin.id)
        )
    with gunicorn(tmp_path / "served", database_url, workers=3, init=False, **SECRETS) as base:
        tally, _seconds = surge(base, MESSAGES, CLIENTS, processes=2, retry_every=RETRY_EVERY)
        settled = wait_processed(database_url, timeout=240)
        figures = check(tally, stored_messages(database_url), MESSAGES)
    assert tally.failures == []
    assert tally.sent == MESSAGES + MESSAGES // RETRY_EVERY
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["stored"] == figures["distinct_acknowledged"] == MESSAGES
    assert settled is not None and figures["processed"] == MESSAGES

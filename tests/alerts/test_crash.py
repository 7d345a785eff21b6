"""A real `crisiswiki worker` process killed with SIGKILL while it matches and mails alerts, then
started again: the real SMTP server (aiosmtpd, slowed down so that the kills land mid-batch)
ends with exactly one message per subscriber, each holding every alert: nothing lost, nothing
sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.alerts_helpers import IN_CARREFOUR
from tests.postgres_cluster import free_port
from tests.servers import worker_process
from tests.smtp_helpers import Inbox
from wiki.extensions import db
from wiki.models import AlertSubscription, MailMessage, User

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SUBSCRIBERS = 120
REPORTS = 8
KILLS_AFTER = (15, 45, 80)  # mails received when each kill comes


class SlowInbox(Inbox):
    """Takes 20 ms to answer each message, as a real server under load might. It keeps the
    message first, as an MTA queues a message once its final dot has arrived and only then
    answers (Postfix does); aiosmtpd itself cancels the handler of a connection that closes, so
    a server that kept the message only after the pause would drop one whose sender was killed
    while waiting for the answer, which no MTA that had queued it would do."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(0.02)
        return answer


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = SlowInbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def app_config(app_config: dict, smtp_server) -> dict:
    return {**app_config, **smtp_server.settings(), "BASE_URL": "http://wiki.test"}


def start_worker(instance: Path, database_url: str, inbox: Inbox) -> subprocess.Popen:
    return worker_process(
        instance,
        database_url,
        SECRET_KEY="test",
        BASE_URL="http://wiki.test",
        MAIL_SERVER=inbox.host,
        MAIL_PORT=str(inbox.port),
        MAIL_DEFAULT_SENDER="crisiswiki <noreply@wiki.test>",
        MAIL_CLAIM_SECONDS="2",  # a killed sender's claim is taken over soon
        ALERT_POLL_SECONDS="0.2",
        MAIL_POLL_SECONDS="0.2",
    )


def state_of(app) -> str:
    """What the database says is left, for a failure's message."""
    from wiki.models import AlertDelivery, AlertEvent

    with app.app_context():
        mails = db.session.execute(
            select(MailMessage.id, MailMessage.claimed_at, MailMessage.attempts, MailMessage.last_error).where(
                MailMessage.sent_at.is_(None)
            )
        ).all()
        deliveries = db.session.execute(select(AlertDelivery.state, func.count()).group_by(AlertDelivery.state)).all()
        events = db.session.scalar(select(func.count()).select_from(AlertEvent).where(AlertEvent.matched_at.is_(None)))
        db.session.remove()
    return f"unsent mails {mails[:10]} ({len(mails)}), deliveries {deliveries}, unmatched events {events}"


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    app, crisis, make_user, smtp_server, database_url, tmp_path
):
    from sqlalchemy import delete

    from wiki.alerts.subscriptions import confirm, create_subscription
    from wiki.reports.input import report_input_from_feature
    from wiki.reports.submission import submit_report

    owner = make_user("volunteer")
    with app.test_request_context():
        user = db.session.get(User, owner.id)
        for n in range(SUBSCRIBERS):
            confirm(create_subscription({"crisis": crisis, "deliver": {"email": f"s{n}@example.org"}}, user))
        db.session.execute(delete(MailMessage))  # the confirmation mails: the addresses are confirmed above
        db.session.commit()
        for n in range(REPORTS):
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(IN_CARREFOUR)},
                "properties": {"crisis": crisis, "title": f"Crash report {n}", "sector": "health"},
            }
            submit_report(report_input_from_feature(feature), user)
    instance = tmp_path / "worker-instance"
    instance.mkdir()
    kills = 0
    worker = start_worker(instance, database_url, smtp_server)
    try:
        for after in KILLS_AFTER:
            wait_for(lambda after=after: len(smtp_server.received) >= after, 120, f"{after} mails")
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            kills += 1
            worker = start_worker(instance, database_url, smtp_server)
        try:
            wait_for(lambda: len(smtp_server.received) >= SUBSCRIBERS, 180, "every mail")
        except AssertionError:
            raise AssertionError(
                f"{len(smtp_server.received)} mails; {state_of(app)}; log: {(instance / 'worker.log').read_text()[-3000:]}"
            ) from None
        time.sleep(3)  # past the claim lease: a duplicate would have come by now
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    log = (instance / "worker.log").read_text()
    assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
    recipients = [to for _sender, tos, _raw in smtp_server.received for to in tos]
    assert kills == len(KILLS_AFTER)
    assert len(recipients) == SUBSCRIBERS, f"{len(recipients)} mails for {SUBSCRIBERS} subscribers"
    assert sorted(recipients) == sorted(f"s{n}@example.org" for n in range(SUBSCRIBERS))
    for message in smtp_server.messages:
        text = message.get_body(("plain",)).get_content()
        assert all(f"Crash report {n}" in text for n in range(REPORTS)), message["To"]
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.sent_at.is_(None))) == 0
        )
        assert db.session.scalar(select(func.count()).select_from(AlertSubscription)) == SUBSCRIBERS

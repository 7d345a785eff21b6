"""SMSSync's outgoing messages, at least once and never twice once confirmed: the phone polls
GET ?task=send, confirms with POST ?task=sent {"queued_messages": [...]}, and reports how sending
went with POST ?task=result {"message_result": [...]} (after GET ?task=result), each request
shaped as SMSSync sends it."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.channels.test_channels import app_config, haiti  # noqa: F401 (the fixtures)
from tests.channels_helpers import SECRETS
from wiki.extensions import db
from wiki.models import OutboundMessage
from wiki.models.base import utcnow

pytestmark = pytest.mark.usefixtures("haiti")
SECRET = SECRETS["SMSSYNC_SECRET"]
JSON = {"Content-Type": "application/json"}


def queue(app, *texts: str) -> list[str]:
    from wiki.channels.outbox import queue_outbound

    with app.app_context():
        messages = [queue_outbound("smssync", f"+5093700{n:04d}", text) for n, text in enumerate(texts)]
        db.session.commit()
        return [message.uuid for message in messages]


def poll(client) -> list[str]:
    answer = client.get(f"/channels/smssync/inbound?task=send&secret={SECRET}")
    assert answer.status_code == 200
    payload = answer.get_json()["payload"]
    assert payload["task"] == "send" and payload["secret"] == SECRET
    return [message["uuid"] for message in payload["messages"]]


def confirm(client, *uuids: str, query: str = ""):
    return client.post(
        f"/channels/smssync/inbound?task=sent{query}", data=json.dumps({"queued_messages": list(uuids)}), headers=JSON
    )


def result(client, uuid: str, code: int, text: str):
    body = {
        "message_result": [
            {
                "uuid": uuid,
                "sent_result_code": code,
                "sent_result_message": text,
                "delivered_result_code": -1 if code == -1 else 0,
                "delivered_result_message": "",
            }
        ]
    }
    return client.post(f"/channels/smssync/inbound?task=result&secret={SECRET}", data=json.dumps(body), headers=JSON)


def resend_time_passes(app) -> None:
    """SMSSYNC_RESEND_SECONDS go by (rather than sleeping through them)."""
    with app.app_context():
        earlier = utcnow() - timedelta(seconds=app.config["SMSSYNC_RESEND_SECONDS"] + 1)
        db.session.execute(
            update(OutboundMessage).where(OutboundMessage.claimed_at.isnot(None)).values(claimed_at=earlier)
        )
        db.session.commit()


def states(app) -> dict[str, tuple[bool, bool, int]]:
    with app.app_context():
        rows = db.session.scalars(select(OutboundMessage)).all()
        return {row.uuid: (row.claimed_at is not None, row.sent_at is not None, row.attempts) for row in rows}


def test_a_reply_is_handed_out_until_confirmed_and_never_after(app, client):
    first, second = queue(app, "Ki kote ou ye?", "Nou resevwa mesaj ou")
    assert poll(client) == [first, second]
    assert poll(client) == []  # handed out: not again while the phone may be sending them
    resend_time_passes(app)  # the phone died with them: handed out again, same uuids
    assert poll(client) == [first, second]
    assert confirm(client, first, "not-ours").get_json() == {"message_uuids": [first]}
    assert confirm(client, first).get_json() == {"message_uuids": [first]}  # a retried confirmation
    resend_time_passes(app)
    assert poll(client) == [second]  # the confirmed one never again
    confirm(client, second)
    resend_time_passes(app)
    assert poll(client) == []
    assert states(app) == {first: (True, True, 2), second: (True, True, 3)}


def test_a_message_the_phone_could_not_send_is_handed_out_again(app, client):
    sent, failed = queue(app, "Mesi", "Ki kote egzakteman?")
    assert poll(client) == [sent, failed]
    confirm(client, sent, failed)
    answer = client.get(f"/channels/smssync/inbound?task=result&secret={SECRET}")
    assert answer.get_json() == {"message_uuids": [sent, failed]}
    assert result(client, sent, -1, "SMSSync Message Sent").get_json() == {"payload": {"success": True, "error": None}}
    assert result(client, failed, 4, "No service").status_code == 200
    assert client.get(f"/channels/smssync/inbound?task=result&secret={SECRET}").get_json() == {"message_uuids": []}
    assert poll(client) == [failed]  # back in the queue at once: it was not sent
    with app.app_context():
        row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.uuid == sent))
        assert row.gateway_id == "smssync:sent:-1" and row.sent_at is not None
        retried = db.session.scalar(select(OutboundMessage).where(OutboundMessage.uuid == failed))
        assert "No service" in retried.last_error and retried.sent_at is None
    result(client, sent, 4, "No service")  # a late failure for a message reported sent changes nothing
    assert poll(client) == []


@pytest.mark.parametrize(
    ("url", "kwargs", "status"),
    [
        ("/channels/smssync/inbound?task=sent&secret=guess", {"data": '{"queued_messages": []}', "headers": JSON}, 403),
        (
            "/channels/smssync/inbound?task=result&secret=guess",
            {"data": '{"message_result": []}', "headers": JSON},
            403,
        ),
        ("/channels/smssync/inbound?task=sent", {"data": "queued_messages=x", "headers": JSON}, 400),
        ("/channels/smssync/inbound?task=sent", {"data": '["x"]', "headers": JSON}, 400),
        ("/channels/smssync/inbound?task=sent", {"data": '{"queued_messages": "x"}', "headers": JSON}, 422),
        (
            f"/channels/smssync/inbound?task=result&secret={SECRET}",
            {"data": '{"message_result": [1]}', "headers": JSON},
            422,
        ),
    ],
)
def test_bad_confirmations_are_refused_and_change_nothing(app, client, url, kwargs, status):
    queue(app, "Mesi")
    poll(client)
    before = states(app)
    answer = client.post(url, **kwargs)
    assert answer.status_code == status and answer.get_json()["payload"]["success"] is False
    assert states(app) == before


def test_phones_polling_at_once_never_get_the_same_message(app, client):
    uuids = set(queue(app, *(f"mesaj {n}" for n in range(30))))
    got: list[list[str]] = []
    start = threading.Barrier(3)

    def phone():
        with app.test_client() as own:
            start.wait()
            got.append(poll(own))

    phones = [threading.Thread(target=phone) for _ in range(3)]
    for thread in phones:
        thread.start()
    for thread in phones:
        thread.join(30)
    handed = [uuid for batch in got for uuid in batch]
    assert len(handed) == len(set(handed)) == 30 and set(handed) == uuids

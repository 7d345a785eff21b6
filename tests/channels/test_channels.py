"""SMS gateways into the inbox: each channel end to end (a request shaped as the gateway sends
it, stored before the answer, processed by the background job, turned into a located report),
every bad request refused with a clear 4xx that stores nothing, and replies going out."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.channels_helpers import (
    SECRETS,
    GatewayAPI,
    rapidpro_webhook,
    smssync_sms,
    twilio_request,
    twilio_sms,
    webhook_message,
)
from tests.gazetteer_fixtures import load_crisis
from wiki.extensions import db
from wiki.models import InboundMessage, OutboundMessage, Report

BASE = "http://wiki.test"


@pytest.fixture
def app_config(app_config):
    return {**app_config, **SECRETS}


@pytest.fixture
def haiti(app, make_user):
    from wiki.models import User

    admin = make_user("admin")
    with app.test_request_context():
        load_crisis("haiti", db.session.get(User, admin.id))
    return "haiti"


def run_jobs(app) -> None:
    from wiki.workers import worker_for

    worker_for(app).run_until_idle(timeout=60)


def count(app, model=InboundMessage) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def twilio_post(client, params, crisis="haiti", token=None):
    url = f"{BASE}/channels/twilio/inbound" + (f"?crisis={crisis}" if crisis else "")
    kwargs = twilio_request(url, params) if token is None else twilio_request(url, params, token)
    return client.post(url, **kwargs)


# -- each gateway, as it sends ---------------------------------------------------------------------


def test_twilio_sms_is_stored_once_however_often_twilio_retries(app, client, haiti):
    params = twilio_sms("SM" + "a" * 32, "WATER Delmas 33 no water since Monday")
    first = twilio_post(client, params)
    assert first.status_code == 200 and first.mimetype == "text/xml" and b"<Response" in first.data
    again = twilio_post(client, params)
    assert again.status_code == 200
    assert count(app) == 1
    with app.app_context():
        message = db.session.scalar(select(InboundMessage))
        assert message.channel == "twilio" and message.sender == "+50937000001" and message.crisis_hint == "haiti"
        assert message.processed_at is None  # stored raw; the job does the rest


def test_twilio_with_a_wrong_signature_is_refused_and_nothing_is_stored(app, client, haiti):
    params = twilio_sms("SM" + "b" * 32, "help")
    forged = twilio_post(client, params, token="not-the-auth-token")
    assert forged.status_code == 403 and "signature" in forged.get_json()["error"]["message"]
    tampered = twilio_request(f"{BASE}/channels/twilio/inbound?crisis=haiti", params)
    tampered["data"] = tampered["data"].replace("help", "send+money")
    assert client.post("/channels/twilio/inbound?crisis=haiti", **tampered).status_code == 403
    unsigned = client.post("/channels/twilio/inbound", data=params)
    assert unsigned.status_code == 403
    assert count(app) == 0


def test_smssync_answers_as_smssync_expects_and_refuses_a_wrong_secret(app, client, haiti):
    response = client.post("/channels/smssync/inbound?crisis=haiti", **smssync_sms("1001", "moun blese nan kafou"))
    assert response.status_code == 200 and response.get_json() == {"payload": {"success": True, "error": None}}
    assert (
        client.post("/channels/smssync/inbound?crisis=haiti", **smssync_sms("1001", "moun blese nan kafou")).status_code
        == 200
    )
    wrong = client.post("/channels/smssync/inbound", **smssync_sms("1002", "x", secret="guess"))
    assert wrong.status_code == 403 and wrong.get_json()["payload"]["success"] is False
    assert count(app) == 1


def test_rapidpro_webhook_and_external_channel_json(app, client, haiti):
    flow = client.post(
        "/channels/rapidpro/inbound?crisis=haiti", **rapidpro_webhook("0f8a-1", "nou bezwen dlo nan leyogan")
    )
    assert flow.status_code == 200
    external = client.post(
        "/channels/rapidpro/inbound?crisis=haiti",
        data=json.dumps({"id": 1241244, "text": "tent needed Jacmel", "from": "+50937000009", "to": "4636"}),
        headers={"Content-Type": "application/json", "X-Crisiswiki-Secret": SECRETS["RAPIDPRO_SECRET"]},
    )
    assert external.status_code == 200
    with app.app_context():
        senders = set(db.session.scalars(select(InboundMessage.sender)))
    assert senders == {"+50937000003", "+50937000009"}  # tel: URNs read as numbers
    wrong = client.post("/channels/rapidpro/inbound", **rapidpro_webhook("0f8a-2", "x", secret="nope"))
    assert wrong.status_code == 403 and count(app) == 2


def test_generic_webhook(app, client, haiti):
    response = client.post(
        "/channels/webhook/inbound?crisis=haiti", **webhook_message("w-1", "Champ de Mars camp full")
    )
    assert response.status_code == 200 and response.get_json()["received"][0]["duplicate"] is False
    retry = client.post("/channels/webhook/inbound?crisis=haiti", **webhook_message("w-1", "Champ de Mars camp full"))
    assert retry.get_json()["received"][0]["duplicate"] is True and count(app) == 1


# -- bad input: a clear 4xx, nothing stored --------------------------------------------------------

BAD = [
    ("unknown channel", "/channels/pigeon/inbound", webhook_message("b1", "x"), 404),
    ("unknown crisis", "/channels/webhook/inbound?crisis=nowhere", webhook_message("b2", "x"), 404),
    (
        "form to a JSON gateway",
        "/channels/webhook/inbound",
        {
            "data": "id=1&from=2&text=3",
            "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Crisiswiki-Secret": "webhook-secret"},
        },
        415,
    ),
    (
        "JSON to a form gateway",
        "/channels/smssync/inbound",
        {"data": "{}", "headers": {"Content-Type": "application/json"}},
        415,
    ),
    (
        "malformed JSON",
        "/channels/webhook/inbound",
        {"data": "{not json", "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": "webhook-secret"}},
        400,
    ),
    (
        "binary junk",
        "/channels/webhook/inbound",
        {
            "data": bytes(range(256)) * 4,
            "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": "webhook-secret"},
        },
        400,
    ),
    (
        "binary junk as a form",
        "/channels/smssync/inbound",
        {"data": b"\xff\xfe\x00secret=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        400,
    ),
    (
        "a JSON list",
        "/channels/webhook/inbound",
        {"data": "[1, 2]", "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": "webhook-secret"}},
        400,
    ),
    (
        "no id",
        "/channels/webhook/inbound",
        {
            "data": json.dumps({"from": "+1", "text": "x"}),
            "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": "webhook-secret"},
        },
        422,
    ),
    (
        "no sender",
        "/channels/webhook/inbound",
        {
            "data": json.dumps({"id": "1", "text": "x"}),
            "headers": {"Content-Type": "application/json", "X-Crisiswiki-Secret": "webhook-secret"},
        },
        422,
    ),
    ("oversized", "/channels/webhook/inbound", webhook_message("b3", "x" * 70000), 413),
    (
        "no secret",
        "/channels/webhook/inbound",
        {"data": json.dumps({"id": "1", "from": "+1", "text": "x"}), "headers": {"Content-Type": "application/json"}},
        403,
    ),
    (
        "smssync without message_id",
        "/channels/smssync/inbound",
        {
            "data": "secret=smssync-secret&from=%2B1&message=x",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        422,
    ),
]


@pytest.mark.parametrize(("name", "url", "kwargs", "status"), BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_a_clear_4xx_and_store_nothing(app, client, haiti, name, url, kwargs, status):
    response = client.post(url, **kwargs)
    assert response.status_code == status, response.data[:300]
    body = response.get_json()
    message = (
        body["error"]["message"] if "error" in body and isinstance(body["error"], dict) else body["payload"]["error"]
    )
    assert len(message) > 20
    assert count(app) == 0


def test_a_channel_without_its_secret_configured_does_not_exist(app, client, haiti):
    app.config["WEBHOOK_SECRET"] = ""
    response = client.post("/channels/webhook/inbound", **webhook_message("n1", "x", secret=""))
    assert response.status_code == 404 and count(app) == 0


# -- processing, the inbox, reports -----------------------------------------------------------------


def test_a_message_becomes_a_located_report_from_the_inbox(app, client, haiti, make_user, login):
    twilio_post(client, twilio_sms("SM" + "c" * 32, "nou bezwen dlo nan delmas 33 depi lendi"))
    run_jobs(app)
    with app.app_context():
        message = db.session.scalar(select(InboundMessage))
        assert message.state == "inbox" and message.crisis_id is not None and message.language == "ht"
        assert message.place["place"]["name"] == "Delmas 33"
        message_id = message.id
    coordinator = make_user("coordinator")
    login(coordinator)
    listed = client.get("/api/v1/messages?crisis=haiti").get_json()["messages"]
    assert [m["id"] for m in listed] == [message_id] and listed[0]["sender"] == "+50937000001"
    page = client.get(f"/messages/{message_id}")
    assert page.status_code == 200 and b"Delmas 33" in page.data
    made = client.post(f"/messages/{message_id}/report", data={"title": "No water in Delmas 33", "place": "place:x"})
    assert made.status_code == 302  # an unknown place id: flashed, back to the message
    made = client.post(f"/messages/{message_id}/report", data={"title": "No water in Delmas 33", "sector": "wash"})
    assert made.status_code == 302
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.location_kind == "place" and report.location_radius_m == 150.0
        assert report.channel == "sms" and report.source.contact == "+50937000001" and report.crisis.slug == "haiti"
        assert db.session.get(InboundMessage, message_id).state == "reported"
        report_id = report.id
    again = client.post(f"/messages/{message_id}/report", data={"title": "twice"})
    assert again.status_code == 302 and count(app, Report) == 1  # one report per message
    points = client.get("/api/v1/map/reports?crisis=haiti").get_json()["features"]
    assert [p["id"] for p in points] == [report_id] and points[0]["properties"]["location_kind"] == "place"


def test_the_inbox_is_for_verifiers_coordinators_and_admins_only(app, client, haiti, make_user, login):
    client.post("/channels/webhook/inbound?crisis=haiti", **webhook_message("p-1", "Kafou"))
    run_jobs(app)
    assert client.get("/api/v1/messages?crisis=haiti").status_code == 401
    assert client.get("/c/haiti/inbox").status_code in (302, 401)
    login(make_user("volunteer"))
    assert client.get("/api/v1/messages?crisis=haiti").status_code == 403
    assert client.get("/c/haiti/inbox").status_code == 403


def test_a_keyword_rule_from_a_trusted_sender_makes_reports_at_once_and_acknowledges(
    app, client, haiti, make_user, login
):
    coordinator = make_user("coordinator")
    login(coordinator)
    assert (
        client.post(
            "/c/haiti/channels",
            data={"action": "rule", "kind": "keyword", "value": "WATER", "sector": "wash", "auto_report": "1"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/c/haiti/channels", data={"action": "settings", "acknowledge": "1", "template_en": "Got it, message {id}."}
        ).status_code
        == 302
    )
    client.post("/logout")
    with GatewayAPI() as api:
        app.config["TWILIO_API_URL"] = api.url
        twilio_post(client, twilio_sms("SM" + "d" * 32, "WATER Kafou no water since Monday"), crisis=None)
        run_jobs(app)
        with app.app_context():
            message = db.session.scalar(select(InboundMessage))
            report = db.session.scalar(select(Report))
            assert message.state == "reported" and report is not None and report.sector == "wash"
            assert report.location_ref == "pcode:HT0113"
            ack = db.session.scalar(select(OutboundMessage))
            assert ack.kind == "ack" and ack.sent_at is not None and ack.gateway_id.startswith("SM")
            assert ack.text == f"Got it, message {message.id}."
    path, headers, body = api.requests[0]
    assert path.endswith(f"/Accounts/{SECRETS['TWILIO_ACCOUNT_SID']}/Messages.json")
    assert headers["Authorization"].startswith("Basic ") and b"To=%2B50937000001" in body


def test_smssync_takes_its_outgoing_messages_by_polling(app, client, haiti, make_user, login):
    client.post("/channels/smssync/inbound?crisis=haiti", **smssync_sms("2001", "bezwen tant nan leyogan"))
    run_jobs(app)
    with app.app_context():
        message_id = db.session.scalar(select(InboundMessage.id))
    login(make_user("coordinator"))
    assert client.post(f"/messages/{message_id}/reply", data={"text": "Ki kote egzakteman?"}).status_code == 302
    client.post("/logout")
    assert client.get("/channels/smssync/inbound?task=send&secret=guess").status_code == 403
    polled = client.get(f"/channels/smssync/inbound?task=send&secret={SECRETS['SMSSYNC_SECRET']}").get_json()["payload"]
    assert polled["task"] == "send" and polled["secret"] == SECRETS["SMSSYNC_SECRET"]
    [sent] = polled["messages"]
    assert sent["to"] == "+50937000002" and sent["message"] == "Ki kote egzakteman?"
    assert (
        client.get(f"/channels/smssync/inbound?task=send&secret={SECRETS['SMSSYNC_SECRET']}").get_json()["payload"][
            "messages"
        ]
        == []
    )
    confirmed = client.post(
        "/channels/smssync/inbound?task=sent",
        data=json.dumps({"queued_messages": [sent["uuid"], "not-ours"]}),
        headers={"Content-Type": "application/json"},
    )
    assert confirmed.get_json() == {"message_uuids": [sent["uuid"]]}
    with app.app_context():
        assert db.session.scalar(select(OutboundMessage.sent_at)) is not None


def test_send_sms_for_other_features_is_queued_in_the_callers_transaction(app, haiti):
    from wiki.channels import send_sms
    from wiki.crises.services import get_crisis_or_404

    with GatewayAPI() as api:
        app.config.update(TWILIO_API_URL=api.url, CHANNEL_SMS_DEFAULT="twilio")
        with app.test_request_context():
            send_sms("+50937000077", "Flood alert for Delmas", get_crisis_or_404("haiti"))
            db.session.rollback()  # the caller's change failed: no SMS either
            send_sms("+50937000077", "Flood alert for Delmas", get_crisis_or_404("haiti"))
            db.session.commit()
        run_jobs(app)
    assert len(api.requests) == 1 and b"Flood+alert" in api.requests[0][2]


def test_a_gateway_that_refuses_gets_the_message_again_later(app, haiti):
    from wiki.channels import send_sms
    from wiki.crises.services import get_crisis_or_404

    with GatewayAPI(status=503, answer={"message": "busy"}) as api:
        app.config.update(TWILIO_API_URL=api.url, CHANNEL_SMS_DEFAULT="twilio")
        with app.test_request_context():
            send_sms("+50937000078", "Alert", get_crisis_or_404("haiti"))
            db.session.commit()
        from wiki.channels.outbox import deliver_waiting

        with app.app_context():
            deliver_waiting()
            row = db.session.scalar(select(OutboundMessage))
            assert row.sent_at is None and row.claimed_at is None and "503" in row.last_error and row.attempts == 1


def test_a_message_stored_before_a_crash_is_processed_when_the_worker_starts(app, client, haiti, app_config):
    from wiki import create_app

    client.post("/channels/webhook/inbound?crisis=haiti", **webhook_message("crash-1", "Leogane tents"))
    # The server died here: stored, never processed. A new process's worker finds it.
    restarted = create_app(app_config)
    run_jobs(restarted)
    with restarted.app_context():
        message = db.session.scalar(select(InboundMessage))
        assert message.processed_at is not None and message.place["place"]["pcode"] == "HT0121"
        db.session.remove()
        db.engine.dispose()


def test_the_same_person_on_two_channels_is_one_source_once_linked(app, client, haiti, make_user, login):
    client.post(
        "/channels/webhook/inbound?crisis=haiti", **webhook_message("l-1", "Kafou flood", sender="+50937000011")
    )
    client.post(
        "/channels/rapidpro/inbound?crisis=haiti",
        **rapidpro_webhook("l-2", "Kafou flood again", urn="tel:+50937000022"),
    )
    run_jobs(app)
    login(make_user("coordinator"))
    with app.app_context():
        first, second = db.session.scalars(select(InboundMessage.id).order_by(InboundMessage.id)).all()
    client.post(f"/messages/{first}/report", data={"title": "Flood in Carrefour"})
    with app.app_context():
        source_id = db.session.scalar(select(Report.source_id))
    assert client.post(f"/messages/{second}/source", data={"source": str(source_id)}).status_code == 302
    client.post(f"/messages/{second}/report", data={"title": "Flood in Carrefour again"})
    with app.app_context():
        assert set(db.session.scalars(select(Report.source_id))) == {source_id}


def test_showing_a_senders_number_is_recorded(app, client, haiti, make_user, login):
    from wiki.models import ContactView

    client.post("/channels/webhook/inbound?crisis=haiti", **webhook_message("s-1", "help"))
    run_jobs(app)
    login(make_user("verifier"))
    client.get("/api/v1/messages?crisis=haiti")
    with app.app_context():
        view = db.session.scalar(select(ContactView))
        assert view is not None and view.message_id is not None and view.endpoint == "api.list_messages"


def test_a_translation_is_kept_beside_the_original_and_searched(app, client, haiti, make_user, login, index):
    client.post("/channels/webhook/inbound?crisis=haiti", **webhook_message("t-1", "nou bezwen dlo nan leyogan"))
    run_jobs(app)
    login(make_user("coordinator"))
    with app.app_context():
        message_id = db.session.scalar(select(InboundMessage.id))
    client.post(f"/messages/{message_id}/report", data={"title": "Dlo"})
    client.post(f"/messages/{message_id}/translation", data={"translation": "we need drinking water", "language": "en"})
    index()
    found = client.get("/api/v1/search?q=drinking").get_json()
    assert [r["id"] for r in found["results"]] and found["results"][0]["type"] == "report"
    with app.app_context():
        message = db.session.get(InboundMessage, message_id)
        assert message.text == "nou bezwen dlo nan leyogan" and message.translation == "we need drinking water"

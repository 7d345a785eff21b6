"""Alert subscriptions through the API, delivered by the real background worker's jobs to a real
SMTP server (aiosmtpd) and a real HTTP server on loopback."""

from __future__ import annotations

import email
import hashlib
import hmac
import json

import pytest
from sqlalchemy import func, select

from tests.alerts_helpers import (
    IN_CARREFOUR,
    IN_PORT_AU_PRINCE,
    import_boundaries_into,
    links_in,
    run_worker,
    webhook_receiver,  # noqa: F401  (fixture)
)
from tests.smtp_helpers import smtp_server  # noqa: F401  (fixture)
from wiki.extensions import db
from wiki.models import AlertDelivery, AlertMessage, AlertSubscription, MailMessage, Report


@pytest.fixture
def app_config(app_config: dict, smtp_server) -> dict:  # noqa: F811
    return {**app_config, **smtp_server.settings(), "ALERT_WEBHOOK_ALLOWED_HOSTS": ["127.0.0.1"]}


@pytest.fixture
def people(app, crisis, make_user, token_for):
    admin = make_user("admin")
    import_boundaries_into(app, crisis, admin.id)
    responder, coordinator = make_user("volunteer"), make_user("coordinator")
    return {
        "responder": responder,
        "responder_token": token_for(responder),
        "coordinator_token": token_for(coordinator),
        "admin_token": token_for(admin),
    }


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def submit(client, token: str, title: str, point, **properties) -> int:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(point)},
        "properties": {"crisis": "quake", "sector": "health", **properties, "title": title},
    }
    response = client.post("/api/v1/reports", json=feature, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def verify(client, token: str, report_id: int) -> None:
    response = client.patch(f"/api/v1/reports/{report_id}", json={"status": "verified"}, headers=bearer(token))
    assert response.status_code == 200, response.get_json()


def confirm_by_mail(client, smtp_server, address: str) -> None:  # noqa: F811
    [mail] = [m for m in smtp_server.messages if m["To"] == address and "Confirm" in m["Subject"]]
    [link] = [url for url in links_in(mail) if "confirm" in url]
    path = link.split("wiki.test", 1)[1]
    assert client.get(path).status_code == 200
    done = client.post(path)
    assert done.status_code == 200 and b"confirmed" in done.data


def alerts_to(smtp_server, address: str) -> list[email.message.EmailMessage]:  # noqa: F811
    return [m for m in smtp_server.messages if m["To"] == address and "Confirm" not in m["Subject"]]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_responder_gets_exactly_one_alert_when_a_health_report_in_their_area_is_verified(
    app,
    client,
    people,
    smtp_server,  # noqa: F811
):
    token = people["responder_token"]
    made = client.post(
        "/api/v1/subscriptions",
        json={
            "crisis": "quake",
            "area": {"pcode": "HT0111"},
            "sectors": ["health"],
            "statuses": ["verified"],
            "keywords": "",
            "deliver": {"email": "responder@example.org"},
            "frequency": "immediate",
        },
        headers=bearer(token),
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["state"] == "unconfirmed" and body["area"] == {"pcode": "HT0111"}
    assert made.headers["Location"].endswith(f"/api/v1/subscriptions/{body['id']}")
    run_worker(app)  # the confirmation mail went out; no alert before the address is confirmed
    coordinator = people["coordinator_token"]
    early = submit(client, coordinator, "Cholera cases at the clinic", IN_PORT_AU_PRINCE)
    verify(client, coordinator, early)
    run_worker(app)
    assert alerts_to(smtp_server, "responder@example.org") == []
    confirm_by_mail(client, smtp_server, "responder@example.org")
    assert client.get(f"/api/v1/subscriptions/{body['id']}", headers=bearer(token)).get_json()["state"] == "active"

    inside = submit(client, coordinator, "Clinic out of oral rehydration salts", IN_PORT_AU_PRINCE)
    elsewhere = submit(client, coordinator, "Clinic in Carrefour needs staff", IN_CARREFOUR)
    other_sector = submit(client, coordinator, "Water point broken", IN_PORT_AU_PRINCE, sector="wash")
    run_worker(app)
    assert alerts_to(smtp_server, "responder@example.org") == []  # nothing verified yet
    for report_id in (inside, elsewhere, other_sector):
        verify(client, coordinator, report_id)
    run_worker(app)
    run_worker(app)  # running again sends nothing twice
    [alert] = alerts_to(smtp_server, "responder@example.org")
    assert alert["Subject"] == "[Test earthquake] Clinic out of oral rehydration salts"
    text = alert.get_body(("plain",)).get_content()
    html = alert.get_body(("html",)).get_content()
    assert f"/reports/{inside}" in text and f"/reports/{inside}" in html
    assert "/c/quake/map?" in text and "lat=18.54000" in text  # the place as a link to the map
    assert "Cholera" not in text  # verified before the address was confirmed: not sent afterwards either
    assert alert["List-Unsubscribe"].startswith("<http://wiki.test/alerts/unsubscribe/")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with app.app_context():
        [delivery] = db.session.scalars(select(AlertDelivery)).all()
        assert (delivery.report_id, delivery.state) == (inside, "sent")


def test_the_alert_comes_in_the_subscribers_language(app, client, people, smtp_server):  # noqa: F811
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "fr@example.org"}, "language": "fr", "statuses": ["verified"]},
        headers=bearer(people["responder_token"]),
    )
    assert made.status_code == 201
    run_worker(app)
    [confirmation] = [m for m in smtp_server.messages if m["To"] == "fr@example.org"]
    assert confirmation["Subject"].startswith("Confirmez")
    confirm_by_mail(client, smtp_server, "fr@example.org")
    verify(client, people["coordinator_token"], submit(client, people["coordinator_token"], "Pont coupé", IN_CARREFOUR))
    run_worker(app)
    [alert] = alerts_to(smtp_server, "fr@example.org")
    assert "Se désabonner" in alert.get_body(("plain",)).get_content()


def test_one_click_unsubscribe_works_without_a_session_or_form_token(app, client, people, smtp_server):  # noqa: F811
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "once@example.org"}},
        headers=bearer(people["responder_token"]),
    )
    run_worker(app)
    confirm_by_mail(client, smtp_server, "once@example.org")
    submit(client, people["coordinator_token"], "Road blocked", IN_CARREFOUR)
    run_worker(app)
    [alert] = alerts_to(smtp_server, "once@example.org")
    url = alert["List-Unsubscribe"].strip("<>").split("wiki.test", 1)[1]
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: the one-click POST carries no token
    stranger = app.test_client()
    assert stranger.get(url).status_code == 200
    assert count(app, AlertSubscription) == 1  # opening the link (a link checker) unsubscribes nobody
    answer = stranger.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert count(app, AlertSubscription) == 0
    assert stranger.post(url).status_code == 200  # twice is no error
    forged = stranger.post(url[:-3] + "xyz")
    assert forged.status_code == 400
    assert made.status_code == 201


def test_a_report_withdrawn_before_the_digest_is_not_sent(app, client, people, smtp_server, monkeypatch):  # noqa: F811
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "digest@example.org"}, "frequency": "hourly"},
        headers=bearer(people["responder_token"]),
    )
    assert made.status_code == 201
    run_worker(app)
    confirm_by_mail(client, smtp_server, "digest@example.org")
    coordinator = people["coordinator_token"]
    kept = submit(client, coordinator, "Shelter full", IN_CARREFOUR)
    withdrawn = submit(client, coordinator, "Witness hiding", IN_CARREFOUR)
    run_worker(app)
    assert alerts_to(smtp_server, "digest@example.org") == []  # an hourly digest waits for the hour
    response = client.post(
        f"/api/v1/reports/{withdrawn}/withdraw", json={"reason": "protect"}, headers=bearer(coordinator)
    )
    assert response.status_code == 200
    from datetime import timedelta

    from wiki.models.base import utcnow

    later = utcnow() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr("wiki.alerts.jobs.utcnow", lambda: later)
    run_worker(app)
    [digest] = alerts_to(smtp_server, "digest@example.org")
    text = digest.get_body(("plain",)).get_content()
    assert f"/reports/{kept}" in text and "Shelter full" in text
    assert "Witness" not in text and f"/reports/{withdrawn}" not in text


def test_a_surge_collapses_into_one_message_a_minute(app, client, people, smtp_server, monkeypatch):  # noqa: F811
    client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "surge@example.org"}},
        headers=bearer(people["responder_token"]),
    )
    run_worker(app)
    confirm_by_mail(client, smtp_server, "surge@example.org")
    coordinator = people["coordinator_token"]
    submit(client, coordinator, "First report", IN_CARREFOUR)
    run_worker(app)
    for n in range(12):
        submit(client, coordinator, f"Surge report {n}", IN_CARREFOUR)
    run_worker(app)
    assert len(alerts_to(smtp_server, "surge@example.org")) == 1  # the rest wait for the minute to end
    from datetime import timedelta

    from wiki.models.base import utcnow

    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr("wiki.alerts.jobs.utcnow", lambda: later)
    run_worker(app)
    first, second = alerts_to(smtp_server, "surge@example.org")
    assert first["Subject"] == "[Test earthquake] First report"
    assert second["Subject"] == "[Test earthquake] 12 new alerts"
    text = second.get_body(("plain",)).get_content()
    assert all(f"Surge report {n}" in text for n in range(12))


def test_webhooks_are_signed_retried_with_backoff_dead_lettered_and_replayed(
    app,
    client,
    people,
    webhook_receiver,  # noqa: F811
    monkeypatch,
):
    app.config.update(ALERT_RETRY_SECONDS=0.0, ALERT_MAX_ATTEMPTS=3)
    token = people["responder_token"]
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"webhook": webhook_receiver.url}, "sectors": ["health"]},
        headers=bearer(token),
    )
    assert made.status_code == 201, made.get_json()
    subscription = made.get_json()
    assert subscription["state"] == "active" and len(subscription["webhook_secret"]) == 64
    webhook_receiver.answers = [500, 503]  # two failures, then it takes it
    report_id = submit(client, people["coordinator_token"], "Clinic flooded", IN_PORT_AU_PRINCE)
    for _ in range(3):
        run_worker(app)
    assert len(webhook_receiver.received) == 3
    last = webhook_receiver.received[-1]
    assert {r.headers["X-Crisiswiki-Delivery"] for r in webhook_receiver.received} == {
        last.headers["X-Crisiswiki-Delivery"]
    }
    expected = hmac.new(
        subscription["webhook_secret"].encode(),
        last.headers["X-Crisiswiki-Timestamp"].encode() + b"." + last.body,
        hashlib.sha256,
    ).hexdigest()
    assert last.headers["X-Crisiswiki-Signature"] == f"sha256={expected}"
    payload = last.json
    assert payload["crisis"] == "quake" and [a["id"] for a in payload["alerts"]] == [report_id]
    assert payload["alerts"][0]["place"]["adm2_pcode"] == "HT0111" and "source" not in payload["alerts"][0]
    log = client.get(f"/api/v1/subscriptions/{subscription['id']}/deliveries", headers=bearer(token)).get_json()
    [message] = log["messages"]
    assert message["state"] == "sent" and [a["status_code"] for a in message["attempts"]] == [500, 503, 200]

    # A receiver that keeps failing: the message is dead after ALERT_MAX_ATTEMPTS, then replayed.
    webhook_receiver.answers = [500] * 3
    submit(client, people["coordinator_token"], "Second clinic flooded", IN_PORT_AU_PRINCE)
    from datetime import timedelta

    from wiki.models.base import utcnow

    later = utcnow() + timedelta(seconds=61)  # past the minute that collapses alerts
    monkeypatch.setattr("wiki.alerts.jobs.utcnow", lambda: later)
    for _ in range(4):
        run_worker(app)
    log = client.get(f"/api/v1/subscriptions/{subscription['id']}/deliveries", headers=bearer(token)).get_json()
    dead = log["messages"][0]
    assert dead["state"] == "dead" and len(dead["attempts"]) == 3
    replayed = client.post(
        f"/api/v1/subscriptions/{subscription['id']}/messages/{dead['id']}/replay", headers=bearer(token)
    )
    assert replayed.status_code == 202
    run_worker(app)
    log = client.get(f"/api/v1/subscriptions/{subscription['id']}/deliveries", headers=bearer(token)).get_json()
    assert log["messages"][0]["state"] == "sent" and log["messages"][0]["attempts"][-1]["replay"] is True
    assert webhook_receiver.received[-1].headers["X-Crisiswiki-Delivery"] == str(dead["id"])


@pytest.mark.parametrize(
    ("area", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "not a valid polygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "readable"),
        ({"type": "Point", "coordinates": [0, 0]}, "Polygon"),
        ({"pcode": "HT9999"}, "no admin area"),
        ({"pcode": 111}, "P-code"),
        ({"point": [-72.3, 18.5], "radius_km": 0}, "radius_km"),
        ({"point": [-272.3, 18.5], "radius_km": 5}, "degrees"),
        ("HT0111", "area must be"),
    ],
)
def test_a_bad_area_is_a_422_and_stores_nothing(app, client, people, area, reason):
    before = count(app, AlertSubscription), count(app, MailMessage)
    response = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "area": area, "deliver": {"email": "a@example.org"}},
        headers=bearer(people["responder_token"]),
    )
    assert response.status_code == 422, response.get_json()
    assert reason in response.get_json()["error"]["message"] and response.get_json()["error"]["field"] in (
        "area",
        "radius_km",
    )
    assert (count(app, AlertSubscription), count(app, MailMessage)) == before


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "file:///etc/passwd",
        "http://127.0.0.2:8080/hook",  # loopback (only 127.0.0.1 is allowed in these tests)
        "http://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://[::1]/hook",
        "http://wiki.test/api/v1/reports",  # the app itself
        "http://user:secret@example.org/hook",
        "javascript:alert(1)",
    ],
)
def test_a_webhook_to_an_internal_address_is_a_422_and_stores_nothing(app, client, people, url):
    before = count(app, AlertSubscription)
    response = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"webhook": url}},
        headers=bearer(people["responder_token"]),
    )
    assert response.status_code == 422, (url, response.get_json())
    assert response.get_json()["error"]["field"] == "deliver"
    assert count(app, AlertSubscription) == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_without_the_setting_even_the_loopback_receiver_is_refused(app, client, people, webhook_receiver, host):  # noqa: F811
    app.config["ALERT_WEBHOOK_ALLOWED_HOSTS"] = []
    response = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"webhook": webhook_receiver.url.replace("127.0.0.1", host)}},
        headers=bearer(people["responder_token"]),
    )
    assert response.status_code == 422 and "internal" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"deliver": {"email": "a@example.org"}}, "crisis", 422),
        ({"crisis": "nowhere", "deliver": {"email": "a@example.org"}}, "crisis", 422),
        ({"crisis": "quake"}, "deliver", 422),
        ({"crisis": "quake", "deliver": {"email": "not an address"}}, "deliver", 422),
        ({"crisis": "quake", "deliver": {"sms": "12345"}}, "deliver", 422),
        ({"crisis": "quake", "deliver": {"pigeon": "x"}}, "deliver", 422),
        ({"crisis": "quake", "deliver": {"email": "a@example.org"}, "sectors": ["health", "magic"]}, "sectors", 422),
        ({"crisis": "quake", "deliver": {"email": "a@example.org"}, "statuses": "verified,gone"}, "statuses", 422),
        ({"crisis": "quake", "deliver": {"email": "a@example.org"}, "frequency": "weekly"}, "frequency", 422),
        ({"crisis": "quake", "deliver": {"email": "a@example.org"}, "min_score": 0.7}, "min_score", 422),
        ({"crisis": "quake", "deliver": {"email": "a@example.org"}, "verdicts": ["accept"]}, "verdicts", 422),
        (
            {"crisis": "quake", "deliver": {"email": "a@example.org"}, "quiet_hours": {"start": "25:00", "end": "7"}},
            "quiet_hours",
            422,
        ),
        (
            {
                "crisis": "quake",
                "deliver": {"email": "a@example.org"},
                "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"},
            },
            "quiet_hours",
            422,
        ),
        ({"crisis": "quake", "deliver": {"email": "a@example.org"}, "colour": "red"}, "colour", 422),
        ({"crisis": "quake", "deliver": {"email": "a@example.org"}, "keywords": 5}, "keywords", 422),
    ],
)
def test_bad_input_is_refused_with_the_field_named(app, client, people, body, field, status):
    before = count(app, AlertSubscription), count(app, MailMessage)
    response = client.post("/api/v1/subscriptions", json=body, headers=bearer(people["responder_token"]))
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert (count(app, AlertSubscription), count(app, MailMessage)) == before


def test_anyone_may_subscribe_by_email_to_public_information_only(app, client, people, smtp_server):  # noqa: F811
    anonymous = app.test_client()
    for deliver in ({"webhook": "http://127.0.0.1:9/x"}, {"sms": "+50937000000"}, {"feed": True}):
        response = anonymous.post("/api/v1/subscriptions", json={"crisis": "quake", "deliver": deliver})
        assert response.status_code == 401
    watch = anonymous.post(
        "/api/v1/subscriptions", json={"crisis": "quake", "kind": "watchlist", "deliver": {"email": "w@example.org"}}
    )
    assert watch.status_code == 401
    made = anonymous.post("/api/v1/subscriptions", json={"crisis": "quake", "deliver": {"email": "public@example.org"}})
    assert made.status_code == 201 and made.get_json() == {
        "state": "unconfirmed",
        "message": "Open the link in the mail we sent to confirm.",
    }
    assert anonymous.get("/api/v1/subscriptions").status_code == 401
    run_worker(app)
    confirm_by_mail(anonymous, smtp_server, "public@example.org")
    coordinator = people["coordinator_token"]
    public = submit(client, coordinator, "Bridge down", IN_CARREFOUR)
    hidden = submit(client, coordinator, "Unpublished note", IN_CARREFOUR)
    assert (
        client.patch(f"/api/v1/reports/{hidden}", json={"published": False}, headers=bearer(coordinator)).status_code
        == 200
    )
    run_worker(app)
    [alert] = alerts_to(smtp_server, "public@example.org")
    text = alert.get_body(("plain",)).get_content()
    assert f"/reports/{public}" in text and "Unpublished" not in text


def test_owners_see_their_subscriptions_admins_see_and_pause_every_one_others_get_404(
    app, client, people, make_user, token_for
):
    mine = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"feed": True}},
        headers=bearer(people["responder_token"]),
    ).get_json()
    url = f"/api/v1/subscriptions/{mine['id']}"
    stranger = bearer(token_for(make_user("coordinator")))
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"paused": True}} if method == "patch" else {}
        assert getattr(client, method)(url, headers=stranger, **kwargs).status_code == 404
    assert client.get(f"{url}/deliveries", headers=stranger).status_code == 404
    assert client.get("/api/v1/subscriptions", headers=stranger).get_json() == {"subscriptions": []}
    admin = bearer(people["admin_token"])
    listed = client.get("/api/v1/subscriptions?crisis=quake", headers=admin).get_json()["subscriptions"]
    assert [s["id"] for s in listed] == [mine["id"]]
    paused = client.patch(url, json={"paused": True}, headers=admin)
    assert paused.status_code == 200 and paused.get_json()["state"] == "paused"
    own = client.get("/api/v1/subscriptions", headers=bearer(people["responder_token"])).get_json()["subscriptions"]
    assert [s["state"] for s in own] == ["paused"]
    assert (
        client.patch(url, json={"paused": False}, headers=bearer(people["responder_token"])).get_json()["state"]
        == "active"
    )
    assert client.delete(url, headers=bearer(people["responder_token"])).status_code == 204
    assert client.get(url, headers=bearer(people["responder_token"])).status_code == 404


def test_the_feed_lives_at_a_secret_url_and_a_guessed_one_is_a_404(app, client, people):
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"feed": True}, "sectors": ["health"]},
        headers=bearer(people["responder_token"]),
    ).get_json()
    feed = made["feed_url"].split("wiki.test", 1)[1]
    report_id = submit(client, people["coordinator_token"], "Clinic reopened", IN_CARREFOUR)
    submit(client, people["coordinator_token"], "Market burnt", IN_CARREFOUR, sector="food")
    run_worker(app)
    anyone = app.test_client()
    response = anyone.get(feed)
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    assert b"Clinic reopened" in response.data and f"/reports/{report_id}".encode() in response.data
    assert b"Market burnt" not in response.data
    assert anyone.get("/alerts/feed/guessed-secret.atom").status_code == 404
    token = feed.rsplit("/", 1)[1].removesuffix(".atom")
    assert anyone.get(f"/alerts/feed/{token[:-1]}x.atom").status_code == 404


def test_sms_waits_with_a_clear_state_until_a_gateway_is_configured(app, client, people):
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"sms": "+509 3700 0000"}},
        headers=bearer(people["responder_token"]),
    )
    assert made.status_code == 201
    body = made.get_json()
    assert (
        body["deliver"] == {"sms": "+50937000000"} and body["sms_gateway"] == "none" and body["state"] == "unconfirmed"
    )
    run_worker(app)
    with app.app_context():
        [code] = db.session.scalars(select(AlertMessage)).all()
        assert (code.channel, code.state, code.attempts) == ("sms", "pending", 0)  # waits: nothing to send it with
    from tests.fixtures import PASSWORD

    browser = app.test_client()
    assert (
        browser.post("/login", data={"username": people["responder"].username, "password": PASSWORD}).status_code == 302
    )
    page = browser.get(f"/account/alerts/{body['id']}").get_data(as_text=True)
    assert "No SMS gateway is configured" in page


def test_a_change_to_the_address_must_be_confirmed_again(app, client, people, smtp_server):  # noqa: F811
    token = people["responder_token"]
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "one@example.org"}},
        headers=bearer(token),
    ).get_json()
    run_worker(app)
    confirm_by_mail(client, smtp_server, "one@example.org")
    changed = client.patch(
        f"/api/v1/subscriptions/{made['id']}", json={"deliver": {"email": "two@example.org"}}, headers=bearer(token)
    )
    assert changed.status_code == 200 and changed.get_json()["state"] == "unconfirmed"
    again = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "ONE@example.org"}},
        headers=bearer(token),
    )
    assert again.get_json()["state"] == "unconfirmed"  # the confirmed address belonged to the changed subscription
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 0
    assert json.loads(json.dumps(changed.get_json()))["deliver"] == {"email": "two@example.org"}

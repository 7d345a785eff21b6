"""Alerts beyond field reports by e-mail: SMS through a gateway plugin, the watchlist, new
situation reports and layers, scores from the validation plugin, several workers at once, and
the mail outbox's claims that make each message go once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.alerts.test_api import alerts_to, bearer, confirm_by_mail, submit, verify
from tests.alerts_helpers import (
    IN_CARREFOUR,
    IN_PORT_AU_PRINCE,
    SmsGateway,
    import_boundaries_into,
    links_in,
    run_worker,
)
from tests.smtp_helpers import smtp_server  # noqa: F401  (fixture)
from wiki import create_app
from wiki.extensions import db
from wiki.models import AlertDelivery, AlertSubscription, MailMessage, User


@pytest.fixture
def gateway() -> SmsGateway:
    return SmsGateway()


@pytest.fixture
def app(app_config, smtp_server, gateway):  # noqa: F811
    app = create_app({**app_config, **smtp_server.settings()}, plugins=[gateway])
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def people(app, crisis, make_user, token_for):
    admin = make_user("admin")
    import_boundaries_into(app, crisis, admin.id)
    responder, coordinator = make_user("volunteer"), make_user("coordinator")
    return {
        "responder": responder,
        "responder_token": token_for(responder),
        "coordinator": coordinator,
        "coordinator_token": token_for(coordinator),
    }


def test_sms_alerts_go_through_the_gateway_once_the_number_is_confirmed_by_code(app, client, people, gateway):
    token = people["responder_token"]
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"sms": "+50937000001"}, "statuses": ["verified"]},
        headers=bearer(token),
    ).get_json()
    assert made["sms_gateway"] == "configured" and made["state"] == "unconfirmed"
    run_worker(app)
    [(to, text, crisis)] = gateway.sent
    assert to == "+50937000001" and crisis == "quake"
    code = text.rsplit(" ", 1)[1]
    wrong = client.patch(
        f"/api/v1/subscriptions/{made['id']}",
        json={"code": "000000" if code != "000000" else "1"},
        headers=bearer(token),
    )
    assert wrong.status_code == 422 and wrong.get_json()["error"]["field"] == "code"
    right = client.patch(f"/api/v1/subscriptions/{made['id']}", json={"code": code}, headers=bearer(token))
    assert right.status_code == 200 and right.get_json()["state"] == "active"
    report_id = submit(client, people["coordinator_token"], "Bridge down at Carrefour", IN_CARREFOUR)
    verify(client, people["coordinator_token"], report_id)
    run_worker(app)
    assert len(gateway.sent) == 2
    to, text, _crisis = gateway.sent[1]
    assert "Bridge down at Carrefour" in text and f"/reports/{report_id}" in text and len(text) <= 320
    log = client.get(f"/api/v1/subscriptions/{made['id']}/deliveries", headers=bearer(token)).get_json()
    assert [m["state"] for m in log["messages"]] == ["sent", "sent"]


def test_watchlist_new_sitreps_and_layers_have_their_own_alerts(app, client, people, login, smtp_server):  # noqa: F811
    from wiki.models import Page

    token = people["responder_token"]
    for kind, address in (
        ("watchlist", "watch@example.org"),
        ("sitreps", "sitrep@example.org"),
        ("layers", "layer@example.org"),
    ):
        made = client.post(
            "/api/v1/subscriptions",
            json={"crisis": "quake", "kind": kind, "deliver": {"email": address}},
            headers=bearer(token),
        )
        assert made.status_code == 201
    run_worker(app)
    for address in ("watch@example.org", "sitrep@example.org", "layer@example.org"):
        confirm_by_mail(client, smtp_server, address)
    editor = app.test_client()
    login(people["coordinator"], editor)
    editor.post("/c/quake/new", data={"title": "Camps", "body": "Camp list"})
    editor.post(
        "/c/quake/new",
        data={"title": "Situation Report No. 1", "body": "Highlights", "categories": "Situation reports"},
    )
    run_worker(app)  # (a watch applies to the saves after it)
    reader = app.test_client()
    login(people["responder"], reader)
    assert reader.post("/c/quake/wiki/Camps/watch", data={"watch": "1"}).status_code in (200, 302)
    base = editor.get("/api/v1/pages/quake/Camps").get_json()["base_revision"]
    assert (
        editor.post("/c/quake/wiki/Camps/edit", data={"body": "Camp list, updated", "base_revision": base}).status_code
        == 302
    )
    layer = client.post(
        "/api/v1/layers",
        json={
            "crisis": "quake",
            "title": "Shelters",
            "geojson": {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": list(IN_CARREFOUR)},
            },
        },
        headers=bearer(people["coordinator_token"]),
    )
    assert layer.status_code == 201, layer.get_json()
    run_worker(app)
    [watched] = alerts_to(smtp_server, "watch@example.org")
    assert "Camps" in watched["Subject"] and "/c/quake/wiki/Camps" in watched.get_body(("plain",)).get_content()
    [sitrep] = alerts_to(smtp_server, "sitrep@example.org")
    assert "Situation Report No. 1" in sitrep["Subject"]
    [changed] = alerts_to(smtp_server, "layer@example.org")
    assert "Shelters" in changed["Subject"]
    with app.app_context():
        page_id = db.session.scalar(select(Page.id).where(Page.slug == "Situation_Report_No._1"))
    base = editor.get("/api/v1/pages/quake/Situation_Report_No._1").get_json()["base_revision"]
    editor.post(
        "/c/quake/wiki/Situation_Report_No._1/edit",
        data={"body": "Highlights, more", "base_revision": base, "categories": "Situation reports"},
    )
    run_worker(app)
    assert len(alerts_to(smtp_server, "sitrep@example.org")) == 1  # a new sitrep once, not each edit
    assert page_id


def test_a_score_crossing_the_threshold_alerts_once(app_config, smtp_server, crisis, make_user, token_for):  # noqa: F811
    """With the validation plugin loaded from its entry point: a verifier's grading raises a
    report's score above the subscription's minimum, in the request; the score's event was
    written in the scoring transaction, and the worker matches it."""
    app = create_app({**app_config, **smtp_server.settings(), "LOAD_ENTRYPOINT_PLUGINS": True})
    client = app.test_client()
    responder, verifier, coordinator = make_user("volunteer"), make_user("verifier"), make_user("coordinator")
    token = token_for(responder)
    made = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "trust@example.org"}, "min_score": 0.6, "verdicts": ["accept"]},
        headers=bearer(token),
    )
    assert made.status_code == 201, made.get_json()
    bad = client.post(
        "/api/v1/subscriptions",
        json={"crisis": "quake", "deliver": {"email": "x@example.org"}, "verdicts": ["maybe"]},
        headers=bearer(token),
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "verdicts"
    run_worker(app)
    confirm_by_mail(client, smtp_server, "trust@example.org")
    graded = submit(client, token_for(coordinator), "Clinic roof collapsed", IN_CARREFOUR)
    ungraded = submit(client, token_for(coordinator), "Rumour of looting", IN_CARREFOUR, sector="protection")
    run_worker(app)
    assert alerts_to(smtp_server, "trust@example.org") == []
    response = client.post(
        f"/api/v1/reports/{graded}/assessments",
        json={"reliability": "A", "credibility": 1, "note": "seen"},
        headers=bearer(token_for(verifier)),
    )
    assert response.status_code in (200, 201), response.get_json()
    score = client.get(f"/api/v1/reports/{graded}").get_json()["properties"]
    assert score["score"] >= 0.6 and score["verdict"] == "accept", score
    run_worker(app)
    run_worker(app)
    [alert] = alerts_to(smtp_server, "trust@example.org")
    assert "Clinic roof collapsed" in alert["Subject"] and "looting" not in alert.get_body(("plain",)).get_content()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    assert ungraded


def test_two_workers_matching_and_composing_at_once_send_each_alert_once(app, app_config, client, people, smtp_server):  # noqa: F811
    """Two app instances (two servers) run the alert jobs at the same moment; the unique
    deliveries and the locked composition leave each alert in one mail."""
    from wiki.alerts.compose import compose, due_subscriptions
    from wiki.alerts.matcher import match_batch
    from wiki.mail import deliver_pending
    from wiki.models.base import utcnow

    token = people["responder_token"]
    for n in range(5):
        client.post(
            "/api/v1/subscriptions",
            json={"crisis": "quake", "deliver": {"email": f"r{n}@example.org"}},
            headers=bearer(token),
        )
    run_worker(app)
    for n in range(5):
        confirm_by_mail(client, smtp_server, f"r{n}@example.org")
    for n in range(30):
        submit(client, people["coordinator_token"], f"Report {n}", IN_PORT_AU_PRINCE if n % 2 else IN_CARREFOUR)
    other = create_app({**app_config, **smtp_server.settings()})
    barrier = threading.Barrier(2)
    errors = []

    def work(instance):
        try:
            with instance.app_context():
                barrier.wait()
                for _ in range(3):
                    match_batch(limit=7)
                for sid in due_subscriptions(utcnow(), 100):
                    compose(sid, utcnow())
                deliver_pending()
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(instance,)) for instance in (app, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    run_worker(app)
    for n in range(5):
        mails = alerts_to(smtp_server, f"r{n}@example.org")
        seen = [
            line
            for m in mails
            for line in m.get_body(("plain",)).get_content().splitlines()
            if line.startswith("Report ")
        ]
        assert sorted(seen) == sorted(set(seen)), f"r{n}: an alert came twice"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AlertDelivery)) == 150
        ids = [m["Message-ID"] for m in smtp_server.messages]
        assert len(ids) == len(set(ids))
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_claim_whose_sender_died_is_taken_over_and_a_sender_that_lost_its_claim_sends_nothing(app, smtp_server):  # noqa: F811
    from wiki.mail import deliver_pending, queue_mail
    from wiki.mail import sender as mail_sender
    from wiki.models.base import utcnow

    with app.app_context():
        queue_mail("dead@example.org", "Claimed by a sender that died", "x")
        queue_mail("slow@example.org", "Claimed by a slow sender", "x")
        db.session.commit()
        dead, slow = db.session.scalars(select(MailMessage.id).order_by(MailMessage.id)).all()
        stale = utcnow() - timedelta(seconds=app.config["MAIL_CLAIM_SECONDS"] + 1)
        db.session.execute(
            update(MailMessage).where(MailMessage.id == dead).values(claimed_at=stale, claim_token="gone")
        )
        db.session.commit()
        assert deliver_pending().sent == 2  # the stale claim is taken over
        assert sorted(m["To"] for m in smtp_server.messages) == ["dead@example.org", "slow@example.org"]
        # A sender whose claim was taken over while it talked to the server: its mark is refused,
        # it hangs up before the final dot, and the server keeps nothing from it.
        queue_mail("late@example.org", "Taken over", "x")
        db.session.commit()
        late = db.session.scalar(select(MailMessage.id).where(MailMessage.recipient == "late@example.org"))
        [row] = mail_sender._claim([late], "first", timedelta(seconds=60))
        db.session.execute(update(MailMessage).where(MailMessage.id == late).values(claim_token="second"))
        db.session.commit()
        connection = mail_sender.connect(app.config)
        with pytest.raises(mail_sender.Abandoned):
            mail_sender.send_fenced(
                connection,
                mail_sender.build_message(row, "noreply@wiki.test"),
                lambda: mail_sender._mark_sent(late, "first"),
            )
    assert [m["To"] for m in smtp_server.messages].count("late@example.org") == 0
    assert slow


def test_the_public_form_subscribes_by_email_with_a_confirmation_link(app, client, people, smtp_server):  # noqa: F811
    anonymous = app.test_client()
    page = anonymous.get("/c/quake/alerts")
    assert page.status_code == 200 and b'name="address"' in page.data
    bad = anonymous.post("/c/quake/alerts", data={"address": "nobody", "area_type": "none"})
    assert bad.status_code == 422
    done = anonymous.post(
        "/c/quake/alerts",
        data={
            "address": "form@example.org",
            "area_type": "pcode",
            "pcode": "HT0111",
            "sectors": ["health"],
            "kind": "reports",
        },
    )
    assert done.status_code == 200 and b"alert-done" in done.data
    with app.app_context():
        [subscription] = db.session.scalars(select(AlertSubscription)).all()
        assert (
            subscription.user_id is None and subscription.area_pcode == "HT0111" and subscription.confirmed_at is None
        )
    run_worker(app)
    [mail] = [m for m in smtp_server.messages if m["To"] == "form@example.org"]
    assert any("/alerts/confirm/" in link for link in links_in(mail))
    confirm_by_mail(anonymous, smtp_server, "form@example.org")
    submit(client, people["coordinator_token"], "Clinic closed", IN_PORT_AU_PRINCE)
    run_worker(app)
    assert len(alerts_to(smtp_server, "form@example.org")) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 4  # nobody got an account

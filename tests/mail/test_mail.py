"""The mail outbox and its sender, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.postgres_cluster import free_port
from tests.smtp_helpers import smtp_server  # noqa: F401  (fixture)
from wiki.extensions import db
from wiki.mail import deliver_pending, queue_mail
from wiki.models import MailMessage


def queue(app, count: int = 1, **kwargs) -> None:
    with app.app_context():
        for n in range(count):
            queue_mail(
                kwargs.get("to", f"person{n}@example.org"),
                kwargs.get("subject", f"Message {n}"),
                kwargs.get("text", "Plain text body\n"),
                kwargs.get("html"),
                kwargs.get("headers"),
            )
        db.session.commit()


def rows(app) -> list[MailMessage]:
    with app.app_context():
        return list(db.session.scalars(select(MailMessage).order_by(MailMessage.id)))


def test_mail_is_written_in_the_callers_transaction(app):
    with app.app_context():
        queue_mail("a@example.org", "Rolled back", "x")
        db.session.rollback()
        queue_mail("b@example.org", "Committed", "x")
        db.session.commit()
    assert [m.subject for m in rows(app)] == ["Committed"]


def test_pending_mail_is_delivered_as_proper_mime(app, smtp_server):  # noqa: F811
    app.config.update(smtp_server.settings())
    queue(
        app,
        to="amina@example.org",
        subject="Flood warning: Léogâne",
        text="Plain text, with accents: é\n",
        html="<p>The <b>HTML</b> version</p>",
        headers={"Reply-To": "desk@example.org"},
    )
    with app.app_context():
        done = deliver_pending()
    assert (done.sent, done.failed) == (1, 0)
    [(sender, recipients, _raw)] = smtp_server.received
    assert sender == "noreply@wiki.test" and recipients == ["amina@example.org"]
    [message] = smtp_server.messages
    assert message["Subject"] == "Flood warning: Léogâne"
    assert message["To"] == "amina@example.org" and message["From"] == "crisiswiki <noreply@wiki.test>"
    assert message["Reply-To"] == "desk@example.org"
    assert message["Date"] and message["Message-ID"] == rows(app)[0].headers["Message-ID"]
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().rstrip() == "Plain text, with accents: é"
    assert "<b>HTML</b>" in message.get_body(("html",)).get_content()
    [row] = rows(app)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None


def test_text_only_mail_is_a_single_part(app, smtp_server):  # noqa: F811
    app.config.update(smtp_server.settings())
    queue(app)
    with app.app_context():
        deliver_pending()
    [message] = smtp_server.messages
    assert message.get_content_type() == "text/plain"


def test_two_senders_at_once_send_each_message_once(app, smtp_server):  # noqa: F811
    app.config.update(smtp_server.settings())
    queue(app, count=12)
    results = []

    def sender():
        with app.app_context():
            results.append(deliver_pending())
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [message["Message-ID"] for message in smtp_server.messages]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert sum(result.sent for result in results) == 12
    assert all(row.attempts == 1 and row.sent_at is not None for row in rows(app))


def test_a_failed_delivery_stays_in_the_outbox_and_send_mail_sends_it_later(app, runner, smtp_server):  # noqa: F811
    app.config.update(smtp_server.settings(), MAIL_PORT=free_port(), MAIL_TIMEOUT=2)  # nobody listens there
    queue(app, subject="Try again")
    with app.app_context():
        done = deliver_pending()
    assert (done.sent, done.failed) == (0, 1)
    [row] = rows(app)
    assert (
        row.sent_at is None and row.claimed_at is None and row.attempts == 1 and "ConnectionRefused" in row.last_error
    )
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 1 and "1 failed" in result.output
    app.config["MAIL_PORT"] = smtp_server.port
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 messages" in result.output
    assert [m["Subject"] for m in smtp_server.messages] == ["Try again"]
    [row] = rows(app)
    assert row.sent_at is not None and row.attempts == 3 and row.last_error is None
    assert runner.invoke(args=["send-mail"]).output.startswith("Sent 0 messages")  # nothing is sent twice
    assert len(smtp_server.messages) == 1


def test_without_a_mail_server_mail_waits_and_admins_read_it(app, client, runner, make_user, login):
    assert app.config["MAIL_SERVER"] == ""
    queue(
        app,
        to="amina@example.org",
        subject="Your password reset link",
        text="Open https://wiki.test/reset-password/abc\n",
    )
    with app.app_context():
        assert deliver_pending().sent == 0
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 1 and "No MAIL_SERVER" in result.output and "1 messages wait" in result.output
    assert client.get("/admin/mail").status_code == 401
    login(make_user("coordinator"))
    assert client.get("/admin/mail").status_code == 403
    admin = app.test_client()
    login(make_user("admin"), admin)
    page = admin.get("/admin/mail")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "amina@example.org" in text and "Your password reset link" in text
    assert "https://wiki.test/reset-password/abc" in text and "waiting" in text
    assert rows(app)[0].sent_at is None


@pytest.mark.parametrize("field", ["to", "subject"])
def test_line_breaks_cannot_smuggle_headers_into_a_mail(app, field):
    with app.app_context(), pytest.raises(ValueError):
        queue_mail(
            **{
                "recipient": "a@example.org",
                "subject": "Hello",
                "text": "x",
                **(
                    {"recipient": "a@example.org\nBcc: all@example.org"}
                    if field == "to"
                    else {"subject": "Hello\r\nBcc: all@example.org"}
                ),
            }
        )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 0

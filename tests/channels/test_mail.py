"""Mail into the inbox: a real SMTP conversation with the `crisiswiki smtpd` listener (smtplib),
and polling a real IMAP mailbox (dovecot) with `crisiswiki fetch-mail`. Photos go through the
report photo pipeline; the Message-ID makes a resent mail one message; mail bombs are refused."""

from __future__ import annotations

import imaplib
import io
import smtplib
from email.message import EmailMessage

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.channels.test_channels import run_jobs
from tests.gazetteer_fixtures import load_crisis
from tests.imap_server import imap_server  # noqa: F401 (fixture)
from tests.postgres_cluster import free_port
from tests.reports_helpers import jpeg_with_gps
from wiki.extensions import db
from wiki.models import InboundMessage, MailMessage, MessageAttachment, OutboundMessage, Report


@pytest.fixture
def haiti(app, make_user):
    from wiki.models import User

    admin = make_user("admin")
    with app.test_request_context():
        load_crisis("haiti", db.session.get(User, admin.id))
    return "haiti"


@pytest.fixture
def smtpd(app, haiti):
    from wiki.channels.smtp_listener import listener

    port = free_port()
    controller = listener(app, "127.0.0.1", port)
    try:
        yield ("127.0.0.1", port)
    finally:
        controller.stop()


def mail(
    to: str, text: str, subject: str = "Flooding", message_id: str = "<m1@field.example>", photo: bytes | None = None
):
    message = EmailMessage()
    message["From"] = "Jean Field <jean.field@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(text)
    if photo is not None:
        message.add_attachment(photo, maintype="image", subtype="jpeg", filename="street.jpg")
    return message


def messages(app) -> list[InboundMessage]:
    with app.app_context():
        return list(db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_mail_to_a_crisis_address_lands_in_its_inbox_with_its_photo_cleaned(app, smtpd):
    host, port = smtpd
    with smtplib.SMTP(host, port) as server:
        refused = server.send_message(
            mail("haiti@relief.example.org", "Water point broken at Delmas 33", photo=jpeg_with_gps())
        )
        assert refused == {}
        server.send_message(mail("haiti@relief.example.org", "Water point broken at Delmas 33", photo=jpeg_with_gps()))
    [stored] = messages(app)
    assert stored.channel == "email" and stored.sender == "jean.field@example.org" and stored.crisis_hint == "haiti"
    run_jobs(app)
    with app.app_context():
        message = db.session.get(InboundMessage, stored.id)
        assert message.place["place"]["name"] == "Delmas 33" and message.subject == "Flooding"
        [attachment] = db.session.scalars(select(MessageAttachment)).all()
        assert attachment.content_type == "image/jpeg"
        from wiki.media.storage import path_for

        cleaned = Image.open(io.BytesIO(path_for(attachment.sha256).read_bytes()))
        assert not cleaned.getexif()  # GPS and camera gone


def test_plus_addressing_and_configured_addresses(app, smtpd):
    host, port = smtpd
    app.config["MAIL_INBOUND_ADDRESSES"] = ["reports@wiki.test"]
    with smtplib.SMTP(host, port) as server:
        server.send_message(mail("reports+haiti@wiki.test", "Kafou", message_id="<m2@x>"))
        server.send_message(mail("reports@wiki.test", "Kafou", message_id="<m3@x>"))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            server.send_message(mail("nobody@wiki.test", "Kafou", message_id="<m4@x>"))
    assert refused.value.recipients["nobody@wiki.test"][0] == 550
    hints = [m.crisis_hint for m in messages(app)]
    assert hints == ["haiti", ""]


def test_mail_bombs_are_refused_whole(app, smtpd):
    host, port = smtpd
    app.config["MAIL_INBOUND_MAX_PARTS"] = 20
    bomb = mail("haiti@x.org", "many parts", message_id="<bomb@x>")
    for n in range(50):
        bomb.add_attachment(b"x", maintype="application", subtype="octet-stream", filename=f"{n}.bin")
    with smtplib.SMTP(host, port) as server:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            server.send_message(bomb)
        assert refused.value.smtp_code == 554 and b"parts" in refused.value.smtp_error
    app.config["MAIL_INBOUND_MAX_BYTES"] = 200_000
    huge = mail("haiti@x.org", "huge", message_id="<huge@x>", photo=b"\xff\xd8" + b"\x00" * 400_000)
    from wiki.channels.smtp_listener import listener

    small_port = free_port()
    controller = listener(app, "127.0.0.1", small_port)  # the size limit is read when the listener starts
    try:
        with smtplib.SMTP("127.0.0.1", small_port) as server, pytest.raises(smtplib.SMTPException):
            server.send_message(huge)
    finally:
        controller.stop()
    assert messages(app) == []


def test_a_reply_from_the_inbox_goes_out_through_the_mail_outbox(app, client, smtpd, make_user, login):
    host, port = smtpd
    with smtplib.SMTP(host, port) as server:
        server.send_message(mail("haiti@x.org", "Need tents in Leogane", message_id="<ask@field>"))
    run_jobs(app)
    [stored] = messages(app)
    login(make_user("coordinator"))
    assert client.post(f"/messages/{stored.id}/reply", data={"text": "How many families?"}).status_code == 302
    with app.app_context():
        out = db.session.scalar(select(OutboundMessage))
        outbox = db.session.get(MailMessage, out.mail_id)
        assert outbox.recipient == "jean.field@example.org" and outbox.headers["In-Reply-To"] == "<ask@field>"
    made = client.post(f"/messages/{stored.id}/report", data={"title": "Tents for Leogane"})
    assert made.status_code == 302
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.channel == "email" and report.location_ref == "pcode:HT0121"


def test_polling_an_imap_mailbox_stores_each_mail_once(app, haiti, imap_server, runner):  # noqa: F811
    app.config.update(imap_server.settings())
    box = imaplib.IMAP4(imap_server.host, imap_server.port)
    box.login(imap_server.user, imap_server.password)
    for n, to in enumerate(["reports+haiti@wiki.test", "someone@elsewhere.example"]):
        raw = mail(to, "Jacmel hospital needs blood", message_id=f"<imap{n}@field>").as_bytes()
        box.append("INBOX", None, None, raw)
    box.logout()
    result = runner.invoke(args=["fetch-mail"])
    assert result.exit_code == 0, result.output
    assert "Stored 2 messages" in result.output
    again = runner.invoke(args=["fetch-mail"])
    assert "Stored 0 messages" in again.output
    stored = messages(app)
    assert [m.crisis_hint for m in stored] == ["haiti", ""] and all(m.channel == "email" for m in stored)
    box = imaplib.IMAP4(imap_server.host, imap_server.port)
    box.login(imap_server.user, imap_server.password)
    box.select("INBOX")
    assert box.search(None, "UNSEEN")[1] == [b""]
    box.logout()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 2

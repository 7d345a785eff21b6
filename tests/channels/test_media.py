"""MMS photos: Twilio's webhook names them (NumMedia, MediaUrlN, MediaContentTypeN) and the
background job fetches them from a real HTTP server standing in for Twilio's media host
(HTTP Basic with the account SID and auth token, a redirect to a storage host that must not
get the credentials), once, however often the webhook is retried; failures are retried with
back-off or recorded, never lost without a trace."""

from __future__ import annotations

import base64
import io
import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from tests.channels.test_channels import app_config, haiti, run_jobs, twilio_post  # noqa: F401 (the fixtures)
from tests.channels_helpers import SECRETS, GatewayAPI, twilio_sms
from wiki.extensions import db
from wiki.models import InboundMessage, MessageAttachment, MessageMedia, Report, ReportPhoto
from wiki.models.base import utcnow

pytestmark = pytest.mark.usefixtures("haiti")

ACCOUNT = SECRETS["TWILIO_ACCOUNT_SID"]
MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'0' * 32}/Media/ME{'0' * 32}"


def jpeg(size: int = 64) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make: metadata that must not survive
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


class Server:
    """A loopback HTTP server answering GETs from a table {path: handler(request) -> (status, headers, body)}."""

    def __init__(self, routes) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization header)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.seen.append((self.path, self.headers.get("Authorization")))
                route = outer.routes.get(self.path)
                status, headers, body = route(self) if route else (404, {"Content-Type": "text/plain"}, b"not found")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


BASIC = "Basic " + base64.b64encode(f"{ACCOUNT}:{SECRETS['TWILIO_AUTH_TOKEN']}".encode()).decode()


@pytest.fixture
def hosts():
    """Twilio's API host (Basic auth, redirects to storage) and a storage host (no auth)."""
    photo = jpeg()
    noise = io.BytesIO()
    Image.frombytes("RGB", (100, 100), os.urandom(30000)).save(noise, "JPEG", quality=95)
    noise = noise.getvalue()  # some 20 KB: over the test's limit
    storage = Server({"/bucket/photo": lambda r: (200, {"Content-Type": "image/jpeg"}, photo)})
    failures = {"n": 0}

    def authenticated(to):
        def handle(request):
            if request.headers.get("Authorization") != BASIC:
                return 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'}, b"authenticate"
            return to(request)

        return handle

    def flaky(request):
        failures["n"] += 1
        if failures["n"] == 1:
            return 503, {"Content-Type": "text/plain"}, b"try later"
        return 200, {"Content-Type": "image/png"}, _png()

    api = Server(
        {
            MEDIA_PATH: authenticated(lambda r: (302, {"Location": storage.url + "/bucket/photo"}, b"")),
            "/same-host": authenticated(lambda r: (307, {"Location": "/direct"}, b"")),
            "/direct": authenticated(lambda r: (200, {"Content-Type": "image/jpeg"}, photo)),
            "/video": authenticated(lambda r: (200, {"Content-Type": "video/mp4"}, b"\x00\x00\x00\x18ftypmp42")),
            "/big": authenticated(lambda r: (200, {"Content-Type": "image/jpeg"}, noise)),
            "/lying": authenticated(lambda r: (200, {"Content-Type": "image/jpeg"}, b"MZ\x90\x00 not a photo" * 10)),
            "/flaky": authenticated(flaky),
            "/down": authenticated(lambda r: (503, {"Content-Type": "text/plain"}, b"down")),
        }
    )
    yield api, storage
    api.close()
    storage.close()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 16), (0, 90, 200)).save(out, "PNG")
    return out.getvalue()


def mms(sid: str, text: str, *urls: str, types: tuple[str, ...] = ()) -> dict[str, str]:
    media = {f"MediaUrl{i}": url for i, url in enumerate(urls)}
    media.update({f"MediaContentType{i}": (types[i] if i < len(types) else "image/jpeg") for i in range(len(urls))})
    return twilio_sms(sid, text, NumMedia=str(len(urls)), **media)


def media_rows(app) -> list[tuple[int, str, int, str]]:
    with app.app_context():
        rows = db.session.scalars(select(MessageMedia).order_by(MessageMedia.position)).all()
        return [(row.position, row.state, row.attempts, row.last_error) for row in rows]


def time_passes(app) -> None:
    """The back-off's wait is over (rather than sleeping through it)."""
    with app.app_context():
        db.session.execute(
            update(MessageMedia).where(MessageMedia.state == "waiting").values(next_try_at=utcnow() - timedelta(1))
        )
        db.session.commit()


def test_an_mms_photo_is_fetched_in_the_background_with_basic_auth_once(app, client, hosts):
    api, storage = hosts
    params = mms("MM" + "1" * 32, "kay kraze nan delmas 33", api.url + MEDIA_PATH)
    assert twilio_post(client, params).status_code == 200
    assert api.seen == []  # the webhook answered without fetching anything
    run_jobs(app)
    assert api.seen == [(MEDIA_PATH, BASIC)]
    assert storage.seen == [("/bucket/photo", None)]  # redirected elsewhere: the credentials stay home
    assert media_rows(app) == [(0, "fetched", 1, "")]
    with app.app_context():
        [attachment] = db.session.scalars(select(MessageAttachment)).all()
        assert attachment.content_type == "image/jpeg" and (attachment.width, attachment.height) == (64, 64)
        message = db.session.get(InboundMessage, attachment.message_id)
        assert message.state == "inbox" and message.process_error == ""
        from wiki.media.storage import path_for

        assert b"PhoneMaker" not in path_for(attachment.sha256).read_bytes()
    # Twilio retries the webhook (it never got the answer): one message, one photo, no new fetch
    assert twilio_post(client, params).status_code == 200
    run_jobs(app)
    assert len(api.seen) == 1 and media_rows(app) == [(0, "fetched", 1, "")]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MessageAttachment)) == 1


def test_the_photo_becomes_the_reports_whether_it_arrives_before_or_after_the_report(
    app, client, hosts, make_user, login
):
    api, _storage = hosts
    # before: fetched, then a coordinator makes the report from the inbox
    twilio_post(client, mms("MM" + "2" * 32, "pon an tonbe nan delmas 33", api.url + "/same-host"))
    run_jobs(app)
    assert [path for path, _auth in api.seen] == ["/same-host", "/direct"]
    assert all(auth == BASIC for _path, auth in api.seen)  # same host: the credentials follow the redirect
    with app.app_context():
        message_id = db.session.scalar(select(InboundMessage.id))
    login(make_user("coordinator"))
    assert client.post(f"/messages/{message_id}/report", data={"title": "Bridge down"}).status_code == 302
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert [photo.content_type for photo in report.photos] == ["image/jpeg"]
    # after: a trusted keyword makes the report at once, the photo joins it when it comes
    assert (
        client.post(
            "/c/haiti/channels",
            data={"action": "rule", "kind": "keyword", "value": "WATER", "sector": "wash", "auto_report": "1"},
        ).status_code
        == 302
    )
    with GatewayAPI() as gateway:
        app.config["TWILIO_API_URL"] = gateway.url
        twilio_post(client, mms("MM" + "3" * 32, "WATER Kafou no water", api.url + "/flaky"), crisis=None)
        run_jobs(app)  # the report is made; the photo's host answers 503: waiting, retried later
        with app.app_context():
            report = db.session.scalar(select(Report).where(Report.sector == "wash"))
            assert report is not None and report.photos == []
        assert media_rows(app)[-1][:3] == (0, "waiting", 1)
        time_passes(app)
        run_jobs(app)
    with app.app_context():
        report = db.session.scalar(select(Report).where(Report.sector == "wash"))
        assert [(photo.content_type, photo.width) for photo in report.photos] == [("image/png", 32)]
        assert db.session.scalar(select(func.count()).select_from(ReportPhoto)) == 2


def test_media_that_cannot_be_taken_are_recorded_not_lost(app, client, hosts):
    api, _storage = hosts
    app.config.update(REPORT_PHOTO_MAX_BYTES=4000, CHANNEL_MEDIA_ATTEMPTS=2)
    urls = [api.url + path for path in ("/missing", "/video", "/big", "/lying", "/down", MEDIA_PATH)]
    twilio_post(client, mms("MM" + "4" * 32, "foto", *urls, types=("image/jpeg", "video/mp4")))
    run_jobs(app)
    rows = media_rows(app)
    assert [row[1] for row in rows] == ["failed", "failed", "failed", "failed", "waiting", "fetched"]
    assert "HTTP 404" in rows[0][3] and "video/mp4 is not an image" in rows[1][3]
    assert "larger than 4000 bytes" in rows[2][3] and "not accepted" in rows[3][3]
    assert rows[4][2:] == (1, "HTTP 503 from the gateway")
    time_passes(app)
    run_jobs(app)  # the second failure of a host that stays down is the last
    assert media_rows(app)[4][1:3] == ("failed", 2)
    with app.app_context():
        message = db.session.scalar(select(InboundMessage))
        assert message.state == "inbox" and len(message.attachments) == 1
        for n, path in enumerate(("/missing", "/video", "/big", "/lying", "/down"), start=1):
            assert f"photo {n} not fetched" in message.process_error and api.url + path in message.process_error
    fetches = len(api.seen)
    time_passes(app)
    run_jobs(app)
    assert len(api.seen) == fetches  # nothing is fetched again once fetched or failed


def test_a_photo_fetched_by_one_turn_is_not_stored_again_by_another(app, client, hosts):
    """Two workers (or a restart) racing for the same row: the row is the key."""
    from wiki.channels.media import Photo, _store

    api, _storage = hosts
    twilio_post(client, mms("MM" + "5" * 32, "foto", api.url + MEDIA_PATH))
    run_jobs(app)
    with app.app_context():
        attachment = db.session.scalar(select(MessageAttachment))
        media_id = db.session.scalar(select(MessageMedia.id))
        fields = {key: getattr(attachment, key) for key in Photo.__dataclass_fields__}
        db.session.rollback()
        _store(media_id, Photo(**fields))  # a late second turn with the same photo
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MessageAttachment)) == 1

"""Privacy canary: a sensitive report with a unique place, reporter name and contact, and a
withdrawn report with unique words, are put into a crisis that has everything else too (admin
boundaries, a layer, pages with a map, other reports, scores from the validation plugin). Then
every GET route that anonymous visitors and volunteers can reach is fetched (from the url_map,
with real parameters, every format and a range of map zooms and filters), the HTML links are
crawled, and the search index and the page cache are read directly. None may hold the canary in
any form: the contact, the reporter's name, the place name, the exact coordinates (rounded to
6, 5, 4 or 3 decimals, or packed as binary floats in an index file), or the withdrawn report.

A new GET route without a value for one of its URL parameters fails the test, so that every
new output is read by it. Alerts are outputs too: subscribers whose areas cover the canary get
their mails (at a real SMTP server), webhooks (at a real HTTP server) and feeds, and none may
hold it either, whoever subscribed (the public, a volunteer, a verifier).
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote_plus, urljoin, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select, text

from tests.alerts_helpers import run_worker, webhook_receiver  # noqa: F401  (fixture)
from tests.smtp_helpers import smtp_server  # noqa: F401  (fixture)
from wiki.extensions import db
from wiki.visibility import coarsen

pytestmark = pytest.mark.security

EXACT = (-72.318765, 18.543219)  # lon, lat: near a corner of its 10 km grid cell, far from the cell's centre
CONTACT = "+50937129876"
REPORTER = "Qanaryname Zqxj"
PLACE = "Qanaryplace Vwxq"
WITHDRAWN_TITLE = "Withdrawnqanary Kplm"
WITHDRAWN_WORDS = "Oubliettemot Rrgv"
ROLES = ("anonymous", "volunteer")
ZOOMS = (3, 6, 8, 10, 11, 12, 13, 14, 15, 16, 18)
MAX_CRAWL = 400
BOUNDARIES = {
    1: {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"adm1_pcode": "HT01", "adm1_name": "Ouest"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[-74, 17.9], [-71.6, 17.9], [-71.6, 20.1], [-74, 20.1], [-74, 17.9]]],
                },
            }
        ],
    },
    2: {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"adm2_pcode": "HT0199", "adm2_name": "Qanarydistrict", "adm1_pcode": "HT01"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-72.33, 18.53], [-72.31, 18.53], [-72.31, 18.56], [-72.33, 18.56], [-72.33, 18.53]]
                    ],
                },
            }
        ],
    },
}


def secrets_of_the_canary() -> list[str]:
    """Every textual form of what must not leak (compared case-insensitively)."""
    forms = {
        CONTACT,
        CONTACT.lstrip("+"),
        "+509 3712 9876",
        quote(CONTACT),
        quote_plus(CONTACT),
        REPORTER,
        PLACE,
        quote(PLACE),
        quote_plus(PLACE),
        WITHDRAWN_TITLE,
        WITHDRAWN_WORDS,
        WITHDRAWN_TITLE.split()[0],
        WITHDRAWN_WORDS.split()[0],
        REPORTER.split()[0],
        PLACE.split()[0],
    }
    for value in EXACT:
        for decimals in (6, 5, 4, 3):
            forms.add(f"{value:.{decimals}f}")
        forms.add(repr(value))
    return sorted(forms, key=str.lower)


def binary_forms() -> list[bytes]:
    """The exact coordinates as an index stores numbers: IEEE 754 doubles and floats, both byte orders."""
    return [struct.pack(fmt, value) for value in EXACT for fmt in ("<d", ">d", "<f", ">f")]


def leaks(body: str, asked: str = "") -> list[str]:
    """The canary's forms in `body`, except those the request itself carried (a search box
    shows back the words it was asked for; that is not a leak, and the structural checks
    below look at what such a request found)."""
    lowered, asked = body.lower(), unquote_plus(asked).lower()
    return [form for form in secrets_of_the_canary() if form.lower() in lowered and form.lower() not in asked]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (
                (tag == "a" and name == "href") or (name in ("src", "data-url", "data-src") and tag != "form")
            ):
                self.found.append(value)


@pytest.fixture
def app_config(app_config: dict, search_backend: str, smtp_server) -> dict:  # noqa: F811
    # As in production: the validation plugin loaded, the page cache on; alerts go to a real SMTP
    # server and a webhook receiver on loopback (allowed for the test).
    return {
        **app_config,
        **smtp_server.settings(),
        "SEARCH_BACKEND": search_backend,
        "LOAD_ENTRYPOINT_PLUGINS": True,
        "PAGE_CACHE": True,
        "ALERT_WEBHOOK_ALLOWED_HOSTS": ["127.0.0.1"],
    }


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def world(app, client, crisis, make_user, token_for, index):
    """The crisis with the canary in it; returns the ids the routes need."""
    from wiki.crises.services import get_crisis_or_404
    from wiki.maps.boundaries import import_boundaries
    from wiki.maps.layers import create_layer
    from wiki.models import Page, User
    from wiki.pages.revisions import create_page

    coordinator, verifier = make_user("coordinator"), make_user("verifier")
    reporter, volunteer = make_user("volunteer"), make_user("volunteer")
    assert {f"{value:.3f}" for value in coarsen(*EXACT, grid_km=app.config["SENSITIVE_GRID_KM"])}.isdisjoint(
        {f"{value:.3f}" for value in EXACT}
    ), "choose a canary point farther from its cell's centre"
    with app.app_context():
        crisis_row = get_crisis_or_404(crisis)
        author = db.session.get(User, coordinator.id)
        for level, document in BOUNDARIES.items():
            import_boundaries(crisis_row, level, document, author)
        layer = create_layer(
            crisis_row,
            {"title": "Shelters"},
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Camp Acra"},
                        "geometry": {"type": "Point", "coordinates": [-72.29, 18.52]},
                    }
                ],
            },
            author,
        )
        create_page(
            crisis_row,
            "Situation report 1",
            "Highlights\n\n```map\ncrisis: quake\n```\n\n[[Contacts]] [Category:Sitreps]",
            author,
        )
        create_page(crisis_row, "Contacts", "Call the hub.", author)
        page_id = db.session.scalar(select(Page.id).where(Page.crisis_id == crisis_row.id))
        layer_id = layer.id

    def submit(properties: dict, point, token: str, photo: bool = False) -> int:
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(point)},
            "properties": {"crisis": crisis, "sector": "health", **properties},
        }
        headers = {"Authorization": f"Bearer {token}"}
        if photo:
            response = client.post(
                "/api/v1/reports",
                data={"feature": json.dumps(feature), "photos": (io.BytesIO(_jpeg()), "p.jpg")},
                headers=headers,
                content_type="multipart/form-data",
            )
        else:
            response = client.post("/api/v1/reports", json=feature, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    reporter_token, coordinator_token, verifier_token = token_for(reporter), token_for(coordinator), token_for(verifier)
    others = [
        submit(
            {
                "title": f"Clinic {n} needs water",
                "description": "Cholera cases rising",
                "place_name": f"Carrefour {n}",
                "source": {"name": f"Nurse {n}", "contact": f"+50931000{n:03d}"},
            },
            (-72.40 + n * 0.01, 18.50 + n * 0.01),
            coordinator_token,
        )
        for n in range(8)
    ]
    canary = submit(
        {
            "title": "Families sheltering from armed group",
            "description": "Twelve families hide in a school",
            "place_name": PLACE,
            "sensitive": True,
            "source": {"name": REPORTER, "contact": CONTACT},
        },
        EXACT,
        reporter_token,
        photo=True,
    )
    withdrawn = submit(
        {"title": WITHDRAWN_TITLE, "description": WITHDRAWN_WORDS, "place_name": "Martissant"},
        (-72.36, 18.53),
        coordinator_token,
    )
    grade = client.post(
        f"/api/v1/reports/{canary}/assessments",
        json={"reliability": "B", "credibility": 2, "note": ""},
        headers={"Authorization": f"Bearer {verifier_token}"},
    )
    assert grade.status_code in (200, 201), grade.get_json()
    assert (
        client.post(
            f"/api/v1/reports/{withdrawn}/withdraw",
            json={"reason": "protect the witness"},
            headers={"Authorization": f"Bearer {coordinator_token}"},
        ).status_code
        == 200
    )
    index()
    with app.app_context():
        from wiki.models import Attachment, Report, ReportPhoto, Source

        photo_id = db.session.scalar(select(ReportPhoto.id).where(ReportPhoto.report_id == canary))
        attachment_id = db.session.scalar(select(Attachment.id))
        source_id = db.session.scalar(select(Report.source_id).where(Report.id == canary))
        assert db.session.get(Report, canary).adm2_pcode == "HT0199"  # the district is known, and must stay private
        assert db.session.scalar(select(Source.contact).where(Source.id == source_id)) == CONTACT
    return {
        "canary": canary,
        "withdrawn": withdrawn,
        "others": others,
        "photo_id": photo_id,
        "layer_id": layer_id,
        "page_id": page_id,
        "attachment_id": attachment_id,
        "source_id": source_id,
        "volunteer": volunteer,
        "coordinator_token": coordinator_token,
    }


def parameter_values(world: dict, crisis: str) -> dict[str, list]:
    """Real values for every URL parameter of the url_map's GET routes."""
    return {
        "crisis_slug": [crisis],
        "slug": ["Situation_report_1", "Contacts"],
        "report_id": [world["canary"], world["withdrawn"], world["others"][0]],
        "photo_id": [world["photo_id"]],
        "size": ["thumb", "display", "original"],
        "layer_id": [world["layer_id"]],
        "number": [1],
        "source_id": [world["source_id"]],
        "name": ["Sitreps", "smssync"],
        "code": ["fr"],
        "attachment_id": [world["attachment_id"] or 1],
        "filename": ["css/wiki.css", "validation.css"],
        "token": ["forged-reset-link"],
        "message_id": [1],
        "subscription_id": [1],
        "key": ["areas", "reports_by_sector", "key_figures"],
        "collection_id": [f"{crisis}-reports", f"layer-{world['layer_id']}"],
        "feature_id": [world["canary"], world["withdrawn"], world["others"][0], 0],
        "job_id": [1],
    }


def query_variants(crisis: str) -> list[str]:
    """Query strings tried on every route that lists reports: bboxes around the canary's exact point
    (edges chosen not to round to it), the district, words, and the map at every zoom."""
    lon, lat = EXACT
    tight = f"{lon - 0.0017:.6f},{lat - 0.0017:.6f},{lon + 0.0017:.6f},{lat + 0.0017:.6f}"
    wide = "-74.5,17.5,-71.5,20.5"
    variants = [
        "",
        f"crisis={crisis}",
        f"crisis={crisis}&bbox={tight}",
        f"crisis={crisis}&adm=HT0199",
        f"crisis={crisis}&adm=HT01",
        f"crisis={crisis}&q=Qanaryplace",
        f"crisis={crisis}&q=families",
        f"q={quote_plus(WITHDRAWN_TITLE)}",
        "q=withdrawnqanar",
        f"crisis={crisis}&level=2",
        f"crisis={crisis}&level=1",
        f"report={0}&radius_km=5",
        f"lat={lat - 0.0017:.6f}&lon={lon + 0.0017:.6f}&radius_km=1",
        "type=report&q=school",
        "format=hxl",
    ]
    variants += [f"crisis={crisis}&bbox={box}&zoom={zoom}" for zoom in ZOOMS for box in (tight, wide)]
    return variants


LISTING = re.compile(r"report|map|search|related|claims|areas|export|\.csv|\.geojson|atom|verify|boundaries|items")


def role_client(app, login, role: str, world: dict):
    client = app.test_client()
    if role == "volunteer":
        login(world["volunteer"], client)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_no_route_shows_the_canary_to_the_public_or_a_volunteer(app, world, crisis, login, role, figures, backend):
    client = role_client(app, login, role, world)
    values = parameter_values(world, crisis)
    fetched, found = 0, []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in ("auth.logout",):
            continue
        missing = [name for name in rule.arguments if name not in values]
        assert not missing, f"{rule.rule}: add a real value for {missing} to parameter_values()"
        urls = _expand(rule, values)
        for url in urls:
            variants = query_variants(crisis) if LISTING.search(rule.rule) else [""]
            for query in variants:
                query = query.replace("report=0", f"report={world['canary']}")
                target = f"{url}?{query}" if query else url
                response = client.get(target)
                fetched += 1
                assert response.status_code < 500, f"{target}: {response.status_code}"
                body = response.get_data()
                if rule.endpoint == "reports.photo" and str(world["photo_id"]) in url:
                    assert response.status_code == 404, f"{target}: the sensitive report's photo was served"
                    continue
                text_body = body.decode("utf-8", "replace")
                leaked = leaks(text_body, query)
                if leaked:
                    found.append(f"{target} ({response.status_code}): {leaked}")
                _found_nothing_it_should_not(client, response, text_body, query, world, target, found)
    crawled = _crawl(client, crisis, found)
    print(f"\nprivacy canary as {role}: {fetched} route requests + {crawled} crawled pages, {len(found)} leaks")
    figures[f"privacy canary ({backend}, {role}): route requests, crawled pages, leaks"] = (
        f"{fetched}, {crawled}, {len(found)}"
    )
    assert not found, "\n".join(found[:30])


def _expand(rule, values) -> list[str]:
    urls = [{}]
    for name in sorted(rule.arguments):
        urls = [{**chosen, name: value} for chosen in urls for value in values[name]]
    built = []
    for arguments in urls:
        try:
            built.append(rule.build(arguments, append_unknown=False)[1])
        except Exception:
            continue
    return built


def _shown_report_ids(response, body: str) -> set[int]:
    """The reports a response shows: features and results of JSON, links to report pages in HTML."""
    if response.mimetype in ("application/json", "application/geo+json"):
        document = response.get_json(silent=True) or {}
        if not isinstance(document, dict):
            return set()
        items = document.get("features", []) + document.get("results", [])
        return {item.get("id") for item in items if isinstance(item, dict)}
    return {int(found) for found in re.findall(r"/reports/(\d+)\b", body)}


def _found_nothing_it_should_not(
    client, response, body: str, query: str, world: dict, target: str, found: list
) -> None:
    """The withdrawn report is never shown. Asked for the canary's exact neighbourhood, its
    district or its place name, a route that honours the question (its answer differs from the
    same route asked without it) does not find the canary: the public knows only its grid cell
    and its province."""
    path = target.split("?")[0]
    own_page = re.fullmatch(r"/reports/(\d+)(/.*)?", path)
    shown = _shown_report_ids(response, body)
    if world["withdrawn"] in shown and not (own_page and int(own_page.group(1)) == world["withdrawn"]):
        found.append(f"{target}: shows the withdrawn report")
    if own_page and int(own_page.group(1)) == world["withdrawn"] and response.status_code != 404:
        found.append(f"{target}: the withdrawn report's page answers {response.status_code}")
    lon, _lat = EXACT
    probing = f"{lon - 0.0017:.6f}" in query or "adm=HT0199" in query or "Qanaryplace" in query
    if probing and not own_page and world["canary"] in shown:
        baseline = client.get(f"{path}?crisis=quake")
        if _shown_report_ids(baseline, baseline.get_data(as_text=True)) != shown:
            found.append(f"{target}: finds the canary by its exact place, district or place name")
    if "/map/areas" in target and "level=2" in query:
        areas = {area["pcode"]: area["count"] for area in (response.get_json() or {}).get("areas", [])}
        if areas.get("HT0199"):
            found.append(f"{target}: counts the canary in its district")


def _crawl(client, crisis: str, found: list) -> int:
    """Follow the site's own links from its front pages, as a visitor would."""
    seen: set[str] = set()
    queue = deque(["/", f"/c/{crisis}/", f"/c/{crisis}/reports", f"/c/{crisis}/map", "/search?q=families"])
    while queue and len(seen) < MAX_CRAWL:
        url = queue.popleft()
        path = urlsplit(url)
        if url in seen or (path.netloc and path.netloc != "wiki.test") or path.path.startswith(("/static/", "/logout")):
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        if response.mimetype != "text/html":
            body = response.get_data(as_text=True) if response.mimetype.startswith(("text/", "application/")) else ""
            if leaks(body, path.query):
                found.append(f"crawl {url}: {leaks(body, path.query)}")
            continue
        body = response.get_data(as_text=True)
        if leaks(body, path.query):
            found.append(f"crawl {url}: {leaks(body, path.query)}")
        parser = Links()
        parser.feed(body)
        for link in parser.found:
            absolute = urljoin("http://wiki.test" + url, link)
            parts = urlsplit(absolute)
            if parts.scheme in ("http", "https") and parts.netloc == "wiki.test":
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return len(seen)


def test_the_search_index_and_the_page_cache_never_hold_the_canary(app, world, crisis, login, backend, search_backend):
    # Fill the page cache as anonymous readers do.
    reader = app.test_client()
    for url in (
        "/",
        f"/c/{crisis}/",
        f"/c/{crisis}/wiki/Situation_report_1",
        f"/c/{crisis}/pages",
        f"/c/{crisis}/recent",
    ):
        assert reader.get(url).status_code == 200
    instance = Path(app.instance_path)
    cache_files = [path for path in (instance / "page-cache").rglob("*") if path.is_file()]
    assert cache_files, "the page cache was not filled: this check would prove nothing"
    for path in cache_files:
        assert not leaks(path.read_bytes().decode("utf-8", "replace")), path
    with app.app_context():
        if search_backend == "whoosh":
            files = [
                path
                for path in Path(app.config["SEARCH_INDEX_DIR"] or instance / "search-index").rglob("*")
                if path.is_file()
            ]
            assert files
            raw = b"".join(path.read_bytes() for path in files)
            lowered = raw.lower()
            for form in ("qanaryname", "qanaryplace", "withdrawnqanary", "oubliettemot", "50937129876"):
                assert form.encode() not in lowered, f"the Whoosh index holds {form!r}"
            assert b"families" in lowered  # the canary's public words are there: the index was read
            for packed in binary_forms():
                assert packed not in raw, "the Whoosh index holds the canary's exact coordinates"
        else:
            rows = db.session.execute(text("SELECT * FROM search_documents")).mappings().all()
            assert rows
            dumped = json.dumps([dict(row) for row in rows], default=str)
            assert not leaks(dumped), leaks(dumped)
            for row in rows:
                assert (row["lon"], row["lat"]) != EXACT and (row["public_lon"], row["public_lat"]) != EXACT
            vocabulary = db.session.execute(text("SELECT string_agg(term, ' ') FROM search_terms")).scalar() or ""
            assert "withdrawnqanary" not in vocabulary.lower() and "qanaryplace" not in vocabulary.lower()


def test_alerts_by_mail_webhook_and_feed_never_hold_the_canary(app, world, crisis, make_user, token_for, request):
    """Subscribers whose area covers the canary: someone without an account (by e-mail), a
    volunteer (webhook) and a verifier (e-mail and feed), who on the site may see the exact place
    and the contact: an alert leaves the site, so it carries neither, for anyone. A subscription
    drawn tightly around the exact point does not find the canary (it is matched at its cell)."""
    inbox, receiver = request.getfixturevalue("smtp_server"), request.getfixturevalue("webhook_receiver")
    wide = {"point": [EXACT[0], EXACT[1]], "radius_km": 30}
    lon, lat = EXACT
    tight = {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - 0.002, lat - 0.002],
                [lon + 0.002, lat - 0.002],
                [lon + 0.002, lat + 0.002],
                [lon - 0.002, lat + 0.002],
                [lon - 0.002, lat - 0.002],
            ]
        ],
    }
    volunteer, verifier = make_user("volunteer"), make_user("verifier")
    client = app.test_client()
    made = [
        client.post(
            "/api/v1/subscriptions", json={"crisis": crisis, "area": wide, "deliver": {"email": "public@example.org"}}
        ),
        client.post(
            "/api/v1/subscriptions",
            json={"crisis": crisis, "area": wide, "deliver": {"webhook": receiver.url}},
            headers={"Authorization": f"Bearer {token_for(volunteer)}"},
        ),
        client.post(
            "/api/v1/subscriptions",
            json={"crisis": crisis, "area": wide, "deliver": {"email": "verifier@example.org"}},
            headers={"Authorization": f"Bearer {token_for(verifier)}"},
        ),
        client.post(
            "/api/v1/subscriptions",
            json={"crisis": crisis, "area": tight, "deliver": {"feed": True}},
            headers={"Authorization": f"Bearer {token_for(verifier)}"},
        ),
    ]
    assert [response.status_code for response in made] == [201] * 4, [r.get_json() for r in made]
    feed_url = made[3].get_json()["feed_url"]
    with app.app_context():
        from wiki.models import AlertSubscription, MailMessage
        from wiki.models.base import utcnow

        for subscription in db.session.scalars(select(AlertSubscription)):
            subscription.confirmed_at = subscription.confirmed_at or utcnow()  # as if by their links
        db.session.execute(text("DELETE FROM mail_outbox"))
        db.session.commit()
        # The events of the world's reports were written before anyone subscribed; match them again.
        from wiki.alerts.events import record_reports
        from wiki.models import Report

        record_reports("report", db.session.scalars(select(Report.id)).all())
        db.session.commit()
        assert db.session.scalar(select(MailMessage.id)) is None
    run_worker(app)
    title = "Families sheltering from armed group"
    mails = [message.as_string() for message in inbox.messages]
    hooks = [received.body.decode() for received in receiver.received]
    verifier_feed = app.test_client().get(feed_url.split("wiki.test", 1)[1])
    assert verifier_feed.status_code == 200
    assert len(mails) == 2 and len(hooks) == 1
    assert all(title in body for body in [*mails, *hooks]), (
        "the alerts must be about the canary, or this proves nothing"
    )
    assert title not in verifier_feed.get_data(as_text=True)  # not found by its exact neighbourhood
    for body in [*mails, *hooks, verifier_feed.get_data(as_text=True)]:
        assert not leaks(body), leaks(body)
        assert "HT0199" not in body and "Qanarydistrict" not in body
    hook = json.loads(hooks[0])
    [canary] = [alert for alert in hook["alerts"] if alert["id"] == world["canary"]]
    assert canary["place"]["exact"] is False and canary["place"]["place_name"] == ""
    assert (canary["place"]["lon"], canary["place"]["lat"]) == coarsen(*EXACT, grid_km=app.config["SENSITIVE_GRID_KM"])
    assert all(alert["id"] != world["withdrawn"] for alert in hook["alerts"])

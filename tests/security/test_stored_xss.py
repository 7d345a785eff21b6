"""Stored and reflected XSS, tried in a real browser (Debian's chromium through Playwright).

Every payload of tests/data/xss_payloads.txt (OWASP filter evasion, Markdown link and image
tricks, SVG, javascript: and data: URLs, attribute breakouts, template injection) is put into
every field a user can fill, many at once per field, through the app's own API and forms: page
text, title and edit summary, crisis name and description, layer title and description, GeoJSON
feature properties, admin-area names, report title, description, place and source name,
triage comments, assessment notes, attachment file names, user display names, and search
queries and URL parameters (reflected). Then every page that shows them is loaded in chromium
as an administrator (who sees everything), map popups are opened by clicking each marker and
feature, and admin-area tooltips by hovering each area.

A trap set before any page script runs makes alert, confirm, prompt and print record their
calls in window.__xss (several payloads also push to it directly); dialogs, requests leaving the
site, javascript:/data: URLs and event-handler attributes in the DOM, inline scripts and
evaluated template expressions (117649 = 7**6) are counted too. None may appear.

The pages are loaded twice: with the Content-Security-Policy header stripped (so the test proves
the escaping and sanitising themselves, not the CSP that would hide a real injection), and with
it, when no violation may be reported either.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.browser_helpers import chromium, require_chromium
from tests.servers import gunicorn

pytestmark = [pytest.mark.security, pytest.mark.browser, pytest.mark.timeout(600)]
require_chromium()

PAYLOADS = [
    line.replace("\\n", "\n")
    for line in (Path(__file__).resolve().parent.parent / "data" / "xss_payloads.txt").read_text().splitlines()
    if line and not line.startswith("#")
]
PASSWORD = "correct horse battery"
MARK = "xssmark"  # a word in every title, so one search finds them all
EVALUATED = "117649"  # 7*7*7*7*7*7, if a template engine evaluated a payload
# Markdown may show images from other sites (<img src="https://...">): by design the
# Content-Security-Policy decides whether they load (img-src, widened only by
# CSP_EXTRA_IMG_SOURCES). Such an image request is aborted and counted, not a finding, and so
# is the img-src violation it causes with the CSP on; every other request leaving the site,
# and every other violation, is a finding.
BATCH = 20  # payloads in one long text field

TRAP = """
window.__xss = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = function () { window.__xss.push(name + "(" + Array.from(arguments).join(",") + ")"); };
}
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || "")));
"""
# What the page holds that could run script or navigate to one.
SCAN = """(evaluated) => {
  const found = [];
  const urlish = new Set(["href", "src", "action", "formaction", "data", "xlink:href", "background", "poster", "srcset"]);
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\x00-\\x20]/g, "").toLowerCase();
      if (name.startsWith("on")) found.push(`${el.tagName} ${name}="${attr.value}"`);
      else if (name === "srcdoc") found.push(`${el.tagName} srcdoc`);
      else if (urlish.has(name) && /^(javascript:|vbscript:|data:text\\/html)/.test(value)) found.push(`${el.tagName} ${name}="${attr.value}"`);
    }
  }
  for (const script of document.querySelectorAll("script")) {
    if (!script.src && !/json/.test(script.type)) found.push("inline script: " + script.textContent.slice(0, 80));
  }
  if ((document.body ? document.body.innerHTML : "").includes(evaluated)) found.push("template expression evaluated");
  return {xss: window.__xss || [], csp: window.__csp || [], found};
}"""


def chunks(limit: int, separator: str = " ", prefix: str = "") -> list[str]:
    """The payloads packed into as few strings of at most `limit` characters as possible
    (a payload longer than the limit is left out of that field)."""
    packed: list[str] = []
    current = prefix
    for payload in PAYLOADS:
        if len(prefix) + len(payload) > limit:
            continue
        if current != prefix and len(current) + len(separator) + len(payload) > limit:
            packed.append(current)
            current = prefix
        current = payload if current == "" else current + (separator if current != prefix else "") + payload
    if current != prefix:
        packed.append(current)
    return packed


def batches(size: int = BATCH, separator: str = "\n\n") -> list[str]:
    return [separator.join(PAYLOADS[i : i + size]) for i in range(0, len(PAYLOADS), size)]


def payload_count(texts: list[str]) -> int:
    """How many payloads the texts carry (each payload placed once)."""
    return sum(1 for payload in PAYLOADS if any(payload in text or " ".join(payload.split()) in text for text in texts))


@dataclass
class Visit:
    url: str
    fields: list[str]  # the fields whose payloads this page shows
    action: str = ""  # "markers", "features", "areas": what to open on the page


@dataclass
class Site:
    base: str
    visits: list[Visit] = field(default_factory=list)
    placed: dict[str, int] = field(default_factory=dict)  # field -> payloads stored in it
    refused: dict[str, int] = field(default_factory=dict)  # field -> payload values the app refused (422)

    @property
    def figure(self) -> int:
        return sum(self.placed.get(name, 0) for visit in self.visits for name in visit.fields)


def _users(instance: Path, database_url: str, names: list[str]) -> tuple[str, list[str]]:
    """An administrator (returns its token) and a coordinator per display name (their tokens)."""
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.models import ApiToken

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        admin = create_user("xss-admin", PASSWORD, role="admin", display_name="XSS admin")
        _, admin_token = ApiToken.issue(admin, "xss")
        tokens = []
        for n, name in enumerate(names):
            _, plain = ApiToken.issue(
                create_user(f"xss-name-{n}", PASSWORD, role="coordinator", display_name=name), "xss"
            )
            tokens.append(plain)
        db.session.commit()
        db.engine.dispose()
    return admin_token, tokens


def _ok(response: requests.Response, *statuses: int) -> requests.Response:
    assert response.status_code in (statuses or (200, 201, 302)), (
        response.request.method,
        response.url,
        response.status_code,
        response.text[:300],
    )
    return response


def _form_session(base: str) -> tuple[requests.Session, str]:
    import re

    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base}/login").text).group(1)
    _ok(
        session.post(
            f"{base}/login",
            data={"username": "xss-admin", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base}/account/tokens").text).group(1)
    return session, token


def seed(base: str, instance: Path, database_url: str) -> Site:
    site = Site(base)
    names = chunks(120)
    admin_token, name_tokens = _users(instance, database_url, names)
    site.placed["user display name"] = payload_count(names)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {admin_token}"
    web, csrf = _form_session(base)

    # Crises: names and descriptions (at most 5000 characters) spread over several.
    crisis_names, descriptions = chunks(200, prefix=f"{MARK} "), chunks(5000, "\n\n")
    crisis_slugs = ["xss"] + [f"xss{n}" for n in range(2, max(len(crisis_names), len(descriptions)) + 1)]
    for n, slug in enumerate(crisis_slugs):
        _ok(
            api.post(
                f"{base}/api/v1/crises",
                json={
                    "name": crisis_names[n % len(crisis_names)],
                    "slug": slug,
                    "description": descriptions[n] if n < len(descriptions) else "",
                    "bbox": [-74.5, 17.9, -71.6, 20.1],
                },
            )
        )
    site.placed["crisis name"] = payload_count(crisis_names)
    site.placed["crisis description"] = payload_count(descriptions)

    # Pages: a title each, the text in batches, an edit with an edit summary (for history and diff).
    titles, bodies, comments = chunks(200, prefix=f"{MARK} "), batches(), chunks(500)
    slugs = []
    for n, title in enumerate(titles):
        body = bodies[n] if n < len(bodies) else "Plain text."
        created = _ok(
            api.put(
                f"{base}/api/v1/pages/xss/XSS_{n}",
                json={"title": title, "body": body, "categories": ["XSS"], "comment": comments[n % len(comments)]},
            )
        ).json()
        slugs.append(created["slug"])
        if n < len(bodies):
            _ok(
                api.put(
                    f"{base}/api/v1/pages/xss/{created['slug']}",
                    json={
                        "body": body + "\n\nedited " + bodies[(n + 1) % len(bodies)],
                        "base_revision": created["base_revision"],
                        "comment": comments[(n + 1) % len(comments)],
                    },
                )
            )
    site.placed.update(
        {"page title": payload_count(titles), "page text": len(PAYLOADS), "page edit summary": payload_count(comments)}
    )
    for token in name_tokens:  # every display name authors an edit
        current = _ok(requests.get(f"{base}/api/v1/pages/xss/{slugs[0]}")).json()
        _ok(
            requests.put(
                f"{base}/api/v1/pages/xss/{slugs[0]}",
                json={"body": current["body"] + "\n\nmore", "base_revision": current["base_revision"]},
                headers={"Authorization": f"Bearer {token}"},
            )
        )

    # Attachments on the first page (their names are cut down to letters, digits, '.', '-', '_').
    file_names = chunks(100)
    for name in file_names:
        _ok(
            web.post(
                f"{base}/c/xss/attachments",
                data={"page": slugs[0], "csrf_token": csrf},
                files={"file": (name + ".txt", b"attachment text\n", "text/plain")},
                allow_redirects=False,
            )
        )
    site.placed["attachment file name"] = payload_count(file_names)

    # Layers: title, description, feature properties (name, description, any key); simplestyle values.
    layer_titles, texts = chunks(200, prefix=f"{MARK} "), chunks(200)
    layer_ids = []
    for n, title in enumerate(layer_titles):
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-72.9 + 0.05 * j, 18.2 + 0.05 * n]},
                "properties": {"name": text, "description": text, "note": text, "marker-color": "#0b5cad"},
            }
            for j, text in enumerate(texts[n :: len(layer_titles)] or [texts[n % len(texts)]])
        ]
        created = _ok(
            api.post(
                f"{base}/api/v1/layers",
                json={
                    "crisis": "xss",
                    "title": title,
                    "description": descriptions[n % len(descriptions)],
                    "source": texts[n % len(texts)],
                    "geojson": {"type": "FeatureCollection", "features": features},
                },
            )
        )
        layer_ids.append(created.json()["metadata"]["id"])
    _ok(api.put(f"{base}/api/v1/layers/{layer_ids[0]}", json={"description": descriptions[-1], "comment": comments[0]}))
    site.placed.update(
        {
            "layer title": payload_count(layer_titles),
            "layer description": payload_count(descriptions[: len(layer_titles)] + descriptions[-1:]),
            "layer source": payload_count(texts),
            "feature property name": payload_count(texts),
            "feature property description": payload_count(texts),
            "feature property (other key)": payload_count(texts),
        }
    )
    stored = refused = 0
    for payload in PAYLOADS:  # simplestyle values: checked, so a payload is refused or stored as given
        response = api.post(
            f"{base}/api/v1/layers",
            json={
                "crisis": "xss",
                "title": f"{MARK} style",
                "geojson": {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [-72.0, 19.5]},
                    "properties": {key: payload for key in ("marker-color", "stroke", "fill", "marker-size")},
                },
            },
        )
        _ok(response, 201, 422)
        stored, refused = stored + (response.status_code == 201), refused + (response.status_code == 422)
    site.placed["simplestyle values"], site.refused["simplestyle values"] = stored, refused

    # Admin areas: names in a boundaries file.
    area_names = chunks(200)
    areas = [
        {
            "type": "Feature",
            "properties": {"adm1_pcode": f"HT{n:02d}", "adm1_name": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [-74 + n * 0.3, 18],
                        [-73.7 + n * 0.3, 18],
                        [-73.7 + n * 0.3, 18.3],
                        [-74 + n * 0.3, 18.3],
                        [-74 + n * 0.3, 18],
                    ]
                ],
            },
        }
        for n, name in enumerate(area_names)
    ]
    _ok(
        web.post(
            f"{base}/c/xss/boundaries",
            data={"level": "1", "csrf_token": csrf},
            allow_redirects=False,
            files={"file": ("adm1.geojson", json.dumps({"type": "FeatureCollection", "features": areas}).encode())},
        )
    )
    site.placed["admin area name"] = payload_count(area_names)

    # Reports: title, description, place, source name; a triage comment and an assessment note.
    report_titles, places, sources, notes = chunks(200, prefix=f"{MARK} "), chunks(200), chunks(120), chunks(2000)
    report_ids, source_ids = [], []
    for n, title in enumerate(report_titles):
        created = _ok(
            api.post(
                f"{base}/api/v1/reports",
                json={
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [-72.9 + 0.06 * (n % 10), 18.3 + 0.06 * (n // 10)]},
                    "properties": {
                        "crisis": "xss",
                        "title": title,
                        "description": descriptions[n % len(descriptions)],
                        "sector": "health",
                        "place_name": places[n % len(places)],
                        "occurred_at": "2024-03-01T10:00:00Z",
                        "source": {"name": sources[n % len(sources)], "channel": "sms"},
                    },
                },
            )
        ).json()
        report_ids.append(created["id"])
        source_ids.append(created["properties"]["source"]["id"])
    for n, comment in enumerate(comments):
        _ok(
            api.patch(
                f"{base}/api/v1/reports/{report_ids[n % len(report_ids)]}",
                json={"status": "under_review", "comment": comment},
            )
        )
    for n, note in enumerate(notes):
        _ok(
            api.post(
                f"{base}/api/v1/reports/{report_ids[n % len(report_ids)]}/assessments",
                json={"reliability": "B", "credibility": 2, "note": note},
            )
        )
    site.placed.update(
        {
            "report title": payload_count(report_titles),
            "report description": payload_count(descriptions[: len(report_titles)]),
            "report place name": payload_count(places),
            "report source name": payload_count(sources),
            "report triage comment": payload_count(comments),
            "assessment note": payload_count(notes),
        }
    )

    # Reflected: queries and URL parameters, a batch of payloads at a time.
    queries = [" ".join(PAYLOADS[i : i + BATCH]) for i in range(0, len(PAYLOADS), BATCH)]
    site.placed["reflected URL parameters"] = len(PAYLOADS)

    # The search index is written by the server's writer thread, just after each change.
    deadline = time.monotonic() + 30
    while _ok(api.get(f"{base}/api/v1/search", params={"q": MARK, "limit": 100})).json()["total"] < len(report_titles):
        assert time.monotonic() < deadline, "the search index never caught up"
        time.sleep(0.3)

    page_fields = ["page title", "page text", "user display name", "crisis name"]
    history_fields = ["page title", "page edit summary", "user display name", "crisis name"]
    report_fields = [
        "report title",
        "report description",
        "report place name",
        "report source name",
        "report triage comment",
        "assessment note",
        "crisis name",
    ]
    layer_fields = [
        "layer title",
        "layer description",
        "layer source",
        "feature property name",
        "feature property description",
        "feature property (other key)",
        "crisis name",
    ]
    v = site.visits
    v += [
        Visit("/", ["crisis name", "page title", "user display name"]),
        Visit("/recent", history_fields),
        Visit("/c/xss/", ["crisis name", "crisis description", "page title", "page edit summary", "user display name"]),
        Visit("/c/xss/pages", ["page title", "crisis name"]),
        Visit("/c/xss/category/XSS", ["page title", "crisis name"]),
        Visit("/c/xss/recent", history_fields),
        Visit("/c/xss/attachments", ["attachment file name", "page title"]),
        Visit("/c/xss/settings", ["crisis name", "crisis description"]),
    ]
    v += [Visit(f"/c/{slug}/", ["crisis name", "crisis description"]) for slug in crisis_slugs[1 : len(descriptions)]]
    for n, slug in enumerate(slugs):
        v.append(Visit(f"/c/xss/wiki/{slug}", page_fields + (["attachment file name"] if n == 0 else [])))
    for slug in slugs[: len(bodies)]:
        v += [
            Visit(f"/c/xss/wiki/{slug}/history", history_fields),
            Visit(f"/c/xss/wiki/{slug}/diff?from=1&to=2", page_fields),
            Visit(f"/c/xss/wiki/{slug}/revisions/1", page_fields),
            Visit(f"/c/xss/wiki/{slug}/edit", page_fields),
        ]
    v += [
        Visit(
            f"/search?q={MARK}&limit=100",
            ["page title", "page text", "report title", "report description", "layer title", "layer description"],
        ),
        Visit("/c/xss/reports", report_fields[:4]),
        Visit("/c/xss/reports?order=newest", report_fields[:4]),
        Visit("/c/xss/verify?all=1", [*report_fields[:4], "assessment note"]),
        Visit(f"/c/xss/related?report={report_ids[0]}&radius_km=100", report_fields[:4]),
        Visit(f"/c/xss/combine?ids={report_ids[0]},{report_ids[1]}", report_fields[:4]),
        Visit("/c/xss/map?lat=18.45&lon=-72.6&zoom=10", [*report_fields[:4], "layer title"], "markers"),
        Visit("/c/xss/map?lat=18.4&lon=-72.6&zoom=9", ["admin area name", "layer title"], "areas"),
        Visit("/c/xss/boundaries", ["admin area name"]),
        Visit("/c/xss/layers", ["layer title", "layer description"]),
    ]
    v += [Visit(f"/reports/{report_id}", report_fields) for report_id in report_ids]
    v += [
        Visit(f"/sources/{source_id}/record", ["report source name", "report title"])
        for source_id in sorted(set(source_ids))
    ]
    for layer_id in layer_ids:
        v += [
            Visit(f"/c/xss/layers/{layer_id}", layer_fields, "features"),
            Visit(f"/c/xss/layers/{layer_id}/history", layer_fields),
        ]
    reflected = ["reflected URL parameters"]
    for query in queries:
        q = quote(query)
        v += [
            Visit(f"/search?q={q}", reflected),
            Visit(f"/c/xss/reports?q={q}&sector={q}&status={q}", reflected),
            Visit(f"/c/xss/map?q={q}&sector={q}&since={q}", reflected),
            Visit(f"/c/xss/new?title={q}", reflected),
            Visit(f"/c/xss/wiki/{quote(query.replace('/', ' '), safe='')}", reflected),
            Visit(f"/c/xss/verify?sector={q}&sort={q}", reflected),
            Visit(f"/c/xss/related?lat=18.5&lon=-72.3&sector={q}", reflected),
            Visit(f"/c/xss/layers?page={q}", reflected),
            Visit(f"/login?next={q}", reflected),
        ]
    return site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    instance = tmp_path_factory.mktemp("xss")
    database_url = f"sqlite:///{instance / 'crisiswiki.db'}"
    with gunicorn(
        instance, database_url, workers=2, MAP_TILE_URL="", ANONYMOUS_SUBMIT_LIMIT="100000", SQLITE_SYNCHRONOUS="OFF"
    ) as base:
        yield seed(base, instance, database_url)


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as browser:
        yield browser


DISPATCH = """([selector, type]) => {
  const found = Array.from(document.querySelectorAll(selector));
  for (const node of found) node.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window}));
  return found.length;
}"""


def open_everything(page, action: str) -> int:
    """Open what the page hides until clicked or hovered (each marker's and feature's popup, each
    area's tooltip), one after the other; returns how many were opened."""
    page.wait_for_selector(".leaflet-container path.leaflet-interactive, .leaflet-marker-icon", timeout=5000)
    if action == "markers":
        page.wait_for_selector(".leaflet-marker-icon.map-marker-wrap", timeout=5000)
        for box in page.locator(".map-layer-toggle").all():
            box.check()
        page.wait_for_function("() => document.querySelectorAll('path.leaflet-interactive').length > 0")
        return page.evaluate(DISPATCH, [".leaflet-marker-icon.map-marker-wrap", "click"]) + page.evaluate(
            DISPATCH, ["path.leaflet-interactive", "click"]
        )
    if action == "features":
        return page.evaluate(DISPATCH, ["path.leaflet-interactive", "click"])
    page.check("#map-areas-toggle")
    page.wait_for_selector("#map-area-table:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('path.leaflet-interactive').length > 0")
    return page.evaluate(DISPATCH, ["path.leaflet-interactive", "mouseover"])


def visit_all(browser, site: Site, strip_csp: bool) -> tuple[list[str], dict[str, int]]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(TRAP)
    findings: list[str] = []
    external_images: list[str] = []

    def route(route):
        if not route.request.url.startswith(site.base):
            if route.request.resource_type == "image":
                external_images.append(route.request.url)  # see IMAGES
            else:
                findings.append(f"request leaving the site: {route.request.url[:120]}")
            route.abort()
        elif strip_csp:
            response = route.fetch()
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
            route.fulfill(response=response, headers=headers)
        else:
            route.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda dialog: (findings.append(f"dialog {dialog.type}: {dialog.message}"), dialog.dismiss()))
    page.on(
        "console",
        lambda message: (
            findings.append(f"console: {message.text[:200]}")
            if "Content Security Policy" in message.text and not message.text.startswith("Loading the image")
            else None
        ),
    )
    page.on(
        "framenavigated",
        lambda frame: (
            findings.append(f"navigated to {frame.url[:120]}")
            if frame.url.startswith(("javascript:", "data:text/html"))
            else None
        ),
    )
    page.goto(f"{site.base}/login")
    page.fill("#username", "xss-admin")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_selector("nav.account .who")
    counts = {"pages": 0, "opened": 0}
    for visit in site.visits:
        page.goto(site.base + visit.url, wait_until="load")
        if visit.action:
            try:
                counts["opened"] += open_everything(page, visit.action)
            except Exception as error:
                findings.append(f"{visit.url[:100]}: could not open its {visit.action}: {str(error).splitlines()[0]}")
        page.wait_for_timeout(20)  # let autofocus, animations and error events fire
        for frame in page.frames:
            result = frame.evaluate(SCAN, EVALUATED)
            findings += [f"{visit.url[:100]}: ran {call}" for call in result["xss"]]
            findings += [
                f"{visit.url[:100]}: CSP violation {report}"
                for report in result["csp"]
                if not report.startswith("img-src")
            ]
            findings += [f"{visit.url[:100]}: {thing}" for thing in result["found"]]
        counts["pages"] += 1
    context.close()
    counts["external images"] = len(external_images)
    return findings, counts


@pytest.mark.parametrize("csp", ["stripped", "on"])
def test_no_payload_runs_in_any_page(browser, site, figures, csp):
    findings, counts = visit_all(browser, site, strip_csp=csp == "stripped")
    figures["stored XSS: payloads"] = len(PAYLOADS)
    figures["stored XSS: fields filled"] = len(site.placed)
    figures["stored XSS: payloads stored per field"] = ", ".join(f"{k} {v}" for k, v in site.placed.items())
    figures["stored XSS: refused by validation"] = ", ".join(f"{k} {v}" for k, v in site.refused.items())
    figures[f"stored XSS (CSP {csp}): pages loaded, popups/tooltips opened"] = f"{counts['pages']}, {counts['opened']}"
    figures[f"stored XSS (CSP {csp}): payloads x fields x pages"] = site.figure
    figures[f"stored XSS (CSP {csp}): image requests to other sites (blocked)"] = counts["external images"]
    figures[f"stored XSS (CSP {csp}): payloads that ran, findings"] = (
        f"{sum('ran ' in f for f in findings)}, {len(findings)}"
    )
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(findings[:80])

"""Four languages: complete catalogues, every page rendered in every language, Arabic right to left."""

from __future__ import annotations

import re
from datetime import UTC
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

pytestmark = pytest.mark.one_database  # the catalogues and templates, not the database

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fr", "es", "ar")
CATALOGUES = {"wiki": ROOT / "wiki" / "translations", "plugins": ROOT / "plugins" / "validation" / "translations"}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def source_messages(folder: str) -> set[str]:
    """Every msgid used in the code and templates of `folder` (wiki or plugins)."""
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT / folder,
        METHODS,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.add(text)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("folder", sorted(CATALOGUES))
def test_every_string_is_translated(folder: str, language: str):
    path = CATALOGUES[folder] / language / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"missing catalogue {path} (run `make translations`)"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
    plurals = {m.id[1] for m in catalogue if m.id and not isinstance(m.id, str)}  # ngettext's second msgid
    missing = sorted(source_messages(folder) - set(translated) - plurals)
    assert not missing, f"{len(missing)} strings are not in {path}: {missing[:10]}"
    empty = sorted(
        mid
        for mid, m in translated.items()
        if not (m.string if isinstance(m.string, str) else all(m.string)) or m.fuzzy
    )
    assert not empty, f"{len(empty)} strings in {path} have no (or a fuzzy) translation: {empty[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("folder", sorted(CATALOGUES))
def test_compiled_catalogues_match_their_sources(folder: str, language: str):
    po_path = CATALOGUES[folder] / language / "LC_MESSAGES" / "messages.po"

    def plain(value):  # read_mo gives a plural entry's ids and forms as lists, read_po as tuples
        return tuple(value) if isinstance(value, list) else value

    with po_path.open("rb") as handle:
        po = {plain(m.id): plain(m.string) for m in read_po(handle, locale=language) if m.id and not m.fuzzy}
    with po_path.with_suffix(".mo").open("rb") as handle:
        mo = {plain(m.id): plain(m.string) for m in read_mo(handle) if m.id}
    assert po == mo, "the .mo file is out of date: run `make translations`"


class TextCollector(HTMLParser):
    """The text a reader sees (no script or style contents), and the html element's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.root: dict[str, str] = {}
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.root = dict(attrs)
        if tag in ("script", "style", "code", "pre", "textarea"):
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "aria-label", "title", "alt") and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre", "textarea") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def english_phrases() -> set[str]:
    """Interface strings long enough to be recognisably English (three words or more, no
    placeholders): finding one on a French, Spanish or Arabic page means it was not translated."""
    phrases = set()
    for folder in CATALOGUES:
        for message in source_messages(folder):
            if "%(" not in message and "{" not in message and len(message.split()) >= 3 and "<" not in message:
                phrases.add(" ".join(message.split()))
    return phrases


@pytest.fixture
def site(app, client, crisis, make_user, login):
    """A crisis with a page, two revisions, and a report; returns the URLs to render."""
    editor = app.test_client()
    login(make_user("coordinator"), editor)
    editor.post("/c/quake/new", data={"title": "Main", "body": "Hello [[Camps]]", "categories": "Overview"})
    page = editor.get("/api/v1/pages/quake/Main").get_json()
    editor.post("/c/quake/wiki/Main/edit", data={"body": "Hello again", "base_revision": page["base_revision"]})
    report = client.post(
        "/api/v1/reports",
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-72.3, 18.5]},
            "properties": {"title": "Bridge down", "crisis": "quake"},
        },
    ).get_json()
    with app.test_request_context():
        from wiki.channels.base import Incoming
        from wiki.channels.intake import store_messages
        from wiki.channels.processing import process_message

        [(message_id, _retry)] = store_messages(
            "webhook", [Incoming("t-1", "+50937000001", "Kafou dlo", b"{}")], "quake"
        )
        process_message(message_id)
    public = [
        "/",
        "/recent",
        "/login",
        "/forgot-password",
        "/c/quake/",
        "/c/quake/pages",
        "/c/quake/recent",
        "/c/quake/category/Overview",
        "/c/quake/wiki/Main",
        "/c/quake/wiki/Main/history",
        "/c/quake/wiki/Main/diff?from=1&to=2",
        "/c/quake/wiki/Main/revisions/1",
        "/c/quake/report",
        "/c/quake/reports",
        f"/reports/{report['id']}",
        "/c/quake/attachments",
        "/c/quake/alerts",
    ]
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for optional in ("/search", "/c/<crisis_slug>/map", "/c/<crisis_slug>/layers"):
        if optional in rules:
            public.append(optional.replace("<crisis_slug>", "quake"))
    staff = [
        "/crises/new",
        "/c/quake/settings",
        "/c/quake/new",
        "/c/quake/new-sitrep",
        "/c/quake/wiki/Main/edit",
        "/c/quake/wiki/Main/rename",
        "/watchlist",
        "/account",
        "/account/password",
        "/account/two-factor",
        "/account/tokens",
        "/c/quake/reports/import",
        "/c/quake/inbox",
        "/inbox/unrouted",
        f"/messages/{message_id}",
        "/c/quake/channels",
        "/account/alerts",
        "/account/alerts/new",
    ]
    subscription = editor.post(
        "/api/v1/subscriptions", json={"crisis": "quake", "deliver": {"sms": "+50937000000"}, "sectors": ["health"]}
    ).get_json()
    staff.append(f"/account/alerts/{subscription['id']}")
    return editor, public, staff


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_renders_translated_in_every_language(app, client, site, language, make_user, login):
    editor, public, staff = site
    admin = app.test_client()
    login(make_user("admin"), admin)
    phrases = english_phrases()
    for who, urls in (
        (client, public),
        (editor, staff),
        (admin, ["/admin/users", "/admin/mail", "/c/quake/alerts/all"]),
    ):
        who.set_cookie("lang", language, domain="wiki.test")
        for url in urls:
            response = who.get(url)
            assert response.status_code == 200, f"{url}: {response.status_code}"
            collector = TextCollector()
            collector.feed(response.data.decode())
            assert collector.root.get("lang") == language, url
            assert collector.root.get("dir") == ("rtl" if language == "ar" else "ltr"), url
            leftovers = [text for text in collector.texts if text in phrases]
            assert not leftovers, f"{url} in {language} shows English: {leftovers[:5]}"


def test_the_language_follows_the_browser_and_the_switcher_remembers_the_choice(client, crisis):
    assert b'lang="fr"' in client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}).data
    assert b'lang="es"' in client.get("/", headers={"Accept-Language": "es"}).data
    switched = client.get("/language/ar?next=/c/quake/")
    assert switched.status_code == 302 and switched.headers["Location"] == "/c/quake/"
    page = client.get("/c/quake/", headers={"Accept-Language": "fr"})
    assert b'lang="ar"' in page.data and b'dir="rtl"' in page.data
    assert client.get("/language/xx").status_code == 404
    assert client.get("/language/fr?next=https://evil.example/").headers["Location"] == "/"


def test_dates_and_numbers_follow_the_language(app, client, crisis):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        from datetime import datetime

        from flask import render_template_string

        moment = datetime(2010, 1, 12, 21, 53, tzinfo=UTC)
        french = render_template_string("{{ moment|datetime }} {{ 1234567|number }}", moment=moment)
    assert "janv." in french and "1\u202f234\u202f567" in french
    with app.test_request_context(headers={"Accept-Language": "ar"}):
        arabic = render_template_string("{{ moment|datetime }}", moment=moment)
    assert re.search(r"يناير", arabic)

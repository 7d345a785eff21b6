"""The anonymous page cache: fast for readers, never stale after a change."""

from __future__ import annotations

from sqlalchemy import select

from wiki.extensions import db
from wiki.models import Page


def _base(app, slug):
    with app.app_context():
        return db.session.scalar(select(Page).where(Page.slug == slug)).current_revision_id


def test_anonymous_views_are_cached_and_any_change_to_the_crisis_refreshes_them(app, client, crisis, make_user, login):
    editor = app.test_client()
    login(make_user("coordinator"), editor)
    editor.post("/c/quake/new", data={"title": "Main", "body": "See [[Camps]]."})
    first = client.get("/c/quake/wiki/Main")
    assert first.headers["X-Page-Cache"] == "miss" and b'class="wikilink new"' in first.data
    second = client.get("/c/quake/wiki/Main")
    assert second.headers["X-Page-Cache"] == "hit" and second.data == first.data
    # Creating the linked page turns the red link blue on the next view.
    editor.post("/c/quake/new", data={"title": "Camps", "body": "x"})
    third = client.get("/c/quake/wiki/Main")
    assert third.headers["X-Page-Cache"] == "miss" and b'class="wikilink new"' not in third.data
    # An edit is visible at once.
    editor.post("/c/quake/wiki/Main/edit", data={"body": "Updated text", "base_revision": _base(app, "Main")})
    assert b"Updated text" in client.get("/c/quake/wiki/Main").data
    # So are protection and deletion.
    editor.post("/c/quake/wiki/Main/protect", data={"protected": "1"})
    assert b"protected" in client.get("/c/quake/wiki/Main").data
    editor.post("/c/quake/wiki/Main/delete")
    assert client.get("/c/quake/wiki/Main").status_code == 404


def test_logged_in_users_are_never_served_from_the_cache(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    client.post("/c/quake/new", data={"title": "Main", "body": "x"})
    response = client.get("/c/quake/wiki/Main")
    assert "X-Page-Cache" not in response.headers and b"Log out" in response.data
    anonymous = app.test_client()
    assert b"Log out" not in anonymous.get("/c/quake/wiki/Main").data
    assert b"Log out" in client.get("/c/quake/wiki/Main").data


def test_languages_are_cached_separately_and_browsers_revalidate(app, client, crisis, make_user, login):
    editor = app.test_client()
    login(make_user("coordinator"), editor)
    editor.post("/c/quake/new", data={"title": "Main", "body": "x"})
    english = client.get("/c/quake/wiki/Main", headers={"Accept-Language": "en"})
    arabic = client.get("/c/quake/wiki/Main", headers={"Accept-Language": "ar"})
    assert b'dir="rtl"' in arabic.data and b'dir="ltr"' in english.data
    again = client.get(
        "/c/quake/wiki/Main", headers={"Accept-Language": "en", "If-None-Match": english.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_cache_can_be_switched_off(app, client, crisis, make_user, login):
    app.config["PAGE_CACHE"] = False
    editor = app.test_client()
    login(make_user("coordinator"), editor)
    editor.post("/c/quake/new", data={"title": "Main", "body": "x"})
    assert "X-Page-Cache" not in client.get("/c/quake/wiki/Main").headers


def _cache_main_page(app, make_user, login):
    editor = app.test_client()
    login(make_user("coordinator"), editor)
    editor.post("/c/quake/new", data={"title": "Main", "body": "Water point at the school."})
    return editor


def test_hits_are_served_before_flask_with_the_same_headers(app, crisis, make_user, login):
    _cache_main_page(app, make_user, login)
    reader = app.test_client()
    miss = reader.get("/c/quake/wiki/Main")
    assert miss.headers["X-Page-Cache"] == "miss"
    # The shared copy carries nobody's CSRF token, and reading it starts no session.
    assert b"csrf" not in miss.data and "Set-Cookie" not in miss.headers
    # Any other cookie sends the request through Flask, whose cache wrapper answers the hit.
    through_flask = app.test_client()
    through_flask.set_cookie("other", "1", domain="wiki.test")
    flask_hit = through_flask.get("/c/quake/wiki/Main")
    # With the view gone, only the cached-page server can still answer.
    view = app.view_functions["pages.view"]
    app.view_functions["pages.view"] = lambda **kwargs: ("the view ran", 500)
    try:
        fast_hit = app.test_client().get("/c/quake/wiki/Main")
        assert app.test_client().get("/c/quake/wiki/Main?any=query").status_code == 500  # a miss reaches Flask
    finally:
        app.view_functions["pages.view"] = view
    assert fast_hit.status_code == 200 and fast_hit.data == miss.data == flask_hit.data
    assert flask_hit.headers["X-Page-Cache"] == fast_hit.headers["X-Page-Cache"] == "hit"
    ignored = {"Date", "Set-Cookie", "Content-Length", "X-Request-ID"}  # a request id is new each time
    assert {k: v for k, v in fast_hit.headers.items() if k not in ignored} == {
        k: v for k, v in flask_hit.headers.items() if k not in ignored
    }
    revalidated = app.test_client().get("/c/quake/wiki/Main", headers={"If-None-Match": fast_hit.headers["ETag"]})
    assert revalidated.status_code == 304 and revalidated.data == b""


def test_the_server_before_flask_follows_changes_languages_and_logins(app, crisis, make_user, login):
    editor = _cache_main_page(app, make_user, login)
    reader = app.test_client()
    reader.get("/c/quake/wiki/Main")
    assert reader.get("/c/quake/wiki/Main").headers["X-Page-Cache"] == "hit"
    editor.post("/c/quake/wiki/Main/edit", data={"body": "Water point closed.", "base_revision": _base(app, "Main")})
    after_edit = reader.get("/c/quake/wiki/Main")
    assert after_edit.headers["X-Page-Cache"] == "miss" and b"Water point closed." in after_edit.data
    # The language cookie of the switcher picks the cached copy in that language.
    french = app.test_client()
    french.set_cookie("lang", "fr", domain="wiki.test")
    french.get("/c/quake/wiki/Main")
    french_hit = french.get("/c/quake/wiki/Main", headers={"Accept-Language": "ar"})
    assert french_hit.headers["X-Page-Cache"] == "hit" and b'lang="fr"' in french_hit.data
    # Logged-in users and API clients never get the anonymous copy.
    logged_in = editor.get("/c/quake/wiki/Main")
    assert "X-Page-Cache" not in logged_in.headers and b"Log out" in logged_in.data
    with_token = app.test_client().get("/c/quake/wiki/Main", headers={"Authorization": "Bearer nothing"})
    assert with_token.headers.get("X-Page-Cache") != "hit"


def test_the_files_are_where_nginx_looks_and_current_follows_each_save(app, crisis, make_user, login):
    """deploy/nginx/crisiswiki.conf reads <page-cache>/<crisis>/current/<lang><uri>/@page.html
    (and <uri>@index.html for a URL ending in /); `current` is switched at each commit."""
    import os
    from pathlib import Path

    from wiki.models import Crisis

    editor = _cache_main_page(app, make_user, login)
    reader = app.test_client()
    page = reader.get("/c/quake/wiki/Main", headers={"Accept-Language": "es"})
    home = reader.get("/c/quake/")
    folder = Path(app.instance_path) / "page-cache" / "quake"
    with app.app_context():
        generation = db.session.scalar(db.select(Crisis.generation).where(Crisis.slug == "quake"))
    assert os.readlink(folder / "current") == str(generation)
    assert (folder / "current" / "es" / "c" / "quake" / "wiki" / "Main" / "@page.html").read_bytes() == page.data
    assert (folder / "current" / "en" / "c" / "quake" / "@index.html").read_bytes() == home.data
    # A query string is kept apart, where nginx does not look.
    reader.get("/c/quake/pages?sort=title")
    assert list((folder / "current" / "en" / "@query").rglob("*"))
    editor.post("/c/quake/wiki/Main/edit", data={"body": "Road open.", "base_revision": _base(app, "Main")})
    # The switch happened with the save's commit, before any reader asked: nginx misses at once.
    assert os.readlink(folder / "current") == str(generation + 1)
    assert not (folder / "current" / "es" / "c" / "quake" / "wiki" / "Main" / "@page.html").exists()
    assert sorted(name for name in os.listdir(folder) if not name.startswith(".")) == sorted(
        ["current", str(generation + 1)]
    )

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
    again = client.get("/c/quake/wiki/Main", headers={"Accept-Language": "en", "If-None-Match": english.headers["ETag"]})
    assert again.status_code == 304


def test_the_cache_can_be_switched_off(app, client, crisis, make_user, login):
    app.config["PAGE_CACHE"] = False
    editor = app.test_client()
    login(make_user("coordinator"), editor)
    editor.post("/c/quake/new", data={"title": "Main", "body": "x"})
    assert "X-Page-Cache" not in client.get("/c/quake/wiki/Main").headers

"""Pages through the web UI: create, view, edit, history, diff, revert, rename, delete, protect."""

from __future__ import annotations

from sqlalchemy import func, select

from wiki.extensions import db
from wiki.models import Page, Revision


def create(client, crisis, title, body, categories=""):
    return client.post(
        f"/c/{crisis}/new", data={"title": title, "body": body, "comment": "first", "categories": categories}
    )


def current(app, crisis_slug, slug):
    with app.app_context():
        page = db.session.scalar(select(Page).where(Page.slug == slug))
        return page.current_revision.id, page.current_revision.number


def edit(client, crisis, slug, body, base, **extra):
    return client.post(
        f"/c/{crisis}/wiki/{slug}/edit", data={"body": body, "base_revision": base, "comment": "edit", **extra}
    )


def revision_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Revision))


def test_coordinator_creates_views_and_edits_a_page(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    response = create(client, crisis, "Key figures", "# Figures\n\nDisplaced: **1,000**", "Figures, Health")
    assert response.status_code == 302 and response.headers["Location"].endswith("/c/quake/wiki/Key_figures")
    page = client.get("/c/quake/wiki/Key_figures")
    assert page.status_code == 200
    assert b"<strong>1,000</strong>" in page.data and b"Figures" in page.data and b"Health" in page.data
    base, number = current(app, crisis, "Key_figures")
    assert number == 1
    assert edit(client, crisis, "Key_figures", "# Figures\n\nDisplaced: **2,000**", base).status_code == 302
    assert b"<strong>2,000</strong>" in client.get("/c/quake/wiki/Key_figures").data
    assert current(app, crisis, "Key_figures")[1] == 2


def test_every_save_is_an_append_only_revision_with_author_comment_and_parent(app, client, crisis, make_user, login):
    person = make_user("coordinator")
    login(person)
    create(client, crisis, "Contacts", "v1")
    for n in range(2, 5):
        base, _ = current(app, crisis, "Contacts")
        edit(client, crisis, "Contacts", f"v{n}", base)
    with app.app_context():
        revisions = db.session.scalars(select(Revision).order_by(Revision.number)).all()
        assert [r.body for r in revisions] == ["v1\n", "v2\n", "v3\n", "v4\n"]
        assert [r.parent_id for r in revisions] == [None] + [r.id for r in revisions[:-1]]
        assert {r.author_name for r in revisions} == {person.username}
        assert revisions[1].comment == "edit"
    history = client.get("/c/quake/wiki/Contacts/history")
    assert history.status_code == 200 and history.data.count(b'name="from"') == 4


def test_rendered_html_is_stored_on_the_revision_not_recomputed_per_view(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Cached", "**bold**")
    with app.app_context():
        revision = db.session.scalar(select(Revision))
        assert revision.html == "<p><strong>bold</strong></p>"
        revision.html = "<p>served from the cache</p>"
        db.session.commit()
    assert b"served from the cache" in client.get("/c/quake/wiki/Cached").data


def test_diff_between_any_two_revisions_side_by_side_and_inline(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Sitrep", "alpha\nbeta\ngamma\n")
    for body in ("alpha\nBETA\ngamma\n", "alpha\nBETA\ngamma\ndelta\n"):
        edit(client, crisis, "Sitrep", body, current(app, crisis, "Sitrep")[0])
    side = client.get("/c/quake/wiki/Sitrep/diff?from=1&to=3&mode=side")
    assert side.status_code == 200
    assert b"<del>beta</del>" in side.data and b"<ins>BETA</ins>" in side.data and b"delta" in side.data
    inline = client.get("/c/quake/wiki/Sitrep/diff?from=1&to=3&mode=inline")
    assert b'class="diff inline"' in inline.data and b'class="added"' in inline.data
    assert client.get("/c/quake/wiki/Sitrep/diff?from=1&to=9").status_code == 404


def test_revert_adds_a_new_revision_with_the_old_text(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Road status", "Road open")
    edit(client, crisis, "Road_status", "Road closed", current(app, crisis, "Road_status")[0])
    assert client.post("/c/quake/wiki/Road_status/revert/1").status_code == 302
    with app.app_context():
        revisions = db.session.scalars(select(Revision).order_by(Revision.number)).all()
        assert [(r.number, r.body, r.kind) for r in revisions] == [
            (1, "Road open\n", "create"),
            (2, "Road closed\n", "edit"),
            (3, "Road open\n", "revert"),
        ]
    assert b"Road open" in client.get("/c/quake/wiki/Road_status").data


def test_old_revisions_can_be_read(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Camps", "first text")
    edit(client, crisis, "Camps", "second text", current(app, crisis, "Camps")[0])
    old = client.get("/c/quake/wiki/Camps/revisions/1")
    assert b"first text" in old.data and b"not the current one" in old.data


def test_rename_moves_the_page_and_the_old_address_redirects(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Health clusters", "text")
    response = client.post("/c/quake/wiki/Health_clusters/rename", data={"title": "Health cluster"})
    assert response.status_code == 302
    old = client.get("/c/quake/wiki/Health_clusters")
    assert old.status_code == 301 and old.headers["Location"].endswith("/c/quake/wiki/Health_cluster")
    assert b"text" in client.get("/c/quake/wiki/Health_cluster").data
    with app.app_context():
        assert db.session.scalar(select(Revision).order_by(Revision.number.desc())).kind == "rename"


def test_rename_onto_an_existing_title_is_refused(client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "A", "a")
    create(client, crisis, "B", "b")
    response = client.post("/c/quake/wiki/A/rename", data={"title": "B"})
    assert response.status_code == 409 and b"already exists" in response.data
    assert b"a" in client.get("/c/quake/wiki/A").data


def test_creating_a_page_twice_is_a_conflict_not_an_overwrite(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Logistics", "original")
    response = create(client, crisis, "Logistics", "replacement")
    assert response.status_code == 409
    assert b"original" in client.get("/c/quake/wiki/Logistics").data
    assert revision_count(app) == 1


def test_soft_delete_hides_the_page_and_an_admin_restores_it(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Rumours", "text")
    assert client.post("/c/quake/wiki/Rumours/delete").status_code == 302
    assert client.get("/c/quake/wiki/Rumours").status_code == 404
    assert b"Rumours" not in client.get("/c/quake/pages").data
    assert client.post("/c/quake/wiki/Rumours/restore").status_code == 403  # coordinators cannot restore
    admin_client = app.test_client()
    login(make_user("admin"), admin_client)
    assert b"Rumours" in admin_client.get("/c/quake/pages").data  # listed under deleted pages
    assert admin_client.post("/c/quake/wiki/Rumours/restore").status_code == 302
    assert client.get("/c/quake/wiki/Rumours").status_code == 200
    assert revision_count(app) == 1  # deleting and restoring kept the history as it was


def test_protected_pages_are_editable_by_coordinators_only(app, client, crisis, make_user, login):
    app.config["ANONYMOUS_EDIT"] = True
    login(make_user("coordinator"))
    create(client, crisis, "Contacts", "text")
    assert client.post("/c/quake/wiki/Contacts/protect", data={"protected": "1"}).status_code == 302
    base = current(app, crisis, "Contacts")[0]
    anonymous = app.test_client()
    response = edit(anonymous, crisis, "Contacts", "vandalised", base)
    assert response.status_code == 403 and b"protected" in response.data
    assert edit(client, crisis, "Contacts", "updated", base).status_code == 302
    # An unprotected page stays open to anonymous edits when the deployment allows them.
    create(client, crisis, "Open page", "text")
    assert (
        edit(anonymous, crisis, "Open_page", "anonymous edit", current(app, crisis, "Open_page")[0]).status_code == 302
    )


def test_missing_wiki_links_are_red_create_links(client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Main Page", "See [[Contacts]] and [[Logistics cluster|logistics]].")
    create(client, crisis, "Contacts", "x")
    html = client.get("/c/quake/wiki/Main_Page").data.decode()
    assert 'class="wikilink" data-wikilink="Contacts" href="/c/quake/wiki/Contacts"' in html
    assert 'class="wikilink new" data-wikilink="Logistics_cluster" href="/c/quake/new?title=Logistics+cluster"' in html
    missing = client.get("/c/quake/wiki/Logistics_cluster")
    assert missing.status_code == 404 and b"Create it" in missing.data


def test_sitrep_template_prefills_the_ocha_structure(client, crisis, make_user, login):
    login(make_user("coordinator"))
    form = client.get("/c/quake/new-sitrep").data.decode()
    assert 'value="Situation Report No. 1"' in form
    for heading in (
        "Highlights",
        "Key figures",
        "Situation overview",
        "Humanitarian response",
        "Funding",
        "Contacts",
        "Period covered",
        "Next report",
        "### Health",
        "**Needs:**",
        "**Response:**",
        "**Gaps:**",
        "Water, Sanitation and Hygiene",
        "Displaced",
        "In need",
    ):
        assert heading in form, heading
    assert 'value="Situation reports"' in form
    create(client, crisis, "Situation Report No. 1", "x", "Situation reports")
    assert 'value="Situation Report No. 2"' in client.get("/c/quake/new-sitrep").data.decode()
    assert b"Situation Report No. 1" in client.get("/c/quake/").data


def test_categories_index_and_category_pages(client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Water points", "x", "WASH, Maps")
    create(client, crisis, "Latrines", "x", "WASH")
    index = client.get("/c/quake/pages").data.decode()
    assert "WASH (2)" in index and "Maps (1)" in index
    category = client.get("/c/quake/category/WASH").data.decode()
    assert "Water points" in category and "Latrines" in category


def test_recent_changes_per_crisis_and_site_wide_with_atom_feeds(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Early page", "x")
    create(client, crisis, "Later page", "y")
    for url in ("/c/quake/recent", "/recent"):
        text = client.get(url).data.decode()
        assert text.index("Later page") < text.index("Early page")
    for url in ("/c/quake/recent.atom", "/recent.atom"):
        feed = client.get(url)
        assert feed.status_code == 200 and feed.mimetype == "application/atom+xml"
        assert (
            b"<feed" in feed.data
            and b"Later page" in feed.data
            and b"/c/quake/wiki/Later_page/revisions/1" in feed.data
        )


def test_watchlist_shows_changes_to_watched_pages(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Watched", "x")
    create(client, crisis, "Unwatched", "x")
    assert client.post("/c/quake/wiki/Watched/watch", data={"watch": "1"}).status_code == 302
    watchlist = client.get("/watchlist").data.decode()
    assert "Watched" in watchlist and "Unwatched" not in watchlist
    client.post("/c/quake/wiki/Watched/watch", data={"watch": "0"})
    assert "Watched" not in client.get("/watchlist").data.decode().split("<main", 1)[1].split("</main>")[0]


def test_bad_page_input_is_refused_and_changes_nothing(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    assert create(client, crisis, "", "x").status_code == 422
    assert create(client, crisis, "x" * 201, "x").status_code == 422
    assert create(client, crisis, "???", "x").status_code == 422
    app.config["PAGE_MAX_BYTES"] = 1000
    assert create(client, crisis, "Huge", "x" * 1001).status_code == 413
    assert revision_count(app) == 0


def test_script_typed_into_a_page_is_shown_as_text_never_run(client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Hostile", "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))")
    html = client.get("/c/quake/wiki/Hostile").data.decode()
    assert "<script>alert" not in html and "onerror" not in html and "javascript:" not in html


def test_home_lists_crises_and_crisis_home_lists_pages(client, crisis, make_user, login):
    login(make_user("coordinator"))
    create(client, crisis, "Main Page", "x")
    assert b"Test earthquake" in client.get("/").data
    home = client.get("/c/quake/")
    assert home.status_code == 200 and b"Main Page" in home.data
    assert client.get("/c/nowhere/").status_code == 404

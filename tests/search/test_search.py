"""Search: what a responder finds, on both backends (Whoosh on SQLite and PostgreSQL; PostgreSQL
full-text search on PostgreSQL). Indexing happens when a test flushes the queue."""

from __future__ import annotations

import pytest
from flask import Flask

from wiki.extensions import db
from wiki.hooks import hookimpl

MAP_POINT = [-72.53, 18.51]  # Léogâne


@pytest.fixture
def app_config(app_config: dict, search_backend: str) -> dict:
    return {**app_config, "SEARCH_BACKEND": search_backend}


@pytest.fixture
def coordinator(make_user):
    return make_user("coordinator")


def submit(app: Flask, person, title: str, description: str = "", point=None, **properties) -> int:
    from wiki.models import User
    from wiki.reports.input import report_input_from_feature
    from wiki.reports.submission import submit_report

    properties = {"crisis": "quake", "title": title, "description": description, **properties}
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": point or MAP_POINT},
        "properties": properties,
    }
    with app.app_context():
        user = db.session.get(User, person.id)
        return submit_report(report_input_from_feature(feature), user).report.id


def page(app: Flask, person, title: str, body: str) -> int:
    from wiki.models import Crisis, User
    from wiki.pages.revisions import create_page

    with app.app_context():
        crisis = db.session.scalar(db.select(Crisis).where(Crisis.slug == "quake"))
        return create_page(crisis, title, body, db.session.get(User, person.id)).page_id


def find(client, token: str | None = None, **params) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/api/v1/search", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def titles(found: dict) -> list[str]:
    return [result["title"] for result in found["results"]]


def test_a_new_report_is_found_once_the_queue_is_flushed(app, client, index, coordinator):
    submit(app, coordinator, "Water point broken", "The pump in the market square is broken")
    assert find(client, q="pump")["total"] == 0  # queued, not yet indexed: the request did not wait
    assert index() == 1
    found = find(client, q="pump")
    assert found["total"] == 1 and titles(found) == ["Water point broken"]
    assert found["results"][0]["feature"]["type"] == "Feature"


def test_word_forms_match_and_accents_fold(app, client, index, coordinator):
    submit(app, coordinator, "Roads flooded", "Flooding on the roads out of town")
    submit(app, coordinator, "Hôpital de Léogâne", "L'hôpital de Léogâne est détruit, les blessés attendent dehors")
    submit(app, coordinator, "Casas dañadas", "Muchas casas dañadas por el sismo en la ciudad")
    index()
    assert titles(find(client, q="flood")) == ["Roads flooded"]
    assert titles(find(client, q="floods")) == ["Roads flooded"]
    assert titles(find(client, q="Leogane")) == ["Hôpital de Léogâne"]
    assert titles(find(client, q="hopitaux")) == ["Hôpital de Léogâne"]  # French plural, French stemmer
    assert titles(find(client, q="blessé")) == ["Hôpital de Léogâne"]
    assert titles(find(client, q="casa")) == ["Casas dañadas"]  # Spanish
    assert titles(find(client, q="danadas")) == ["Casas dañadas"]


def test_snippets_mark_matches_and_escape_everything_else(app, client, index, coordinator):
    submit(
        app, coordinator, "<script>alert(1)</script> water", "Clean <b>water</b> needed at the Léogâne camp & school"
    )
    index()
    result = find(client, q="leogane water")["results"][0]
    assert "<script>" not in result["title_html"] and "&lt;script&gt;" in result["title_html"]
    assert "<mark>water</mark>" in result["title_html"]
    assert "&lt;b&gt;<mark>water</mark>&lt;/b&gt;" in result["snippet"]
    assert "<mark>Léogâne</mark>" in result["snippet"] and "&amp; school" in result["snippet"]
    html = client.get("/search", query_string={"q": "leogane"}).get_data(as_text=True)
    assert "<mark>Léogâne</mark>" in html and "<script>alert(1)</script>" not in html


def test_a_word_in_the_title_ranks_above_the_same_word_in_the_body(app, client, index, coordinator):
    submit(app, coordinator, "Shelter needs in the north", "Families sleep outside; cholera cases reported nearby")
    submit(app, coordinator, "Cholera", "Three cases at the clinic")
    index()
    assert titles(find(client, q="cholera")) == ["Cholera", "Shelter needs in the north"]


def test_phrases_need_the_words_together(app, client, index, coordinator):
    submit(app, coordinator, "Bridge", "The road to the airport is blocked by a fallen bridge")
    submit(app, coordinator, "Airport", "The airport road is open again")
    index()
    assert titles(find(client, q='"airport road"')) == ["Airport"]
    assert sorted(titles(find(client, q="airport road"))) == ["Airport", "Bridge"]


def test_field_queries_exclusions_and_or(app, client, index, coordinator):
    submit(app, coordinator, "Clinic overwhelmed", "Many injured at the clinic", sector="health")
    submit(app, coordinator, "Clinic water tank", "The clinic has no water", sector="wash")
    submit(app, coordinator, "Tents", "Tents are needed near the clinic", sector="shelter")
    index()
    assert titles(find(client, q="clinic sector:health")) == ["Clinic overwhelmed"]
    assert sorted(titles(find(client, q="sector:wash OR sector:shelter clinic"))) == ["Clinic water tank", "Tents"]
    assert titles(find(client, q="title:water")) == ["Clinic water tank"]
    assert titles(find(client, q="clinic -water -tents")) == ["Clinic overwhelmed"]
    assert sorted(titles(find(client, q="injured OR tents"))) == ["Clinic overwhelmed", "Tents"]
    assert sorted(titles(find(client, q="type:report -sector:health clinic"))) == ["Clinic water tank", "Tents"]


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed phrase',
        "sector:",
        "((( ]]] AND OR NOT",
        "title:",
        'crisis:"',
        "::: --- ***",
        "http://example.org/?a=b&c",
        "sector:nosuchsector clinic",
        "a" * 600,
    ],
)
def test_a_query_that_does_not_parse_is_searched_as_plain_words(app, client, index, coordinator, query):
    submit(app, coordinator, "Clinic", "The clinic is open")
    index()
    response = client.get("/api/v1/search", query_string={"q": query})
    assert response.status_code == 200
    assert client.get("/search", query_string={"q": query}).status_code == 200


def test_unparsable_field_query_still_finds_its_words(app, client, index, coordinator):
    submit(app, coordinator, "Clinic", "The clinic is open; unclosed quotes are fine")
    index()
    assert titles(find(client, q='"unclosed quotes')) == ["Clinic"]
    assert titles(find(client, q="clinic:open")) == ["Clinic"]  # not a field: two words, both there
    assert titles(find(client, q="nosuchfield:clinic")) == []  # "nosuchfield" is a word no report has


def test_facets_count_and_narrow(app, client, index, coordinator):
    for number in range(3):
        submit(app, coordinator, f"Cholera case {number}", "Cholera in the camp", sector="health")
    submit(app, coordinator, "Cholera and water", "Cholera risk: no clean water", sector="wash")
    page(app, coordinator, "Cholera response", "The cholera treatment centre opened.")
    index()
    found = find(client, q="cholera")
    assert found["total"] == 5
    facets = {name: {item["value"]: item["count"] for item in values} for name, values in found["facets"].items()}
    assert facets["type"] == {"report": 4, "page": 1}
    assert facets["sector"] == {"health": 3, "wash": 1}
    assert facets["status"] == {"new": 4}
    assert facets["crisis"] == {"quake": 5}
    narrowed = find(client, q="cholera", sector="health")
    assert narrowed["total"] == 3 and {item["value"]: item["count"] for item in narrowed["facets"]["type"]} == {
        "report": 3
    }
    assert [item["selected"] for item in narrowed["facets"]["sector"]] == [True]
    assert find(client, q="cholera", type="page")["total"] == 1
    assert find(client, q="cholera", type="report,page", sector="wash")["total"] == 1
    html = client.get("/search", query_string={"q": "cholera"}).get_data(as_text=True)
    assert "sector=health" in html and "Health" in html  # a facet is a link that narrows


def test_admin_area_facet(app, client, index, coordinator):
    report_id = submit(app, coordinator, "Road blocked", "Landslide on the road")
    with app.app_context():
        from wiki.models import Report
        from wiki.search import reindex_later

        report = db.session.get(Report, report_id)
        report.adm1_pcode, report.adm1_name = "HT11", "Ouest"
        db.session.commit()
        reindex_later("report", [report_id])
    index()
    found = find(client, q="road")
    assert found["facets"]["adm1"] == [{"value": "HT11", "label": "Ouest", "count": 1, "selected": False}]
    assert find(client, q="road", adm1="HT11")["total"] == 1
    assert find(client, q="road", adm1="HT12")["total"] == 0
    assert find(client, q="adm1:HT11")["total"] == 1


def test_bbox_and_date_filters(app, client, index, coordinator):
    submit(
        app,
        coordinator,
        "Well in Jacmel",
        "Water well damaged",
        point=[-72.54, 18.23],
        occurred_at="2010-01-13T10:00:00Z",
    )
    submit(
        app,
        coordinator,
        "Well in Cap-Haitien",
        "Water well damaged",
        point=[-72.2, 19.76],
        occurred_at="2010-01-20T10:00:00Z",
    )
    index()
    assert titles(find(client, q="well", bbox="-73,18,-72,18.5")) == ["Well in Jacmel"]
    assert titles(find(client, q="well", since="2010-01-15")) == ["Well in Cap-Haitien"]
    assert titles(find(client, q="well", until="2010-01-15")) == ["Well in Jacmel"]
    assert find(client, q="well", since="2010-01-21")["total"] == 0
    assert client.get("/api/v1/search", query_string={"q": "well", "bbox": "nonsense"}).status_code == 422
    assert client.get("/api/v1/search", query_string={"q": "well", "sector": "nonsense"}).status_code == 422


def test_results_without_words_are_newest_first(app, client, index, coordinator):
    submit(app, coordinator, "Older", "x", occurred_at="2010-01-13T10:00:00Z")
    submit(app, coordinator, "Newer", "y", occurred_at="2010-01-14T10:00:00Z")
    index()
    assert titles(find(client, type="report")) == ["Newer", "Older"]


def test_pages_are_searched_in_their_current_revision_and_leave_when_deleted(app, client, index, coordinator):
    from wiki.models import Page, User
    from wiki.pages.revisions import delete_page, save_revision

    page_id = page(app, coordinator, "Logistics hub", "Trucks wait at the **airport** gate.")
    index()
    assert titles(find(client, q="airport")) == ["Logistics hub"]
    with app.app_context():
        found = db.session.get(Page, page_id)
        save_revision(
            found, "Trucks now wait at the harbour.", found.current_revision_id, db.session.get(User, coordinator.id)
        )
    index()
    assert find(client, q="airport")["total"] == 0
    assert titles(find(client, q="harbour")) == ["Logistics hub"]
    with app.app_context():
        delete_page(db.session.get(Page, page_id), db.session.get(User, coordinator.id))
    index()
    assert find(client, q="harbour")["total"] == 0


def test_layers_are_found(app, client, index, coordinator):
    from wiki.maps.layers import create_layer
    from wiki.models import Crisis, User

    with app.app_context():
        crisis = db.session.scalar(db.select(Crisis).where(Crisis.slug == "quake"))
        geojson = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": MAP_POINT},
                    "properties": {"name": "A"},
                }
            ],
        }
        create_layer(
            crisis,
            {"title": "Health facilities", "description": "Clinics and hospitals open after the earthquake"},
            geojson,
            db.session.get(User, coordinator.id),
        )
    index()
    found = find(client, q="hospitals")
    assert [(result["type"], result["title"]) for result in found["results"]] == [("layer", "Health facilities")]


def test_unpublished_reports_only_for_those_who_may_see_them(app, client, index, coordinator, token_for):
    app.config["REPORTS_PUBLISH"] = "after_review"
    submit(app, coordinator, "Armed group at the checkpoint", "Roadblock near the bridge")
    index()
    assert find(client, q="checkpoint")["total"] == 0
    assert find(client, q="roadblock")["facets"]["type"] == []
    assert titles(find(client, token_for(coordinator), q="checkpoint")) == ["Armed group at the checkpoint"]


def test_did_you_mean_corrects_a_misspelt_word(app, client, index, coordinator):
    submit(app, coordinator, "Hospital in Léogâne", "The hospital is open")
    index()
    found = find(client, q="hospital Leogne")
    assert found["total"] == 0 and found["suggestion"] == "hospital leogane"
    assert find(client, q=found["suggestion"])["total"] == 1
    html = client.get("/search", query_string={"q": "hopsital"}).get_data(as_text=True)
    assert "Did you mean" in html and "hospital" in html
    assert find(client, q="hospital")["suggestion"] is None


def test_did_you_mean_learns_words_indexed_after_the_same_question(app, client, index, coordinator):
    submit(app, coordinator, "Hospital in Jacmel", "The hospital is open")
    index()
    assert find(client, q="cholerra")["suggestion"] is None  # nothing indexed is close to it yet
    submit(app, coordinator, "Cholera cases", "Cholera treatment centre opened")
    index()
    assert find(client, q="cholerra")["suggestion"] == "cholera"


def test_did_you_mean_tells_nothing_about_unpublished_reports(app, client, index, coordinator, token_for):
    from wiki.models import Report, User
    from wiki.reports.triage import update_report

    app.config["REPORTS_PUBLISH"] = "after_review"
    bakery = submit(app, coordinator, "Bakery", "The Zoltanovic bakery is open")
    submit(app, coordinator, "Informant", "Zoltanovich was seen at the border")
    with app.app_context():
        update_report(db.session.get(Report, bakery), {"published": True}, db.session.get(User, coordinator.id))
    index()
    # "zoltanovich" (one edit away, but only in an unpublished report) is never offered; "zoltanovic" is.
    assert find(client, q="zoltanovichh")["suggestion"] == "zoltanovic"
    # A word that only unpublished reports contain answers exactly as a word nobody wrote.
    hidden, unknown = find(client, q="zoltanovich"), find(client, q="zoltanovicz")
    assert hidden["total"] == unknown["total"] == 0 and hidden["suggestion"] == unknown["suggestion"] == "zoltanovic"
    assert find(client, token_for(coordinator), q="zoltanovich")["total"] == 1


def test_contacts_and_source_names_are_never_searchable(app, client, index, coordinator, token_for):
    submit(
        app,
        coordinator,
        "Food distribution",
        "Rice handed out",
        source={"name": "Marie-Claude Pierrelouis", "contact": "+509 3456 7890", "channel": "sms"},
    )
    index()
    for token in (None, token_for(coordinator)):
        assert find(client, token, q="Pierrelouis")["total"] == 0
        assert find(client, token, q="3456")["total"] == 0
    found = find(client, q="rice")
    assert "source" not in found["results"][0]["feature"]["properties"]
    assert "Pierrelouis" not in str(found)


def test_sensitive_reports_are_placed_by_their_coarsened_point_for_the_public(
    app, client, index, coordinator, token_for
):
    report_id = submit(app, coordinator, "Safe house", "Families hiding", point=[-72.5312, 18.5105], sensitive=True)
    index()
    public = find(client, q="families")
    assert public["results"][0]["feature"]["properties"]["location_coarsened"] is True
    lon, lat = public["results"][0]["feature"]["geometry"]["coordinates"]
    assert (lon, lat) != (-72.5312, 18.5105)
    tight = "-72.532,18.510,-72.530,18.511"  # holds the exact point, not the public one
    assert find(client, q="families", bbox=tight)["total"] == 0
    assert find(client, q="families", bbox=f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}")["total"] == 1
    # The index never holds the exact point: those who may see it search by the cell too (the
    # map and the report list, which read the database, place it exactly for them), and the
    # result they get shows them the exact point.
    token = token_for(coordinator)
    assert find(client, token, q="families", bbox=tight)["total"] == 0
    private = find(client, token, q="families", bbox=f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}")
    assert private["total"] == 1 and private["results"][0]["id"] == report_id
    assert private["results"][0]["feature"]["geometry"]["coordinates"] == [-72.5312, 18.5105]


class Scores:
    """A stand-in for the validation plugin: scores reports by their title."""

    @hookimpl
    def report_search_scores(self):
        return True

    @hookimpl
    def report_search_fields(self, report):
        return {"score": 0.9 if "confirmed" in report.title else 0.2, "text": "scoredword"}


def test_min_score_is_ignored_with_a_note_when_no_plugin_scores_reports(app, client, index, coordinator):
    submit(app, coordinator, "Bridge down", "The bridge is down")
    index()
    found = find(client, q="bridge", min_score="0.5")
    assert found["total"] == 1 and any("min_score" in note for note in found["notes"])


def test_min_score_keeps_reports_a_plugin_scored_high_enough(app, client, index, coordinator):
    app.extensions["crisiswiki_plugins"].register(Scores(), name="scores")
    submit(app, coordinator, "Bridge down (confirmed)", "The bridge is down")
    submit(app, coordinator, "Bridge down?", "Someone says the bridge is down")
    page(app, coordinator, "Bridges", "A list of bridges")
    index()
    found = find(client, q="bridge", min_score="0.5")
    assert titles(found) == ["Bridge down (confirmed)"] and found["notes"] == []
    assert find(client, q="bridge")["total"] == 3
    assert find(client, q="scoredword")["total"] == 2  # the plugin's text is searchable


def test_show_on_map_link_carries_the_query(app, client, index, coordinator):
    submit(app, coordinator, "Cholera", "Cholera cases", sector="health")
    index()
    found = find(client, q="cholera", sector="health")
    assert found["map"] == [{"crisis": "quake", "url": "/c/quake/map?q=cholera&sector=health"}]
    html = client.get("/search", query_string={"q": "cholera", "sector": "health"}).get_data(as_text=True)
    assert "/c/quake/map?q=cholera&amp;sector=health" in html


def test_results_come_in_pages(app, client, index, coordinator):
    for number in range(5):
        submit(
            app, coordinator, f"Generator {number}", "Generator needs fuel", occurred_at=f"2010-01-1{number}T10:00:00Z"
        )
    index()
    first = find(client, q="generator", limit=2)
    second = find(client, q="generator", limit=2, page=2)
    third = find(client, q="generator", limit=2, page=3)
    assert first["total"] == 5 and len(third["results"]) == 1
    seen = titles(first) + titles(second) + titles(third)
    assert sorted(seen) == [f"Generator {number}" for number in range(5)]
    html = client.get("/search", query_string={"q": "generator", "limit": 2}).get_data(as_text=True)
    assert "page=2" in html


def test_the_header_has_a_search_box_scoped_to_the_crisis(app, client, index):
    home = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in home and 'name="q"' in home and 'name="crisis"' not in home
    crisis_home = client.get("/c/quake", follow_redirects=True).get_data(as_text=True)
    assert 'name="crisis" value="quake"' in crisis_home
    assert client.get("/search").status_code == 200  # the empty form


def test_the_search_page_shows_a_wrong_filter_and_lets_a_chosen_facet_be_removed(app, client, index, coordinator):
    submit(app, coordinator, "Cholera", "Cholera cases", sector="health")
    index()
    wrong = client.get("/search", query_string={"q": "cholera", "bbox": "not,a,box"})
    assert wrong.status_code == 422 and "bbox" in wrong.get_data(as_text=True)
    html = client.get("/search", query_string={"q": "cholera", "sector": "health"}).get_data(as_text=True)
    assert 'class="selected" href="/search?q=cholera"' in html  # the link that removes sector=health
    assert '<input type="hidden" name="sector" value="health">' in html  # a new query keeps the filter


def test_anonymous_answers_are_remembered_until_the_index_changes(
    app, client, index, coordinator, token_for, search_backend
):
    submit(app, coordinator, "Cholera treatment centre", "Opened in Carrefour")
    index()
    first = client.get("/api/v1/search", query_string={"q": "cholera"})
    again = client.get("/api/v1/search", query_string={"q": "cholera"})
    assert again.get_json() == first.get_json() and len(first.get_json()["results"]) == 1
    if search_backend == "postgresql":  # no index version to remember answers by: every search is fresh
        assert "X-Search-Cache" not in again.headers
        return
    assert (first.headers["X-Search-Cache"], again.headers["X-Search-Cache"]) == ("miss", "hit")
    fresh = client.get("/api/v1/search", query_string={"q": "cholera"}, headers={"Cache-Control": "no-cache"})
    assert fresh.headers["X-Search-Cache"] == "miss" and fresh.get_json() == first.get_json()
    # A new report reaches the remembered answer when it reaches the index.
    submit(app, coordinator, "Cholera cases in Jacmel")
    assert len(find(client, q="cholera")["results"]) == 1  # not indexed yet: the same answer as a fresh search
    index()
    fresh = client.get("/api/v1/search", query_string={"q": "cholera"})
    assert fresh.headers["X-Search-Cache"] == "miss" and len(fresh.get_json()["results"]) == 2
    # Logged-in users (who may see more) are never served from it, nor do they fill it.
    app.config["REPORTS_PUBLISH"] = "after_review"
    submit(app, coordinator, "Cholera rumour at the market")
    index()
    token = token_for(coordinator)
    mine = client.get("/api/v1/search", query_string={"q": "cholera"}, headers={"Authorization": f"Bearer {token}"})
    assert "X-Search-Cache" not in mine.headers and len(mine.get_json()["results"]) == 3
    assert len(find(client, q="cholera")["results"]) == 2
    # Answers depend on the language (facet labels): each is remembered separately.
    french = client.get("/api/v1/search", query_string={"q": "cholera"}, headers={"Accept-Language": "fr"})
    assert french.headers["X-Search-Cache"] == "miss"


def test_the_result_cache_can_be_switched_off(app, client, index, coordinator):
    app.config["SEARCH_RESULT_CACHE"] = 0
    submit(app, coordinator, "Cholera treatment centre")
    index()
    client.get("/api/v1/search", query_string={"q": "cholera"})
    assert "X-Search-Cache" not in client.get("/api/v1/search", query_string={"q": "cholera"}).headers

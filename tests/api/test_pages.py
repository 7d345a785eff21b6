"""The pages API: read, create, edit with a base revision, conflicts, errors, OpenAPI."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from wiki.extensions import db
from wiki.models import Revision


@pytest.fixture
def api(client, make_user, token_for):
    """An API client authenticated as a coordinator with a bearer token."""
    token = token_for(make_user("coordinator"))

    class Api:
        def get(self, url, **kw):
            return client.get(url, headers={"Authorization": f"Bearer {token}"}, **kw)

        def put(self, url, payload=None, **kw):
            headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
            if payload is not None:
                kw["json"] = payload
            return client.put(url, headers=headers, **kw)

    return Api()


def revisions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Revision))


def test_put_without_base_revision_creates_the_page(api, crisis):
    response = api.put("/api/v1/pages/quake/Key_figures", {"body": "# Figures", "comment": "start"})
    assert response.status_code == 201
    data = response.get_json()
    assert data["title"] == "Key figures" and data["revision"]["number"] == 1
    assert data["html"] == '<h1 id="h-figures">Figures</h1>'
    got = api.get("/api/v1/pages/quake/Key_figures").get_json()
    assert got["body"] == "# Figures\n" and got["base_revision"] == data["revision"]["id"]


def test_put_with_current_base_saves_a_new_revision(api, crisis):
    created = api.put("/api/v1/pages/quake/Roads", {"body": "open"}).get_json()
    saved = api.put("/api/v1/pages/quake/Roads", {"body": "closed", "base_revision": created["base_revision"]})
    assert saved.status_code == 200
    data = saved.get_json()
    assert data["revision"]["number"] == 2 and data["revision"]["parent_id"] == created["revision"]["id"]
    assert data["merged"] is False


def test_stale_edit_of_other_lines_merges_automatically(api, crisis):
    base = api.put("/api/v1/pages/quake/Sitrep", {"body": "a\nb\nc\nd\ne\n"}).get_json()["base_revision"]
    api.put("/api/v1/pages/quake/Sitrep", {"body": "A\nb\nc\nd\ne\n", "base_revision": base})
    merged = api.put("/api/v1/pages/quake/Sitrep", {"body": "a\nb\nc\nd\nE\n", "base_revision": base})
    assert merged.status_code == 200
    assert merged.get_json()["merged"] is True and merged.get_json()["body"] == "A\nb\nc\nd\nE\n"


def test_stale_edit_of_the_same_lines_is_a_conflict_and_saves_nothing(app, api, crisis):
    base = api.put("/api/v1/pages/quake/Figures", {"body": "displaced: 100\n"}).get_json()["base_revision"]
    second = api.put("/api/v1/pages/quake/Figures", {"body": "displaced: 250\n", "base_revision": base}).get_json()
    before = revisions(app)
    response = api.put("/api/v1/pages/quake/Figures", {"body": "displaced: 300\n", "base_revision": base})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "edit_conflict"
    assert error["current_revision"] == second["revision"]["id"] and error["base_revision"] == base
    assert error["current_body"] == "displaced: 250\n" and error["your_body"] == "displaced: 300\n"
    assert (
        "displaced: 250" in error["merged_with_conflict_markers"]
        and "displaced: 300" in error["merged_with_conflict_markers"]
    )
    assert revisions(app) == before
    assert api.get("/api/v1/pages/quake/Figures").get_json()["body"] == "displaced: 250\n"


def test_identical_save_writes_no_revision(app, api, crisis):
    base = api.put("/api/v1/pages/quake/Same", {"body": "same"}).get_json()["base_revision"]
    response = api.put("/api/v1/pages/quake/Same", {"body": "same", "base_revision": base})
    assert response.status_code == 200 and response.get_json()["unchanged"] is True
    assert revisions(app) == 1


def test_revisions_list_paginates_with_a_cursor(api, crisis):
    base = api.put("/api/v1/pages/quake/Log", {"body": "0"}).get_json()["base_revision"]
    for n in range(1, 5):
        base = api.put("/api/v1/pages/quake/Log", {"body": str(n), "base_revision": base}).get_json()["base_revision"]
    first = api.get("/api/v1/pages/quake/Log/revisions?limit=2").get_json()
    assert [r["number"] for r in first["revisions"]] == [5, 4]
    second = api.get(f"/api/v1/pages/quake/Log/revisions?limit=2&cursor={first['next_cursor']}").get_json()
    assert [r["number"] for r in second["revisions"]] == [3, 2]
    third = api.get(f"/api/v1/pages/quake/Log/revisions?limit=2&cursor={second['next_cursor']}").get_json()
    assert [r["number"] for r in third["revisions"]] == [1] and third["next_cursor"] is None
    one = api.get("/api/v1/pages/quake/Log/revisions/2").get_json()
    assert one["body"] == "1\n" and one["number"] == 2


@pytest.mark.parametrize(
    ("payload", "kwargs", "status", "field"),
    [
        (None, {"data": "{not json", "content_type": "application/json"}, 400, None),
        (None, {"data": "body=x", "content_type": "application/x-www-form-urlencoded"}, 415, None),
        (None, {"data": "[1, 2]", "content_type": "application/json"}, 400, None),
        ({"comment": "no body"}, {}, 422, "body"),
        ({"body": 42}, {}, 422, "body"),
        ({"body": "x", "base_revision": "7"}, {}, 422, "base_revision"),
        ({"body": "x", "categories": "not-a-list-but-ok", "comment": 5}, {}, 422, "comment"),
        ({"body": "x", "title": "t" * 300}, {}, 422, "title"),
    ],
)
def test_bad_requests_get_a_clear_error_and_change_nothing(app, api, crisis, payload, kwargs, status, field):
    response = api.put("/api/v1/pages/quake/Bad", payload, **kwargs)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    if field:
        assert error["field"] == field
    assert revisions(app) == 0


def test_base_revision_of_another_page_is_refused(api, crisis):
    other = api.put("/api/v1/pages/quake/Other", {"body": "x"}).get_json()["base_revision"]
    api.put("/api/v1/pages/quake/Mine", {"body": "y"})
    response = api.put("/api/v1/pages/quake/Mine", {"body": "z", "base_revision": other})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "base_revision"


def test_oversized_body_is_413(app, api, crisis):
    app.config["PAGE_MAX_BYTES"] = 100
    response = api.put("/api/v1/pages/quake/Big", {"body": "x" * 101})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"


def test_request_larger_than_the_server_limit_is_413_json(app, api, crisis):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = api.put("/api/v1/pages/quake/Big", {"body": "x" * 2000})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"


def test_unknown_page_and_crisis_are_404_json(api, crisis):
    assert api.get("/api/v1/pages/quake/Nope").get_json()["error"]["code"] == "not_found"
    assert api.get("/api/v1/pages/nowhere/Nope").status_code == 404
    assert api.put("/api/v1/pages/quake/Nope", {"body": "x", "base_revision": 1}).status_code == 404


def test_anonymous_reads_but_cannot_write(client, api, crisis):
    api.put("/api/v1/pages/quake/Public", {"body": "x"})
    assert client.get("/api/v1/pages/quake/Public").status_code == 200
    response = client.put("/api/v1/pages/quake/Public", json={"body": "y"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_openapi_document_covers_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        assert path in document["paths"], f"{path} is missing from the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {path} is missing"


def test_crises_api_lists_and_creates(client, api, crisis, make_user, token_for):
    assert [c["slug"] for c in client.get("/api/v1/crises").get_json()["crises"]] == ["quake"]
    token = token_for(make_user("coordinator"))
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/crises",
        json={"name": "Floods", "glide": "FL-2010-000141-PAK", "bbox": [60.9, 23.6, 77.8, 37.1]},
        headers=headers,
    )
    assert created.status_code == 201 and created.get_json()["slug"] == "floods"
    assert created.get_json()["bbox"] == [60.9, 23.6, 77.8, 37.1]
    bad = client.post("/api/v1/crises", json={"name": "X", "glide": "nonsense"}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "glide"
    duplicate = client.post("/api/v1/crises", json={"name": "Floods"}, headers=headers)
    assert duplicate.status_code == 409

"""GeoJSON layers: validation that names the feature, size limits, escaping, versions, rights."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from tests.maps_helpers import as_text, box, point_layer
from wiki.extensions import db
from wiki.hooks import hookimpl
from wiki.models import Layer, LayerRevision

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "LAYER_MAX_BYTES": 4000, "MAP_TILE_URL": ""}


@pytest.fixture
def coordinator(make_user, login):
    person = make_user("coordinator")
    login(person)
    return person


def upload(client, geojson, **fields):
    body = {
        "title": "Health facilities",
        "crisis": "quake",
        "source": "MSPP",
        "licence": "CC BY 4.0",
        "geojson": geojson,
        **fields,
    }
    return client.post("/api/v1/layers", json=body)


def layer_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Layer))


def test_a_valid_layer_is_stored_and_served_as_rfc7946_geojson(app, client, crisis, coordinator):
    response = upload(client, point_layer(**{"marker-color": "#c00", "stroke": "#00f", "fill-opacity": 0.3}))
    assert response.status_code == 201, response.data
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 2
    assert "properties" not in body  # RFC 7946 7.1: not on a FeatureCollection; the metadata member holds it
    meta = body["metadata"]
    assert meta["title"] == "Health facilities" and meta["source"] == "MSPP" and meta["licence"] == "CC BY 4.0"
    assert meta["crisis"] == "quake" and meta["feature_count"] == 2 and meta["revision"]["number"] == 1
    assert meta["extent"] == [-72.4, 18.5, -72.3, 18.6]
    fetched = client.get(response.headers["Location"])
    assert fetched.status_code == 200 and fetched.get_json()["features"] == body["features"]
    listed = client.get("/api/v1/layers?crisis=quake").get_json()["layers"]
    assert [layer["title"] for layer in listed] == ["Health facilities"]


def test_a_lone_feature_is_stored_as_a_feature_collection(client, crisis, coordinator):
    feature = {
        "type": "Feature",
        "properties": {"name": "Bridge"},
        "geometry": {"type": "Point", "coordinates": [-72.5, 18.6]},
    }
    body = upload(client, feature).get_json()
    assert body["type"] == "FeatureCollection" and body["features"] == [feature]


BAD = [
    (
        "latitude out of range",
        {"type": "Point", "coordinates": [-72.3, 95.0]},
        "features[1].geometry.coordinates",
        "Latitude 95.0",
    ),
    (
        "longitude out of range",
        {"type": "Point", "coordinates": [-190, 18]},
        "features[1].geometry.coordinates",
        "Longitude -190",
    ),
    (
        "unclosed ring",
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        "features[1].geometry.coordinates[0]",
        "closed",
    ),
    (
        "ring of three positions",
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
        "features[1].geometry.coordinates[0]",
        "at least 4 positions",
    ),
    (
        "unknown geometry type",
        {"type": "Circle", "coordinates": [0, 0]},
        "features[1].geometry.type",
        "Unknown geometry type",
    ),
    (
        "text coordinates",
        {"type": "Point", "coordinates": ["-72", "18"]},
        "features[1].geometry.coordinates",
        "numbers only",
    ),
    (
        "one-position line",
        {"type": "LineString", "coordinates": [[0, 0]]},
        "features[1].geometry.coordinates",
        "at least 2 positions",
    ),
    (
        "collection nested three deep",
        {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "GeometryCollection", "geometries": [{"type": "GeometryCollection", "geometries": []}]}
            ],
        },
        "features[1].geometry.geometries[0].geometries[0]",
        "nested",
    ),
    (
        "bad member of a collection",
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 91]}]},
        "features[1].geometry.geometries[0].coordinates",
        "Latitude",
    ),
]


@pytest.mark.parametrize("label, geometry, path, words", BAD, ids=[case[0] for case in BAD])
def test_invalid_geometry_is_refused_naming_the_feature_and_nothing_is_stored(
    app, client, crisis, coordinator, label, geometry, path, words
):
    document = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
            {"type": "Feature", "properties": {}, "geometry": geometry},
        ],
    }
    response = upload(client, document)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["feature"] == 1 and error["path"] == path and error["field"] == "geojson"
    assert error["message"].startswith("Feature 1:") and words in error["message"]
    assert layer_count(app) == 0


def test_a_nested_geometry_collection_one_level_deep_is_accepted(client, crisis, coordinator):
    geometry = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 1]}]},
            {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
        ],
    }
    assert upload(client, {"type": "Feature", "properties": None, "geometry": geometry}).status_code == 201


def test_every_problem_is_listed_not_only_the_first(client, crisis, coordinator):
    features = [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 100 + i]}}
        for i in range(3)
    ]
    error = upload(client, {"type": "FeatureCollection", "features": features}).get_json()["error"]
    assert [problem["feature"] for problem in error["errors"]] == [0, 1, 2]
    assert "and 2 more problems" in error["message"]


@pytest.mark.parametrize(
    "document, words",
    [
        ({"type": "Point", "coordinates": [0, 0]}, "wrap this Point in a Feature"),
        ({"type": "Topology"}, "Unknown GeoJSON type"),
        ({"type": "FeatureCollection"}, "features array"),
        ({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}, "properties member"),
        ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]}, "geometry member"),
        (
            {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": [], "geometry": None}]},
            "properties must be an object",
        ),
        ("[1, 2", "not valid JSON"),
        (
            '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [NaN, 0]}}',
            "not valid JSON",
        ),
    ],
)
def test_documents_that_are_not_layers_are_refused(app, client, crisis, coordinator, document, words):
    response = upload(client, document)
    assert response.status_code == 422 and words in response.get_json()["error"]["message"]
    assert layer_count(app) == 0


def test_a_foreign_coordinate_system_gets_a_hint(client, crisis, coordinator):
    document = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-8051000, 2098000]}}
        ],
    }
    message = upload(client, document).get_json()["error"]["message"]
    assert "Longitude -8051000" in message and "EPSG:4326" in message


@pytest.mark.parametrize(
    "key, value",
    [
        ("marker-color", "red"),
        ("stroke", "#12345"),
        ("fill", 3),
        ("fill-opacity", 1.5),
        ("stroke-opacity", "0.5"),
        ("stroke-width", -1),
        ("marker-size", "huge"),
    ],
)
def test_invalid_simplestyle_properties_are_refused(app, client, crisis, coordinator, key, value):
    response = upload(client, point_layer(**{key: value}))
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["feature"] == 0 and error["path"] == f"features[0].properties.{key}"
    assert layer_count(app) == 0


@pytest.mark.parametrize("colour", ["#abc", "#A0B1C2", "abc", "a0b1c2"])
def test_simplestyle_colours_may_have_three_or_six_digits(client, crisis, coordinator, colour):
    assert upload(client, point_layer(**{"marker-color": colour, "stroke": colour, "fill": colour})).status_code == 201


def test_a_layer_wide_default_style_is_checked_and_kept(client, crisis, coordinator):
    good = upload(client, point_layer(), style={"stroke": "#c00", "fill-opacity": 0.2}).get_json()
    assert good["metadata"]["style"] == {"stroke": "#c00", "fill-opacity": 0.2}
    bad = upload(client, point_layer(), style={"stroke": "blood"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "style.stroke"
    unknown = upload(client, point_layer(), style={"font": "Comic Sans"})
    assert unknown.status_code == 422 and "unknown keys" in unknown.get_json()["error"]["message"]


def test_layers_larger_than_the_limit_are_refused_with_413(app, client, crisis, coordinator):
    big = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"note": "x" * 100}, "geometry": {"type": "Point", "coordinates": [0, 0]}}
        ]
        * 40,
    }
    as_json = upload(client, big)
    assert as_json.status_code == 413 and as_json.get_json()["error"]["code"] == "too_large"
    as_file = client.post(
        "/api/v1/layers",
        data={"title": "Big", "crisis": "quake", "file": (io.BytesIO(as_text(big).encode()), "big.geojson")},
        content_type="multipart/form-data",
    )
    assert as_file.status_code == 413
    pasted = client.post("/c/quake/layers/new", data={"title": "Big", "geojson": as_text(big)})
    assert pasted.status_code == 413 and b"larger than the limit" in pasted.data
    assert layer_count(app) == 0


def test_a_body_far_above_the_limit_is_refused_before_it_is_read(client, crisis, coordinator):
    response = client.post(
        "/api/v1/layers", data=b"{" + b" " * (2 * 1024 * 1024) + b"}", content_type="application/json"
    )
    assert response.status_code == 413


def test_multipart_upload_of_a_file(client, crisis, coordinator):
    response = client.post(
        "/api/v1/layers",
        data={
            "title": "Roads",
            "crisis": "quake",
            "file": (io.BytesIO(as_text(point_layer()).encode()), "roads.geojson"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201 and response.get_json()["metadata"]["title"] == "Roads"


def test_script_in_a_property_is_inert_in_json_and_escaped_in_html(client, crisis, coordinator):
    created = upload(client, point_layer(name=XSS, **{XSS: XSS}), title=f"Layer {XSS}", description=XSS)
    assert created.status_code == 201
    raw = client.get(created.headers["Location"]).data
    assert b"<img" not in raw and b"\\u003cimg src=x onerror=alert(1)\\u003e" in raw
    assert (
        client.get(created.headers["Location"]).get_json()["features"][0]["properties"]["name"] == XSS
    )  # data unchanged
    layer_id = created.get_json()["metadata"]["id"]
    for url in (
        f"/c/quake/layers/{layer_id}",
        "/c/quake/layers",
        f"/c/quake/layers/{layer_id}/history",
        "/c/quake/map",
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert b"<img src=x" not in page.data, url
    assert b"&lt;img src=x onerror=alert(1)&gt;" in client.get(f"/c/quake/layers/{layer_id}").data
    listing = client.get("/api/v1/layers?crisis=quake").data
    assert b"<img" not in listing


def test_edits_make_revisions_and_revert_makes_a_new_one(app, client, crisis, coordinator):
    created = upload(client, point_layer()).get_json()["metadata"]
    layer_id, first = created["id"], created["revision"]["id"]
    replacement = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Moved hospital"},
                "geometry": {"type": "Point", "coordinates": [-72.0, 19.0]},
            }
        ],
    }
    edited = client.put(
        f"/api/v1/layers/{layer_id}", json={"geojson": replacement, "comment": "moved", "base_revision": first}
    )
    assert edited.status_code == 200
    meta = edited.get_json()["metadata"]
    assert meta["revision"]["number"] == 2 and meta["feature_count"] == 1 and meta["title"] == "Health facilities"
    renamed = client.put(f"/api/v1/layers/{layer_id}", json={"title": "Hospitals"}).get_json()["metadata"]
    assert renamed["revision"]["number"] == 3 and renamed["feature_count"] == 1  # data kept
    unchanged = client.put(f"/api/v1/layers/{layer_id}", json={"title": "Hospitals"})
    assert (
        unchanged.headers.get("X-Unchanged") == "true" and unchanged.get_json()["metadata"]["revision"]["number"] == 3
    )
    stale = client.put(f"/api/v1/layers/{layer_id}", json={"title": "Stale", "base_revision": first})
    assert stale.status_code == 409
    history = client.get(f"/api/v1/layers/{layer_id}/revisions").get_json()["revisions"]
    assert [r["number"] for r in history] == [3, 2, 1] and history[1]["comment"] == "moved"
    old = client.get(f"/api/v1/layers/{layer_id}/revisions/1").get_json()
    assert len(old["features"]) == 2 and old["metadata"]["current"] is False
    reverted = client.post(f"/api/v1/layers/{layer_id}/revert", json={"revision": 1}).get_json()["metadata"]
    assert reverted["revision"]["number"] == 4 and reverted["revision"]["kind"] == "revert"
    assert reverted["feature_count"] == 2 and reverted["title"] == "Health facilities"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LayerRevision)) == 4  # nothing rewritten


def test_html_upload_edit_history_and_revert(app, client, crisis, coordinator):
    form = client.get("/c/quake/layers/new")
    assert form.status_code == 200 and b'name="csrf_token"' in form.data and b'for="geojson"' in form.data
    created = client.post(
        "/c/quake/layers/new", data={"title": "Camps", "geojson": as_text(point_layer()), "licence": "ODbL"}
    )
    assert created.status_code == 302
    layer_url = created.headers["Location"]
    layer_id = int(layer_url.rstrip("/").split("/")[-1])
    page = client.get(layer_url)
    assert page.status_code == 200 and b"Camps" in page.data and b"ODbL" in page.data and b"Field hospital" in page.data
    bad = client.post(
        f"/c/quake/layers/{layer_id}/edit",
        data={
            "title": "Camps",
            "geojson": as_text(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {"type": "Feature", "properties": {}, "geometry": box(0, 0, 1, 1)},
                        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 99]}},
                    ],
                }
            ),
        },
    )
    assert bad.status_code == 422 and b"Feature 1" in bad.data and b"features[1].geometry.coordinates" in bad.data
    upload_file = client.post(
        f"/c/quake/layers/{layer_id}/edit",
        data={
            "title": "Camps (May)",
            "file": (io.BytesIO(as_text(point_layer(name="New camp")).encode()), "camps.geojson"),
        },
        content_type="multipart/form-data",
    )
    assert upload_file.status_code == 302
    history = client.get(f"/c/quake/layers/{layer_id}/history")
    assert history.status_code == 200 and b"Camps (May)" in history.data and b"Revert to this" in history.data
    assert client.post(f"/c/quake/layers/{layer_id}/revert/1").status_code == 302
    assert client.get(f"/api/v1/layers/{layer_id}").get_json()["metadata"]["title"] == "Camps"
    assert client.post(f"/c/quake/layers/{layer_id}/delete").status_code == 302
    assert client.get(f"/api/v1/layers/{layer_id}").status_code == 404
    assert client.get(f"/c/quake/layers/{layer_id}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LayerRevision)) == 3


def test_a_layer_can_belong_to_a_page_of_the_same_crisis(client, crisis, coordinator):
    assert client.post("/c/quake/new", data={"title": "Health", "body": "x"}).status_code == 302
    created = upload(client, point_layer(), page="Health").get_json()["metadata"]
    assert created["page"] == "Health"
    assert [layer["id"] for layer in client.get("/api/v1/layers?crisis=quake&page=Health").get_json()["layers"]] == [
        created["id"]
    ]
    assert b"Health facilities" in client.get("/c/quake/layers?page=Health").data
    missing = upload(client, point_layer(), page="Nowhere")
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "page"


def test_only_coordinators_and_admins_write_layers(client, crisis, make_user, login, token_for):
    anonymous = upload(client, point_layer())
    assert anonymous.status_code == 401
    volunteer = make_user("volunteer")
    assert (
        client.post(
            "/api/v1/layers",
            json={"title": "x", "crisis": "quake", "geojson": point_layer()},
            headers={"Authorization": f"Bearer {token_for(volunteer)}"},
        ).status_code
        == 403
    )
    admin = make_user("admin")
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    created = client.post(
        "/api/v1/layers", json={"title": "x", "crisis": "quake", "geojson": point_layer()}, headers=headers
    )
    assert created.status_code == 201
    layer_id = created.get_json()["metadata"]["id"]
    login(volunteer)
    assert client.put(f"/api/v1/layers/{layer_id}", json={"title": "y"}).status_code == 403
    assert client.delete(f"/api/v1/layers/{layer_id}").status_code == 403
    assert client.get("/c/quake/layers/new").status_code == 403
    assert client.get(f"/api/v1/layers/{layer_id}").status_code == 200  # everyone reads


def test_layer_hooks_run_after_the_commit(app_config, database_url, crisis, make_user, login):
    from sqlalchemy import create_engine, text

    from wiki import create_app

    seen = []

    class Recorder:
        @hookimpl
        def layer_saved(self, layer):
            engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
            with engine.connect() as other:  # another connection sees only committed data
                count = other.execute(
                    text("SELECT count(*) FROM layer_revisions WHERE layer_id = :id"), {"id": layer.id}
                ).scalar()
            engine.dispose()
            seen.append(("saved", layer.id, count))

        @hookimpl
        def layer_deleted(self, layer):
            seen.append(("deleted", layer.id, layer.deleted_at is not None))

    app = create_app(app_config, plugins=[Recorder()])
    client = app.test_client()
    coordinator = make_user("coordinator")
    client.post("/login", data={"username": coordinator.username, "password": coordinator.password})
    layer_id = client.post(
        "/api/v1/layers", json={"title": "x", "crisis": "quake", "geojson": point_layer()}
    ).get_json()["metadata"]["id"]
    client.put(f"/api/v1/layers/{layer_id}", json={"title": "y"})
    client.delete(f"/api/v1/layers/{layer_id}")
    assert seen == [("saved", layer_id, 1), ("saved", layer_id, 2), ("deleted", layer_id, True)]


def test_layer_json_limits_on_text_fields(client, crisis, coordinator):
    assert upload(client, point_layer(), title="").status_code == 422
    assert upload(client, point_layer(), title="x" * 201).get_json()["error"]["field"] == "title"
    assert upload(client, point_layer(), crisis="nowhere").status_code == 404
    assert client.post("/api/v1/layers", data="x", content_type="text/plain").status_code == 415
    assert json.loads(client.get("/api/v1/layers/999").data)["error"]["code"] == "not_found"

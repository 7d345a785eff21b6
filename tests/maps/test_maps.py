"""The crisis map: its page, its viewport endpoint (points or clusters, from a spatial index),
privacy of sensitive reports on it, and live maps embedded in pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from tests.maps_helpers import add_reports, point_layer
from wiki.extensions import db
from wiki.hooks import hookimpl
from wiki.models import Crisis, Report
from wiki.visibility import coarsen

PAP = (-72.34, 18.54)  # Port-au-Prince


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MAP_TILE_URL": "", "MAP_MAX_POINTS": 5}


def view(client, **params):
    response = client.get("/api/v1/map/reports", query_string={"crisis": "quake", **params})
    assert response.status_code == 200, response.data
    return response.get_json()


def grid(n: int, lon: float = PAP[0], lat: float = PAP[1], step: float = 0.001) -> list[tuple[float, float]]:
    return [(lon + (i % 10) * step, lat + (i // 10) * step) for i in range(n)]


# -- the page --------------------------------------------------------------------------------


def test_the_map_page_carries_its_settings_in_data_attributes_and_no_external_url(client, crisis):
    page = client.get("/c/quake/map")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-crisis="quake"' in html and 'data-bbox="-74.5,17.9,-71.6,20.1"' in html
    assert 'data-tile-url=""' in html and "data-api-reports=" in html and "data-i18n=" in html
    assert re.search(r"""(src|href)=["']https?://""", html) is None  # no tiles, scripts or styles from elsewhere
    assert "vendor/leaflet/leaflet" in html and "vendor/leaflet.markercluster/leaflet.markercluster" in html
    assert "js/map-page" in html and "<script>" not in html and " style=" not in html
    assert (
        'for="mf-sector"' in html and 'for="mf-status"' in html and 'for="mf-since"' in html
    )  # a label for every filter
    for letter, status in (
        ("N", "new"),
        ("V", "verified"),
        ("X", "refuted"),
    ):  # the legend explains letters, not only colours
        assert f'status-{status}" aria-hidden="true">{letter}</span> {status}' in html
    # ... and the neutral marker of a report a plugin has not assessed yet (shown once the map draws one).
    assert re.search(
        r'<li class="map-assessment-legend" hidden><span class="map-marker not-assessed" aria-hidden="true">N</span> '
        r"light grey, no score under it: not yet assessed",
        html,
    )


def test_the_crisis_navigation_links_the_map_and_the_layers(client, crisis):
    html = client.get("/c/quake/").get_data(as_text=True)
    assert 'href="/c/quake/map"' in html and 'href="/c/quake/layers"' in html


def test_the_map_page_keeps_the_filters_of_its_url(client, crisis):
    html = client.get("/c/quake/map?sector=health&status=verified&q=bridge").get_data(as_text=True)
    assert '<option value="health" selected>' in html and '<option value="verified" selected>' in html
    assert 'value="bridge"' in html


def test_the_tile_host_is_allowed_by_the_content_security_policy(app_config):
    from wiki import create_app
    from wiki.security import tile_source

    app = create_app({**app_config, "MAP_TILE_URL": "https://{s}.tiles.example.org/{z}/{x}/{y}.png"})
    response = app.test_client().get("/api/v1/health")
    assert "img-src 'self' data: blob: https://*.tiles.example.org;" in response.headers["Content-Security-Policy"]
    assert tile_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://tile.openstreetmap.org"
    assert tile_source("") is None and tile_source("javascript:alert(1)") is None
    default = create_app({**app_config, "MAP_TILE_URL": ""}).test_client().get("/api/v1/health")
    assert "img-src 'self' data: blob:;" in default.headers["Content-Security-Policy"]


# -- points and clusters -----------------------------------------------------------------------


def test_few_reports_come_as_points_with_what_the_popup_needs(app, client, crisis):
    [report_id] = add_reports(app, "quake", [PAP], title="Bridge <b>down</b>", status="verified", sector="logistics")
    data = view(client, bbox="-74.5,17.9,-71.6,20.1", zoom=8)
    assert data["type"] == "FeatureCollection" and data["mode"] == "points" and data["total"] == 1
    [feature] = data["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [PAP[0], PAP[1]]}
    props = feature["properties"]
    assert props["id"] == report_id and props["title"] == "Bridge <b>down</b>" and props["status"] == "verified"
    assert props["url"].endswith(f"/reports/{report_id}") and props["location_coarsened"] is False
    assert view(client, bbox="-74,19.5,-73.5,20")["total"] == 0  # elsewhere


class Assessments:
    """A stand-in for the validation plugin: what it says of each report on the map."""

    @hookimpl
    def report_map_properties(self, report_ids, viewer):
        return {
            report_id: {
                "score": None,
                "assessment": {"state": "not_assessed", "reason": "nothing known"},
                "nested": {"too": {"deep": 1}},
                "listed": [1, 2],
            }
            for report_id in report_ids
        }


def test_plugins_add_scalars_and_flat_objects_to_the_map_points(app, client, crisis):
    app.extensions["crisiswiki_plugins"].register(Assessments(), name="assessments")
    add_reports(app, "quake", [PAP])
    [feature] = view(client, bbox="-74.5,17.9,-71.6,20.1", zoom=8)["features"]
    props = feature["properties"]
    assert props["score"] is None and props["assessment"] == {"state": "not_assessed", "reason": "nothing known"}
    assert "nested" not in props and "listed" not in props  # only scalars and flat objects of scalars pass


def test_above_the_threshold_the_server_sends_clusters_whose_counts_add_up(app, client, crisis):
    add_reports(app, "quake", grid(40))  # 40 near Port-au-Prince
    add_reports(app, "quake", grid(12, lon=-72.2, lat=19.75))  # 12 near Cap-Haïtien
    data = view(client, bbox="-74.5,17.9,-71.6,20.1", zoom=7)
    assert data["mode"] == "clusters" and data["total"] == 52
    clusters = [f for f in data["features"] if f["properties"].get("cluster")]
    assert sum(f["properties"]["count"] for f in clusters) + (len(data["features"]) - len(clusters)) == 52
    assert len(clusters) == 2
    for cluster in clusters:
        west, south, east, north = cluster["bbox"]
        lon, lat = cluster["geometry"]["coordinates"]
        assert west <= lon <= east and south <= lat <= north
    near_pap = next(c for c in clusters if c["properties"]["count"] == 40)
    assert near_pap["bbox"] == pytest.approx([PAP[0], PAP[1], PAP[0] + 0.009, PAP[1] + 0.003])
    zoomed = view(client, bbox="-72.3405,18.5395,-72.3375,18.5405", zoom=17)  # three of them up close
    assert zoomed["mode"] == "points" and zoomed["total"] == 3


def test_a_cell_holding_one_report_is_sent_as_that_report(app, client, crisis):
    add_reports(app, "quake", grid(10))
    [lonely] = add_reports(app, "quake", [(-73.9, 19.9)], title="Far away")
    data = view(client, bbox="-74.5,17.9,-71.6,20.1", zoom=7)
    assert data["mode"] == "clusters" and data["total"] == 11
    points = [f for f in data["features"] if not f["properties"].get("cluster")]
    assert [p["properties"]["id"] for p in points] == [lonely] and points[0]["properties"]["title"] == "Far away"


def test_filters_narrow_the_map(app, client, crisis):
    add_reports(app, "quake", grid(3), sector="health", status="verified", title="Cholera cases")
    add_reports(app, "quake", grid(3), sector="wash", status="new", title="Well dry")
    assert view(client, sector="health")["total"] == 3
    assert view(client, status="new")["total"] == 3
    assert view(client, q="cholera")["total"] == 3
    assert view(client, sector="health", status="new")["total"] == 0
    assert client.get("/api/v1/map/reports", query_string={"crisis": "quake", "sector": "nonsense"}).status_code == 422
    assert client.get("/api/v1/map/reports", query_string={"crisis": "quake", "zoom": "99"}).status_code == 422
    assert client.get("/api/v1/map/reports").status_code == 400
    assert client.get("/api/v1/map/reports?crisis=nowhere").status_code == 404


def test_unpublished_reports_are_on_the_map_only_for_those_who_may_see_them(app, client, crisis, make_user, login):
    add_reports(app, "quake", grid(2))
    add_reports(app, "quake", grid(3, lat=18.6), published=False)
    assert view(client)["total"] == 2
    login(make_user("verifier"))
    assert view(client)["total"] == 5


# -- privacy of sensitive reports ---------------------------------------------------------------


def test_sensitive_reports_are_drawn_and_clustered_at_their_coarsened_point(app, client, crisis, make_user, login):
    exact = [(-72.3012, 18.5423), (-72.3056, 18.5467), (-72.3034, 18.5401)]
    ids = add_reports(app, "quake", exact, sensitive=True)
    add_reports(app, "quake", grid(6, lon=-73.8, lat=19.6))  # enough to make the country view cluster
    with app.app_context():
        coarse = {coarsen(lon, lat) for lon, lat in exact}
    assert len(coarse) == 1  # the three share a grid cell
    [(coarse_lon, coarse_lat)] = coarse

    data = view(client, bbox="-74.5,17.9,-71.6,20.1", zoom=7)
    assert data["mode"] == "clusters"
    sensitive = next(f for f in data["features"] if f["properties"].get("count") == 3)
    assert sensitive["bbox"] == [coarse_lon, coarse_lat, coarse_lon, coarse_lat]  # bounds give nothing away
    assert sensitive["geometry"]["coordinates"] == pytest.approx([coarse_lon, coarse_lat])

    points = view(client, bbox="-72.5,18.4,-72.1,18.7", zoom=12)
    assert points["mode"] == "points"
    assert {tuple(f["geometry"]["coordinates"]) for f in points["features"]} == {(coarse_lon, coarse_lat)}
    assert all(f["properties"]["location_coarsened"] for f in points["features"])

    # A tiny box around an exact point that the public point is outside of finds nothing ...
    lon, lat = exact[0]
    assert not (lon - 0.0005 <= coarse_lon <= lon + 0.0005 and lat - 0.0005 <= coarse_lat <= lat + 0.0005)
    assert view(client, bbox=f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}", zoom=18)["total"] == 0
    # ... and a tiny box around the public point finds all three.
    around = f"{coarse_lon - 0.0001},{coarse_lat - 0.0001},{coarse_lon + 0.0001},{coarse_lat + 0.0001}"
    assert view(client, bbox=around, zoom=18)["total"] == 3

    login(make_user("coordinator"))  # who may see exact locations sees them
    inside = view(client, bbox="-72.5,18.4,-72.1,18.7", zoom=12)
    assert {tuple(f["geometry"]["coordinates"]) for f in inside["features"]} == set(exact)
    country = view(client, bbox="-74.5,17.9,-71.6,20.1", zoom=7)
    cluster = next(f for f in country["features"] if f["properties"].get("count") == 3)
    assert cluster["bbox"] == pytest.approx(
        [-72.3056, 18.5401, -72.3012, 18.5467], abs=1e-5
    )  # from the R*Tree: 32-bit floats
    assert ids


# -- the spatial index ---------------------------------------------------------------------------


def _plan_reads_reports_by_index(lines: list[str], backend: str) -> bool:
    if backend == "sqlite":
        full_scans = [
            line
            for line in lines
            if (re.match(r"^SCAN (reports|r)\b", line) and "INDEX" not in line.split(" USING ")[-1].upper())
            or re.match(r"^SCAN reports USING (COVERING )?INDEX", line)
        ]
        indexes = ("reports_rtree", "ix_reports_map_viewport", "ix_reports_lat_lon", "ix_reports_map_sensitive")
        return not full_scans and any(index in line for line in lines for index in indexes)
    return "Seq Scan on reports" not in "\n".join(lines) and ("Index" in "\n".join(lines))


def test_map_queries_use_the_spatial_index_never_a_full_scan(app, crisis, backend):
    from wiki.maps.spatial import query_plan
    from wiki.maps.viewport import View, access_for, clusters_query, parse_view, points_query

    add_reports(app, "quake", grid(300) + grid(300, lon=-72.2, lat=19.7))
    with app.test_request_context():
        crisis_row = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        if backend == "postgresql":
            db.session.execute(text("ANALYZE reports"))
            db.session.execute(text("SET enable_seqscan = off"))
        from flask_login import current_user

        town = parse_view(crisis_row, MultiDict({"bbox": "-72.35,18.53,-72.33,18.56", "zoom": "15"}))
        country = parse_view(crisis_row, MultiDict({"bbox": "-74.5,17.9,-71.6,20.1", "zoom": "7", "sector": "health"}))
        plans = {
            "points, R*Tree": query_plan(points_query(access_for(town, current_user))),
            "clusters, R*Tree": query_plan(clusters_query(access_for(town, current_user), "plain")),
            "clusters, covering index": query_plan(
                clusters_query(access_for(country, current_user, use_rtree=False), "plain")
            ),
            "sensitive clusters": query_plan(
                clusters_query(access_for(country, current_user, use_rtree=False), "sensitive")
            ),
            "points, covering index": query_plan(points_query(access_for(country, current_user, use_rtree=False))),
        }
        assert isinstance(town, View)
    for name, lines in plans.items():
        assert _plan_reads_reports_by_index(lines, backend), f"{name}: {lines}"
    if backend == "sqlite":
        assert any("reports_rtree" in line for line in plans["points, R*Tree"])
        assert any("ix_reports_map_viewport" in line for line in plans["clusters, covering index"])


@pytest.mark.parametrize("role", [None, "coordinator"])
def test_maps_summed_from_an_rtree_match_the_general_query(app, crisis, backend, make_user, role):
    """Unfiltered clusters come cell by cell from an R*Tree (SQLite): reports_public_rtree for
    the public, reports_rtree for those who see everything. They must be exactly what the
    general GROUP BY gives, sensitive and unpublished reports included."""
    if backend != "sqlite":
        pytest.skip("the public R*Tree is SQLite's")
    import random

    from wiki.crises.services import create_crisis
    from wiki.maps.viewport import FULL_TREE, PUBLIC_TREE, access_for, cluster_rows, parse_view, tree_for
    from wiki.models import User

    viewer_id = make_user(role).id if role else None

    rng = random.Random(7)
    points = [(rng.uniform(-74.5, -71.6), rng.uniform(17.9, 20.1)) for _ in range(400)]
    for i, point in enumerate(points):
        add_reports(app, "quake", [point], sensitive=i % 9 == 0, published=i % 13 != 0)
    with app.app_context():
        admin = db.session.scalar(select(User))
        create_crisis({"name": "Far away", "slug": "far", "bbox": "100,0,101,1"}, admin)
        create_crisis({"name": "Next door", "slug": "next", "bbox": "-73,18,-72,19"}, admin)
    add_reports(app, "far", [(100.5, 0.5)] * 5)

    def viewer():
        from flask_login import AnonymousUserMixin

        return db.session.get(User, viewer_id) if viewer_id else AnonymousUserMixin()

    with app.test_request_context():
        quake = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        for bbox, zoom in (("-74.5,17.9,-71.6,20.1", 7), ("-73.2,18.2,-72.1,19.3", 9), ("-72.9,18.4,-72.6,18.7", 12)):
            access = access_for(
                parse_view(quake, MultiDict({"bbox": bbox, "zoom": str(zoom)})), viewer(), use_rtree=False
            )
            assert tree_for(access) == (FULL_TREE if role else PUBLIC_TREE)
            general = {row[0]: row for row in cluster_rows(access, use_tree=False)}
            for use_pyramid in (True, False):  # (the pyramid of tests/maps/test_pyramid.py, or the tree alone)
                fast = {row[0]: row for row in cluster_rows(access, use_tree=True, use_pyramid=use_pyramid)}
                assert fast.keys() == general.keys() and sum(r[1] for r in fast.values()) > 0
                for key, row in fast.items():
                    assert row[1] == general[key][1]
                    assert row[1] > 1 or row[8] == general[key][8]  # the id of one-report cells
                    assert row[2:8] == pytest.approx(general[key][2:8], rel=1e-6, abs=1e-4)  # 32-bit floats in the tree
    add_reports(app, "next", [(-72.5, 18.5)])  # another crisis's reports in view: the shared tree cannot answer
    with app.test_request_context():
        quake = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        access = access_for(
            parse_view(quake, MultiDict({"bbox": "-74.5,17.9,-71.6,20.1", "zoom": "7"})), viewer(), use_rtree=False
        )
        assert tree_for(access) is None
        filtered = access_for(parse_view(quake, MultiDict({"bbox": "-74,18,-73.5,18.5", "sector": "health"})), viewer())
        assert tree_for(filtered) is None


def test_the_publics_points_are_the_same_through_the_tree_as_through_the_covering_index(app, crisis, backend):
    """Points for the public come in two parts through the R*Tree (the reports shown where they
    are, from the view's own box; the sensitive ones from the box grown by a grid cell): the
    same reports as the one query through the covering index, sensitive ones at the edges too."""
    if backend != "sqlite":
        pytest.skip("the R*Tree is SQLite's")
    import random

    from flask_login import AnonymousUserMixin

    from wiki.maps.viewport import access_for, parse_view, points_query

    rng = random.Random(13)
    points = [(rng.gauss(PAP[0], 0.1), rng.gauss(PAP[1], 0.1)) for _ in range(300)]
    for i, point in enumerate(points):
        add_reports(app, "quake", [point], sensitive=i % 4 == 0, published=i % 10 != 0)
    with app.test_request_context():
        quake = db.session.scalar(select(Crisis).where(Crisis.slug == "quake"))
        for _ in range(20):
            west, south = rng.gauss(PAP[0], 0.1), rng.gauss(PAP[1], 0.1)
            size = rng.uniform(0.01, 0.2)
            view_ = parse_view(quake, MultiDict({"bbox": f"{west},{south},{west + size},{south + size}", "zoom": "14"}))
            found = [
                [row.id for row in db.session.execute(points_query(access_for(view_, AnonymousUserMixin(), tree)))]
                for tree in (True, False)
            ]
            assert found[0] == found[1]


def test_the_public_tree_follows_publication_and_sensitivity(app, crisis, backend):
    if backend != "sqlite":
        pytest.skip("the public R*Tree is SQLite's")
    [report_id] = add_reports(app, "quake", [PAP])
    with app.app_context():

        def public() -> list[int]:
            return [row[0] for row in db.session.execute(text("SELECT id FROM reports_public_rtree"))]

        assert public() == [report_id]
        report = db.session.get(Report, report_id)
        report.published = False
        db.session.commit()
        assert public() == []
        report.published, report.sensitive = True, True
        db.session.commit()
        assert public() == []
        report.sensitive = False
        db.session.commit()
        assert public() == [report_id]
        db.session.delete(report)
        db.session.commit()
        assert public() == []


def test_the_reports_api_bbox_query_uses_the_spatial_index(app, crisis, backend):
    from wiki.maps.spatial import query_plan, refresh_planner_statistics
    from wiki.reports.queries import ReportFilters, report_list_query

    add_reports(app, "quake", grid(300) + grid(300, lon=-72.2, lat=19.7))
    with app.test_request_context():
        from flask_login import current_user

        if backend == "postgresql":
            db.session.execute(text("ANALYZE reports"))
            db.session.execute(text("SET enable_seqscan = off"))
        bbox_only = ReportFilters.from_args(MultiDict({"bbox": "-72.35,18.53,-72.33,18.56"}))
        lines = query_plan(report_list_query(bbox_only, current_user).limit(101))
        assert _plan_reads_reports_by_index(lines, backend), lines
        if backend == "sqlite":
            assert any("reports_rtree" in line for line in lines), lines
            # With a crisis too, SQLite needs to know how unselective a crisis is: statistics the
            # maps feature refreshes after bulk imports and boundary imports.
            refresh_planner_statistics()
        with_crisis = ReportFilters.from_args(MultiDict({"bbox": "-72.35,18.53,-72.33,18.56", "crisis": "quake"}))
        lines = query_plan(report_list_query(with_crisis, current_user).limit(101))
        assert _plan_reads_reports_by_index(lines, backend), lines


def test_the_rtree_follows_inserts_moves_and_deletes(app, client, crisis, backend):
    if backend != "sqlite":
        pytest.skip("the R*Tree is SQLite's; PostgreSQL reads its B-tree indexes")
    [report_id] = add_reports(app, "quake", [PAP])
    with app.app_context():

        def boxes():
            return db.session.execute(text("SELECT id, min_lon, max_lat FROM reports_rtree")).all()

        [(rid, lon, lat)] = boxes()
        assert rid == report_id and lon == pytest.approx(PAP[0], abs=1e-4) and lat == pytest.approx(PAP[1], abs=1e-4)
        db.session.get(Report, report_id).lon = -73.0
        db.session.commit()
        assert boxes()[0][1] == pytest.approx(-73.0, abs=1e-4)
        db.session.delete(db.session.get(Report, report_id))
        db.session.commit()
        assert boxes() == []
    assert view(client)["total"] == 0


# -- embeds --------------------------------------------------------------------------------------


@pytest.fixture
def editor(make_user, login):
    person = make_user("coordinator")
    login(person)
    return person


def save_page(client, body: str):
    response = client.post("/c/quake/new", data={"title": "Health map", "body": body})
    assert response.status_code == 302, response.data
    return client.get("/c/quake/wiki/Health_map")


def test_a_map_block_becomes_a_live_map_div(client, crisis, editor):
    page = save_page(
        client,
        "Intro\n\n```map\ncrisis: quake\nsector: health, wash\nstatus: verified\nlayers: 3, 5\nheight: 400\n```\n\nAfter",
    )
    html = page.get_data(as_text=True)
    div = re.search(r'<div class="crisiswiki-map"[^>]*>', html).group(0)
    for attribute in (
        'data-map-crisis="quake"',
        'data-map-sector="health,wash"',
        'data-map-status="verified"',
        'data-map-layers="3,5"',
        'data-map-height="400"',
    ):
        assert attribute in div
    assert "js/map-embed" in html and "vendor/leaflet/leaflet" in html and "<p>After</p>" in html
    assert 'href="/c/quake/map?' in html  # a link to the full map for readers without JavaScript


@pytest.mark.parametrize(
    "block, reason",
    [
        ("crisis: quake\nsector: astrology", "Unknown sector"),
        ("crisis: quake\nlayers: 3, five", "layers are layer numbers"),
        ("crisis: quake\nheight: 99999", "height must lie between"),
        ("crisis: Quake Town!", "short name"),
        ("crisis: quake\ncolour: red", "Unknown option"),
        ("crisis: quake\nsince: last tuesday", "a date like"),
        ("crisis: quake\ncrisis: other", "given twice"),
        ("just words", "not “option: value”"),
        ("crisis: quake\nq: <script>alert(1)</script>\nzoom: 40", "zoom must lie between"),
    ],
)
def test_an_invalid_map_block_shows_an_error_box_not_a_broken_page(client, crisis, editor, block, reason):
    page = save_page(client, f"Before\n\n```map\n{block}\n```\n\nAfter")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    box = re.search(r'<div class="map-error">(.*?)</div>', html, re.S)
    assert box is not None and reason in box.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&#x27;", "'")
    assert "crisiswiki-map" not in html.split("<footer")[0].replace("map-error", "")
    assert "<p>Before</p>" in html and "<p>After</p>" in html and "<script>alert" not in html


def test_map_options_are_escaped_into_attributes(client, crisis, editor):
    html = save_page(client, '```map\ncrisis: quake\nq: "><img src=x onerror=alert(1)>\n```').get_data(as_text=True)
    assert "<img src=x" not in html and 'data-map-q="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html.replace(
        "&quot;", "&#34;"
    )


def test_a_page_without_a_map_loads_no_map_scripts(client, crisis, editor):
    html = save_page(client, "No map here.").get_data(as_text=True)
    assert "leaflet" not in html and "map-embed" not in html


def test_ordinary_code_blocks_are_left_alone(client, crisis, editor):
    html = save_page(client, "```python\nprint('map: yes')\n```").get_data(as_text=True)
    assert "crisiswiki-map" not in html.split("<footer")[0] and "print(" in html


def test_the_layer_page_previews_the_layer_with_an_embed(client, crisis, editor):
    created = client.post(
        "/api/v1/layers", json={"title": "Camps", "crisis": "quake", "geojson": point_layer()}
    ).get_json()
    html = client.get(f"/c/quake/layers/{created['metadata']['id']}").get_data(as_text=True)
    assert f'data-map-layers="{created["metadata"]["id"]}"' in html and 'data-map-reports="no"' in html

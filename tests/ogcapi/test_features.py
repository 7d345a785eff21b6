"""OGC API - Features: GIS clients read a crisis's reports and layers directly. GDAL's OAPIF driver
(through pyogrio's wheel, in a child process, and Debian's ogrinfo when gdal-bin is installed)
reads the app served on a loopback port, following the `next` links page by page; the public sees
what the visibility rule lets it see (a sensitive report at its grid cell, no contacts, no
unpublished or withdrawn report), a verifier sees the exact point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import select

from tests.live_server import serve
from tests.maps_helpers import add_reports, point_layer
from wiki.errors import InvalidInput
from wiki.extensions import db
from wiki.hooks import hookimpl
from wiki.models import Report
from wiki.models.base import utcnow


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SERVER_NAME": None}


@pytest.fixture
def reports(app, crisis):
    ids = add_reports(app, "quake", [(-72.3 + i * 0.001, 18.5 + i * 0.001) for i in range(25)], published=True)
    secret = add_reports(app, "quake", [(-72.318765, 18.543219)], published=True, sensitive=True, title="Sensitive")
    hidden = add_reports(app, "quake", [(-72.2, 18.6)], published=False, title="Unpublished")
    withdrawn = add_reports(
        app, "quake", [(-72.25, 18.55)], published=False, withdrawn_at=utcnow(), withdrawn_reason="shield"
    )
    return ids, secret[0], hidden[0], withdrawn[0]


SECRET_POINT = [-72.318765, 18.543219]


def test_landing_conformance_and_collections(client, reports):
    landing = client.get("/ogc")
    assert landing.status_code == 200
    rels = {link["rel"] for link in landing.get_json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conformance = client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    collections = client.get("/ogc/collections").get_json()["collections"]
    assert [c["id"] for c in collections] == ["quake-reports"]
    missing = client.get("/ogc/collections/nowhere-reports")
    assert missing.status_code == 404 and missing.is_json  # GIS clients read the error


def test_items_are_paged_by_next_links_as_the_public_sees_them(client, reports):
    ids, secret, hidden, withdrawn = reports
    seen, url, pages = [], "/ogc/collections/quake-reports/items?limit=10", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/geo+json"
        body = response.get_json()
        assert body["numberReturned"] == len(body["features"])
        assert body["numberMatched"] == 26  # every page: counted as the public sees them
        seen += body["features"]
        pages += 1
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert pages == 3 and len(seen) == 26  # 25 + the sensitive one; never the unpublished or withdrawn
    by_id = {feature["id"]: feature for feature in seen}
    assert hidden not in by_id and withdrawn not in by_id
    assert by_id[secret]["geometry"]["coordinates"] != SECRET_POINT  # its grid cell
    assert "source" not in by_id[secret]["properties"]
    assert "-72.318765" not in json.dumps(seen) and "18.543219" not in json.dumps(seen)
    one = client.get(f"/ogc/collections/quake-reports/items/{ids[0]}")
    assert one.status_code == 200 and one.get_json()["id"] == ids[0]
    assert client.get(f"/ogc/collections/quake-reports/items/{hidden}").status_code == 404
    assert client.get(f"/ogc/collections/quake-reports/items/{withdrawn}").status_code == 404
    alone = client.get(f"/ogc/collections/quake-reports/items/{secret}").get_json()
    assert alone["geometry"]["coordinates"] == by_id[secret]["geometry"]["coordinates"]
    # A tiny bbox around the exact point does not find the sensitive report (it is at its cell).
    tiny = client.get("/ogc/collections/quake-reports/items?bbox=-72.3188,18.5432,-72.3187,18.5433").get_json()
    assert tiny["features"] == []
    boxed = client.get("/ogc/collections/quake-reports/items?bbox=-72.301,18.499,-72.2985,18.5015").get_json()
    assert [feature["id"] for feature in boxed["features"]] == ids[:2]
    refused = client.get("/ogc/collections/quake-reports/items?limit=abc")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "limit"


def test_a_verifier_sees_the_exact_point_and_the_withdrawn_report(client, reports, make_user, token_for):
    _ids, secret, hidden, withdrawn = reports
    headers = {"Authorization": f"Bearer {token_for(make_user('verifier'))}"}
    body = client.get("/ogc/collections/quake-reports/items?limit=100", headers=headers).get_json()
    by_id = {feature["id"]: feature for feature in body["features"]}
    assert by_id[secret]["geometry"]["coordinates"] == SECRET_POINT
    assert hidden in by_id and withdrawn in by_id and len(by_id) == 28
    assert body["numberMatched"] == 28


def test_a_layer_is_a_collection(app, client, crisis, make_user, token_for):
    token = token_for(make_user("coordinator"))
    created = client.post(
        "/api/v1/layers",
        json={"title": "Sites", "crisis": "quake", "geojson": point_layer()},
        headers={"Authorization": f"Bearer {token}"},
    )
    layer_id = created.get_json()["metadata"]["id"]
    items = client.get(f"/ogc/collections/layer-{layer_id}/items?limit=1").get_json()
    assert items["numberReturned"] == 1 and items["features"][0]["properties"]["name"] == "Field hospital"
    assert any(link["rel"] == "next" for link in items["links"])


READ_BY_GDAL = """
import json, sys
import pyogrio
meta, _fids, geometries, fields = pyogrio.raw.read("OAPIF:" + sys.argv[1], layer="quake-reports", PAGE_SIZE="7")
names = list(meta["fields"])
print(json.dumps({
    "count": len(geometries),
    "ids": sorted(int(v) for v in fields[names.index("id")]) if "id" in names else None,
}))
"""


def test_gdal_reads_the_collection_by_url_following_next_links(app, reports):
    pytest.importorskip("pyogrio")
    ids, secret, hidden, _withdrawn = reports
    with serve(app) as base:
        # GDAL in a child process: in this one it would hold the interpreter while it waits for
        # the server thread to answer.
        read = subprocess.run(
            [sys.executable, "-c", READ_BY_GDAL, f"{base}/ogc"], capture_output=True, text=True, timeout=120
        )
        assert read.returncode == 0, read.stderr
        listing = None
        if shutil.which("ogrinfo"):
            listing = subprocess.run(
                ["ogrinfo", "-ro", "-so", "-oo", "PAGE_SIZE=5", f"OAPIF:{base}/ogc", "quake-reports"],
                capture_output=True,
                text=True,
                timeout=120,
            )
    result = json.loads(read.stdout.strip().splitlines()[-1])
    assert result["count"] == 26  # 4 pages of 7
    assert result["ids"] == sorted([*ids, secret])
    if listing is not None:
        assert listing.returncode == 0, listing.stderr
        assert "Feature Count: 26" in listing.stdout  # ogrinfo pages with 5 a page (no numberMatched)
    with app.app_context():
        assert db.session.scalar(select(Report.published).where(Report.id == hidden)) is False


def test_items_are_filtered_by_datetime_intervals(client, reports):
    def count(value: str) -> int:
        response = client.get(f"/ogc/collections/quake-reports/items?limit=100&datetime={value}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["numberReturned"]

    assert count("2000-01-01T00:00:00Z/..") == 26
    assert count("../2000-01-01T00:00:00Z") == 0
    assert count("2000-01-01T00:00:00Z/2999-01-01T00:00:00Z") == 26
    refused = client.get("/ogc/collections/quake-reports/items?datetime=yesterday")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "datetime"


def test_number_matched_follows_the_filters(client, reports):
    def matched(query: str) -> tuple[int, int]:
        body = client.get(f"/ogc/collections/quake-reports/items?limit=5&{query}").get_json()
        return body["numberMatched"], body["numberReturned"]

    assert matched("datetime=../2000-01-01T00:00:00Z") == (0, 0)
    assert matched("bbox=-72.3005,18.4995,-72.2975,18.5025") == (3, 3)  # the first three points
    assert matched("offset=24") == (26, 2)


class _TitleFilter:
    """A plugin with a filter of its own (as the validation plugin's min_score), through filter_reports."""

    @hookimpl
    def filter_reports(self, params, viewer):
        wanted = params.get("title_is")
        if wanted is None:
            return None
        if not wanted:
            raise InvalidInput("title_is must not be empty.", field="title_is")
        return Report.title == wanted


def test_a_plugins_filter_narrows_the_items_and_their_count(app_config, crisis):
    from wiki import create_app

    app = create_app(app_config, plugins=[_TitleFilter()])
    client = app.test_client()
    add_reports(app, "quake", [(-72.3, 18.5), (-72.31, 18.51)], published=True, title="Collapsed school")
    add_reports(app, "quake", [(-72.32, 18.52)], published=True, title="Other")
    add_reports(app, "quake", [(-72.33, 18.53)], published=False, title="Collapsed school")  # not public
    body = client.get("/ogc/collections/quake-reports/items?title_is=Collapsed%20school&limit=1").get_json()
    assert body["numberMatched"] == 2 and body["numberReturned"] == 1
    assert {f["properties"]["title"] for f in body["features"]} == {"Collapsed school"}
    following = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "title_is=Collapsed+school" in following or "title_is=Collapsed%20school" in following
    refused = client.get("/ogc/collections/quake-reports/items?title_is=")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "title_is"

"""Static files: hashed names, compressed, cached for a year."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.one_database  # static files are served above the database


def test_static_urls_carry_a_content_hash_and_are_immutable(client, crisis):
    html = client.get("/c/quake/report").data.decode()
    css = re.search(r'href="(/static/css/wiki\.[0-9a-f]{12}\.css)"', html)
    assert css, html[:500]
    response = client.get(css.group(1))
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"] and "max-age=315360000" in response.headers["Cache-Control"]


def test_static_files_are_served_compressed_to_clients_that_accept_it(client, crisis):
    html = client.get("/c/quake/report").data.decode()
    css = re.search(r'href="(/static/css/wiki\.[0-9a-f]{12}\.css)"', html).group(1)
    plain = client.get(css)
    for encoding in ("br", "gzip"):
        compressed = client.get(css, headers={"Accept-Encoding": encoding})
        assert compressed.headers["Content-Encoding"] == encoding
        assert len(compressed.data) < len(plain.data) / 2


def test_original_names_still_work_with_short_caching(client):
    response = client.get("/static/css/wiki.css")
    assert response.status_code == 200 and "immutable" not in response.headers.get("Cache-Control", "")


def test_data_responses_are_compressed_and_pages_are_not(client, crisis):
    """Report lists and exports (what a phone downloads most of on the map) go out brotli- or
    gzip-compressed when the client accepts it; HTML pages do not (BREACH: CSRF tokens)."""
    for number in range(40):
        response = client.post(
            "/api/v1/reports",
            json={
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-72.3 + number * 0.001, 18.5]},
                "properties": {"crisis": "quake", "title": f"Water point {number} damaged", "sector": "wash"},
            },
        )
        assert response.status_code == 201
    plain = client.get("/api/v1/reports?crisis=quake&limit=40")
    assert "Content-Encoding" not in plain.headers
    for encoding in ("br", "gzip"):
        compressed = client.get("/api/v1/reports?crisis=quake&limit=40", headers={"Accept-Encoding": encoding})
        assert compressed.headers["Content-Encoding"] == encoding and "Accept-Encoding" in compressed.headers["Vary"]
        assert len(compressed.data) < len(plain.data) / 3
    export = client.get("/c/quake/reports.geojson", headers={"Accept-Encoding": "br"})
    assert export.headers["Content-Encoding"] == "br"
    import brotli

    assert len(json.loads(brotli.decompress(export.data))["features"]) == 40
    page = client.get("/c/quake/", headers={"Accept-Encoding": "br, gzip"})
    assert page.status_code == 200 and "Content-Encoding" not in page.headers

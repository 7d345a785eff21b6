"""Static files: hashed names, compressed, cached for a year."""
from __future__ import annotations

import re


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

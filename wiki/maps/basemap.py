"""The offline basemap every map draws when no tile server is configured (MAP_TILE_URL empty):
Natural Earth's land and country borders at 1:50m, vendored from the npm package world-atlas
(TopoJSON) and turned into GeoJSON in the browser by topojson-client (static/vendor/README.md).
static/js/basemap.js draws it; the crisis map, the maps in pages and the report form's map
picker all use these files, so they show the same map."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app

from ..assets import transfer_size
from ..i18n import human_size

# Paths under static/ (url_for('static', ...) gives their hashed names).
DATA = "vendor/world-atlas/countries-50m.json"
TOPOJSON = "vendor/topojson-client/topojson-client.min.js"
SCRIPT = "js/basemap.js"
# What the report form's map picker fetches when it is opened (the form itself loads none of it).
PICKER_FILES = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", TOPOJSON, SCRIPT, DATA)
# Natural Earth is in the public domain; crediting it is asked for, not required.
ATTRIBUTION = '<a href="https://www.naturalearthdata.com/">Natural Earth</a>'


@lru_cache(maxsize=4)
def _size(static_folder: str) -> int:
    data = Path(static_folder) / DATA
    return data.stat().st_size if data.exists() else 0


@lru_cache(maxsize=4)
def _picker_bytes(app: Flask) -> int:
    return sum(transfer_size(app, name) for name in PICKER_FILES)


def picker_download_bytes() -> int:
    """What opening the report form's map picker downloads the first time (brotli): Leaflet,
    topojson-client, basemap.js and the basemap (no tiles); response headers aside."""
    return _picker_bytes(current_app._get_current_object())


def basemap_settings() -> dict[str, str | int]:
    """What templates need to load and credit the basemap, and its size in bytes (uncompressed)."""
    return {
        "data": DATA,
        "topojson": TOPOJSON,
        "script": SCRIPT,
        "attribution": ATTRIBUTION,
        "bytes": _size(current_app.static_folder),
        "picker_size": lambda: human_size(picker_download_bytes()),  # called by the report form only
    }

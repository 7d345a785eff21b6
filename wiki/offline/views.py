"""Routes of the offline report app (see the package docstring)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from ..assets import release, transfer_size
from ..crises.services import get_crisis_or_404
from ..i18n import text_direction
from ..maps.basemap import DATA as BASEMAP_DATA
from ..maps.basemap import PICKER_FILES
from ..models import Crisis
from ..places.offline import data_urls, data_version
from .shell import compressed, shell_response

bp = Blueprint("offline", __name__)

# What the form and the "Sent from this phone" page need, under static/ (hashed names are handed
# out by url_for), besides the map picker's files (wiki.maps.basemap.PICKER_FILES).
SHELL_FILES = (
    "css/wiki.css",
    "js/wiki.js",
    "js/offline-boot.js",
    "js/outbox.js",
    "js/report-form.js",
    "js/report-offline.js",
    "js/place-finder.js",
    "js/sent.js",
    "icons/icon-192.png",
)
# Leaflet's stylesheet finds its marker images by their plain names, next to it.
LEAFLET_IMAGES = (
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
)


@bp.route("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope is the whole site. Never cached by the
    browser's HTTP cache (each navigation checks it), so a release reaches phones at once."""
    body = (Path(current_app.static_folder) / "js" / "sw.js").read_bytes()
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    response.add_etag()
    response = response.make_conditional(request)
    if response.status_code == 200:
        compressed(response, body)
    return response


def shell_url(crisis: Crisis) -> str:
    return url_for("reports.submit", crisis_slug=crisis.slug, shell=1)


_sizes: dict[tuple, int] = {}
_sizes_lock = threading.Lock()


def _data_bytes(crisis: Crisis, version: str) -> dict[str, int]:
    """Bytes over the wire (brotli) of the crisis's boundaries and gazetteer, once per version."""
    from ..api.crises import crisis_gazetteer
    from ..maps.api import crisis_boundaries

    key = (crisis.id, version, str(get_locale()))
    with _sizes_lock:
        if key in _sizes:
            return _sizes[key]
    sizes = {}
    for name, view in (("boundaries", crisis_boundaries), ("gazetteer", crisis_gazetteer)):
        with current_app.test_request_context(query_string={"level": "1"}):
            body = view(crisis.slug).get_data()
        sizes[name] = len(_brotli(body))
    with _sizes_lock:
        _sizes[key] = sizes
    return sizes


def _brotli(body: bytes) -> bytes:
    try:
        import brotli

        return brotli.compress(body, quality=4)
    except ImportError:  # pragma: no cover
        import gzip

        return gzip.compress(body)


def precache_list(crisis: Crisis) -> dict:
    """What the phone keeps for this crisis, with what it costs to download and the budget."""
    app = current_app._get_current_object()
    tiles = bool(app.config["MAP_TILE_URL"])
    static = [*SHELL_FILES, *(name for name in PICKER_FILES if not (tiles and name == BASEMAP_DATA))]
    sizes = {name: transfer_size(app, name) for name in static}
    basemap_bytes = sizes.pop(BASEMAP_DATA, 0)
    urls = [url_for("static", filename=name) for name in static]
    urls += [f"/static/{name}" for name in LEAFLET_IMAGES]
    data = data_urls(crisis)
    data_bytes = _data_bytes(crisis, data_version(crisis))
    budget = int(app.config["OFFLINE_BUDGET_BYTES"])
    total = sum(sizes.values()) + sum(transfer_size(app, name) for name in LEAFLET_IMAGES)
    left_out = []
    for name in ("boundaries", "gazetteer"):
        if total + data_bytes[name] <= budget:
            total += data_bytes[name]
            urls.append(data[name])
        else:  # the phone finds places and draws boundaries online only, then
            left_out.append(name)
            current_app.logger.warning(
                "offline copy of %s: the %s (%d bytes) would exceed OFFLINE_BUDGET_BYTES",
                crisis.slug,
                name,
                data_bytes[name],
            )
    return {
        "release": release(app),
        "crisis": crisis.slug,
        "form": url_for("reports.submit", crisis_slug=crisis.slug),
        "shell": shell_url(crisis),
        "sent": url_for("offline.sent"),
        "pages": [shell_url(crisis), url_for("offline.sent")],
        "urls": urls,
        "bytes": total,
        "basemap_bytes": basemap_bytes,
        "budget_bytes": budget,
        "left_out": left_out,
    }


@bp.route("/c/<crisis_slug>/offline.json")
def precache(crisis_slug: str):
    """What the service worker keeps for a crisis (the offline report app's precache list)."""
    crisis = get_crisis_or_404(crisis_slug)
    body = json.dumps(precache_list(crisis), sort_keys=True).encode()
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response = response.make_conditional(request)
    if response.status_code == 200:
        compressed(response, body)
    return response


@bp.route("/c/<crisis_slug>/manifest.webmanifest")
def manifest(crisis_slug: str):
    """The web app manifest: installing it puts the crisis's report form on the home screen."""
    crisis = get_crisis_or_404(crisis_slug)
    start = url_for("reports.submit", crisis_slug=crisis.slug)
    body = {
        "id": start,
        "name": _("Report: %(crisis)s", crisis=crisis.name),
        "short_name": _("Report"),
        "description": _("Send field reports on %(crisis)s, also without a connection.", crisis=crisis.name),
        "start_url": start,
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "lang": str(get_locale()),
        "dir": text_direction(),
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": url_for("static", filename="icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/sent")
def sent():
    """The "Sent from this phone" page: it lists what this phone's outbox holds (read by its script
    from IndexedDB; the server knows nothing of it), so it is one shell for everyone."""
    return shell_response("offline/sent.html")


@bp.route("/csrf-token")
def csrf_token():
    """A fresh CSRF token for this session, for a report the phone kept and sends later (the form
    it was typed into may be hours old, or a shell without a token)."""
    response = jsonify({"token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response

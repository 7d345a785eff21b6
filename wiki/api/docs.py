"""The API page for people (/api/docs): Swagger UI, vendored from npm (static/vendor/swagger-ui),
drawing the OpenAPI document the app generates (/api/v1/openapi.json). Served from this site only,
under the site's Content-Security-Policy: no CDN, no inline script."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

bp = Blueprint("api_docs", __name__)


@bp.get("/api/docs")
def docs():
    return render_template("api/docs.html", openapi_url=url_for("api.openapi_json"))

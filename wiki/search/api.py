"""GET /api/v1/search: the search service as JSON (a route of the API blueprint, endpoint api.search)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask_babel import get_locale
from flask_login import current_user

from ..api.blueprint import bp
from ..api.spec import ERROR, operation, register_schemas
from . import service
from .backend import SearchUnavailable
from .configured_backend import backend_for
from .query import SearchRequest
from .result_cache import result_cache


@bp.get("/search")
@operation(
    summary="Search pages, reports and map layers the caller may see",
    description=(
        "Words must all match (stemmed, accents folded, English/French/Spanish analysed in their own language); "
        '"quoted phrases"; -word excludes; a OR b; title:, body:, type:, crisis:, sector:, status:, adm1: field '
        "queries. A query that does not parse is searched as plain words. Ranked by BM25F (Whoosh) or ts_rank "
        "(PostgreSQL), title weighted above body."
    ),
    parameters=[
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "the query"},
        {
            "name": "type",
            "in": "query",
            "schema": {"type": "string"},
            "description": "page, report, layer (comma-separated or repeated)",
        },
        {"name": "crisis", "in": "query", "schema": {"type": "string"}, "description": "crisis slug(s)"},
        {"name": "sector", "in": "query", "schema": {"type": "string"}, "description": "IASC cluster key(s)"},
        {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "report status(es)"},
        {"name": "adm1", "in": "query", "schema": {"type": "string"}, "description": "admin-1 P-code(s)"},
        {
            "name": "bbox",
            "in": "query",
            "schema": {"type": "string"},
            "description": (
                "west,south,east,north: only things located inside "
                "(sensitive reports by their public, coarsened point, for "
                "every caller: the index never holds their exact place)"
            ),
        },
        {
            "name": "since",
            "in": "query",
            "schema": {"type": "string", "format": "date-time"},
            "description": "ISO 8601; reports by occurred_at (else received_at), pages and layers by last change",
        },
        {
            "name": "until",
            "in": "query",
            "schema": {"type": "string", "format": "date-time"},
            "description": "ISO 8601",
        },
        {
            "name": "min_score",
            "in": "query",
            "schema": {"type": "number"},
            "description": (
                "only reports scored at least this by the validation plugin "
                "(ignored, with a note, when no plugin scores reports)"
            ),
        },
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1},
            "description": "1-based page of results",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
            "description": "results per page (at most 100)",
        },
    ],
    responses={
        "200": {
            "description": "Results",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResults"}}},
        },
        "422": ERROR,
        "503": {
            "description": "The search index is missing or damaged (run `crisiswiki reindex`)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    },
)
def search():
    config = current_app.config
    search_request = SearchRequest.from_args(request.args, default_limit=config["SEARCH_PAGE_SIZE"], max_limit=100)
    cache, key, version = _remembered_for()
    # "Cache-Control: no-cache" asks for a fresh answer (which then replaces the remembered one).
    if key is not None and not request.cache_control.no_cache and (body := cache.get(key, version)) is not None:
        return Response(body, mimetype="application/json", headers={"X-Search-Cache": "hit"})
    page = service.search(search_request, current_user)  # SearchUnavailable: 503, by the error handler
    response = jsonify(page.to_json())
    if key is not None:
        cache.put(key, version, response.get_data())
        response.headers["X-Search-Cache"] = "miss"
    return response


def _remembered_for():
    """(cache, key, index version) when this request's answer may come from or go to the
    anonymous result cache (result_cache.py), else (None, None, None)."""
    cache = result_cache(current_app)
    if cache is None or current_user.is_authenticated or "Authorization" in request.headers:
        return None, None, None
    try:
        version = backend_for().version()  # read before searching: an answer is never newer than its version
    except SearchUnavailable:
        return None, None, None
    if version is None:
        return None, None, None
    return cache, (request.host, request.query_string, str(get_locale())), version


def _param(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "schema": schema or {"type": "string"}, "description": description}


register_schemas(
    {
        "SearchResults": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "limit": {"type": "integer"},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string", "enum": ["page", "report", "layer"]},
                            "id": {"type": "integer"},
                            "crisis": {"type": "string"},
                            "title": {"type": "string"},
                            "title_html": {
                                "type": "string",
                                "description": "the title, HTML-escaped, matches in <mark>",
                            },
                            "snippet": {
                                "type": "string",
                                "description": "HTML-escaped text around the matches, matches in <mark>",
                            },
                            "url": {"type": "string"},
                            "date": {"type": ["string", "null"]},
                            "relevance": {"type": "number"},
                            "feature": {"$ref": "#/components/schemas/ReportFeature"},
                        },
                    },
                },
                "facets": {
                    "type": "object",
                    "description": "type, crisis, sector, status, adm1: [{value, label, count, selected}]",
                    "additionalProperties": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "value": {"type": "string"},
                                "label": {"type": "string"},
                                "count": {"type": "integer"},
                                "selected": {"type": "boolean"},
                            },
                        },
                    },
                },
                "suggestion": {
                    "type": ["string", "null"],
                    "description": "did you mean: a corrected query that finds something",
                },
                "notes": {"type": "array", "items": {"type": "string"}},
                "map": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"crisis": {"type": "string"}, "url": {"type": "string"}},
                    },
                    "description": "the crisis maps showing the same query",
                },
                "backend": {"type": "string"},
            },
        }
    },
)

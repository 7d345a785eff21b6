"""The OGC API - Features routes: landing page, conformance, collections, items and one item."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..api.spec import ERROR, operation, register_schemas
from ..crises.services import get_crisis_or_404
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..maps.layers import get_layer_or_404, list_layers
from ..models import Crisis, Report
from ..reports.queries import ReportFilters, parse_bbox, report_list_query
from ..reports.serialise import announce_listing, report_feature
from ..visibility import layer_visible

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

GEOJSON = "application/geo+json"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
REPORTS_SUFFIX = "-reports"
LAYER_PREFIX = "layer-"


def _json(data: Any, mimetype: str = "application/json", status: int = 200) -> Response:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Response(text, status=status, mimetype=mimetype)


def _link(href: str, rel: str, kind: str = "application/json", title: str = "") -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": kind}
    if title:
        link["title"] = title
    return link


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= 10**9:
        raise InvalidInput(_("limit must be a whole number from 1."), field="limit")
    return min(int(raw), MAX_LIMIT)  # the standard: a larger limit is served as the largest


def _offset() -> int:
    raw = request.args.get("offset", "0")
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(_("offset must be a whole number from 0."), field="offset")
    return int(raw)


def _datetime_filter() -> tuple[str | None, str | None]:
    """The `datetime` parameter (an instant or an interval with .. for an open end) as since/until."""
    raw = request.args.get("datetime")
    if not raw:
        return None, None
    start, _sep, end = raw.partition("/")
    if not _sep:
        end = start
    for value in (start, end):
        if value not in ("", "..") and not _is_datetime(value):
            raise InvalidInput(_("datetime is an RFC 3339 date-time or an interval start/end."), field="datetime")
    return (None if start in ("", "..") else start), (None if end in ("", "..") else end)


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _crises() -> list[Crisis]:
    return list(db.session.scalars(select(Crisis).order_by(Crisis.slug)))


def _reports_collection(crisis: Crisis) -> dict[str, Any]:
    collection_id = crisis.slug + REPORTS_SUFFIX
    items = url_for("ogc.items", collection_id=collection_id, _external=True)
    described: dict[str, Any] = {
        "id": collection_id,
        "title": _("Field reports: %(crisis)s", crisis=crisis.name),
        "description": _("Reports as you may see them: sensitive ones at their grid cell for the public."),
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(url_for("ogc.collection", collection_id=collection_id, _external=True), "self"),
            _link(items, "items", GEOJSON, _("Reports")),
        ],
    }
    if crisis.bbox:
        described["extent"] = {"spatial": {"bbox": [list(crisis.bbox)], "crs": CRS84}}
    return described


def _layer_collection(layer) -> dict[str, Any]:
    revision = layer.current_revision
    collection_id = f"{LAYER_PREFIX}{layer.id}"
    described: dict[str, Any] = {
        "id": collection_id,
        "title": revision.title,
        "description": revision.description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(url_for("ogc.collection", collection_id=collection_id, _external=True), "self"),
            _link(url_for("ogc.items", collection_id=collection_id, _external=True), "items", GEOJSON),
            _link(url_for("api.get_layer", layer_id=layer.id, _external=True), "alternate", GEOJSON),
        ],
    }
    if revision.bbox:
        described["extent"] = {"spatial": {"bbox": [list(revision.bbox)], "crs": CRS84}}
    return described


def _resolve(collection_id: str):
    """('reports', crisis) or ('layer', layer) for a collection id; NotFound otherwise."""
    missing = NotFound(_("There is no collection %(id)s.", id=collection_id[:100]))
    if collection_id.endswith(REPORTS_SUFFIX):
        slug = collection_id[: -len(REPORTS_SUFFIX)]
        if not slug:
            raise missing
        return "reports", get_crisis_or_404(slug)
    if collection_id.startswith(LAYER_PREFIX) and collection_id[len(LAYER_PREFIX) :].isdigit():
        number = int(collection_id[len(LAYER_PREFIX) :])
        if number > 2**62:
            raise missing
        layer = get_layer_or_404(number)
        if not layer_visible(layer, current_user):
            raise missing
        return "layer", layer
    raise missing


COLLECTION_ID = {
    "name": "collection_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "<crisis>-reports or layer-<id>",
    "example": "haiti-2010-reports",
}


def _geo(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {GEOJSON: {"schema": {"$ref": ref}}}}


def _plain(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


@bp.get("")
@operation(
    tags=["ogcapi"],
    summary="OGC API - Features landing page",
    responses={
        200: _plain("Links to the API description, conformance and collections", "#/components/schemas/OgcLinks")
    },
)
def landing():
    return _json(
        {
            "title": "crisiswiki",
            "description": _("Field reports and map layers of every crisis, for GIS clients."),
            "links": [
                _link(url_for("ogc.landing", _external=True), "self"),
                _link(
                    url_for("api.openapi_json", _external=True),
                    "service-desc",
                    "application/vnd.oai.openapi+json;version=3.0",
                ),
                _link(url_for("ogc.conformance", _external=True), "conformance"),
                _link(url_for("ogc.collections", _external=True), "data"),
            ],
        }
    )


@bp.get("/conformance")
@operation(
    tags=["ogcapi"],
    summary="The conformance classes implemented",
    responses={200: _plain("conformsTo", "#/components/schemas/OgcConformance")},
)
def conformance():
    return _json({"conformsTo": CONFORMANCE})


@bp.get("/collections")
@operation(
    tags=["ogcapi"],
    summary="Collections: the reports of each crisis, and each map layer",
    responses={200: _plain("Collections", "#/components/schemas/OgcCollections")},
)
def collections():
    described = []
    for crisis in _crises():
        described.append(_reports_collection(crisis))
        described.extend(_layer_collection(layer) for layer in list_layers(crisis))
    return _json({"links": [_link(url_for("ogc.collections", _external=True), "self")], "collections": described})


@bp.get("/collections/<collection_id>")
@operation(
    tags=["ogcapi"],
    summary="One collection",
    parameters=[COLLECTION_ID],
    responses={200: _plain("The collection", "#/components/schemas/OgcCollection"), 404: ERROR},
)
def collection(collection_id: str):
    kind, subject = _resolve(collection_id)
    return _json(_reports_collection(subject) if kind == "reports" else _layer_collection(subject))


ITEM_PARAMETERS = [
    COLLECTION_ID,
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
    {
        "name": "bbox",
        "in": "query",
        "schema": {"type": "string"},
        "description": "west,south,east,north in degrees (CRS84)",
        "example": "-73,18,-72,19",
    },
    {
        "name": "datetime",
        "in": "query",
        "schema": {"type": "string"},
        "description": "an RFC 3339 date-time, or an interval start/end with .. for an open end (reports only)",
    },
]


@bp.get("/collections/<collection_id>/items")
@operation(
    tags=["ogcapi"],
    summary="The features of a collection, paged by next links",
    parameters=ITEM_PARAMETERS,
    responses={
        200: _geo(
            "A FeatureCollection with numberMatched, numberReturned and links",
            "#/components/schemas/OgcFeatureCollection",
        ),
        403: ERROR,  # a plugin filter the caller may not use (min_score, for those who do not see scores)
        404: ERROR,
        422: ERROR,
    },
)
def items(collection_id: str):
    kind, subject = _resolve(collection_id)
    limit, offset = _limit(), _offset()
    bbox = parse_bbox(request.args.get("bbox"))
    if kind == "reports":
        features, more, matched = _report_page(subject, limit, offset, bbox)
    else:
        features, more, matched = _layer_page(subject, limit, offset, bbox)
    links = [_link(_page_url(collection_id, limit, offset), "self", GEOJSON)]
    if more:
        links.append(_link(_page_url(collection_id, limit, offset + limit), "next", GEOJSON, _("Next page")))
    if offset:
        links.append(_link(_page_url(collection_id, limit, max(0, offset - limit)), "prev", GEOJSON))
    return _json(
        {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "links": links,
        },
        GEOJSON,
    )


def _page_url(collection_id: str, limit: int, offset: int) -> str:
    args = {key: value for key, value in request.args.items() if key not in ("limit", "offset")}
    return url_for("ogc.items", collection_id=collection_id, limit=limit, offset=offset, _external=True, **args)


def _report_page(crisis: Crisis, limit: int, offset: int, bbox) -> tuple[list[dict], bool, int]:
    """A page of the reports the caller may see, whether more follow, and how many match in all
    (counted through the same visibility rule and filters). The plugins' own filters (such as
    the validation plugin's min_score) read the query string, as on /api/v1/reports."""
    since, until = _datetime_filter()
    args = {"bbox": request.args.get("bbox") or "", "since": since or "", "until": until or ""}
    filters = ReportFilters.from_args(_Args(args), crisis=crisis.slug)
    filters.extra = request.args
    query = report_list_query(filters, current_user, newest_first=False).offset(offset).limit(limit + 1)
    rows = db.session.scalars(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    matched = db.session.scalar(filters.apply(select(func.count(Report.id)).select_from(Report), current_user))
    announce_listing((report.id for report in rows), current_user)
    return [_ogc_feature(report_feature(report, current_user)) for report in rows], more, matched or 0


def _ogc_feature(feature: dict[str, Any]) -> dict[str, Any]:
    feature["links"] = [_link(feature["properties"]["url"], "alternate", "text/html")]
    return feature


def _layer_page(layer, limit: int, offset: int, bbox) -> tuple[list[dict], bool, int]:
    features = json.loads(layer.current_revision.geojson)["features"]
    if bbox:
        from shapely.geometry import box, shape

        area = box(*bbox)
        features = [f for f in features if f.get("geometry") and shape(f["geometry"]).intersects(area)]
    page = features[offset : offset + limit]
    for index, feature in enumerate(page, start=offset):
        feature.setdefault("id", index)
    return page, offset + limit < len(features), len(features)


class _Args(dict):
    """The report filters' view of this request (getlist for the list-valued ones)."""

    def getlist(self, name: str) -> list[str]:
        return request.args.getlist(name)


@bp.get("/collections/<collection_id>/items/<feature_id>")
@operation(
    tags=["ogcapi"],
    summary="One feature of a collection",
    parameters=[COLLECTION_ID, {"name": "feature_id", "in": "path", "required": True, "schema": {"type": "string"}}],
    responses={200: _geo("A Feature", "#/components/schemas/OgcFeature"), 404: ERROR},
)
def item(collection_id: str, feature_id: str):
    kind, subject = _resolve(collection_id)
    missing = NotFound(_("There is no feature %(id)s.", id=feature_id[:100]))
    if not feature_id.isdigit() or len(feature_id) > 15:
        raise missing
    number = int(feature_id)
    if kind == "reports":
        filters = ReportFilters(crisis=subject.slug)
        report = db.session.scalar(report_list_query(filters, current_user).where(Report.id == number))
        if report is None:
            raise missing
        return _json(_ogc_feature(report_feature(report, current_user)), GEOJSON)
    features = json.loads(subject.current_revision.geojson)["features"]
    if number >= len(features):
        raise missing
    feature = features[number]
    feature.setdefault("id", number)
    return _json(feature, GEOJSON)


_LINK = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
    },
}
register_schemas(
    {
        "OgcLinks": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": {"type": "array", "items": _LINK},
            },
        },
        "OgcConformance": {
            "type": "object",
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "OgcCollection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "itemType": {"type": "string"},
                "crs": {"type": "array", "items": {"type": "string"}},
                "extent": {"type": "object"},
                "links": {"type": "array", "items": _LINK},
            },
        },
        "OgcCollections": {
            "type": "object",
            "properties": {
                "links": {"type": "array", "items": _LINK},
                "collections": {"type": "array", "items": {"$ref": "#/components/schemas/OgcCollection"}},
            },
        },
        "OgcFeature": {
            "type": "object",
            "properties": {
                "type": {"const": "Feature"},
                "id": {"type": ["integer", "string"]},
                "geometry": {"type": ["object", "null"]},
                "properties": {"type": ["object", "null"]},
            },
        },
        "OgcFeatureCollection": {
            "type": "object",
            "properties": {
                "type": {"const": "FeatureCollection"},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/OgcFeature"}},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer"},
                "timeStamp": {"type": "string"},
                "links": {"type": "array", "items": _LINK},
            },
        },
    }
)

"""The maps API under /api/v1: layers (RFC 7946 GeoJSON, versioned), the map's viewport of
reports (points or clusters), reports per admin area, and admin boundaries."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..api.blueprint import bp
from ..api.requests import json_body, keyset_page
from ..api.spec import ERROR, operation, register_schemas
from ..auth.permissions import require
from ..crises.services import get_crisis_or_404
from ..errors import BadRequest, InvalidInput, TooLarge, UnsupportedMediaType
from ..i18n import human_size
from ..media.storage import read_limited
from ..models import LayerRevision
from ..models.boundaries import LEVELS
from . import layers as service
from .boundaries import boundaries_collection, list_areas
from .viewport import area_counts, parse_view, view_reports

GEOJSON = "application/geo+json"


def safe_json_text(text: str) -> str:
    """JSON with <, > and & written as \\u escapes (valid JSON, same data): a property such as
    "<img src=x onerror=...>" stays inert even if something renders the response as HTML."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def geojson_response(text: str, status: int = 200) -> Response:
    return Response(safe_json_text(text), status=status, mimetype=GEOJSON)


def json_response(data: Any, status: int = 200, mimetype: str = "application/json") -> Response:
    return Response(
        safe_json_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False)), status=status, mimetype=mimetype
    )


def _allow_layer_sized_body() -> None:
    """Let this request's body be as large as a layer may be (the app-wide limit is sized for
    attachments), and refuse a larger one before reading it."""
    limit = current_app.config["LAYER_MAX_BYTES"]
    request.max_content_length = max(limit + 1024 * 1024, current_app.config["MAX_CONTENT_LENGTH"] or 0)
    request.max_form_memory_size = limit + 64 * 1024
    if request.content_length is not None and request.content_length > limit + 1024 * 1024:
        raise TooLarge(_("The layer is larger than the limit of %(size)s.", size=human_size(limit)), field="geojson")


def layer_request() -> tuple[dict[str, Any], Any]:
    """(fields, GeoJSON) from a JSON body, or from multipart/form-data with the GeoJSON as the
    file `file` or the text field `geojson`. The GeoJSON is None when not given."""
    _allow_layer_sized_body()
    if request.mimetype == "multipart/form-data":
        fields: dict[str, Any] = {key: value for key, value in request.form.items() if key != "geojson"}
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            return fields, read_limited(upload.stream, current_app.config["LAYER_MAX_BYTES"], field="file")
        return fields, request.form.get("geojson") or None
    if not request.is_json:
        raise UnsupportedMediaType(_("Send the layer as JSON, or as multipart/form-data with the GeoJSON in 'file'."))
    data = json_body()
    return data, data.pop("geojson", None)


def _base_revision(data: dict[str, Any]) -> int | None:
    value = data.pop("base_revision", None)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("base_revision must be a revision id."), field="base_revision") from None


@bp.get("/layers")
@operation(
    summary="Layers (metadata only), of a crisis or of one of its pages",
    parameters=[
        {"name": "crisis", "in": "query", "schema": {"type": "string"}},
        {"name": "page", "in": "query", "schema": {"type": "string"}, "description": "page slug"},
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LayerList"}}},
        },
        "404": ERROR,
        "422": ERROR,
    },
)
def list_layers():
    crisis = get_crisis_or_404(request.args["crisis"]) if request.args.get("crisis") else None
    page = (
        service.find_page(crisis, request.args.get("page")) if crisis is not None and request.args.get("page") else None
    )
    return json_response({"layers": [service.layer_metadata(layer) for layer in service.list_layers(crisis, page)]})


# Creating a layer and saving a revision take the same body and fail the same ways.
LAYER_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/LayerInput"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": (
                            "a GeoJSON file, a zipped Shapefile, a GeoPackage, KML, KMZ "
                            "or GPX (reprojected to WGS 84, invalid geometries repaired)"
                        ),
                    },
                    "geojson": {"type": "string", "description": "or the GeoJSON as text"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "source": {"type": "string"},
                    "licence": {"type": "string"},
                    "crisis": {"type": "string"},
                    "page": {"type": "string"},
                    "comment": {"type": "string"},
                    "base_revision": {"type": "integer"},
                },
            }
        },
    },
}
LAYER_WRITE_ERRORS = {
    "400": ERROR,
    "401": ERROR,
    "403": ERROR,
    "404": ERROR,
    "413": ERROR,
    "415": ERROR,
    "422": {
        "description": "Invalid GeoJSON: `feature` (index), `path` and `errors` say where and what",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GeoJSONError"}}},
    },
}


@bp.post("/layers")
@operation(
    summary="Upload a GeoJSON layer to a crisis or a page (coordinators)",
    requestBody=LAYER_BODY,
    responses={
        "201": {
            "description": "Created",
            "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/LayerCollection"}}},
        },
        **LAYER_WRITE_ERRORS,
    },
)
def create_layer():
    require("edit_layer")
    data, geojson = layer_request()
    if geojson is None:
        raise InvalidInput(_("Send the layer's GeoJSON (geojson, or a file)."), field="geojson")
    slug = data.get("crisis")
    if not slug or not isinstance(slug, str):
        raise InvalidInput(_("Say which crisis the layer belongs to (crisis)."), field="crisis")
    crisis = get_crisis_or_404(slug)
    page = service.find_page(crisis, data.get("page"))
    layer = service.create_layer(crisis, data, geojson, current_user, page=page)
    response = geojson_response(service.layer_geojson_text(layer, converted=layer.conversion), 201)
    response.headers["Location"] = url_for("api.get_layer", layer_id=layer.id, _external=True)
    return response


@bp.get("/layers/<int:layer_id>")
@operation(
    summary="A layer as an RFC 7946 FeatureCollection, its metadata in the foreign member `metadata`",
    parameters=[{"name": "layer_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/LayerCollection"}}},
        },
        "404": ERROR,
    },
)
def get_layer(layer_id: int):
    return geojson_response(service.layer_geojson_text(service.get_layer_or_404(layer_id)))


@bp.put("/layers/<int:layer_id>")
@operation(
    summary=(
        "Save a new revision: any of title, description, source, "
        "licence, style, geojson (coordinators). A stale "
        "base_revision is a 409."
    ),
    parameters=[{"name": "layer_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    requestBody=LAYER_BODY,
    responses={
        "200": {
            "description": "OK",
            "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/LayerCollection"}}},
        },
        "409": ERROR,
        **LAYER_WRITE_ERRORS,
    },
)
def put_layer(layer_id: int):
    """A new revision: any of title, description, source, licence, style, geojson."""
    require("edit_layer")
    layer = service.get_layer_or_404(layer_id)
    data, geojson = layer_request()
    result = service.save_layer(layer, data, geojson, current_user, base_revision=_base_revision(data))
    response = geojson_response(
        service.layer_geojson_text(result.revision.layer, result.revision, converted=result.conversion)
    )
    if result.unchanged:
        response.headers["X-Unchanged"] = "true"
    return response


@bp.delete("/layers/<int:layer_id>")
@operation(
    summary="Delete a layer (coordinators; its revisions are kept)",
    parameters=[{"name": "layer_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={"204": {"description": "Deleted"}, "401": ERROR, "403": ERROR, "404": ERROR},
)
def delete_layer(layer_id: int):
    require("edit_layer")
    service.delete_layer(service.get_layer_or_404(layer_id), current_user)
    return "", 204


@bp.get("/layers/<int:layer_id>/revisions")
@operation(
    summary="A layer's revisions, newest first",
    parameters=[
        {"name": "layer_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LayerRevisionList"}}},
        },
        "404": ERROR,
        "422": ERROR,
    },
)
def layer_revisions(layer_id: int):
    layer = service.get_layer_or_404(layer_id)
    query = select(LayerRevision).where(LayerRevision.layer_id == layer.id).order_by(LayerRevision.number.desc())
    rows, next_cursor = keyset_page(query, LayerRevision.number)
    return json_response(
        {
            "revisions": [
                {
                    "id": r.id,
                    "number": r.number,
                    "kind": r.kind,
                    "comment": r.comment,
                    "author": r.author_name,
                    "created_at": r.created_at.isoformat(),
                    "title": r.title,
                    "feature_count": r.feature_count,
                    "size": r.size,
                    "current": r.id == layer.current_revision_id,
                    "geojson": url_for("api.layer_revision", layer_id=layer.id, number=r.number, _external=True),
                }
                for r in rows
            ],
            "next_cursor": next_cursor,
        }
    )


@bp.get("/layers/<int:layer_id>/revisions/<int:number>")
@operation(
    summary="One revision of a layer as GeoJSON",
    parameters=[
        {"name": "layer_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}},
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/LayerCollection"}}},
        },
        "404": ERROR,
    },
)
def layer_revision(layer_id: int, number: int):
    layer = service.get_layer_or_404(layer_id)
    return geojson_response(service.layer_geojson_text(layer, service.get_revision_or_404(layer, number)))


@bp.post("/layers/<int:layer_id>/revert")
@operation(
    summary="Make an old revision's content current again, as a new revision (coordinators)",
    parameters=[{"name": "layer_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    requestBody={
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["revision"],
                    "properties": {"revision": {"type": "integer"}, "comment": {"type": "string"}},
                }
            }
        },
    },
    responses={
        "200": {
            "description": "OK",
            "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/LayerCollection"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
)
def revert_layer(layer_id: int):
    require("edit_layer")
    layer = service.get_layer_or_404(layer_id)
    data = json_body()
    number = data.get("revision")
    if not isinstance(number, int) or isinstance(number, bool):
        raise InvalidInput(_("revision must be the number of the revision to go back to."), field="revision")
    revision = service.revert_layer(
        layer, service.get_revision_or_404(layer, number), current_user, data.get("comment") or ""
    )
    return geojson_response(service.layer_geojson_text(revision.layer, revision))


def _crisis_param():
    slug = request.args.get("crisis")
    if not slug:
        raise BadRequest(_("Say which crisis (crisis=...)."), field="crisis")
    return get_crisis_or_404(slug)


@bp.get("/map/reports")
@operation(
    summary=(
        "The reports of one map view, as points or (above "
        "MAP_MAX_POINTS) as clusters with count, centroid and bounds "
        "per grid cell. Sensitive reports at their public "
        "(coarsened) point."
    ),
    parameters=[
        {"name": "crisis", "in": "query", "required": True, "schema": {"type": "string"}},
        {
            "name": "bbox",
            "in": "query",
            "schema": {"type": "string"},
            "description": "west,south,east,north in degrees",
        },
        {"name": "zoom", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 22}},
        {"name": "q", "in": "query", "schema": {"type": "string"}},
        {
            "name": "sector",
            "in": "query",
            "schema": {"type": "string"},
            "description": "IASC cluster key(s), comma-separated",
        },
        {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "status(es), comma-separated"},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "adm", "in": "query", "schema": {"type": "string"}, "description": "admin-1 or admin-2 P-code"},
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/MapView"}}},
        },
        "400": ERROR,
        "404": ERROR,
        "422": ERROR,
    },
)
def map_reports():
    """The reports of one map view: points, or clusters above MAP_MAX_POINTS."""
    crisis = _crisis_param()
    return json_response(view_reports(parse_view(crisis, request.args), current_user), mimetype=GEOJSON)


def _level() -> int:
    raw = request.args.get("level", "1")
    if raw not in {str(level) for level in LEVELS}:
        raise InvalidInput(_("level is 1 or 2."), field="level")
    return int(raw)


@bp.get("/map/areas")
@operation(
    summary="Reports per admin area of a level, with the map's filters",
    parameters=[
        {"name": "crisis", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "level", "in": "query", "schema": {"type": "integer", "enum": [1, 2], "default": 1}},
        {
            "name": "bbox",
            "in": "query",
            "schema": {"type": "string"},
            "description": "west,south,east,north in degrees",
        },
        {"name": "q", "in": "query", "schema": {"type": "string"}},
        {
            "name": "sector",
            "in": "query",
            "schema": {"type": "string"},
            "description": "IASC cluster key(s), comma-separated",
        },
        {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "status(es), comma-separated"},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "adm", "in": "query", "schema": {"type": "string"}, "description": "admin-1 or admin-2 P-code"},
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AreaCounts"}}},
        },
        "400": ERROR,
        "404": ERROR,
        "422": ERROR,
    },
)
def map_areas():
    """How many reports (with the map's filters) lie in each admin area of a level."""
    crisis = _crisis_param()
    level = _level()
    view = parse_view(crisis, request.args)
    bbox = view.bbox if request.args.get("bbox") else None
    counts = area_counts(crisis, level, view.filters, current_user, bbox)
    areas = [
        {"pcode": area.pcode, "name": area.name, "parent_pcode": area.parent_pcode, "count": counts.pop(area.pcode, 0)}
        for area in list_areas(crisis, level)
    ]
    unassigned = counts.pop(None, 0)
    # Codes no imported area has (reports placed before a re-import changed the codes).
    areas += [
        {"pcode": code, "name": code, "parent_pcode": None, "count": count} for code, count in sorted(counts.items())
    ]
    return json_response(
        {
            "crisis": crisis.slug,
            "level": level,
            "areas": areas,
            "unassigned": unassigned,
            "total": sum(area["count"] for area in areas) + unassigned,
        }
    )


@bp.get("/crises/<crisis_slug>/boundaries")
@operation(
    summary="A crisis's admin boundaries of a level (OCHA COD P-codes) as GeoJSON",
    parameters=[
        {"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "level", "in": "query", "schema": {"type": "integer", "enum": [1, 2], "default": 1}},
        {
            "name": "tolerance",
            "in": "query",
            "schema": {"type": "number", "default": 0.001},
            "description": "simplify by this many degrees; 0 for the original",
        },
    ],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Boundaries"}}},
        },
        "404": ERROR,
        "422": ERROR,
    },
)
def crisis_boundaries(crisis_slug: str):
    """The crisis's admin areas of a level as GeoJSON; simplified by `tolerance` degrees
    (default 0.001, about 100 m: plenty for a map of a country; 0 for the original)."""
    crisis = get_crisis_or_404(crisis_slug)
    level = _level()
    try:
        tolerance = float(request.args.get("tolerance", "0.001"))
    except ValueError:
        raise InvalidInput(_("tolerance is a number of degrees."), field="tolerance") from None
    if not 0 <= tolerance <= 1:
        raise InvalidInput(_("tolerance lies between 0 and 1 degree."), field="tolerance")
    return json_response(boundaries_collection(crisis, level, tolerance), mimetype=GEOJSON)


# -- OpenAPI -------------------------------------------------------------------------------
ERROR = {"$ref": "#/components/responses/Error"}
LAYER_ID = {"name": "layer_id", "in": "path", "required": True, "schema": {"type": "integer"}}
CRISIS_QUERY = {"name": "crisis", "in": "query", "required": True, "schema": {"type": "string"}}
FILTERS = [
    {"name": "q", "in": "query", "schema": {"type": "string"}},
    {
        "name": "sector",
        "in": "query",
        "schema": {"type": "string"},
        "description": "IASC cluster key(s), comma-separated",
    },
    {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "status(es), comma-separated"},
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "adm", "in": "query", "schema": {"type": "string"}, "description": "admin-1 or admin-2 P-code"},
]
BBOX = {"name": "bbox", "in": "query", "schema": {"type": "string"}, "description": "west,south,east,north in degrees"}
LEVEL = {"name": "level", "in": "query", "schema": {"type": "integer", "enum": [1, 2], "default": 1}}


def _geo(ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {GEOJSON: {"schema": {"$ref": ref}}}}


def _json(ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


register_schemas(
    {
        "LayerInput": {
            "type": "object",
            "required": ["title", "crisis", "geojson"],
            "properties": {
                "title": {"type": "string", "maxLength": 200},
                "description": {"type": "string"},
                "source": {"type": "string"},
                "licence": {"type": "string"},
                "crisis": {"type": "string"},
                "page": {"type": "string", "description": "page slug"},
                "style": {
                    "type": "object",
                    "description": "default simplestyle properties (stroke, fill, marker-color, ...)",
                },
                "geojson": {"description": "a FeatureCollection or Feature (object or JSON text)"},
                "comment": {"type": "string"},
                "base_revision": {"type": "integer", "description": "PUT: the revision id you edited"},
            },
        },
        "LayerMetadata": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "source": {"type": "string"},
                "licence": {"type": "string"},
                "style": {"type": "object"},
                "crisis": {"type": "string"},
                "page": {"type": ["string", "null"]},
                "feature_count": {"type": "integer"},
                "size": {"type": "integer"},
                "extent": {"type": ["array", "null"], "items": {"type": "number"}},
                "revision": {"type": "object"},
                "current": {"type": "boolean"},
                "updated_at": {"type": "string"},
                "links": {"type": "object"},
                "conversion": {
                    "type": "object",
                    "description": "after an upload of a Shapefile (zipped), GeoPackage, KML/KMZ, GPX or projected "
                    "GeoJSON: its format, the CRS it was reprojected from to WGS 84, and each geometry repaired "
                    "(feature index, layer, problem, resulting type)",
                },
            },
        },
        "LayerList": {
            "type": "object",
            "properties": {"layers": {"type": "array", "items": {"$ref": "#/components/schemas/LayerMetadata"}}},
        },
        "LayerCollection": {
            "type": "object",
            "properties": {
                "type": {"const": "FeatureCollection"},
                "metadata": {"$ref": "#/components/schemas/LayerMetadata"},
                "features": {"type": "array", "items": {"type": "object"}},
            },
        },
        "LayerRevisionList": {
            "type": "object",
            "properties": {
                "revisions": {"type": "array", "items": {"type": "object"}},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
        "GeoJSONError": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"const": "invalid"},
                        "message": {"type": "string"},
                        "field": {"type": "string"},
                        "feature": {
                            "type": ["integer", "null"],
                            "description": "index in features of the first problem",
                        },
                        "path": {"type": "string", "description": "e.g. features[3].geometry.coordinates[0]"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "feature": {"type": ["integer", "null"]},
                                    "path": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            },
        },
        "MapView": {
            "type": "object",
            "properties": {
                "type": {"const": "FeatureCollection"},
                "mode": {"enum": ["points", "clusters"]},
                "total": {"type": "integer"},
                "zoom": {"type": "integer"},
                "bbox": {"type": "array", "items": {"type": "number"}},
                "cell": {"type": "number", "description": "cluster cell, degrees"},
                "features": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "description": "a report (properties id, title, status, "
                        "sector, url, ...) or a cluster (properties "
                        "cluster: true, count; bbox)",
                    },
                },
            },
        },
        "AreaCounts": {
            "type": "object",
            "properties": {
                "crisis": {"type": "string"},
                "level": {"type": "integer"},
                "unassigned": {"type": "integer"},
                "total": {"type": "integer"},
                "areas": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "pcode": {"type": "string"},
                            "name": {"type": "string"},
                            "parent_pcode": {"type": ["string", "null"]},
                            "count": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "Boundaries": {
            "type": "object",
            "properties": {
                "type": {"const": "FeatureCollection"},
                "features": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
)

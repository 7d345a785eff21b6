"""Crises in the API: list, read, create."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select

from ..crises import services
from ..extensions import db
from ..models import Crisis
from .blueprint import bp
from .requests import json_body
from .serialise import crisis_json
from .spec import ERROR, operation


@bp.get("/crises")
@operation(
    summary="List crises",
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CrisisList"}}},
        }
    },
)
def list_crises():
    crises = db.session.scalars(select(Crisis).order_by(Crisis.name)).all()
    return jsonify({"crises": [crisis_json(c) for c in crises]})


@bp.get("/crises/<crisis_slug>")
@operation(
    summary="Read a crisis",
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Crisis"}}},
        },
        "404": ERROR,
    },
    parameters=[{"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}}],
)
def get_crisis(crisis_slug: str):
    return jsonify(crisis_json(services.get_crisis_or_404(crisis_slug)))


@bp.post("/crises")
@operation(
    summary="Create a crisis (coordinators)",
    responses={
        "201": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Crisis"}}},
        },
        "400": ERROR,
        "401": ERROR,
        "403": ERROR,
        "409": ERROR,
        "415": ERROR,
        "422": ERROR,
    },
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CrisisInput"}}},
    },
)
def create_crisis():
    data = json_body()
    crisis = services.create_crisis(data, current_user)
    return jsonify(crisis_json(crisis)), 201


@bp.get("/crises/<crisis_slug>/gazetteer")
@operation(
    summary="A crisis's gazetteer: the public place names its reports can be located by",
    description=(
        "Admin areas (with P-codes and other names), the named features of the crisis's layers and the "
        "GeoNames cities in its area, each with the lookup keys of its names (folded: no case, accents or "
        "punctuation, the Arabic article off). The offline report app keeps it on the phone to find a typed "
        "place without a connection. Never a place named in a report."
    ),
    parameters=[{"name": "crisis_slug", "in": "path", "required": True, "schema": {"type": "string"}}],
    responses={
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gazetteer"}}},
        },
        "404": ERROR,
    },
)
def crisis_gazetteer(crisis_slug: str):
    from ..places.offline import offline_gazetteer

    response = jsonify(offline_gazetteer(services.get_crisis_or_404(crisis_slug)))
    response.headers["Cache-Control"] = "public, no-cache"
    response.add_etag()
    return response.make_conditional(request)

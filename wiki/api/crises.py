"""Crises in the API: list, read, create."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from ..crises import services
from ..extensions import db
from ..models import Crisis
from .blueprint import bp
from .requests import json_body
from .serialise import crisis_json


@bp.get("/crises")
def list_crises():
    crises = db.session.scalars(select(Crisis).order_by(Crisis.name)).all()
    return jsonify({"crises": [crisis_json(c) for c in crises]})


@bp.get("/crises/<crisis_slug>")
def get_crisis(crisis_slug: str):
    return jsonify(crisis_json(services.get_crisis_or_404(crisis_slug)))


@bp.post("/crises")
def create_crisis():
    data = json_body()
    crisis = services.create_crisis(data, current_user)
    return jsonify(crisis_json(crisis)), 201

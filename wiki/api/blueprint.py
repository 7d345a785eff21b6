"""The JSON API's one blueprint (/api/v1): each feature adds its routes to it."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

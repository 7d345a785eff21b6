"""The JSON API under /api/v1. Each feature adds its routes to this one blueprint."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from ..search import api as search_api  # noqa: E402,F401  (GET /api/v1/search, from wiki/search)
from . import crises, health, openapi, pages, reports  # noqa: E402,F401  (routes register on import)

__all__ = ["bp"]

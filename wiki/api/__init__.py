"""The JSON API under /api/v1: the core's routes, the search API from wiki/search and the alert
subscriptions from wiki/alerts (the maps feature adds its own routes when wiki.maps is imported)."""

from ..alerts import api as alerts_api  # noqa: F401  (/api/v1/subscriptions: routes register on import)
from ..search import api as search_api  # noqa: F401  (GET /api/v1/search: routes register on import)
from . import crises, health, openapi, pages, reports  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]

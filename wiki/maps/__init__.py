"""Maps and GIS data: GeoJSON layers, the crisis map of reports (points or clusters from a
spatial index), map embeds in pages, and admin boundaries with P-codes.

Importing this package registers the map embed with the Markdown renderer and the maps API
routes on the API blueprint.
"""

from . import api  # noqa: F401  (adds the maps routes to wiki.api.bp)
from .embed import register as _register_embed
from .views import bp

_register_embed()

__all__ = ["bp"]

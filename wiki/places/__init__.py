"""Places instead of coordinates: a gazetteer per crisis (its admin areas, the named features of
its layers, the world's cities in its area), finding the place a message names, and resolving
a place someone typed. Offline: no geocoding service is asked."""

from .detection import Detection, detect
from .gazetteer import Gazetteer, Place, gazetteer_for
from .resolve import Resolution, resolve_in, resolve_place

__all__ = [
    "Detection",
    "Gazetteer",
    "Place",
    "Resolution",
    "detect",
    "gazetteer_for",
    "resolve_in",
    "resolve_place",
]

"""ODK Collect and KoboCollect submit field reports through the OpenRosa API (wiki/openrosa/views.py)."""

from .views import bp

__all__ = ["bp"]

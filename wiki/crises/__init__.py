"""Crisis workspaces: create and edit them, their home page, page index and recent changes."""

from .views import bp

__all__ = ["bp"]

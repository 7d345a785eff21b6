"""Wiki pages: view, edit, history, diff, revert, rename, delete, protect, watch."""

from .views import bp

__all__ = ["bp"]

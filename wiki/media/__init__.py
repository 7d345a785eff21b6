"""Attachments: photos, videos and documents, stored by content hash."""

from .views import bp

__all__ = ["bp"]

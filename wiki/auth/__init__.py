"""Logins, users and API tokens."""
from .views import bp

__all__ = ["bp"]

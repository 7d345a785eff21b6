"""Logins, users, passwords, two-factor authentication and API tokens."""

from flask import Flask

from . import account_views, accounts, admin_views  # noqa: F401  (routes register on bp; login loaders)
from .tokens import init_tokens
from .views import bp

__all__ = ["bp", "init_auth"]


def init_auth(app: Flask) -> None:
    """Request hooks of authentication: bearer tokens are checked before anything else."""
    init_tokens(app)

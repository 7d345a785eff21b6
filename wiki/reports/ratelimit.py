"""The limit on anonymous report submissions per client address (counted in the database,
see wiki/ratelimit.py)."""

from __future__ import annotations

from flask import current_app

from ..network import client_address
from ..ratelimit import hit


def check_anonymous_submission() -> None:
    config = current_app.config
    hit(f"submit:{client_address()}", config["ANONYMOUS_SUBMIT_LIMIT"], config["ANONYMOUS_SUBMIT_WINDOW"])

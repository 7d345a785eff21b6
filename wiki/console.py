"""The `crisiswiki` program: Flask's command group around create_app(), with every command the
core (wiki.cli) and the plugins add."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from . import create_app


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=True)
def main() -> None:
    """crisiswiki: a crisis-information wiki."""

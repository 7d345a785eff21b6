"""The `crisiswiki` program: Flask's command group around create_app(), with every command the
core (wiki.cli) and the plugins add, each under the write policy (wiki/command_policy.py)."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from . import create_app
from .command_policy import under_policy


class CrisiswikiGroup(FlaskGroup):
    """Flask's group, with `db` as wiki.migrations makes it (its `upgrade` goes to every head)
    in place of the Flask-Migrate group that Flask loads from its entry point."""

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        super()._load_plugin_commands()
        from .migrations import database_commands

        self.add_command(database_commands(), "db")

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Every command, Flask's and Flask-Migrate's too, under wiki/command_policy.py."""
        command = super().get_command(ctx, name)
        return under_policy(command) if command is not None else None


@click.group(cls=CrisiswikiGroup, create_app=lambda: create_app(), add_default_commands=True)
def main() -> None:
    """crisiswiki: a crisis-information wiki."""

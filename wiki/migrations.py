"""Alembic set-up: the core's migrations plus each plugin's own branch.

A plugin keeps its tables in its own migration directory (a branch with its own label) and
names it through the `migration_directories` hook; `crisiswiki init-db` then upgrades every
head, the core's and the plugins'.
"""
from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from flask import current_app
from flask_migrate import upgrade

from . import plugins
from .extensions import migrate


@migrate.configure
def _add_plugin_branches(config: Config) -> Config:
    core = Path(config.get_main_option("script_location")) / "versions"
    extra = [str(path) for paths in plugins.call("migration_directories") for path in paths]
    config.set_main_option("version_locations", " ".join([str(core), *extra]))
    config.set_main_option("path_separator", "space")
    return config


def upgrade_all() -> None:
    """Apply every pending migration of the core and of the loaded plugins."""
    with current_app.app_context():
        upgrade(revision="heads")

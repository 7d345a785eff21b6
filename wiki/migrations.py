"""Alembic set-up: the core's migrations plus each plugin's own branch.

A plugin keeps its tables in its own migration directory (a branch with its own label) and
names it through the `migration_directories` hook; `crisiswiki init-db` then upgrades every
head, the core's and the plugins'.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from pathlib import Path

from alembic.config import Config
from flask import current_app
from flask_migrate import upgrade

from . import plugins
from .extensions import migrate

log = logging.getLogger(__name__)


def plugin_migration_directories() -> list[str]:
    """The migration directories of the loaded plugins and of every installed one, loaded or not:
    a plugin disabled after its tables were made must not leave the database at a revision
    Alembic cannot find (its tables stay, and stay up to date; only its behaviour is off)."""
    found = [str(path) for paths in plugins.call("migration_directories") for path in paths]
    for entry in entry_points(group=plugins.ENTRY_POINT_GROUP):
        try:
            hook = getattr(entry.load(), "migration_directories", None)
            paths = hook() if callable(hook) else []
        except Exception:
            log.exception("cannot read the migrations of plugin %s", entry.name)
            continue
        found += [str(path) for path in paths if str(path) not in found]
    return found


@migrate.configure
def _add_plugin_branches(config: Config) -> Config:
    core = Path(config.get_main_option("script_location")) / "versions"
    extra = plugin_migration_directories()
    config.set_main_option("version_locations", " ".join([str(core), *extra]))
    config.set_main_option("path_separator", "space")
    return config


def upgrade_all() -> None:
    """Apply every pending migration of the core and of the installed plugins."""
    with current_app.app_context():
        upgrade(revision="heads")

"""Alembic set-up: the core's migrations plus each plugin's own branch, and `crisiswiki db upgrade`.

A plugin keeps its tables in its own migration directory (a branch with its own label) and
names it through the `migration_directories` hook. The core has one head (0008_one_head merged
its branches); with the plugins' branches the database has several, so every upgrade here goes
to all heads: `crisiswiki init-db` and `crisiswiki db upgrade` alike (Flask-Migrate's own
`db upgrade` takes one head and stops at "Multiple head revisions").
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from pathlib import Path

import click
from alembic.config import Config
from alembic.migration import MigrationContext
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from flask_migrate.cli import db as flask_migrate_commands

from . import plugins
from .database import write_lock_up_front
from .extensions import db, migrate

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


def current_revisions() -> list[str]:
    """The revisions the database has recorded (empty for a new database)."""
    with db.engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def upgrade_all(revision: str = "heads") -> None:
    """Apply every pending migration of the core and of the installed plugins. On SQLite the
    migrations run in one transaction that takes the write lock up front, so a server that
    writes meanwhile waits instead of meeting a half-made schema."""
    with current_app.app_context(), write_lock_up_front():
        upgrade(revision=revision)


@click.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def upgrade_command(revision: str) -> None:
    """Upgrade the database: the core and every installed plugin's branch (all heads)."""
    before = current_revisions()
    upgrade_all(revision)
    after = current_revisions()
    click.echo(f"Database revisions: {', '.join(before) or '(new database)'} -> {', '.join(after)}")


def database_commands() -> click.Group:
    """`crisiswiki db ...`: Flask-Migrate's commands, with `upgrade` going to every head."""
    group = click.Group(
        "db",
        help="Database migrations (Alembic).",
        params=flask_migrate_commands.params,
        callback=flask_migrate_commands.callback,  # sets the migrations directory for the commands
    )
    for name, command in flask_migrate_commands.commands.items():
        group.add_command(upgrade_command if name == "upgrade" else command, name)
    return group

"""Structured claims and truth discovery: a plugin of its own, registered by the validation
plugin (plugins/validation/__init__.py) wherever that one is loaded, and so switched off with
it (DISABLED_PLUGINS=["validation"]). Its tables continue the validation plugin's migration
branch (plugins/validation/migrations/v0002_claims.py).

Reports carry structured claims (a key figure such as people displaced in an area on a date, or a
fact such as a road being open or closed). Where sources disagree, truth discovery (discovery.py)
estimates the most likely value and each source's reliability together.
"""

from __future__ import annotations

from flask import Flask

from wiki.hooks import hookimpl

from .openapi import OPENAPI

__all__ = ["OPENAPI", "background_jobs", "init_app", "openapi_paths", "report_updated"]


@hookimpl
def init_app(app: Flask) -> None:
    """The claims API (registered here: this plugin joins during `register_blueprints`, too late
    for that hook), the settings (layered as the core's) and the `discover-truth` command."""
    from wiki.toolkit import add_settings

    from .cli import discover_truth_command
    from .proposals import CONFIG_DEFAULTS
    from .views import bp

    app.register_blueprint(bp)
    add_settings(app, CONFIG_DEFAULTS)
    app.cli.add_command(discover_truth_command)


@hookimpl
def openapi_paths() -> dict:
    return OPENAPI


@hookimpl
def background_jobs(app: Flask) -> list:
    """Truth discovery re-run behind the clicks that change the claims (refresh.py)."""
    from .refresh import truth_job

    return [truth_job(app)]


@hookimpl
def report_updated(report, changes) -> None:
    """A report marked as a duplicate (or no longer one), or whose outcome changed, changes which
    claims count and how: its crisis waits for a re-run (refresh.py)."""
    from sqlalchemy import inspect

    from .refresh import refresh_after_report_change

    # The id without reloading the report: the core has just committed.
    refresh_after_report_change(inspect(report).identity[0], dict(changes))

"""Structured claims and truth discovery, a part of the validation plugin.

Reports carry structured claims (a key figure such as people displaced in an area on a date, or a
fact such as a road being open or closed). Where sources disagree, truth discovery (discovery.py)
estimates the most likely value and each source's reliability together.

The functions below are the part's hooks, called by the plugin's own hook implementations (see
plugins/validation/parts.py); `register(app)` does the set-up of both `register_blueprints` and
`init_app` for a caller that wires the part by hand, and `OPENAPI` is the part's API document.
"""

from __future__ import annotations

from flask import Flask

from .openapi import OPENAPI

__all__ = ["OPENAPI", "init_app", "openapi_paths", "register", "register_blueprints", "report_updated"]


def register_blueprints(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)


def init_app(app: Flask) -> None:
    """Settings (a value already in app.config stays, else CRISISWIKI_<NAME>, else the default)
    and the `discover-truth` command."""
    from wiki.config import from_environment

    from .cli import discover_truth_command
    from .proposals import CONFIG_DEFAULTS

    environment = from_environment(CONFIG_DEFAULTS)
    for name, default in CONFIG_DEFAULTS.items():
        if name not in app.config:
            app.config[name] = environment.get(name, default)
    app.cli.add_command(discover_truth_command)


def register(app: Flask) -> None:
    """Add the claims API, the settings and the `discover-truth` command to `app`."""
    register_blueprints(app)
    init_app(app)


def openapi_paths() -> dict:
    return OPENAPI


def report_updated(report, changes) -> None:
    """A report marked as a duplicate (or no longer one) changes which claims count."""
    from .proposals import refresh_after_report_change

    refresh_after_report_change(report, changes)

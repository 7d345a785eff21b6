"""The validation plugin (The Matrix): grading, assessments and scores for field reports.

Registered through the `crisiswiki.plugins` entry point (setup.cfg); disabled with
DISABLED_PLUGINS=["validation"]. The core never imports it: everything below is an
implementation of a hook from wiki/hooks.py. Parts in sub-packages (truth discovery) are
reached through `parts` (see its docstring for how a part hooks in).
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import inspect

from wiki.hooks import hookimpl

from . import models, parts  # noqa: F401  (models: registers the plugin's tables)

HERE = Path(__file__).resolve().parent


def _id(instance) -> int:
    """The primary key of a model instance without reloading it: the core has just committed,
    so touching an attribute would start a transaction (on SQLite, in a POST, one that waits for
    the write lock, which scoring must not do)."""
    return inspect(instance).identity[0]


@hookimpl
def register_blueprints(app):
    from .api import bp as api_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    parts.call("register_blueprints", app=app)


@hookimpl
def init_app(app):
    from flask_babel import get_babel

    from .config import init_config
    from .rescore import rescore_command

    # The plugin's own catalogue (translations/<lang>/LC_MESSAGES/messages.po), merged by
    # Flask-Babel with the core's: it looks in every translation directory for the domain.
    directories = get_babel(app).translation_directories
    if str(HERE / "translations") not in directories:
        directories.append(str(HERE / "translations"))
    init_config(app)
    app.cli.add_command(rescore_command)
    from . import background

    if background.enabled(app):

        @app.before_request
        def _start_scorer() -> None:  # in each server process, after gunicorn forked it
            background.start(app)

    parts.call("init_app", app=app)


@hookimpl
def migration_directories():
    return [str(HERE / "migrations"), *(path for paths in parts.call("migration_directories") for path in paths)]


@hookimpl
def report_submitted(report):
    from . import updates

    updates.report_submitted(_id(report))
    parts.call("report_submitted", report=report)


@hookimpl
def report_updated(report, changes):
    from . import updates

    updates.report_updated(_id(report), dict(changes))
    parts.call("report_updated", report=report, changes=changes)


@hookimpl
def reports_imported(crisis, report_ids):
    from . import updates

    updates.reports_imported(list(report_ids), int(current_app.config["VALIDATION_IMPORT_BATCH"]), _id(crisis))
    parts.call("reports_imported", crisis=crisis, report_ids=report_ids)


@hookimpl
def report_map_properties(report_ids, viewer):
    from .access import can_see_scores
    from .presentation import map_properties

    return map_properties(report_ids) if can_see_scores(viewer) else None


@hookimpl
def report_verdicts():
    """The Matrix's verdicts, which alert subscriptions may ask for."""
    from .matrix import VERDICT_NAMES

    return {key: str(name) for key, name in VERDICT_NAMES.items()}


@hookimpl
def reports_listed(report_ids, viewer):
    from .access import can_see_scores
    from .presentation import preload_scores

    if can_see_scores(viewer):
        preload_scores(report_ids)


@hookimpl
def report_properties(report, viewer):
    from .access import can_see_scores
    from .presentation import listed_score_row, score_properties

    properties = score_properties(listed_score_row(report.id), viewer) if can_see_scores(viewer) else {}
    for extra in parts.call("report_properties", report=report, viewer=viewer):
        properties.update(extra)
    return properties or None


@hookimpl
def report_panels(report, viewer):
    from markupsafe import Markup

    from .access import can_assess, can_see_scores
    from .presentation import panel

    html = [panel(report, viewer)] if can_see_scores(viewer) or can_assess(viewer) else []
    html += parts.call("report_panels", report=report, viewer=viewer)
    return Markup("").join(html) if html else None


@hookimpl
def export_columns(viewer):
    from .access import can_see_scores
    from .exports import ScoreLookup

    if not can_see_scores(viewer):
        return None
    lookup = ScoreLookup()
    return [
        ("score", "#meta+score", lookup.score),
        ("admiralty", "#meta+x_admiralty", lookup.admiralty),
        ("assessment", "#meta+x_assessment", lookup.assessment),
    ]


@hookimpl
def navigation_links(crisis, viewer):
    from .access import can_assess

    links = []
    if can_assess(viewer):
        links += [
            (_("Verify"), url_for("validation.queue", crisis_slug=crisis.slug)),
            (_("Related reports"), url_for("validation.related", crisis_slug=crisis.slug)),
        ]
    for extra in parts.call("navigation_links", crisis=crisis, viewer=viewer):
        links += extra
    return links or None


@hookimpl
def filter_reports(params, viewer):
    from .filters import min_score_filter

    return min_score_filter(params, viewer)


@hookimpl
def openapi_paths():
    from .openapi import document

    merged = document()
    paths, schemas = dict(merged["paths"]), dict(merged["schemas"])
    for extra in parts.call("openapi_paths"):
        paths.update(extra.get("paths", {}))
        schemas.update(extra.get("schemas", {}))
    return {"paths": paths, "schemas": schemas, "parameters": merged["parameters"]}


@hookimpl
def report_search_fields(report):
    """The score, for the search index's min_score filter, when everyone may see scores (None
    while the report has no score: min_score then leaves it out)."""
    from .presentation import score_row

    if current_app.config["VALIDATION_SCORES_VISIBLE_TO"] != "everyone":
        return None
    row = score_row(_id(report))
    return {"score": row.score} if row is not None else None

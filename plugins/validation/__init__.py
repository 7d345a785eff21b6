"""The validation plugin (The Matrix): grading, assessments and scores for field reports.

Registered through the `crisiswiki.plugins` entry point (setup.cfg); disabled with
DISABLED_PLUGINS=["validation"]. The core never imports it: everything below is an
implementation of a hook from wiki/hooks.py, kept thin. Structured claims and truth discovery
(truth/) are a plugin of their own that this one registers (`register_blueprints` below), so
they are switched off with it.

How a score is made and kept current, module by module:

    settings.py, track_record.py, evidence.py, neighbours.py, scoring.py
        pure arithmetic on plain data: a source's reliability, what a neighbour says, the
        nearest neighbours, the score with its explanation and Admiralty parts
    records.py, nearby.py, source_states.py     reading the evidence in bulk
    store.py                                    the score rows: written, marked stale, waiting
    propagation.py                              which other scores an event changes
    batch.py                                    the one batch path that computes every score
    events.py                                   what each event does, now or in the background
    background.py                               where the batches run (a thread, or after a response)
    rescore.py                                  `crisiswiki rescore`
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import inspect

from wiki.hooks import hookimpl

from . import models  # noqa: F401  (registers the plugin's tables)

HERE = Path(__file__).resolve().parent


def _id(instance) -> int:
    """The primary key of a model instance without reloading it: the core has just committed,
    so touching an attribute would start a transaction (on SQLite, in a POST, one that waits for
    the write lock, which scoring must not do)."""
    return inspect(instance).identity[0]


TRUTH_PLUGIN = "validation.truth"


@hookimpl
def register_blueprints(app):
    from . import (
        desk_views,  # noqa: F401  (adds the desk's routes to views.bp, so before registering it)
        truth,
    )
    from .api import bp as api_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    # Truth discovery joins as a plugin of its own (the core calls its hooks, and isolates its
    # failures), only where this one is loaded. This is the first hook create_app() calls.
    manager = app.extensions["crisiswiki_plugins"]
    if manager.get_plugin(TRUTH_PLUGIN) is None:
        manager.register(truth, name=TRUTH_PLUGIN)


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


@hookimpl
def background_backlog():
    from .store import backlog

    return [backlog()]


@hookimpl
def background_jobs(app):
    from .background import scoring_job
    from .recalibration import calibration_job

    return [scoring_job(app), calibration_job(app)]


@hookimpl
def migration_directories():
    return [str(HERE / "migrations")]  # truth discovery's revisions live there too


@hookimpl
def report_submitted(report):
    from . import events

    events.report_submitted(_id(report))


@hookimpl
def report_updated(report, changes):
    from . import events

    events.report_updated(_id(report), dict(changes))


@hookimpl
def reports_imported(crisis, report_ids):
    from . import events

    events.reports_imported(list(report_ids), int(current_app.config["VALIDATION_IMPORT_BATCH"]), _id(crisis))


@hookimpl
def demo_loaded(crisis, gradings):
    from .demo import record_demo_gradings

    record_demo_gradings(_id(crisis), gradings)


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
    from .shown_scores import preload_scores

    if can_see_scores(viewer):
        preload_scores(report_ids)


@hookimpl
def report_properties(report, viewer):
    from .access import can_see_scores
    from .presentation import score_properties
    from .shown_scores import listed_score_row

    return score_properties(listed_score_row(report.id), viewer) if can_see_scores(viewer) else None


@hookimpl
def report_panels(report, viewer):
    from markupsafe import Markup

    from .access import can_assess, can_see_scores
    from .desk_views import desk_panel
    from .presentation import panel

    shown = Markup(panel(report, viewer)) if can_see_scores(viewer) or can_assess(viewer) else Markup("")
    return (shown + desk_panel(report, viewer)) or None


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
    from .assignments import can_assign
    from .notes import unread_count

    links = [(_("Claims"), url_for("validation.claims", crisis_slug=crisis.slug))]
    if not (can_assess(viewer) or can_assign(viewer)):
        return links
    unread = unread_count(viewer)
    return [
        (_("Verify"), url_for("validation.queue", crisis_slug=crisis.slug)),
        (_("Related reports"), url_for("validation.related", crisis_slug=crisis.slug)),
        *links,
        (_("Notices (%(n)d new)", n=unread) if unread else _("Notices"), url_for("validation.notices")),
    ]


@hookimpl
def filter_reports(params, viewer):
    from .filters import min_score_filter

    return min_score_filter(params, viewer)


@hookimpl
def openapi_paths():
    from .openapi import document

    return document()


@hookimpl
def report_search_scores():
    return current_app.config["VALIDATION_SCORES_VISIBLE_TO"] == "everyone"


@hookimpl
def report_search_fields_many(reports):
    """The scores, for the search index's min_score filter, when everyone may see scores (None
    while a report has no score: min_score then leaves it out); one query per 500 reports."""
    from .shown_scores import search_scores

    if current_app.config["VALIDATION_SCORES_VISIBLE_TO"] != "everyone":
        return None
    return {report_id: {"score": score} for report_id, score in search_scores([_id(r) for r in reports]).items()}


@hookimpl
def dashboard_charts(scope):
    from .desk_charts import dashboard_charts as charts

    return charts(scope)


@hookimpl
def dashboard_tallies(args, viewer):
    from .desk_tallies import dashboard_tallies as tallies

    return tallies(args, viewer)


@hookimpl
def sitrep_sections(draft):
    from .desk_charts import sitrep_sections as sections

    return sections(draft)

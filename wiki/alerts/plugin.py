"""The alerts feature's hook implementations, registered by the core as the plugin "wiki.alerts"
(the core uses its own hooks). Changes write their event in their own transaction (the
*_before_commit hooks); the hooks after the commit only wake the worker's job."""

from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext as _

from ..hooks import hookimpl
from ..workers import wake
from . import events

# A report's change that can make it answer a subscription it did not answer before.
MATCHED_FIELDS = frozenset({"status", "sector", "lon", "lat", "published", "title", "description", "sensitive"})


@hookimpl
def report_before_commit(report, changes):
    if changes is None or MATCHED_FIELDS & changes.keys():
        events.record("report", report_id=report.id, crisis_id=report.crisis_id)


@hookimpl
def reports_before_commit(crisis, report_ids):
    events.record_reports("report", report_ids)


@hookimpl
def page_before_commit(page, revision):
    events.record("page", crisis_id=page.crisis_id, page_id=page.id, revision_id=revision.id if revision else None)


@hookimpl
def layer_before_commit(layer, revision):
    events.record(
        "layer", crisis_id=layer.crisis_id, layer_id=layer.id, layer_revision_id=revision.id if revision else None
    )


@hookimpl
def report_submitted(report):
    wake("alerts")


@hookimpl
def report_updated(report, changes):
    wake("alerts")


@hookimpl
def reports_imported(crisis, report_ids):
    wake("alerts")


@hookimpl
def page_saved(page, revision):
    wake("alerts")


@hookimpl
def layer_saved(layer):
    wake("alerts")


@hookimpl
def background_jobs(app: Flask):
    from .jobs import jobs

    return jobs(app)


@hookimpl
def register_blueprints(app: Flask):
    from .views import bp

    app.register_blueprint(bp)


@hookimpl
def init_app(app: Flask):
    from .cli import send_alerts_command

    app.cli.add_command(send_alerts_command)


@hookimpl
def navigation_links(crisis, viewer):
    return [(_("Alerts"), url_for("alerts.crisis_alerts", crisis_slug=crisis.slug))]

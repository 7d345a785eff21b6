"""The hook specifications: the whole contract between the crisiswiki core and its plugins.

A plugin implements any subset with `@hookimpl` (pluggy). Each hook's docstring says when it is
called. Hooks that announce a change (page_saved, report_submitted, report_updated, ...) are
called *after* the database transaction that made it has been committed, so a plugin never
sees (or indexes, or scores) data that could still roll back; the *_before_commit hooks are
called inside that transaction, for what must be stored together with it (an outbox: the search
queue, the alerts' events).

A failing implementation of a hook in ISOLATED is logged and skipped (wiki.plugins): the
request goes on and the other plugins are still called. The others (setting the app up,
filtering queries, handing jobs to the worker) fail loudly: a plugin that cannot set itself
up, or a filter that cannot be applied, must not pass unnoticed. Set CRISISWIKI_TRACE_HOOKS=1
to log every call. The toolkit a plugin may use is described in docs/plugins.md.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("crisiswiki")
hookimpl = pluggy.HookimplMarker("crisiswiki")


@hookspec
def register_blueprints(app):
    """Called once in create_app(); register the plugin's Flask blueprints on `app`."""


@hookspec
def init_app(app):
    """Called once in create_app() after the core is set up; read config, add CLI commands."""


@hookspec
def background_jobs(app):
    """Return a list of wiki.workers.Job: work the background worker does for the plugin (in
    one process of the deployment at a time), e.g. scoring, indexing, delivering."""


@hookspec
def register_channels():
    """Return a list of wiki.channels.base.Channel: gateways that messages arrive through (SMS,
    mail, messaging apps) and replies may go out through. Each is served at
    /channels/<channel.name>/inbound; the first plugin to name a channel wins (the core's own
    are registered last, so a plugin can replace one). Called once per app, on first use."""


@hookspec
def page_saved(page, revision):
    """Called after a new revision of `page` was committed (create, edit, revert, rename, restore)."""


@hookspec
def page_deleted(page):
    """Called after `page` was soft-deleted and the deletion committed."""


@hookspec
def report_submitted(report):
    """Called after a new field report was committed."""


@hookspec
def report_updated(report, changes):
    """Called after a committed change to a report; `changes` maps field name to (old, new)."""


@hookspec
def report_properties(report, viewer):
    """Return a dict of extra properties for a report as `viewer` may see it (API, map, exports)."""


@hookspec
def report_map_properties(report_ids, viewer):
    """Return {report id: {name: scalar or flat object of scalars}}: the few properties a map
    needs for each of the reports it draws as points (up to MAP_MAX_POINTS at once), e.g. a
    score and how far the report has been assessed; one call for all."""


@hookspec
def reports_listed(report_ids, viewer):
    """Called before the core serialises several reports at once (search results, an API page,
    an export batch, map points), so that a plugin can load what it adds to each of them with
    one query instead of one per report. Returns nothing."""


@hookspec
def export_columns(viewer):
    """Return a list of (header, HXL hashtag, function(report) -> value) to add to CSV exports
    for `viewer`."""


@hookspec
def report_panels(report, viewer):
    """Return HTML (Markup) to show on a report's page, or None."""


@hookspec
def navigation_links(crisis, viewer):
    """Return a list of (label, url) for a crisis's navigation bar."""


@hookspec
def openapi_paths():
    """Return {"paths": {...}, "schemas": {...}} to add the plugin's API to /api/v1/openapi.json;
    an optional "parameters": {path: {method: [parameter, ...]}} adds query parameters to existing
    operations (such as a filter the plugin reads through `filter_reports`)."""


@hookspec
def reports_imported(crisis, report_ids):
    """Called after a bulk import committed; `report_ids` lists the new reports (no
    report_submitted call is made for them, so plugins can work in batches)."""


@hookspec
def demo_loaded(crisis, gradings):
    """Called by the demo loader (`crisiswiki demo`, `crisiswiki init-db` on an empty database)
    after a demo crisis's reports were imported: `gradings` lists what the demo's verifiers said
    of some of them, dicts with `report_id`, `verifier_id`, `reliability` (A-E) and `credibility`
    (1-6). A plugin that grades reports records them and may score the crisis; others ignore it."""


@hookspec
def filter_reports(params, viewer):
    """Return a SQL condition on Report (e.g. `Report.id.in_(...)`) from the plugin's own
    request parameters in `params` (e.g. min_score), or None: every report query of the API,
    the map, the exports and search is narrowed by all of them. Raise wiki.errors.InvalidInput
    for a bad parameter."""


@hookspec
def migration_directories():
    """Return a list of directories holding the plugin's Alembic migrations (its own branch)."""


@hookspec
def layer_saved(layer):
    """Called after a new revision of map `layer` was committed (create, edit, revert, restore)."""


@hookspec
def layer_deleted(layer):
    """Called after map `layer` was deleted and the deletion committed."""


@hookspec
def report_search_fields(report):
    """Return a dict merged into `report`'s search document when it is indexed: "score" (a number;
    the search's min_score filter compares it) and "text" (extra searchable words). Only values
    that anyone who may see the report may see. When one changes without a report_updated call,
    call `wiki.search.reindex_later("report", [report.id])` so the index follows."""


@hookspec
def report_search_fields_many(reports):
    """Return {report id: dict} for several reports at once, each dict as report_search_fields
    returns it: the search writer builds hundreds of documents at a time, and reading their
    fields in one query is much cheaper than a query each. Implement this or
    report_search_fields, not both (both are merged into the document). When only the "score"
    changes, queue the reports with `wiki.search.reindex_later("report", ids, op="score")`: the
    writer then skips those whose indexed score is still right."""


@hookspec
def report_search_scores():
    """Return True when the plugin's report_search_fields give reports a "score": the search's
    min_score filter then applies; with no plugin that says so it is ignored, with a note."""


@hookspec
def report_before_commit(report, changes):
    """Called inside the transaction that stores a new report (`changes` is None) or a change
    to one (`changes` maps field to (old, new)), after its flush and before its commit: fill in
    derived columns or add rows that must be stored together with it (an outbox). Must not
    commit. Work that can wait belongs in report_submitted / report_updated."""


@hookspec
def background_backlog():
    """Return a list of the plugin's background work still waiting, each a dict: "name" (a short
    word, e.g. "scoring"), "pending" (how many items wait) and "oldest" (the aware UTC datetime
    the oldest waiting item was made, or None when nothing waits). /readyz reports the backlog
    as not ready when its oldest item waited longer than READY_MAX_LAG_SECONDS, and /metrics
    serves it as crisiswiki_backlog_items and crisiswiki_backlog_oldest_seconds."""


@hookspec
def reports_before_commit(crisis, report_ids):
    """Called inside the transaction of a bulk import (one batch of `report_ids`, new reports of
    `crisis`), after their insert and before the commit: rows that must be stored together with
    them. Must not commit. reports_imported follows once the batch is committed."""


@hookspec
def page_before_commit(page, revision):
    """Called inside the transaction that saves `revision` of `page` (create, edit, revert,
    rename, restore), before its commit: rows to store together with it. Must not commit."""


@hookspec
def layer_before_commit(layer, revision):
    """Called inside the transaction that saves `revision` of map `layer`, before its commit.
    Must not commit."""


@hookspec
def report_verdicts():
    """Return {verdict: label} for the verdicts a plugin gives reports (the "verdict" of
    report_map_properties), e.g. {"accept": "Accept"}: alert subscriptions may ask for them."""


@hookspec(firstresult=True)
def deliver_sms(to, text, crisis):
    """Send an SMS (an alert, or the code that confirms a number) through the plugin's gateway.
    Return the gateway's id for it (a string) once the gateway has taken it; raise to have it
    tried again later. The first plugin that returns a value delivers it; with no implementation
    there is no SMS gateway, and alerts by SMS wait (their subscribers are told so)."""


@hookspec
def dashboard_charts(scope):
    """Return a list of wiki.desk.charts.Chart to add to a crisis dashboard. `scope`
    (wiki.desk.charts.Scope) says which crisis, viewer and filters; `scope.report_ids` selects the
    ids of the reports the view counts (the viewer's visible ones, never a withdrawn one) and
    `scope.bucket(column)` is the SQL of the view's time bucket. Compute the numbers in SQL; a
    chart's series carry the filters that open the reports behind each number. When
    `scope.tallies` is set (a wiki.desk.charts.TallyFilter), counts kept by day, sector and
    province (e.g. by triggers) answer the view exactly: `scope.tallies.apply(query, ...)`. The
    core's counts are then in `scope.tallies.table`: `report_tallies`, or on a view with a
    plugin's own filters (a minimum score) that plugin's tallies, whose condition `apply` adds;
    `apply` raises LookupError for tallies that cannot answer such a view (the core's, your own)."""


@hookspec
def dashboard_tallies(args, viewer):
    """Return a wiki.desk.charts.TallySource when tallies the plugin keeps (with the columns of
    the core's `report_tallies` and keys of its own; by the hour too, with those of
    `report_hour_tallies`, for the hourly charts) answer exactly a dashboard view filtered by
    the plugin's own filters, `args` (e.g. {"min_score": "0.6"}: every filter of the view the core
    does not know), for `viewer`; None when they cannot: the core then counts from the reports,
    through the visibility rule. Called only for views the core's tallies would otherwise answer."""


@hookspec
def sitrep_sections(draft):
    """Return a list of wiki.pages.drafts.Section to add to a situation report being drafted.
    `draft` (wiki.pages.drafts.DraftContext) holds the crisis, the period, the admin area, the
    drafting coordinator and `draft.reports`: the reports it may use (visible to the coordinator,
    never withdrawn, to be shown as the public sees them). Every statement cites its reports
    with `draft.cite(report_ids)`; called in the crisis's language."""


# Hooks whose failing implementations are logged and skipped (see the module docstring).
ISOLATED = frozenset(
    {
        "page_saved",
        "page_deleted",
        "report_submitted",
        "report_updated",
        "reports_imported",
        "layer_saved",
        "layer_deleted",
        "report_before_commit",
        "reports_before_commit",
        "page_before_commit",
        "layer_before_commit",
        "report_verdicts",
        "report_properties",
        "report_map_properties",
        "reports_listed",
        "export_columns",
        "report_panels",
        "navigation_links",
        "openapi_paths",
        "report_search_fields",
        "report_search_fields_many",
        "report_search_scores",
        "dashboard_charts",
        "dashboard_tallies",
        "sitrep_sections",
    }
)

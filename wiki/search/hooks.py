"""The search feature's hook implementations, registered by the core as the plugin
"wiki.search": the core uses its own hooks, so they are proven by the core's tests.

Each hook only queues the change (a short INSERT); the index is written elsewhere, never while
a request waits (see wiki.search.indexer).
"""

from __future__ import annotations

from flask import Flask

from ..hooks import hookimpl
from ..workers import wake
from .queue import enqueue, enqueue_in_session


def reindex_later(kind: str, ids, op: str = "index") -> None:
    """Queue objects for the search index and wake this process's writer."""
    enqueue(kind, ids, op)
    wake("search")


@hookimpl
def page_saved(page, revision):
    reindex_later("page", [page.id])


@hookimpl
def page_deleted(page):
    reindex_later("page", [page.id], op="delete")


@hookimpl
def report_before_commit(report, changes):
    """Reports are queued in the transaction that stores them (an outbox): the queue can never
    miss one, and taking in a report costs no second write transaction."""
    enqueue_in_session("report", [report.id])


@hookimpl
def report_submitted(report):
    wake("search")


@hookimpl
def report_updated(report, changes):
    wake("search")


@hookimpl
def reports_imported(crisis, report_ids):
    reindex_later("report", list(report_ids))


@hookimpl
def layer_saved(layer):
    reindex_later("layer", [layer.id])


@hookimpl
def layer_deleted(layer):
    reindex_later("layer", [layer.id], op="delete")


@hookimpl
def register_blueprints(app: Flask):
    from .views import bp as views_bp

    app.register_blueprint(views_bp)  # the API route is on wiki.api's blueprint (wiki/search/api.py)


@hookimpl
def background_jobs(app: Flask):
    from .writer import index_job

    return [index_job(app)]


@hookimpl
def init_app(app: Flask):
    init_search(app)


def init_search(app: Flask) -> None:
    """Called once from create_app (through the init_app hook): the CLI command and checks of
    the settings. The index is written by a job of the background worker (wiki.search.writer)."""
    from .cli import reindex_command

    app.cli.add_command(reindex_command)
    if app.config["SEARCH_BACKEND"] not in ("whoosh", "postgresql"):
        raise RuntimeError(f"SEARCH_BACKEND must be 'whoosh' or 'postgresql', not {app.config['SEARCH_BACKEND']!r}")
    if app.config["SEARCH_BACKEND"] == "postgresql" and not app.config["SQLALCHEMY_DATABASE_URI"].startswith(
        "postgresql"
    ):
        raise RuntimeError("SEARCH_BACKEND = 'postgresql' needs a PostgreSQL database (DATABASE_URL).")


@hookimpl
def background_backlog():
    """The index's lag: queue rows not yet applied (the oldest one's age is the indexing lag)."""
    from sqlalchemy import func, select

    from ..extensions import db
    from .models import SearchQueueEntry

    waiting = SearchQueueEntry.processed_at.is_(None)
    pending, oldest = db.session.execute(
        select(func.count(), func.min(SearchQueueEntry.created_at)).where(waiting)
    ).one()
    return [{"name": "search_index", "pending": pending, "oldest": oldest}]

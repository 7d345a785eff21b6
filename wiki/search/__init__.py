"""Search: one box over pages, reports and layers (see wiki.search.service).

The database is the source of truth; hooks queue every change (wiki.search.hooks), one writer
at a time applies the queue to the index (wiki.search.indexer), and `crisiswiki reindex`
rebuilds the index from the database. Backends: Whoosh on local disk (the default) or
PostgreSQL full-text search (SEARCH_BACKEND = "postgresql").
"""
from __future__ import annotations

from flask import Flask

from .hooks import reindex_later
from .indexer import flush

__all__ = ["flush", "init_search", "reindex_later"]


def init_search(app: Flask) -> None:
    """Called once from create_app (through the init_app hook): the CLI command and checks of
    the settings. The index is written by a job of the background worker (wiki.search.writer)."""
    from .cli import reindex_command

    app.cli.add_command(reindex_command)
    if app.config["SEARCH_BACKEND"] not in ("whoosh", "postgresql"):
        raise RuntimeError(f"SEARCH_BACKEND must be 'whoosh' or 'postgresql', not {app.config['SEARCH_BACKEND']!r}")
    if app.config["SEARCH_BACKEND"] == "postgresql" and not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise RuntimeError("SEARCH_BACKEND = 'postgresql' needs a PostgreSQL database (DATABASE_URL).")

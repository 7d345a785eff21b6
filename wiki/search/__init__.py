"""Search: one box over pages, reports and layers (see wiki.search.service).

The database is the source of truth; hooks queue every change (wiki.search.hooks), one writer
at a time applies the queue to the index (wiki.search.indexer), and `crisiswiki reindex`
rebuilds the index from the database. Backends: Whoosh on local disk (the default) or
PostgreSQL full-text search (SEARCH_BACKEND = "postgresql").
"""

from __future__ import annotations

from .hooks import reindex_later
from .indexer import flush

__all__ = ["flush", "reindex_later"]

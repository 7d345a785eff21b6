"""What a search backend is asked, what it answers, and how one is chosen.

Two backends answer the same `ParsedQuery` and `Filters` with the same `Hits`: Whoosh (an
index on local disk, the embedded default) and PostgreSQL full-text search (one index in the
shared database, for several app servers). Choose with SEARCH_BACKEND.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..errors import DomainError
from .documents import IndexDocument
from .query import ParsedQuery, Words

FACETS = ("type", "crisis", "sector", "status", "adm1")
SUGGEST_BELOW = 3  # look for a "did you mean" only when a query finds fewer results
PG_WRITER_LOCK = 0x5EA2C4  # PostgreSQL advisory lock key: one search writer at a time


class SearchUnavailable(DomainError):
    """The index cannot be read (missing or damaged); pages and reports still work (503)."""

    status = 503
    code = "search_unavailable"

    def __init__(self, message: str, reason: str = "corrupt") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Filters:
    """Everything that narrows a search besides its words, including what the viewer may see.

    A set means "one of these"; None means "any". bbox compares each document's public point:
    the index never holds the exact point of a sensitive report (wiki.visibility)."""

    kinds: set[str] | None = None
    crisis_ids: set[int] | None = None
    sectors: set[str] | None = None
    statuses: set[str] | None = None
    adm1: set[str] | None = None
    excluded: dict[str, set] = field(default_factory=dict)  # facet name -> values to leave out
    bbox: tuple[float, float, float, float] | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_score: float | None = None
    published_only: bool = True


@dataclass
class Hits:
    total: int
    hits: list[tuple[str, int, float, str | None]]  # (kind, object id, relevance, language), best first
    facets: dict[str, dict[str, int]]  # facet -> value -> count ("crisis" values are crisis ids)
    unmatched: list[Words] = field(default_factory=list)  # single words no document contains
    adm1_names: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def search(self, parsed: ParsedQuery, filters: Filters, offset: int, limit: int) -> Hits: ...

    def count(self, parsed: ParsedQuery, filters: Filters) -> int: ...

    def corrections(self, word: str) -> list[tuple[str, int]]: ...

    def apply(self, documents: list[IndexDocument], removed: list[str]) -> None: ...

    def rebuild(
        self, batches: Iterator[tuple[list[IndexDocument], list[str]]], progress: Callable[[int], None]
    ) -> None: ...

    def indexed_versions(self, keys: Iterable[str]) -> dict[str, float]: ...

    def indexed_scores(self, keys: Iterable[str]) -> dict[str, float | None]: ...

    def check(self) -> None: ...

    def exists(self) -> bool: ...

    def version(self) -> object | None:
        """A value that changes whenever the index does (each commit, each rebuild), or None if
        the backend cannot tell: anonymous answers are remembered per version (result_cache.py)."""
        ...


def code(value: str | None) -> int:
    """A stable number for a facet value (crc32; 0 for none), as the Whoosh columns hold them."""
    return zlib.crc32(value.encode()) if value else 0

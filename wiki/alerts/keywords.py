"""A subscription's keywords: the search box's query language (wiki.search.query), decided for
one report in memory the way the search index decides it. The report's text is analysed in its
own language (stemmed English, French or Spanish, accents folded), each query word in that
language too, so "floods" finds "flooding" here exactly as it does in search; phrases are
words in a row; field queries (sector:, status:, adm1:, crisis:, type:) compare the report's
values. Pure functions: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..search.analysis import analyse, detect_language, fold
from ..search.query import FieldValue, ParsedQuery, Words, parse_query


@dataclass(frozen=True)
class Document:
    """What keywords are matched against: a report as the subscriber may see it."""

    title: str
    body: str
    crisis: str = ""
    sector: str = ""
    status: str = ""
    adm1: str = ""  # P-code
    adm1_name: str = ""
    kind: str = "report"


@lru_cache(maxsize=10_000)
def parsed(keywords: str) -> ParsedQuery | None:
    """The parsed query, None when it asks for nothing."""
    query = parse_query(keywords or "")
    if not (query.required or query.excluded or query.facets or query.excluded_facets):
        return None
    return query


class _Analysed:
    def __init__(self, document: Document) -> None:
        self.document = document
        self.lang = detect_language(f"{document.title} {document.body[:4000]}")
        self.fields = {"title": analyse(document.title, self.lang), "body": analyse(document.body, self.lang)}

    def has(self, item: Words) -> bool:
        terms = analyse(item.text, self.lang)
        if not terms:
            return False
        fields = ("title", "body") if item.field is None else (item.field,)
        return any(_contains(self.fields[name], terms) for name in fields)


def _contains(haystack: list[str], terms: list[str]) -> bool:
    if len(terms) == 1:
        return terms[0] in haystack
    width = len(terms)
    return any(haystack[start : start + width] == terms for start in range(len(haystack) - width + 1))


def _facet(item: FieldValue, document: Document) -> bool:
    value = fold(item.value)
    if item.field == "adm1":
        return value in (fold(document.adm1), fold(document.adm1_name))
    return value == fold(getattr(document, {"type": "kind"}.get(item.field, item.field)) or "")


def matches(query: ParsedQuery | None, document: Document) -> bool:
    """Does `document` answer `query` (all groups, none of the exclusions)?"""
    if query is None:
        return True
    if not all(_facet(item, document) for item in query.facets):
        return False
    if any(_facet(item, document) for item in query.excluded_facets):
        return False
    if not (query.required or query.excluded):
        return True
    analysed = _Analysed(document)
    if not all(any(analysed.has(item) for item in group) for group in query.required):
        return False
    return not any(analysed.has(item) for item in query.excluded)

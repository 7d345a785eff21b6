"""Searching, for both doors (the search page and GET /api/v1/search): ask the backend, then
read the found pages, reports and layers back from the database and show them as the viewer
may see them.

The index decides what matches and in which order; the database decides what is shown. Every
report goes out through `report_feature`, so its privacy rules (coarsened location of sensitive
reports, contacts only for those allowed) apply here as everywhere, and anything the index
still lists but the viewer may no longer see (a report unpublished a moment ago) is left out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from .. import plugins
from ..auth.permissions import can
from ..extensions import db
from ..models import Crisis, Layer, Page, Report, Revision
from ..models.reports import SECTORS, STATUSES
from ..reports.serialise import announce_listing, report_feature
from ..visibility import report_visible
from ..vocabulary import LABELS
from .analysis import detect_language
from .backend import FACETS, SUGGEST_BELOW, Backend, Filters, Hits, SearchUnavailable
from .configured_backend import backend_for
from .documents import html_to_text, report_text
from .query import ParsedQuery, SearchRequest, parse_query, replace_word
from .snippets import highlight_all, prepared, snippet, words_of

log = logging.getLogger(__name__)
_last_logged: dict[str, float] = {}


def log_unavailable(error: SearchUnavailable) -> None:
    """Log why search is down, clearly and at most once a minute per process."""
    now = time.monotonic()
    if now - _last_logged.get(error.message, -3600.0) >= 60:
        _last_logged[error.message] = now
        log.error("Search is unavailable: %s", error.message)


@dataclass
class Result:
    kind: str
    id: int
    crisis: str
    crisis_name: str
    title: str
    title_html: Markup
    snippet: Markup
    url: str
    date: datetime | None
    relevance: float
    feature: dict[str, Any] | None = None  # reports: the GeoJSON Feature the viewer may see

    def to_json(self) -> dict[str, Any]:
        data = {
            "type": self.kind,
            "id": self.id,
            "crisis": self.crisis,
            "title": self.title,
            "title_html": str(self.title_html),
            "snippet": str(self.snippet),
            "url": self.url,
            "date": self.date.isoformat() if self.date else None,
            "relevance": round(self.relevance, 4),
        }
        if self.feature is not None:
            data["feature"] = self.feature
        return data


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class SearchPage:
    request: SearchRequest
    total: int
    results: list[Result]
    facets: dict[str, list[FacetValue]]
    suggestion: str | None = None
    notes: list[str] = field(default_factory=list)
    map_links: list[tuple[str, str, str]] = field(default_factory=list)  # (crisis slug, name, url)
    backend: str = ""

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.request.limit))

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.request.q,
            "total": self.total,
            "page": self.request.page,
            "limit": self.request.limit,
            "results": [result.to_json() for result in self.results],
            "facets": {
                name: [{"value": v.value, "label": v.label, "count": v.count, "selected": v.selected} for v in values]
                for name, values in self.facets.items()
            },
            "suggestion": self.suggestion,
            "notes": self.notes,
            "map": [{"crisis": slug, "url": url} for slug, _name, url in self.map_links],
            "backend": self.backend,
        }


def scores_available() -> bool:
    """Whether any plugin gives reports a score to index (the validation plugin does, when its
    scores are public). Other plugins add only words (the channels' translations)."""
    return any(plugins.call("report_search_scores"))


def _narrow(*sources: tuple[str, ...] | list[str]) -> set[str] | None:
    """The values allowed by every source that says something (None: any)."""
    allowed: set[str] | None = None
    for values in sources:
        if values:
            allowed = set(values) if allowed is None else allowed & set(values)
    return allowed


def _crisis_ids(slugs: set[str]) -> set[int]:
    return set(db.session.scalars(select(Crisis.id).where(Crisis.slug.in_(slugs)))) if slugs else set()


def make_filters(search: SearchRequest, viewer) -> Filters:
    parsed = search.parsed
    from_query = {name: [f.value for f in parsed.facets if f.field == name] for name in FACETS}
    excluded = {name: {f.value for f in parsed.excluded_facets if f.field == name} for name in FACETS}
    crises = _narrow(search.crises, from_query["crisis"])
    if excluded["crisis"]:
        excluded["crisis"] = _crisis_ids(excluded["crisis"])
    return Filters(
        kinds=_narrow(search.types, from_query["type"]),
        crisis_ids=_crisis_ids(crises) if crises is not None else None,
        sectors=_narrow(search.sectors, from_query["sector"]),
        statuses=_narrow(search.statuses, from_query["status"]),
        adm1=_narrow(search.adm1, from_query["adm1"]),
        excluded={k: v for k, v in excluded.items() if v},
        bbox=search.bbox,
        since=search.since,
        until=search.until,
        min_score=search.min_score,
        published_only=not can("view_unpublished", viewer),
    )


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance with adjacent transpositions (optimal string alignment)."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if previous2 is not None and i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def best_correction(word: str, candidates: list[tuple[str, int]]) -> str | None:
    """The closest known word (then the most frequent) within 1 edit (2 for longer words)."""
    limit = 1 if len(word) <= 4 else 2
    scored = sorted(
        (edit_distance(word, term), -count, term) for term, count in candidates if term != word and count > 0
    )
    scored = [item for item in scored if item[0] <= limit]
    return scored[0][2] if scored else None


def suggest(backend: Backend, search: SearchRequest, filters: Filters, hits: Hits) -> str | None:
    """ "Did you mean": replace each word no document contains by the closest word that
    documents do contain, and offer the result only if it finds something for this viewer."""
    if hits.total >= SUGGEST_BELOW or not hits.unmatched:
        return None
    query, changed = search.q, False
    for item in hits.unmatched:
        try:
            candidates = backend.corrections(item.words[0])
        except SearchUnavailable as error:  # no suggestion is better than no search
            log_unavailable(error)
            return None
        best = best_correction(item.words[0], candidates)
        if best is None:
            continue
        replacement = f"{item.raw.split(':', 1)[0]}:{best}" if item.field else best
        query, changed = replace_word(query, item.raw, replacement), True
    if not changed or query == search.q:
        return None
    return query if backend.count(parse_query(query), filters) > 0 else None


def _url(endpoint: str, fallback: str, **values) -> str:
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return fallback


_page_texts_lock = threading.Lock()
PAGE_TEXTS_REMEMBERED = 2_000  # about 5 KB of text each


def page_texts(revision_ids: list[int]) -> dict[int, tuple[str, frozenset[str]]]:
    """The text of these revisions' HTML as snippets read it, and its distinct words,
    remembered per revision (revisions never change): reading a long page's HTML, taking its
    tags out and finding its words was most of a page result's cost. The HTML of those not
    remembered is read in one query."""
    found = {}
    with _page_texts_lock:  # one app's (revision ids are its database's)
        remembered = current_app.extensions.setdefault("crisiswiki_page_texts", OrderedDict())
        for revision_id in revision_ids:
            text = remembered.get(revision_id)
            if text is not None:
                remembered.move_to_end(revision_id)
                found[revision_id] = text
    missing = [revision_id for revision_id in revision_ids if revision_id not in found]
    if missing:
        read = {
            revision_id: _page_text(markup)
            for revision_id, markup in db.session.execute(
                select(Revision.id, Revision.html).where(Revision.id.in_(missing))
            )
        }
        found.update(read)
        with _page_texts_lock:
            remembered.update(read)
            while len(remembered) > PAGE_TEXTS_REMEMBERED:
                remembered.popitem(last=False)
    return found


def _page_text(markup: str) -> tuple[str, frozenset[str]]:
    text = prepared(html_to_text(markup))
    return text, words_of(text)


def _result(
    kind: str, obj, relevance: float, lang: str | None, parsed: ParsedQuery, viewer, texts: dict[int, tuple]
) -> Result:
    crisis = obj.crisis
    words = None  # the words of a page's text, remembered with it
    if kind == "report":
        body, url, date = (
            report_text(obj),
            url_for("reports.view", report_id=obj.id),
            obj.occurred_at or obj.received_at,
        )
    elif kind == "page":
        revision = obj.current_revision
        body, words = texts.get(revision.id, ("", frozenset())) if revision else ("", frozenset())
        url, date = url_for("pages.view", crisis_slug=crisis.slug, slug=obj.slug), obj.updated_at
    else:
        revision = obj.current_revision
        body = revision.description if revision else ""
        url = _url("maps.layer", f"/c/{crisis.slug}/layers/{obj.id}", crisis_slug=crisis.slug, layer_id=obj.id)
        date = obj.updated_at
    guessed = lang is None  # an index built before it kept each document's language
    lang = lang or detect_language(f"{obj.title} {body[:4000]}")
    return Result(
        kind=kind,
        id=obj.id,
        crisis=crisis.slug,
        crisis_name=crisis.name,
        title=obj.title,
        title_html=highlight_all(obj.title, lang, parsed),
        snippet=snippet(body, lang, parsed, guessed=guessed, words=words),
        url=url,
        date=date,
        relevance=relevance,
        feature=report_feature(obj, viewer) if kind == "report" else None,
    )


def load_results(hits: list[tuple[str, int, float, str | None]], parsed: ParsedQuery, viewer) -> list[Result]:
    """The found objects as the viewer may see them, in the backend's order."""
    wanted: dict[str, list[int]] = {}
    for kind, object_id, _relevance, _lang in hits:
        wanted.setdefault(kind, []).append(object_id)
    found: dict[tuple[str, int], Any] = {}
    if wanted.get("report"):
        for report in db.session.scalars(
            select(Report)
            .options(selectinload(Report.photos), selectinload(Report.crisis))
            .where(Report.id.in_(wanted["report"]))
        ):
            if report_visible(report, viewer):
                found["report", report.id] = report
    if wanted.get("page"):
        for page in db.session.scalars(
            select(Page)
            # The HTML only when its text is not remembered (page_text): it is most of a page's bytes.
            .options(selectinload(Page.current_revision).defer(Revision.html), selectinload(Page.crisis))
            .where(Page.id.in_(wanted["page"]))
        ):
            if not page.is_deleted:
                found["page", page.id] = page
    if wanted.get("layer"):
        for layer in db.session.scalars(
            select(Layer)
            .options(selectinload(Layer.current_revision), selectinload(Layer.crisis))
            .where(Layer.id.in_(wanted["layer"]))
        ):
            if not layer.is_deleted:
                found["layer", layer.id] = layer
    announce_listing((object_id for kind, object_id in found if kind == "report"), viewer)
    texts = page_texts(
        [obj.current_revision_id for (kind, _id), obj in found.items() if kind == "page" and obj.current_revision_id]
    )
    return [
        _result(kind, found[kind, object_id], relevance, lang, parsed, viewer, texts)
        for kind, object_id, relevance, lang in hits
        if (kind, object_id) in found
    ]


_TYPE_LABELS = {"page": lazy_gettext("Pages"), "report": lazy_gettext("Reports"), "layer": lazy_gettext("Map layers")}


def _label_facets(hits: Hits, search: SearchRequest) -> dict[str, list[FacetValue]]:
    crises = {}
    if hits.facets.get("crisis"):
        ids = [int(value) for value in hits.facets["crisis"]]
        crises = {
            str(row.id): row
            for row in db.session.execute(select(Crisis.id, Crisis.slug, Crisis.name).where(Crisis.id.in_(ids)))
        }
    selected = {
        "type": search.types,
        "crisis": search.crises,
        "sector": search.sectors,
        "status": search.statuses,
        "adm1": search.adm1,
    }
    facets: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        values = []
        for value, count in hits.facets.get(name, {}).items():
            if name == "crisis":
                if value not in crises:
                    continue
                value, label = crises[value].slug, crises[value].name
            elif name == "type":
                label = str(_TYPE_LABELS[value]) if value in _TYPE_LABELS else value
            elif name == "sector":
                label = _(SECTORS[value]) if value in SECTORS else value
            elif name == "status":
                label = _(LABELS["status"][value]).capitalize() if value in STATUSES else value
            else:
                label = hits.adm1_names.get(value) or value
            values.append(FacetValue(value, label, count, value in selected[name]))
        values.sort(key=lambda item: (-item.count, item.label))
        facets[name] = values
    return facets


def map_links(search: SearchRequest, facets: dict[str, list[FacetValue]]) -> list[tuple[str, str, str]]:
    """ "Show on map" for each crisis with results: the crisis map with the same query and filters."""
    args: dict[str, Any] = {"q": search.q} if search.q else {}
    for name, value in search.filter_args().items():
        if name not in ("crisis", "type"):
            args[name] = ",".join(value) if isinstance(value, list) else value
    if search.adm1:
        args["adm"] = search.adm1[0]
        args.pop("adm1", None)
    query = ("?" + urlencode(args)) if args else ""
    links = []
    for value in facets.get("crisis", []):
        base = _url("maps.crisis_map", f"{request.script_root}/c/{value.value}/map", crisis_slug=value.value)
        links.append((value.value, value.label, base + query))
    return links


def search(search_request: SearchRequest, viewer) -> SearchPage:
    """Run a search for `viewer`. Raises SearchUnavailable when the index cannot be read."""
    backend = backend_for()
    filters = make_filters(search_request, viewer)
    notes = []
    if filters.min_score is not None and not scores_available():
        filters.min_score = None
        notes.append(_("min_score was ignored: no plugin gives reports a score (enable the validation plugin)."))
    if search_request.parsed.ignored:
        notes.append(
            _("Common words left out: %(words)s.", words=", ".join(dict.fromkeys(search_request.parsed.ignored)))
        )
    try:
        hits = backend.search(search_request.parsed, filters, search_request.offset, search_request.limit)
        suggestion = suggest(backend, search_request, filters, hits)
    except SearchUnavailable as error:
        log_unavailable(error)
        raise
    facets = _label_facets(hits, search_request)
    return SearchPage(
        request=search_request,
        total=hits.total,
        results=load_results(hits.hits, search_request.parsed, viewer),
        facets=facets,
        suggestion=suggestion,
        notes=notes,
        map_links=map_links(search_request, facets),
        backend=backend.name,
    )

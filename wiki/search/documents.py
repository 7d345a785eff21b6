"""What the search index holds about a page, a report or a layer: built here from the database,
which stays the source of truth, and given to whichever backend indexes it.

Deliberately absent: anything about a report's source (name, contact, organisation). Search
never indexes what only some viewers may see, so no query can find a report by it.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import plugins
from ..database import chunked
from ..extensions import db
from ..models import Layer, Page, Report
from ..visibility import is_withdrawn, stored_public_position
from .analysis import detect_language


def epoch(moment: datetime | None) -> float:
    """Seconds since 1970 (NaN for no date); naive datetimes are UTC, as the database stores them."""
    if moment is None:
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|li|ul|ol|h[1-6]|tr|td|th|table|br|blockquote|pre|dd|dt)\b[^>]*>", re.I)
_SPACE = re.compile(r"\s+")


@dataclass
class IndexDocument:
    kind: str  # page | report | layer
    object_id: int
    crisis_id: int
    title: str
    body: str
    language: str
    published: bool = True
    sector: str | None = None
    status: str | None = None
    adm1_pcode: str | None = None
    adm1_name: str | None = None
    lon: float | None = None  # for reports the public point too: the index never holds a sensitive report's exact one
    lat: float | None = None
    public_lon: float | None = None
    public_lat: float | None = None
    date: datetime | None = None
    score: float | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.object_id}"


def html_to_text(markup: str) -> str:
    """The words of rendered (already sanitised) page HTML."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", _BLOCK.sub("\n", markup or "")))).strip()


def _language(title: str, body: str) -> str:
    return detect_language(f"{title} {body[:4000]}")


def page_document(page: Page) -> IndexDocument | None:
    """None when the page is not searchable (deleted, or without a revision)."""
    revision = page.current_revision
    if page.is_deleted or revision is None:
        return None
    body = html_to_text(revision.html)
    if revision.categories:
        body += "\n" + " ".join(revision.category_list)
    return IndexDocument(
        kind="page",
        object_id=page.id,
        crisis_id=page.crisis_id,
        title=page.title,
        body=body,
        language=_language(page.title, body),
        date=page.updated_at,
        updated_at=page.updated_at,
    )


def report_text(report: Report) -> str:
    """The searchable body of a report: what it says and where; never who sent it."""
    parts = [report.description, report.adm1_name]
    if not report.sensitive:  # a sensitive report as the public sees it: place name and district would narrow the cell
        parts += [report.place_name, report.adm2_name]
    return "\n".join(part for part in parts if part)


def report_document(report: Report, extras: list[dict] | None = None) -> IndexDocument | None:
    """None for a withdrawn report: the index never holds one. A sensitive report is indexed at
    its public grid cell only (for everyone, its exact point is never in the index). `extras`:
    the plugins' bulk fields for it (report_search_fields_many), read here when not given."""
    if is_withdrawn(report):
        return None
    if extras is None:
        extras = _bulk_fields([report]).get(report.id, [])
    body = report_text(report)
    public_lon, public_lat = stored_public_position(report)
    document = IndexDocument(
        kind="report",
        object_id=report.id,
        crisis_id=report.crisis_id,
        title=report.title,
        body=body,
        language=_language(report.title, body),
        published=bool(report.published),
        sector=report.sector,
        status=report.status,
        adm1_pcode=report.adm1_pcode,
        adm1_name=report.adm1_name,
        lon=public_lon,
        lat=public_lat,
        public_lon=public_lon,
        public_lat=public_lat,
        date=report.occurred_at or report.received_at,
        updated_at=report.updated_at,
    )
    for extra in [*extras, *plugins.call("report_search_fields", report=report)]:
        if not isinstance(extra, dict):
            continue
        if isinstance(extra.get("score"), (int, float)) and not isinstance(extra.get("score"), bool):
            document.score = float(extra["score"])
        if isinstance(extra.get("text"), str) and extra["text"]:
            document.body += "\n" + extra["text"]
    return document


def _bulk_fields(reports: list[Report]) -> dict[int, list[dict]]:
    """The plugins' fields of these reports (report_search_fields_many), read in bulk."""
    found: dict[int, list[dict]] = {}
    searchable = [report for report in reports if not is_withdrawn(report)]
    if searchable:
        for answer in plugins.call("report_search_fields_many", reports=searchable):
            for report_id, extra in (answer or {}).items():
                found.setdefault(report_id, []).append(extra)
    return found


def report_documents(reports: list[Report]) -> dict[int, IndexDocument | None]:
    """report_document of each, the plugins' fields read for all of them at once."""
    extras = _bulk_fields(reports)
    return {report.id: report_document(report, extras.get(report.id, [])) for report in reports}


def layer_document(layer: Layer) -> IndexDocument | None:
    revision = layer.current_revision
    if layer.is_deleted or revision is None:
        return None
    body = "\n".join(part for part in (revision.description, revision.source) if part)
    lon = lat = None
    if revision.bbox is not None:
        west, south, east, north = revision.bbox
        lon, lat = (west + east) / 2, (south + north) / 2
    return IndexDocument(
        kind="layer",
        object_id=layer.id,
        crisis_id=layer.crisis_id,
        title=layer.title,
        body=body,
        language=_language(layer.title, body),
        lon=lon,
        lat=lat,
        public_lon=lon,
        public_lat=lat,
        date=layer.updated_at,
        updated_at=layer.updated_at,
    )


def _page_query():
    return select(Page).options(selectinload(Page.current_revision))


def _report_query():
    return select(Report)


def _layer_query():
    return select(Layer).options(selectinload(Layer.current_revision))


_MODELS = {"page": Page, "report": Report, "layer": Layer}
_QUERIES = {"page": _page_query, "report": _report_query, "layer": _layer_query}
_BUILDERS = {"page": page_document, "report": report_document, "layer": layer_document}


def load_documents(kind: str, ids: list[int]) -> dict[int, IndexDocument | None]:
    """The current documents for `ids`; None for an object that is gone or not searchable."""
    model = _MODELS[kind]
    found: dict[int, IndexDocument | None] = dict.fromkeys(ids)
    for chunk in chunked(ids):
        found.update(_build(kind, db.session.scalars(_QUERIES[kind]().where(model.id.in_(chunk))).all()))
    return found


def _build(kind: str, objects: list) -> dict[int, IndexDocument | None]:
    if kind == "report":
        return report_documents(objects)
    return {obj.id: _BUILDERS[kind](obj) for obj in objects}


def count_objects(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(_MODELS[kind])) or 0


def iter_documents(kind: str, batch: int = 1000) -> Iterator[tuple[int, IndexDocument | None]]:
    """Every object of `kind` as (id, document or None), in id order, a batch at a time so that
    a rebuild of a large database neither holds everything in memory nor one long transaction."""
    model = _MODELS[kind]
    last = 0
    while True:
        rows = db.session.scalars(_QUERIES[kind]().where(model.id > last).order_by(model.id).limit(batch)).all()
        if not rows:
            return
        yield from _build(kind, rows).items()
        last = rows[-1].id
        db.session.expunge_all()
        db.session.commit()


def changed_since(kind: str, since: datetime) -> list[tuple[int, datetime | None]]:
    """(id, updated_at) of the objects of `kind` changed (or deleted) at or after `since`."""
    model = _MODELS[kind]
    condition = model.updated_at >= since
    if hasattr(model, "deleted_at"):
        condition = or_(condition, model.deleted_at >= since)
    return [(row.id, row.updated_at) for row in db.session.execute(select(model.id, model.updated_at).where(condition))]

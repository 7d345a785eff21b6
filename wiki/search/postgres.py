"""The search backend for several app servers: PostgreSQL full-text search in the shared database.

Each document's text becomes one `tsvector` (title weight A, body weight B) made with the
text-search configuration of its language (english, french, spanish, or simple for the rest)
after `unaccent`. A query word becomes the OR of its `tsquery` in every configuration, the
same way the Whoosh backend analyses a query in every language, so both find the same
documents; title: and body: restrict a word to weight A or B with `ts_filter`. Ranking is
`ts_rank` (title weighted above body); facet counts come from one GROUPING SETS query; "did
you mean" from a trigram index (pg_trgm) over the words of published documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from flask import Flask
from sqlalchemy import and_, cast, delete, func, literal, not_, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import REGCONFIG, insert

from ..database import chunked, database_unreachable, write_transaction
from ..extensions import db
from .analysis import PG_CONFIGS, words
from .backend import FACETS, PG_WRITER_LOCK, SUGGEST_BELOW, Filters, Hits, SearchUnavailable
from .documents import IndexDocument
from .models import SearchDocument as Doc
from .models import SearchTerm
from .query import ParsedQuery, Words

CONFIGS = tuple(dict.fromkeys(PG_CONFIGS.values()))  # english, french, spanish, simple
_WEIGHT = {"title": "{a}", "body": "{b}"}
_UPSERT = text("""
INSERT INTO search_documents (kind, object_id, crisis_id, language, sector, status, adm1_pcode, adm1_name, published,
    lon, lat, public_lon, public_lat, date, score, source_updated_at, tsv)
VALUES (:kind, :object_id, :crisis_id, :language, :sector, :status, :adm1_pcode, :adm1_name, :published,
    :lon, :lat, :public_lon, :public_lat, :date, :score, :source_updated_at,
    setweight(to_tsvector(CAST(:config AS regconfig), unaccent(:title)), 'A')
    || setweight(to_tsvector(CAST(:config AS regconfig), unaccent(:body)), 'B'))
ON CONFLICT (kind, object_id) DO UPDATE SET crisis_id = EXCLUDED.crisis_id, language = EXCLUDED.language,
    sector = EXCLUDED.sector, status = EXCLUDED.status, adm1_pcode = EXCLUDED.adm1_pcode,
    adm1_name = EXCLUDED.adm1_name,
    published = EXCLUDED.published, lon = EXCLUDED.lon, lat = EXCLUDED.lat, public_lon = EXCLUDED.public_lon,
    public_lat = EXCLUDED.public_lat, date = EXCLUDED.date, score = EXCLUDED.score,
    source_updated_at = EXCLUDED.source_updated_at, tsv = EXCLUDED.tsv
""")
_FACET_COLUMNS = {
    "type": Doc.kind,
    "crisis": Doc.crisis_id,
    "sector": Doc.sector,
    "status": Doc.status,
    "adm1": Doc.adm1_pcode,
}


def _row(document: IndexDocument) -> dict:
    return {
        "kind": document.kind,
        "object_id": document.object_id,
        "crisis_id": document.crisis_id,
        "language": document.language,
        "sector": document.sector,
        "status": document.status,
        "adm1_pcode": document.adm1_pcode,
        "adm1_name": document.adm1_name,
        "published": document.published,
        "lon": document.lon,
        "lat": document.lat,
        "public_lon": document.public_lon,
        "public_lat": document.public_lat,
        "date": document.date,
        "score": document.score,
        "source_updated_at": document.updated_at,
        "config": PG_CONFIGS.get(document.language, "simple"),
        "title": document.title or "",
        "body": document.body or "",
    }


def _vocabulary(documents: Iterable[IndexDocument]) -> Counter:
    counts: Counter = Counter()
    for document in documents:
        if document.published:
            counts.update({word for word in words(f"{document.title}\n{document.body}") if len(word) <= 100})
    return counts


def _tsquery(item: Words):
    """The OR of the item's tsquery in every configuration."""
    function = func.phraseto_tsquery if item.is_phrase else func.plainto_tsquery
    parts = [function(cast(literal(config), REGCONFIG), func.unaccent(literal(item.text))) for config in CONFIGS]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("||")(part)
    return combined


def _matches(item: Words):
    query = _tsquery(item)
    condition = Doc.tsv.op("@@", is_comparison=True)(query)
    if item.field in _WEIGHT:
        weights = text(f"'{_WEIGHT[item.field]}'::\"char\"[]")
        condition = and_(condition, func.ts_filter(Doc.tsv, weights).op("@@", is_comparison=True)(query))
    return condition, query


def _filter_conditions(filters: Filters) -> list:
    conditions = []
    for facet, allowed in (
        ("type", filters.kinds),
        ("crisis", filters.crisis_ids),
        ("sector", filters.sectors),
        ("status", filters.statuses),
        ("adm1", filters.adm1),
    ):
        column = _FACET_COLUMNS[facet]
        if allowed is not None:
            conditions.append(column.in_(sorted(allowed)))
        if filters.excluded.get(facet):
            conditions.append(or_(column.is_(None), column.not_in(sorted(filters.excluded[facet]))))
    if filters.published_only:
        conditions.append(Doc.published.is_(True))
    if filters.bbox:
        west, south, east, north = filters.bbox
        lon, lat = Doc.public_lon, Doc.public_lat
        lon_condition = lon.between(west, east) if west <= east else or_(lon >= west, lon <= east)
        conditions.append(and_(lat.between(south, north), lon_condition))
    if filters.since:
        conditions.append(Doc.date >= filters.since)
    if filters.until:
        conditions.append(Doc.date <= filters.until)
    if filters.min_score is not None:
        conditions.append(Doc.score >= filters.min_score)
    return conditions


def _text_conditions(parsed: ParsedQuery) -> tuple[list, list]:
    conditions, rank_queries = [], []
    for group in parsed.required:
        alternatives = []
        for item in group:
            condition, query = _matches(item)
            alternatives.append(condition)
            rank_queries.append(query)
        conditions.append(or_(*alternatives))
    for item in parsed.excluded:
        conditions.append(not_(_matches(item)[0]))
    return conditions, rank_queries


class PostgresBackend:
    name = "postgresql"
    transactional = True  # apply() writes in the caller's transaction

    def __init__(self, app: Flask) -> None:
        self.app = app  # checked in wiki.search.hooks.init_search: the database is PostgreSQL

    def exists(self) -> bool:
        """Whether the documents were ever built: some are there, or there is nothing to index."""

        def run():
            found = db.session.scalar(select(select(Doc.kind).exists())) or not any(
                db.session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {table})"))
                for table in ("pages", "reports", "layers")
            )
            db.session.commit()
            return bool(found)

        return self._guard(run)

    def check(self) -> None:
        self._guard(lambda: db.session.execute(select(func.count()).select_from(Doc).limit(1)).scalar())

    def version(self) -> None:
        return None  # documents change in the database's own transactions: nothing to remember answers by

    def _guard(self, action: Callable):
        try:
            return action()
        except SearchUnavailable:
            raise
        except Exception as error:
            db.session.rollback()
            if database_unreachable(error):  # PostgreSQL restarting: the app's 503 saying so, with Retry-After
                raise
            raise SearchUnavailable(
                f"PostgreSQL search failed ({type(error).__name__}: {str(error).splitlines()[0]}). Check that the "
                "unaccent and pg_trgm extensions exist (`crisiswiki init-db`), then run `crisiswiki reindex`."
            ) from error

    # Searching
    def _where(self, parsed: ParsedQuery, filters: Filters):
        conditions, rank_queries = _text_conditions(parsed)
        return and_(True, *_filter_conditions(filters), *conditions), rank_queries

    def search(self, parsed: ParsedQuery, filters: Filters, offset: int, limit: int) -> Hits:
        return self._guard(lambda: self._search(parsed, filters, offset, limit))

    def _search(self, parsed: ParsedQuery, filters: Filters, offset: int, limit: int) -> Hits:
        where, rank_queries = self._where(parsed, filters)
        if rank_queries:
            combined = rank_queries[0]
            for query in rank_queries[1:]:
                combined = combined.op("||")(query)
            rank = func.ts_rank(Doc.tsv, combined, 1)
        else:
            rank = literal(0.0)
        rows = db.session.execute(
            select(Doc.kind, Doc.object_id, rank.label("rank"), Doc.language)
            .where(where)
            .order_by(rank.desc(), Doc.date.desc().nulls_last(), Doc.object_id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        facets, total, adm1_names = self._facets(where)
        unmatched = []
        if total < SUGGEST_BELOW:  # words the viewer could find nowhere (see wiki.search.whoosh_query)
            visible = Doc.published.is_(True) if filters.published_only else True
            for item in parsed.positive_words():
                exists = select(Doc.kind).where(_matches(item)[0], visible).exists()
                if not item.is_phrase and not db.session.scalar(select(exists)):
                    unmatched.append(item)
        db.session.commit()
        return Hits(
            total=total,
            hits=[(row.kind, row.object_id, float(row.rank), row.language) for row in rows],
            facets=facets,
            unmatched=unmatched,
            adm1_names=adm1_names,
        )

    def _facets(self, where) -> tuple[dict[str, dict[str, int]], int, dict[str, str]]:
        columns = list(_FACET_COLUMNS.values())
        rows = db.session.execute(
            select(*columns, func.max(Doc.adm1_name), func.count(), *(func.grouping(column) for column in columns))
            .where(where)
            .group_by(text("GROUPING SETS ((kind), (crisis_id), (sector), (status), (adm1_pcode), ())"))
        ).all()
        facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        total, adm1_names = 0, {}
        for row in rows:
            values, adm1_name, count, grouped = row[:5], row[5], row[6], row[7:]
            if all(grouped):
                total = count
                continue
            position = list(grouped).index(0)
            value = values[position]
            if value is None:
                continue
            facets[FACETS[position]][str(value)] = count
            if FACETS[position] == "adm1" and adm1_name:
                adm1_names[str(value)] = adm1_name
        return facets, total, adm1_names

    def count(self, parsed: ParsedQuery, filters: Filters) -> int:
        def run():
            where, _ranks = self._where(parsed, filters)
            found = db.session.scalar(select(func.count()).select_from(Doc).where(where)) or 0
            db.session.commit()
            return found

        return self._guard(run)

    def corrections(self, word: str) -> list[tuple[str, int]]:
        def run():
            rows = db.session.execute(
                select(SearchTerm.term, SearchTerm.doc_count)
                .where(SearchTerm.term.op("%")(word))
                .order_by(func.similarity(SearchTerm.term, word).desc())
                .limit(30)
            ).all()
            db.session.commit()
            return [(row.term, row.doc_count) for row in rows]

        return self._guard(run)

    # Writing
    def apply(self, documents: list[IndexDocument], removed: list[str], count_terms: bool = True) -> None:
        """Write in the caller's transaction (the drain's, which also marks the queue rows)."""
        if removed:
            pairs = [(kind, int(object_id)) for kind, object_id in (key.split(":", 1) for key in removed)]
            db.session.execute(delete(Doc).where(tuple_(Doc.kind, Doc.object_id).in_(pairs)))
        if documents:
            ordered = sorted(documents, key=lambda document: (document.kind, document.object_id))
            db.session.execute(_UPSERT, [_row(document) for document in ordered])
            if count_terms:
                self._add_terms(_vocabulary(ordered))

    def _add_terms(self, counts: Counter) -> None:
        if not counts:
            return
        rows = [{"term": term, "doc_count": count} for term, count in sorted(counts.items())]
        for chunk in chunked(rows, 2000):
            statement = insert(SearchTerm).values(chunk)
            db.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[SearchTerm.term],
                    set_={"doc_count": SearchTerm.doc_count + statement.excluded.doc_count},
                )
            )

    def rebuild(
        self, batches: Iterator[tuple[list[IndexDocument], list[str]]], progress: Callable[[int], None]
    ) -> None:
        """Rewrite every document in place, a batch per transaction: searches keep answering
        from the documents already there while this runs. Then drop what no longer exists and
        recount the vocabulary."""
        vocabulary: Counter = Counter()
        for documents, removed in batches:
            with write_transaction():
                db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITER_LOCK})
                self.apply(documents, removed, count_terms=False)
            vocabulary.update(_vocabulary(documents))
            progress(len(documents) + len(removed))
        with write_transaction():
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITER_LOCK})
            db.session.execute(
                text(
                    "DELETE FROM search_documents d WHERE (d.kind = 'report' AND NOT EXISTS "
                    "(SELECT 1 FROM reports r WHERE r.id = d.object_id)) OR (d.kind = 'page' AND NOT EXISTS "
                    "(SELECT 1 FROM pages p WHERE p.id = d.object_id AND "
                    "p.deleted_at IS NULL AND p.current_revision_id IS NOT NULL))"
                    " OR (d.kind = 'layer' AND NOT EXISTS (SELECT 1 FROM layers l "
                    "WHERE l.id = d.object_id AND l.deleted_at IS NULL))"
                )
            )
            db.session.execute(delete(SearchTerm))
            self._add_terms(vocabulary)

    def indexed_scores(self, keys: Iterable[str]) -> dict[str, float | None]:
        """The score each document was indexed with, for the keys that are indexed (read in the
        caller's transaction: the drain's)."""
        return _indexed(keys, Doc.score)

    def indexed_versions(self, keys: Iterable[str]) -> dict[str, float]:
        found = {
            key: updated.timestamp() if updated else float("nan")
            for key, updated in _indexed(keys, Doc.source_updated_at).items()
        }
        db.session.commit()
        return found


def _indexed(keys: Iterable[str], column) -> dict:
    """{key: `column` of its document} for the keys that are indexed."""
    pairs = [(kind, int(object_id)) for kind, object_id in (key.split(":", 1) for key in keys)]
    found = {}
    for chunk in chunked(pairs):
        rows = db.session.execute(
            select(Doc.kind, Doc.object_id, column).where(tuple_(Doc.kind, Doc.object_id).in_(chunk))
        )
        for kind, object_id, value in rows:
            found[f"{kind}:{object_id}"] = value
    return found

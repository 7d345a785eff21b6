"""The Whoosh backend's own matters: its files (missing, damaged, built by init-db) and its
scores. Whoosh is the default backend, so these run on both databases without a parameter."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from tests.search.test_search import find, page, submit
from wiki import create_app


@pytest.fixture
def coordinator(make_user):
    return make_user("coordinator")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def errors():
    handler = Collect()
    logger = logging.getLogger("wiki.search")
    logger.addHandler(handler)
    for name in ("wiki.search", "wiki.search.service"):  # Alembic's fileConfig disables existing loggers
        logging.getLogger(name).disabled = False
    yield handler.messages
    logger.removeHandler(handler)


def test_a_missing_index_leaves_pages_and_reports_working(app, client, runner, index, coordinator, errors):
    page(app, coordinator, "Shelter", "Tents at the stadium")
    index()
    shutil.rmtree(Path(app.instance_path) / "search-index")
    check_search_is_down_and_the_rest_works(app, client, coordinator, errors)
    assert runner.invoke(args=["reindex", "--quiet"]).exit_code == 0
    assert index() == 0  # what was queued while the index was missing is in the rebuilt index
    assert find(client, q="stadium")["total"] == 1
    assert find(client, q="generator")["total"] == 1


@pytest.mark.parametrize("damage", ["toc", "segments"])
def test_a_damaged_index_leaves_pages_and_reports_working(app, client, runner, index, coordinator, errors, damage):
    page(app, coordinator, "Shelter", "Tents at the stadium")
    index()
    root = Path(app.instance_path) / "search-index"
    generation = root / (root / "CURRENT").read_text().strip()
    for path in generation.iterdir():
        if (damage == "toc") == path.name.endswith(".toc") and path.is_file():
            path.write_bytes(b"\x00garbage" * 64)
    with app.app_context():  # a fresh process: nothing cached from before the damage
        app.extensions.pop("crisiswiki_search", None)
    check_search_is_down_and_the_rest_works(app, client, coordinator, errors)
    assert runner.invoke(args=["reindex", "--quiet"]).exit_code == 0
    app.extensions.pop("crisiswiki_search", None)
    index()
    assert find(client, q="stadium")["total"] == 1


def check_search_is_down_and_the_rest_works(app, client, coordinator, errors) -> None:
    api = client.get("/api/v1/search", query_string={"q": "stadium"})
    assert api.status_code == 503
    assert (
        api.get_json()["error"]["code"] == "search_unavailable"
        and "crisiswiki reindex" in api.get_json()["error"]["message"]
    )
    html = client.get("/search", query_string={"q": "stadium"})
    assert html.status_code == 503 and "crisiswiki reindex" in html.get_data(as_text=True)
    assert any("crisiswiki reindex" in message for message in errors)
    assert client.get("/c/quake/wiki/Shelter").status_code == 200
    report_id = submit(app, coordinator, "Generator", "The generator at the clinic is broken")
    assert client.get(f"/reports/{report_id}").status_code == 200
    assert client.get("/api/v1/reports").status_code == 200


def test_init_db_builds_the_index_when_there_is_none(app, runner, client):
    assert not (Path(app.instance_path) / "search-index" / "CURRENT").exists()
    result = runner.invoke(args=["init-db", "--no-demo"])
    assert "Built the search index." in result.output
    assert (Path(app.instance_path) / "search-index" / "CURRENT").exists()
    assert "Built the search index." not in runner.invoke(args=["init-db", "--no-demo"]).output
    assert client.get("/api/v1/search", query_string={"q": "anything"}).status_code == 200


def test_the_postgresql_backend_needs_postgresql(tmp_path):
    with pytest.raises(RuntimeError, match="needs a PostgreSQL database"):
        create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
                "SECRET_KEY": "x",
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "LOAD_ENTRYPOINT_PLUGINS": False,
                "SEARCH_BACKEND": "postgresql",
            }
        )


def segmented_index(ix, texts: list[tuple[str, str]], deleted: str):
    """English reports with these (title, body) in one segment each, one of them deleted."""
    from wiki.search.documents import IndexDocument
    from wiki.search.whoosh_index import document_fields

    for number, (title, body) in enumerate(texts):
        writer = ix.writer()
        writer.add_document(**document_fields(IndexDocument("report", number, 1, title, body, "en")))
        writer.commit()
    writer = ix.writer()
    writer.delete_by_term("key", deleted)
    writer.commit()
    return ix.reader()


def test_whoosh_scores_are_whooshs_own_bm25f(tmp_path):
    """The NumPy evaluator computes exactly what Whoosh's BM25F computes, title boost included."""
    from whoosh import index as whoosh_index
    from whoosh.query import Or, Term
    from whoosh.scoring import BM25F

    from wiki.search.backend import Filters
    from wiki.search.query import parse_query
    from wiki.search.whoosh_index import make_schema
    from wiki.search.whoosh_query import ColumnCache, Snapshot, evaluate

    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    texts = [
        ("Water", "water water and more water for the camp"),
        ("Camp", "the camp needs water"),
        ("Food", "rice and beans"),
        ("Water and food", "both water and food, long text " + "word " * 40),
        ("Nothing", "x"),
    ]
    reader = segmented_index(ix, texts * 3, deleted="report:1")
    total, ranked, _facets, _unmatched = evaluate(
        Snapshot(reader, ColumnCache(), 3.0), parse_query("water"), Filters(published_only=False), 0, 100
    )
    searcher = ix.searcher(weighting=BM25F())
    theirs = searcher.search(Or([Term("title_en", "water", boost=3.0), Term("body_en", "water")]), limit=None)
    assert total == len(theirs) == 8
    assert {hit.docnum: pytest.approx(hit.score, rel=1e-5) for hit in theirs} == dict(ranked)


def test_whoosh_phrases_match_what_whooshs_own_phrase_query_matches(tmp_path):
    """The array matcher of phrases finds the documents Whoosh's Phrase query finds: words in
    order and next to each other, repeated words, several segments, a deleted document."""
    from whoosh import index as whoosh_index
    from whoosh.query import Or, Phrase

    from wiki.search.analysis import analyse
    from wiki.search.backend import Filters
    from wiki.search.query import parse_query
    from wiki.search.whoosh_index import make_schema
    from wiki.search.whoosh_query import ColumnCache, Snapshot, evaluate

    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    texts = [
        ("Water supply", "the water supply of the camp is cut"),
        ("Supply of water", "supply water water supply"),
        ("Water", "water water water"),
        ("Supply", "no supply, then water"),
        ("Camp water", "camp water supply water supply camp"),
        ("Nothing", "x"),
    ]
    reader = segmented_index(ix, texts * 3, deleted="report:4")
    searcher = ix.searcher()
    for phrase in ('"water supply"', '"water water"', '"supply water water"', '"camp water supply"'):
        words = analyse(phrase.strip('"'), "en")
        _total, ranked, _facets, _unmatched = evaluate(
            Snapshot(reader, ColumnCache(), 3.0), parse_query(phrase), Filters(published_only=False), 0, 100
        )
        theirs = searcher.search(Or([Phrase("title_en", words), Phrase("body_en", words)]), limit=None)
        assert {docnum for docnum, _score in ranked} == {hit.docnum for hit in theirs}, phrase
        assert theirs, phrase

"""How the index follows the database: the queue, the writer, rebuilds, catch-up, and what
happens when the index is missing or damaged. Both search backends, both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from tests.search.test_search import find, page, submit, titles
from wiki import create_app
from wiki.extensions import db
from wiki.hooks import hookimpl


@pytest.fixture
def app_config(app_config: dict, search_backend: str) -> dict:
    return {**app_config, "SEARCH_BACKEND": search_backend}


@pytest.fixture
def coordinator(make_user):
    return make_user("coordinator")


def queue_counts(app: Flask) -> tuple[int, int]:
    """(pending, processed) rows of the search queue."""
    from wiki.search.models import SearchQueueEntry

    with app.app_context():
        pending = db.session.scalar(select(func.count()).where(SearchQueueEntry.processed_at.is_(None)))
        done = db.session.scalar(select(func.count()).where(SearchQueueEntry.processed_at.is_not(None)))
        return pending, done


def test_hooks_only_queue_and_the_writer_marks_rows_done(app, client, index, coordinator):
    submit(app, coordinator, "Fuel shortage", "Generators stop tonight")
    page(app, coordinator, "Fuel", "Where to find fuel")
    assert queue_counts(app) == (2, 0)
    assert index() == 2
    assert queue_counts(app) == (0, 2)
    assert index() == 0
    assert find(client, q="fuel")["total"] == 2


def test_reindex_rebuilds_everything_from_the_database(app, client, runner, index, coordinator):
    from wiki.search.models import SearchQueueEntry

    submit(app, coordinator, "Measles", "Measles cases in the camp")
    page(app, coordinator, "Vaccination", "Measles vaccination starts Monday")
    with app.app_context():  # as if every hook had been lost
        db.session.execute(SearchQueueEntry.__table__.delete())
        db.session.commit()
    assert find(client, q="measles")["total"] == 0
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Search index rebuilt" in result.output
    assert find(client, q="measles")["total"] == 2
    assert runner.invoke(args=["reindex", "--if-missing"]).output.startswith("The search index exists")


def test_a_rebuild_settles_what_was_waiting_in_the_queue(app, client, runner, index, coordinator):
    """A rebuild reads the database as it is, so the rows waiting before it are done: the writer
    must not index them all again afterwards (after a bulk rescore, that was every report)."""
    for number in range(3):
        submit(app, coordinator, f"Shelter report {number}", "Tarpaulins needed")
    assert queue_counts(app) == (3, 0)
    assert runner.invoke(args=["reindex"]).exit_code == 0
    assert queue_counts(app) == (0, 3)
    assert index() == 0
    assert find(client, q="tarpaulins")["total"] == 3


def test_search_works_during_a_rebuild_and_changes_made_meanwhile_are_kept(
    app, client, index, coordinator, search_backend
):
    from wiki.models import Page, User
    from wiki.pages.revisions import save_revision
    from wiki.search.indexer import flush, rebuild

    page_id = page(app, coordinator, "Water trucking", "Trucks deliver water to the stadium camp")
    for number in range(30):
        submit(app, coordinator, f"Camp report {number}", "Latrines needed at the stadium")
    index()
    seen = []

    def during(count: int) -> None:
        seen.append(count)
        if len(seen) != 2:  # pages are read first, then reports: act while reports are being read
            return
        found = find(client, q="trucks")
        assert titles(found) == ["Water trucking"]  # the old index still answers
        if search_backend == "whoosh":
            assert len(list((Path(app.instance_path) / "search-index").glob("gen-*"))) == 2
        with app.app_context():
            current = db.session.get(Page, page_id)
            save_revision(
                current,
                "Trucks deliver water to the airport camp",
                current.current_revision_id,
                db.session.get(User, coordinator.id),
            )
            flush()  # the writer gives the edit to the old index

    with app.app_context():
        rebuild(progress=during, batch=10)
        assert len(seen) >= 3
        flush()  # the edit, replayed into the new index
    assert titles(find(client, q="airport")) == ["Water trucking"]
    assert find(client, q="latrines")["total"] == 30
    if search_backend == "whoosh":
        assert len(list((Path(app.instance_path) / "search-index").glob("gen-*"))) == 2  # the new and the previous


def test_catch_up_finds_changes_whose_hooks_never_ran(app, client, index, coordinator):
    from wiki.models import Report
    from wiki.search.indexer import catch_up

    report_id = submit(app, coordinator, "Bridge", "The bridge is open")
    index()
    with app.app_context():  # changed behind the hooks' back (a worker killed after the commit)
        db.session.execute(
            update(Report).where(Report.id == report_id).values(title="Bridge collapsed", updated_at=datetime.now(UTC))
        )
        db.session.commit()
    assert find(client, q="collapsed")["total"] == 0
    with app.app_context():
        assert catch_up(datetime.now(UTC) - timedelta(minutes=5)) == 1
        assert catch_up(datetime.now(UTC) - timedelta(minutes=5)) == 1  # queued again until applied
    index()
    with app.app_context():
        assert catch_up(datetime.now(UTC) - timedelta(minutes=5)) == 0
    assert titles(find(client, q="collapsed")) == ["Bridge collapsed"]


def test_processed_queue_rows_are_pruned_after_the_retention(app, index, coordinator):
    from wiki.search.indexer import housekeeping
    from wiki.search.models import SearchQueueEntry

    submit(app, coordinator, "Old", "old")
    index()
    with app.app_context():
        db.session.execute(update(SearchQueueEntry).values(created_at=datetime.now(UTC) - timedelta(days=3)))
        db.session.commit()
    submit(app, coordinator, "New", "new")
    with app.app_context():
        housekeeping(app)
    pending, done = queue_counts(app)
    assert done == 0 and pending >= 1  # the old processed row went; the pending one stays


def test_the_background_writer_indexes_without_being_asked(app_config, crisis, make_user, token_for):
    from wiki.search.indexer import wait_until_indexed

    app = create_app({**app_config, "WORKER_IN_SERVERS": "true"})
    client = app.test_client()
    with app.app_context():
        from wiki.search.indexer import build_if_missing

        build_if_missing()
    token = token_for(make_user("volunteer"))
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-72.5, 18.5]},
        "properties": {"crisis": "quake", "title": "Looting reported", "description": "Shops looted downtown"},
    }
    response = client.post("/api/v1/reports", json=feature, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    try:
        with app.app_context():
            assert wait_until_indexed(timeout=60)
        assert find(client, q="looted")["total"] == 1
    finally:
        app.extensions["crisiswiki_worker"].stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_init_db_builds_an_index_that_was_never_built(app, client, runner, crisis, coordinator):
    from wiki.search.models import SearchQueueEntry

    submit(app, coordinator, "Generator", "The generator at the water plant is out of fuel")
    with app.app_context():
        db.session.execute(SearchQueueEntry.__table__.delete())
        db.session.commit()
    result = runner.invoke(args=["init-db", "--no-demo"])
    assert "Built the search index." in result.output, result.output
    assert titles(find(client, q="generator")) == ["Generator"]
    assert "Built the search index." not in runner.invoke(args=["init-db", "--no-demo"]).output


class BulkScores:
    """A stand-in for the validation plugin: scores read in bulk, changed by the test."""

    def __init__(self) -> None:
        self.scores: dict[int, float] = {}

    @hookimpl
    def report_search_scores(self):
        return True

    @hookimpl
    def report_search_fields_many(self, reports):
        return {report.id: {"score": self.scores[report.id]} for report in reports if report.id in self.scores}


def test_a_score_only_change_reindexes_only_the_reports_whose_score_moved(app, client, index, coordinator, monkeypatch):
    from wiki.search import reindex_later
    from wiki.search.configured_backend import backend_for

    plugin = BulkScores()
    app.extensions["crisiswiki_plugins"].register(plugin, name="bulk-scores")
    same, moved = (submit(app, coordinator, f"Bridge down {n}", "The bridge is down") for n in (1, 2))
    plugin.scores.update({same: 0.8, moved: 0.3})
    index()
    assert titles(find(client, q="bridge", min_score="0.5")) == ["Bridge down 1"]

    with app.app_context():
        backend = type(backend_for())
    written: list[str] = []
    apply = backend.apply

    def recording_apply(self, documents, removed, *args, **kwargs):
        written.extend(document.key for document in documents)
        return apply(self, documents, removed, *args, **kwargs)

    monkeypatch.setattr(backend, "apply", recording_apply)
    plugin.scores[moved] = 0.9
    with app.test_request_context():
        reindex_later("report", [same, moved], op="score")
    index()
    assert written == [f"report:{moved}"]  # the other one's indexed score was still right
    assert sorted(titles(find(client, q="bridge", min_score="0.5"))) == ["Bridge down 1", "Bridge down 2"]
    assert queue_counts(app)[0] == 0  # both rows done


def test_a_new_report_is_indexed_before_a_backlog_of_score_changes(app, client, index, coordinator):
    """A grading queues a source's thousands of reports for their scores; a report that arrives
    meanwhile is taken first, not after them."""
    from wiki.search import queue
    from wiki.search.indexer import drain_batch

    earlier = [submit(app, coordinator, f"Road cut {n}", "The road is cut") for n in range(3)]
    index()
    with app.test_request_context():
        queue.enqueue("report", earlier, op="score")
    new = submit(app, coordinator, "Clinic flooded", "The clinic is flooded")  # queued after them
    with app.app_context():
        assert [(row.object_id, row.op) for row in queue.pending(1)] == [(new, "index")]
        assert [row.op for row in queue.pending(10)] == ["index", "score", "score", "score"]
        assert drain_batch(1) == 1
    assert titles(find(client, q="clinic")) == ["Clinic flooded"]  # found while the scores still wait
    assert queue_counts(app)[0] == 3
    index()
    assert queue_counts(app)[0] == 0

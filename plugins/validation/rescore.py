"""Recomputing every score in one batch: `crisiswiki rescore`.

Reads every report once, finds neighbours in memory (neighbours.nearest_all), and scores each report with the same functions the incremental updates use,
so a rescore gives the same numbers as the events that led to the current state.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import click
from flask.cli import with_appcontext
from sqlalchemy import delete, insert, select
from tqdm import tqdm

from wiki.database import write_transaction
from wiki.extensions import db
from wiki.models import Crisis, Report

from .config import Settings
from .evidence import ReportRecord
from .models import ReportScore, SourceReliability
from .neighbours import nearest_all
from .presentation import forget_listed_scores
from .records import COLUMNS, derived_from, latest_grades, record_from_row
from .scoring import score_report
from .source_states import compute_states, row_values
from .track_record import SourceState
from .updates import catch_up, refresh_stale, reindex, score_values, tracking_changes

CHUNK = 900


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def load_all(crisis_id: int | None) -> list[ReportRecord]:
    query = select(*COLUMNS).order_by(Report.id)
    if crisis_id is not None:
        query = query.where(Report.crisis_id == crisis_id)
    rows = db.session.execute(query).all()
    links = derived_from([row.id for row in rows]) if rows else {}
    return [record_from_row(row, links.get(row.id, frozenset())) for row in rows]


def rescore(crisis_id: int | None = None, progress: Callable[[Iterable], Iterable] | None = None) -> int:
    """Recompute the scores of every report (of one crisis, or all) and the states of their
    sources, in one write transaction. Returns the number of reports scored."""
    settings = Settings.current()
    with write_transaction():
        records = load_all(crisis_id)
        ids = [r.id for r in records]
        states: dict[int, SourceState] = compute_states({r.source_id for r in records}, settings)
        grades: dict = {}
        for chunk in _chunks(ids):
            grades.update(latest_grades(chunk))
        neighbours = nearest_all(records, records, settings)
        source_ids = sorted(states)
        for chunk in _chunks(source_ids):
            db.session.execute(delete(SourceReliability).where(SourceReliability.source_id.in_(chunk)))
        state_rows = [row_values(states[s], settings) for s in source_ids]
        for start in range(0, len(state_rows), 2000):
            db.session.execute(insert(SourceReliability), state_rows[start:start + 2000])
        if crisis_id is None:
            db.session.execute(delete(ReportScore))
        else:
            for chunk in _chunks(ids):
                db.session.execute(delete(ReportScore).where(ReportScore.report_id.in_(chunk)))
        batch: list[dict] = []
        iterator = progress(records) if progress else records
        for record in iterator:
            result = score_report(record, states[record.source_id], grades.get(record.id, []),
                                  neighbours[record.id], states, settings)
            batch.append({"report_id": record.id, **score_values(result, settings, record)})
            if len(batch) >= 2000:
                db.session.execute(insert(ReportScore), batch)
                batch = []
        if batch:
            db.session.execute(insert(ReportScore), batch)
    forget_listed_scores()
    reindex(ids)  # the search index keeps each report's score for its min_score filter
    return len(records)


@click.command("rescore")
@click.option("--crisis", "crisis_slug", help="Only this crisis (its short name).")
@click.option("--stale", is_flag=True, help="Only refresh the scores marked stale by bounded updates, and score "
                                            "reports left unscored.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@with_appcontext
def rescore_command(crisis_slug: str | None, stale: bool, quiet: bool) -> None:
    """Recompute the validation scores of every report (and every source's reliability)."""
    if stale:
        settings = Settings.current()
        total = 0
        with tracking_changes() as changed, write_transaction():
            while (done := refresh_stale(settings, 500) + catch_up(settings, math.inf)):
                total += done
        reindex(changed)
        click.echo(f"Refreshed {total} stale or missing scores.")
        return
    crisis_id = None
    if crisis_slug:
        crisis_id = db.session.scalar(select(Crisis.id).where(Crisis.slug == crisis_slug))
        if crisis_id is None:
            raise click.ClickException(f"There is no crisis {crisis_slug}.")

    def bar(records: list) -> Iterable:
        return tqdm(records, desc="Scoring reports", unit="report", disable=quiet)

    count = rescore(crisis_id, bar)
    click.echo(f"Rescored {count} reports.")

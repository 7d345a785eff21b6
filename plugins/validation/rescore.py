"""Recomputing every score in one batch: `crisiswiki rescore`.

Reads every report once, finds neighbours in memory on a grid of cells one radius wide (and one
time window long), and scores each report with the same functions the incremental updates use,
so a rescore gives the same numbers as the events that led to the current state.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable

import click
import numpy as np
from flask.cli import with_appcontext
from sqlalchemy import delete, insert, select
from tqdm import tqdm

from wiki.database import write_transaction
from wiki.extensions import db
from wiki.models import Crisis, Report
from wiki.toolkit import scores_changed

from .config import Settings
from .geo import EARTH_RADIUS_KM, KM_PER_DEGREE_LAT
from .models import ReportScore, SourceReliability
from .presentation import forget_listed_scores
from .records import COLUMNS, derived_from, latest_grades, record_from_row
from .reliability import SourceState, compute_states, row_values
from .scoring import ReportRecord, is_neighbour, nearest, score_report
from .updates import catch_up, refresh_stale, reindex, score_values, tracking_changes

CHUNK = 900


def neighbour_lists(records: list[ReportRecord], settings: Settings) -> dict[int, list[tuple[float, ReportRecord]]]:
    """Every report's nearest VALIDATION_MAX_NEIGHBOURS neighbours (nearest first), found on a
    grid of space-time cells."""
    found: dict[int, list[tuple[float, ReportRecord]]] = {r.id: [] for r in records}
    groups: dict[tuple[int, str], list[ReportRecord]] = defaultdict(list)
    for record in records:
        groups[(record.crisis_id, record.sector)].append(record)
    for members in groups.values():
        dlat = settings.radius_km / KM_PER_DEGREE_LAT * 1.01
        widest = max(abs(r.lat) for r in members) + dlat
        if widest >= 89.0:
            dlon, columns = 360.0, 1
        else:
            dlon = min(360.0, settings.radius_km / (KM_PER_DEGREE_LAT * math.cos(math.radians(widest))) * 1.01)
            columns = max(1, int(360.0 // dlon))
            dlon = 360.0 / columns  # whole cells around the globe, each at least one radius wide
        window = max(settings.window_s, 1.0)
        cells: dict[tuple[int, int, int], list[ReportRecord]] = defaultdict(list)
        for record in members:
            cells[
                (
                    math.floor(record.lat / dlat),
                    int((record.lon + 180.0) // dlon) % columns,
                    math.floor(record.t / window),
                )
            ].append(record)
        for (i, j, k), here in cells.items():
            # Every report of the 27 cells around this one (once each, even where columns wrap).
            around = [
                other
                for jj in {(j + dj) % columns for dj in (-1, 0, 1)}
                for di in (-1, 0, 1)
                for dk in (-1, 0, 1)
                for other in cells.get((i + di, jj, k + dk), ())
            ]
            _nearest_in(here, around, settings, found)
    return found


def _nearest_in(
    here: list[ReportRecord],
    around: list[ReportRecord],
    settings: Settings,
    found: dict[int, list[tuple[float, ReportRecord]]],
) -> None:
    """Each report of `here`: its nearest neighbours among `around`. A crowded place has
    thousands of reports within the radius and window, so the distances to all of them are
    estimated at once with NumPy, and only those that may be among the nearest are measured
    exactly (haversine_km, as the incremental updates measure them: same scores either way)."""
    lat = np.radians(np.fromiter((o.lat for o in around), float, len(around)))
    lon = np.radians(np.fromiter((o.lon for o in around), float, len(around)))
    t = np.fromiter((o.t for o in around), float, len(around))
    ids = np.fromiter((o.id for o in around), np.int64, len(around))
    cos_lat = np.cos(lat)
    slack = 1e-6  # km: far above the estimate's rounding error, far below any real difference
    for record in here:
        phi, lmb = math.radians(record.lat), math.radians(record.lon)
        a = np.sin((lat - phi) / 2) ** 2 + math.cos(phi) * cos_lat * np.sin((lon - lmb) / 2) ** 2
        estimate = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))
        candidates = np.nonzero(
            (ids != record.id) & (np.abs(t - record.t) <= settings.window_s) & (estimate <= settings.radius_km + slack)
        )[0]
        if len(candidates) > settings.max_neighbours:
            kth = np.partition(estimate[candidates], settings.max_neighbours - 1)[settings.max_neighbours - 1]
            candidates = candidates[estimate[candidates] <= kth + slack]
        exact = []
        for index in candidates:
            other = around[index]
            distance = is_neighbour(record, other, settings)
            if distance is not None:
                exact.append((distance, other))
        found[record.id] = nearest(record, exact, settings)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


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
        neighbours = neighbour_lists(records, settings)
        source_ids = sorted(states)
        for chunk in _chunks(source_ids):
            db.session.execute(delete(SourceReliability).where(SourceReliability.source_id.in_(chunk)))
        state_rows = [row_values(states[s], settings) for s in source_ids]
        for start in range(0, len(state_rows), 2000):
            db.session.execute(insert(SourceReliability), state_rows[start : start + 2000])
        if crisis_id is None:
            db.session.execute(delete(ReportScore))
        else:
            for chunk in _chunks(ids):
                db.session.execute(delete(ReportScore).where(ReportScore.report_id.in_(chunk)))
        batch: list[dict] = []
        iterator = progress(records) if progress else records
        for record in iterator:
            result = score_report(
                record,
                states[record.source_id],
                grades.get(record.id, []),
                nearest(record, neighbours[record.id], settings),
                states,
                settings,
            )
            batch.append({"report_id": record.id, **score_values(result, settings, record)})
            if len(batch) >= 2000:
                db.session.execute(insert(ReportScore), batch)
                batch = []
        if batch:
            db.session.execute(insert(ReportScore), batch)
        scores_changed(ids)
    forget_listed_scores()
    reindex(ids)  # the search index keeps each report's score for its min_score filter
    return len(records)


@click.command("rescore")
@click.option("--crisis", "crisis_slug", help="Only this crisis (its short name).")
@click.option(
    "--stale",
    is_flag=True,
    help="Only refresh the scores marked stale by bounded updates, and score reports left unscored.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@with_appcontext
def rescore_command(crisis_slug: str | None, stale: bool, quiet: bool) -> None:
    """Recompute the validation scores of every report (and every source's reliability)."""
    if stale:
        settings = Settings.current()
        total = 0
        with tracking_changes() as changed, write_transaction():
            while done := refresh_stale(settings, 500) + catch_up(settings, math.inf):
                total += done
            scores_changed(changed)
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

"""Keeping scores current, one event at a time, without rescoring the world.

A report that is new or changed is scored from scratch (one indexed box query for its
neighbours), and then *pushes* its evidence to each neighbour: the neighbour's stored evidence
gets one entry added, replaced or removed, and its score is added up again from what is stored,
with no search of its own. When the reliability of a source changes (an outcome or a grade),
its other reports are refreshed the same way.

Every event has a budget (VALIDATION_CASCADE_LIMIT scores rewritten); what lies beyond it is
marked stale, and each later event refreshes a few stale scores (VALIDATION_STALE_BATCH), as
does `crisiswiki rescore --stale`. A neighbour whose evidence is already full
(VALIDATION_MAX_NEIGHBOURS) is marked stale too, since only a new search can tell which of
its neighbours are the nearest.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime

from flask import after_this_request, current_app, g, has_request_context
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from wiki.extensions import db
from wiki.models import Report
from wiki.models.base import utcnow
from wiki.toolkit import scores_changed

from .config import Settings
from .database import Busy, connection, scoring_transaction
from .models import Progress, ReportScore
from .presentation import forget_listed_scores
from .records import CHUNK, holders, latest_grades, load_records, nearest_neighbours
from .reliability import OUTCOMES, load_states, refresh_states
from .scoring import ReportRecord, ScoreResult, combine, contribution, score_report

log = logging.getLogger(__name__)
SCORING_FIELDS = frozenset({"status", "lat", "lon", "sector", "occurred_at", "title", "description"})


class Budget:
    """How many more scores this event may rewrite."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def score_values(result: ScoreResult, settings: Settings, record: ReportRecord | None) -> dict:
    """Column values of a score row (`record` None: keep the place it was stored with)."""
    full = len(result.neighbours) >= settings.max_neighbours
    reach = max(entry[3] for entry in result.neighbours.values()) if full else settings.radius_km
    where = (
        {}
        if record is None
        else {
            "crisis_id": record.crisis_id,
            "sector": record.sector,
            "lat": record.lat,
            "lon": record.lon,
            "t": record.t,
        }
    )
    return {
        **where,
        "score": result.score,
        "log_odds": result.log_odds,
        "admiralty": result.admiralty,
        "reliability_grade": result.reliability,
        "credibility_grade": result.credibility,
        "assessment": result.assessment,
        "source_reliability": result.source_reliability,
        "explanation": result.explanation,
        "neighbours": result.neighbours,
        "reach_km": reach,
        "stale": False,
        "updated_at": utcnow(),
    }


TABLE = ReportScore.__table__


_changed: contextvars.ContextVar[set | None] = contextvars.ContextVar("validation_changed", default=None)


def _touched(report_ids: Iterable[int]) -> None:
    changed = _changed.get()
    if changed is not None:
        changed.update(report_ids)


def _store(record: ReportRecord | None, result: ScoreResult, row, settings: Settings) -> None:
    _touched([row.report_id if row is not None else record.id])
    values = score_values(result, settings, record)
    if row is None:
        connection().execute(insert(TABLE), [{"report_id": record.id, **values}])
    else:
        connection().execute(update(TABLE).where(TABLE.c.report_id == row.report_id).values(values))


def _store_many(changes: list[tuple[int, dict]]) -> None:
    """Rewrite several score rows in one statement (their values all have the same columns)."""
    _touched(report_id for report_id, _values in changes)
    for names in {tuple(sorted(values)) for _id, values in changes}:
        batch = [{"row_id": report_id, **values} for report_id, values in changes if tuple(sorted(values)) == names]
        statement = (
            update(TABLE)
            .where(TABLE.c.report_id == bindparam("row_id"))
            .values({name: bindparam(name, type_=TABLE.c[name].type) for name in names})
        )
        connection().execute(statement, batch)


def mark_stale(report_ids: Iterable[int]) -> None:
    ids = sorted(set(report_ids))
    for start in range(0, len(ids), CHUNK):
        connection().execute(update(TABLE).where(TABLE.c.report_id.in_(ids[start : start + CHUNK])).values(stale=True))


def _rows(report_ids: Iterable[int]) -> dict:
    """The stored score rows (report_id, neighbours, explanation, stale), locked for update."""
    ids = sorted(set(report_ids))
    rows = {}
    for start in range(0, len(ids), CHUNK):
        for row in connection().execute(
            select(TABLE.c.report_id, TABLE.c.neighbours, TABLE.c.explanation, TABLE.c.stale)
            .where(TABLE.c.report_id.in_(ids[start : start + CHUNK]))
            .order_by(TABLE.c.report_id)
            .with_for_update()
        ):
            rows[row.report_id] = row
    return rows


def refresh(
    report_id: int, settings: Settings, budget: Budget, push: bool = True, previous: ReportRecord | None = None
) -> bool:
    """Score one report from scratch and push its evidence to the neighbours that count it.
    `previous` is the report as it was before a move (in space, time or sector), to reach those
    that counted it there. False when the report no longer exists."""
    record = load_records([report_id]).get(report_id)
    if record is None:
        return False
    own = nearest_neighbours(record, settings)
    targets = holders(record, settings) if push else []
    gone: set[int] = set()
    if push and previous is not None:
        gone = {other.id for _d, other in holders(previous, settings)} - {other.id for _d, other in targets}
    states = load_states({record.source_id} | {other.source_id for _d, other in own + targets}, settings)
    grades = latest_grades([report_id]).get(report_id, [])
    result = score_report(record, states[record.source_id], grades, own, states, settings)
    rows = _rows([report_id])
    _store(record, result, rows.get(report_id), settings)
    budget.take()
    if push:
        _push(record, targets, gone, states, settings, budget)
    return True


def _farthest(evidence: dict[str, list]) -> tuple[float, int]:
    return max((entry[3], int(key)) for key, entry in evidence.items())


def _push(
    record: ReportRecord,
    neighbours: list[tuple[float, ReportRecord]],
    gone: set[int],
    states: dict,
    settings: Settings,
    budget: Budget,
) -> None:
    """Give each neighbour the evidence `record` now offers it, and take it back from `gone`
    (reports that are no longer neighbours). A neighbour keeps only its nearest
    VALIDATION_MAX_NEIGHBOURS; when that set can change in a way only a search can settle,
    the neighbour is marked stale instead."""
    rows = _rows([other.id for _d, other in neighbours] + list(gone))
    key = str(record.id)
    stale: list[int] = []
    unscored: list[int] = []
    changes: list[tuple[int, dict]] = []
    for distance, other in neighbours:
        row = rows.get(other.id)
        if row is None:
            unscored.append(other.id)
            continue
        if row.stale:
            continue
        evidence = dict(row.neighbours)
        full = len(evidence) >= settings.max_neighbours
        if full and key not in evidence:
            farthest = _farthest(evidence)
            if (distance, record.id) > farthest:
                continue  # not among the nearest: nothing changes for this neighbour
            del evidence[str(farthest[1])]
        elif full and (distance, record.id) > (evidence[key][3], record.id):
            stale.append(other.id)  # moved away: another report may now be among the nearest
            continue
        entry = [
            *contribution(other, states[other.source_id], record, states[record.source_id], distance, settings),
            distance,
        ]
        if evidence.get(key) == entry:
            continue  # unchanged (e.g. a stale report refreshed whole): nothing to rewrite, no budget spent
        if not budget.take():
            stale.append(other.id)
            continue
        evidence[key] = entry
        changes.append((other.id, score_values(combine(row.explanation, evidence, settings), settings, other)))
    for other_id in sorted(gone):
        row = rows.get(other_id)
        if row is None or row.stale or key not in row.neighbours:
            continue
        if len(row.neighbours) >= settings.max_neighbours or not budget.take():
            stale.append(other_id)  # a search must find the report that takes its place
            continue
        evidence = dict(row.neighbours)
        del evidence[key]
        changes.append((other_id, score_values(combine(row.explanation, evidence, settings), settings, None)))
    _store_many(changes)
    for other_id in unscored:  # never scored (e.g. from before the plugin was enabled): score it whole
        if budget.take():
            refresh(other_id, settings, Budget(1), push=False)
    mark_stale(stale)


def source_changed(source_id: int, settings: Settings, budget: Budget, done: set[int]) -> None:
    """Recompute a source's reliability; if it changed, refresh its other reports (their own
    track record, and what they tell their neighbours), up to the budget."""
    changes = refresh_states([source_id], settings)
    old, new = changes.get(source_id, (None, None))
    if new is None or old == new:
        return
    others = (
        connection()
        .execute(select(Report.id).where(Report.source_id == source_id).order_by(Report.id.desc()))
        .scalars()
        .all()
    )
    left: list[int] = []
    for report_id in others:
        if report_id in done:
            continue
        if budget.left > 0:
            refresh(report_id, settings, budget)
            done.add(report_id)
        else:
            left.append(report_id)
    # Beyond the budget: these wait for a refresh, which also brings their neighbours the evidence
    # they now offer (until then the neighbours' scores lag a little behind).
    mark_stale(left)


def refresh_stale(settings: Settings, limit: int) -> int:
    """Refresh up to `limit` stale scores; returns how many were refreshed."""
    ids = (
        connection()
        .execute(select(TABLE.c.report_id).where(TABLE.c.stale.is_(True)).order_by(TABLE.c.report_id).limit(limit))
        .scalars()
        .all()
    )
    for report_id in ids:
        refresh(report_id, settings, Budget(settings.cascade_limit))
    return len(ids)


SCORED_THROUGH = "scored_through"
CATCH_UP_ROWS = 200


def catch_up(settings: Settings, deadline: float) -> int:
    """Score reports left unscored (new ones in a server, see background.py; those whose scoring
    found the write lock taken, or that came while the plugin was off), oldest first, until
    `deadline` (time.monotonic()) but at least one; returns how many."""
    progress = Progress.__table__
    conn = connection()
    mark = conn.execute(select(progress.c.value).where(progress.c.name == SCORED_THROUGH)).scalar() or 0
    pending = (
        conn.execute(
            select(Report.id)
            .outerjoin(TABLE, TABLE.c.report_id == Report.id)
            .where(Report.id > mark, TABLE.c.report_id.is_(None))
            .order_by(Report.id)
            .limit(CATCH_UP_ROWS)
        )
        .scalars()
        .all()
    )
    done = 0
    for report_id in pending:
        if done and time.monotonic() > deadline:  # at least one a pass, however slow the scan was
            break
        refresh(report_id, settings, Budget(settings.cascade_limit))
        done += 1
    if done < len(pending):
        new_mark = pending[done] - 1 if done else mark  # everything below the first left is scored
    elif len(pending) == CATCH_UP_ROWS:
        new_mark = pending[-1]
    else:
        new_mark = conn.execute(select(func.max(Report.id))).scalar() or 0
        if new_mark - mark < 1000:
            return done  # not worth a write: the next scan from `mark` is short anyway
    if new_mark != mark:
        updated = conn.execute(
            update(progress).where(progress.c.name == SCORED_THROUGH).values(value=new_mark)
        ).rowcount
        if not updated:
            conn.execute(insert(progress), [{"name": SCORED_THROUGH, "value": new_mark}])
    return done


def _run(work, wait: bool = True) -> bool:
    """Run `work(settings, budget)` in a scoring transaction (database.py), retried once when a
    concurrent writer got in the way; then `maintain()`. With `wait=False` it gives up at once
    when SQLite's write lock is taken (and returns False): a later pass catches up."""
    settings = Settings.current()
    for attempt in (1, 2):
        changed: set[int] = set()
        token = _changed.set(changed)
        try:
            with scoring_transaction(wait) as conn:
                work(settings, Budget(settings.cascade_limit))
                scores_changed(changed, conn)  # alerts asking for a score or verdict look again
            forget_listed_scores()
            reindex(changed)
            break
        except Busy:
            maintain()
            return False
        except (IntegrityError, OperationalError):
            if attempt == 2:
                raise
            log.info("validation: retrying a score update after a concurrent write")
        finally:
            _changed.reset(token)
    maintain()
    return True


@contextmanager
def tracking_changes() -> Iterator[set[int]]:
    """Collect the ids of the reports whose scores are written inside the block."""
    changed: set[int] = set()
    token = _changed.set(changed)
    try:
        yield changed
    finally:
        _changed.reset(token)


def reindex(report_ids: Iterable[int]) -> None:
    """Tell the search index that these reports' scores changed (its min_score filter)."""
    ids = sorted(set(report_ids))
    if not ids:
        return
    try:
        from wiki.search import reindex_later
    except ImportError:  # a core without search
        return
    reindex_later("report", ids)


def maintain() -> None:
    """Refresh a few stale scores and catch up on unscored reports: by the background scorer in
    a server; else after the response has been sent when in a request (so that nobody waits for
    other people's scores); else now."""
    if has_request_context():
        if not _wake_background_scorer():
            after_response()
    else:
        _maintain()


def after_response(report_id: int | None = None) -> None:
    """In a request: once the response is sent, score `report_id` (if given) and do the
    maintenance, in one pass. The request's own work is done and answered first."""
    pending = g.get("validation_after_response")
    if pending is None:
        pending = g.validation_after_response = []
        app = current_app._get_current_object()

        def later() -> None:
            with app.app_context():
                try:
                    for new_id in pending:
                        _run(lambda settings, budget, new_id=new_id: refresh(new_id, settings, budget), wait=False)
                    _maintain()
                except Exception:
                    log.exception("validation: scoring after the response failed")
                finally:
                    db.session.remove()

        @after_this_request
        def schedule(response):
            response.call_on_close(later)
            return response

    if report_id is not None:
        pending.append(report_id)


_last_maintenance = {"at": -1e9}
_maintenance_lock = threading.Lock()


def _maintain() -> None:
    settings = Settings.current()
    if not (settings.stale_batch or settings.catch_up_s):
        return
    with _maintenance_lock:  # one pass at a time per process, and not more often than asked
        now = time.monotonic()
        if now - _last_maintenance["at"] < settings.maintain_every_s:
            return
        _last_maintenance["at"] = now
    deadline = time.monotonic() + settings.catch_up_s if settings.catch_up_s else None
    with suppress(Busy):  # another writer is busy: the next pass will do it
        scoring_pass(deadline, wait=False)


def report_submitted(report_id: int, now: bool = False) -> None:
    """Intake first: in a server, a new report is scored by the background scorer
    (background.py); in a request without one (tests), once the response has been sent and only
    if the write lock is free (else by a later pass); elsewhere, or `now`, at once."""
    if has_request_context() and not now:
        if _wake_background_scorer():
            return
        after_response(report_id)
    else:
        _run(lambda settings, budget: refresh(report_id, settings, budget), wait=now or not has_request_context())


def _wake_background_scorer() -> bool:
    from . import background

    app = current_app._get_current_object()
    if not background.enabled(app):
        return False
    background.start(app).wake()
    return True


def scoring_pass(deadline: float | None, wait: bool = True) -> int:
    """A few stale scores, then unscored reports oldest first until `deadline`
    (time.monotonic(); None: none of those), in one scoring transaction; returns how many scores
    were refreshed. The background scorer's unit of work (waiting its turn for the write lock),
    and the maintenance after a response (`wait=False`: raises Busy when the lock is taken)."""
    settings = Settings.current()
    changed: set[int] = set()
    token = _changed.set(changed)
    try:
        with scoring_transaction(wait=wait) as conn:
            done = refresh_stale(settings, settings.stale_batch) if settings.stale_batch else 0
            if deadline is not None:
                done += catch_up(settings, deadline)
            scores_changed(changed, conn)
        forget_listed_scores()
        reindex(changed)
    finally:
        _changed.reset(token)
    return done


def scoring_needed() -> bool:
    """Whether a scoring pass would find anything to do (read only: an idle server's scorer
    looks twice a second, and must not take the write lock for nothing)."""
    progress = Progress.__table__
    conn = connection()
    mark = conn.execute(select(progress.c.value).where(progress.c.name == SCORED_THROUGH)).scalar() or 0
    unscored = conn.execute(
        select(Report.id)
        .outerjoin(TABLE, TABLE.c.report_id == Report.id)
        .where(Report.id > mark, TABLE.c.report_id.is_(None))
        .limit(1)
    ).first()
    stale = conn.execute(select(TABLE.c.report_id).where(TABLE.c.stale.is_(True)).limit(1)).first()
    db.session.commit()
    return unscored is not None or stale is not None


def reports_arriving(within_s: float = 1.0) -> bool:
    """Whether a report arrived in the last `within_s` seconds (by any server process)."""
    newest = connection().execute(select(Report.received_at).order_by(Report.id.desc()).limit(1)).scalar()
    db.session.commit()
    return newest is not None and (utcnow() - newest).total_seconds() < within_s


def report_updated(report_id: int, changes: dict) -> None:
    if not SCORING_FIELDS & changes.keys():
        return

    def work(settings: Settings, budget: Budget) -> None:
        status = changes.get("status")
        record = load_records([report_id]).get(report_id)
        outcome_changed = status is not None and (status[0] in OUTCOMES or status[1] in OUTCOMES)
        if record is not None and (outcome_changed or (record.status in OUTCOMES and "occurred_at" in changes)):
            # The source's state first: this report's evidence for its neighbours depends on it.
            source_changed(record.source_id, settings, budget, {report_id})
        refresh(report_id, settings, budget, previous=_previous(record, changes))

    _run(work)


def _previous(record: ReportRecord | None, changes: dict) -> ReportRecord | None:
    """The report as it was before `changes`, when they moved it in space, time or sector."""
    if record is None or not {"lat", "lon", "sector", "occurred_at"} & changes.keys():
        return None
    values = {name: changes[name][0] for name in ("lat", "lon", "sector") if name in changes}
    if "occurred_at" in changes:
        old = changes["occurred_at"][0]
        if old is None:
            received = connection().execute(select(Report.received_at).where(Report.id == record.id)).scalar()
            values["t"] = received.timestamp()
        else:
            values["t"] = (old if isinstance(old, datetime) else datetime.fromisoformat(old)).timestamp()
    return replace(record, **values)


def assessment_added(report_id: int, source_id: int) -> None:
    def work(settings: Settings, budget: Budget) -> None:
        done = {report_id}
        source_changed(source_id, settings, budget, done)
        refresh(report_id, settings, budget)

    _run(work)


def reports_imported(report_ids: list[int], batch_threshold: int, crisis_id: int) -> None:
    """A bulk import: report by report when it is small; else one batch rescore of the crisis
    (the importer announces every batch after storing them all, so the first call's rescore
    also covers the later batches, which then find their reports scored)."""
    existing = set(_existing(report_ids))
    todo = [i for i in report_ids if i not in existing]
    if not todo:
        return
    if len(todo) > batch_threshold:
        from .rescore import rescore

        rescore(crisis_id=crisis_id)
        return

    def work(settings: Settings, budget: Budget) -> None:
        done = set(todo)
        # Imported reports may carry outcomes (a status column): their sources learn first.
        for source_id in sorted({r.source_id for r in load_records(todo).values()}):
            source_changed(source_id, settings, budget, done)
        for report_id in todo:
            refresh(report_id, settings, Budget(settings.cascade_limit))

    _run(work)


def _existing(report_ids: list[int]) -> list[int]:
    found = []
    for start in range(0, len(report_ids), 900):
        found += db.session.scalars(
            select(ReportScore.report_id).where(ReportScore.report_id.in_(report_ids[start : start + 900]))
        )
    return found

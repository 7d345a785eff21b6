"""The score rows (validation_scores): read and written many at a time, marked stale (a row, or
a whole source at once: validation_stale_sources), and the list of reports waiting for a score
(never scored, or out of date). Every write happens inside `run`, which tells the readers once
the transaction has committed: the request's cache of listed scores, and the search index (its
min_score filter keeps each report's score)."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from wiki.database import RETRY_ATTEMPTS, is_retryable, retry_wait
from wiki.extensions import db
from wiki.models import Report
from wiki.models.base import utcnow
from wiki.toolkit import scores_changed

from .calibration import IDENTITY, Calibration
from .database import connection, scoring_transaction
from .evidence import ReportRecord
from .models import Progress, ReportScore, StaleSource
from .records import chunks
from .scoring import ScoreResult, stored_calibration
from .settings import Settings
from .shown_scores import forget_listed_scores

log = logging.getLogger(__name__)
TABLE = ReportScore.__table__
PROGRESS = Progress.__table__
MARKS = StaleSource.__table__
REPORTS = Report.__table__
SCORED_THROUGH = "scored_through"  # Progress row: every report up to this id has a score
GENERATION = "stale_generation"  # Progress row: the newest generation a source was marked stale with
T = TypeVar("T")
_written: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar("validation_written", default=None)
# The stale-source generation, read once per scoring transaction (it only changes under its lock).
_generation: contextvars.ContextVar[list[int | None]] = contextvars.ContextVar("validation_generation")


def run(work: Callable[[], T], wait: bool = True) -> T:
    """`work()` in one scoring transaction (database.py), run again when a concurrent writer got
    in the way (a key another transaction inserted first; on PostgreSQL a deadlock or a
    serialization failure, after the core's short growing wait, up to RETRY_ATTEMPTS tries: two
    scoring transactions can meet on the same tally rows, which the triggers update in no
    common order); once it has committed, the readers hear of the scores it wrote. With
    `wait=False`, raises database.Busy at once when another writer holds the lock."""
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        written: set[int] = set()
        token = _written.set(written)
        generation_token = _generation.set([None])
        try:
            with scoring_transaction(wait) as conn:
                result = work()
                scores_changed(written, conn)  # alerts asking for a score or a verdict look again
        except (IntegrityError, OperationalError) as error:
            conflict = is_retryable(error)  # PostgreSQL's deadlock or serialization failure
            if attempt == RETRY_ATTEMPTS or (attempt > 1 and not conflict):  # anything else: once
                raise
            log.info("validation: retrying a score update after a concurrent write (try %d)", attempt + 1)
            if conflict:
                time.sleep(retry_wait(attempt))
            continue
        finally:
            _written.reset(token)
            _generation.reset(generation_token)
        forget_listed_scores()
        reindex(written)
        return result
    raise AssertionError("unreachable")


def _wrote(report_ids: Iterable[int]) -> None:
    written = _written.get()
    if written is not None:
        written.update(report_ids)


def reindex(report_ids: Iterable[int]) -> None:
    """Tell the search index that these reports' scores changed (its min_score filter): only
    the score, so the writer skips those whose indexed score is still right."""
    ids = sorted(set(report_ids))
    if not ids:
        return
    try:
        from wiki.search import reindex_later
    except ImportError:  # a core without search
        return
    reindex_later("report", ids, op="score")


def values(result: ScoreResult, settings: Settings, record: ReportRecord | None) -> dict:
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
            "source_generation": current_generation(),
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


def _place() -> list:
    """A score row's report and the place it was scored at (nearby.Spot's, the time as `moment`)."""
    return [TABLE.c.report_id, TABLE.c.crisis_id, TABLE.c.sector, TABLE.c.lat, TABLE.c.lon, TABLE.c.t.label("moment")]


def rows(report_ids: Iterable[int], evidence: bool = True, live_only: bool = False, explanation: bool = True) -> dict:
    """The stored rows (report_id, crisis_id, sector, lat, lon, moment: t, stale, and with
    `evidence` their neighbours and, unless not `explanation`, their explanation), locked for
    update; `live_only`: only the rows not marked stale (a row marked stale is scored whole
    later: its evidence is not read). A row only behind its source's mark is live: its evidence
    is kept current, since it is recombined from it (behind_source_rows)."""
    columns = [*_place(), TABLE.c.stale]
    if evidence:
        columns += [TABLE.c.neighbours, TABLE.c.explanation] if explanation else [TABLE.c.neighbours]
    found = {}
    for chunk in chunks(report_ids):
        query = select(*columns).where(TABLE.c.report_id.in_(chunk))
        if live_only:
            query = query.where(TABLE.c.stale.is_(False))
        for row in connection().execute(query.order_by(TABLE.c.report_id).with_for_update()):
            found[row.report_id] = row
    return found


def _update_many(changes: list[tuple[int, dict]]) -> None:
    """Rewrite several rows, one statement per set of columns, in the order of their ids (the
    order rows() locks them in, so two writers do not wait for each other crosswise)."""
    changes = sorted(changes, key=lambda change: change[0])
    _wrote(report_id for report_id, _values in changes)
    for names in {tuple(sorted(v)) for _id, v in changes}:
        batch = [{"row_id": report_id, **v} for report_id, v in changes if tuple(sorted(v)) == names]
        statement = (
            update(TABLE)
            .where(TABLE.c.report_id == bindparam("row_id"))
            .values({name: bindparam(name, type_=TABLE.c[name].type) for name in names})
        )
        connection().execute(statement, batch)


def insert_scores(new_rows: list[dict]) -> None:
    _wrote(row["report_id"] for row in new_rows)
    for start in range(0, len(new_rows), 2000):
        connection().execute(insert(TABLE), new_rows[start : start + 2000])


def write_scores(
    scored: Iterable[tuple[ReportRecord, ScoreResult]], existing: Iterable[int], settings: Settings
) -> None:
    """Store freshly computed scores (with their place), inserting the rows not `existing`."""
    stored = set(existing)
    new_rows, changes = [], []
    for record, result in scored:
        row = values(result, settings, record)
        if record.id in stored:
            changes.append((record.id, row))
        else:
            new_rows.append({"report_id": record.id, **row})
    insert_scores(new_rows)
    _update_many(changes)


def update_evidence(changes: Iterable[tuple[int, ScoreResult]], settings: Settings, current: bool = False) -> None:
    """Store scores recombined from updated evidence (their place stays as stored); `current`:
    with their source's state as it is now (a row behind its source's mark is current again)."""
    extra = {"source_generation": current_generation()} if current else {}
    _update_many([(report_id, values(result, settings, None) | extra) for report_id, result in changes])


def mark_stale(report_ids: Iterable[int]) -> int:
    """Mark these scores stale (those that exist); returns how many rows were marked."""
    marked = 0
    for chunk in chunks(report_ids):
        marked += (
            connection()
            .execute(update(TABLE).where(TABLE.c.report_id.in_(chunk), TABLE.c.stale.is_(False)).values(stale=True))
            .rowcount
        )
    return marked


def current_generation() -> int:
    """The newest generation a source was marked stale with: a report scored from scratch now
    is current whatever was marked before."""
    cached = _generation.get([None])
    if cached[0] is None:
        cached[0] = connection().execute(select(PROGRESS.c.value).where(PROGRESS.c.name == GENERATION)).scalar() or 0
    return cached[0]


def mark_sources_stale(source_ids: Iterable[int]) -> None:
    """Every score of these sources' reports is out of date (their state changed): one narrow
    row each (StaleSource) with a new generation; a report scored from scratch after this, in
    this transaction too, is current again (values() stores the generation it was scored at)."""
    ids = sorted(set(source_ids))
    if not ids:
        return
    conn = connection()
    new = current_generation() + 1
    if not conn.execute(update(PROGRESS).where(PROGRESS.c.name == GENERATION).values(value=new)).rowcount:
        conn.execute(insert(PROGRESS), [{"name": GENERATION, "value": new}])
    _generation.get([None])[0] = new
    marked = set(conn.execute(select(MARKS.c.source_id).where(MARKS.c.source_id.in_(ids)).with_for_update()).scalars())
    now = utcnow()
    if marked:
        conn.execute(update(MARKS).where(MARKS.c.source_id.in_(marked)).values(generation=new, marked_at=now))
    fresh = [
        {"source_id": source_id, "generation": new, "marked_at": now} for source_id in ids if source_id not in marked
    ]
    if fresh:
        conn.execute(insert(MARKS), fresh)


def explanations(report_ids: Iterable[int]) -> dict[int, list]:
    """The stored explanation of each of these rows."""
    found = {}
    for chunk in chunks(report_ids):
        query = select(TABLE.c.report_id, TABLE.c.explanation).where(TABLE.c.report_id.in_(chunk))
        found.update((report_id, explanation) for report_id, explanation in connection().execute(query))
    return found


def _out_of_date_by_source():
    """The score rows scored before their source was marked stale."""
    return (
        select(TABLE.c.report_id)
        .select_from(
            MARKS.join(REPORTS, REPORTS.c.source_id == MARKS.c.source_id).join(TABLE, TABLE.c.report_id == REPORTS.c.id)
        )
        .where(TABLE.c.source_generation < MARKS.c.generation)
    )


def settle_sources() -> None:
    """Drop the marks of the sources whose reports are all current again (a scoring batch
    caught up, or the reports went), so that a mark means exactly: some score is out of date."""
    conn = connection()
    marked = list(conn.execute(select(MARKS.c.source_id)).scalars())
    if not marked:
        return
    behind = set(conn.execute(_out_of_date_by_source().with_only_columns(MARKS.c.source_id).distinct()).scalars())
    done = [source_id for source_id in marked if source_id not in behind]
    if done:
        conn.execute(delete(MARKS).where(MARKS.c.source_id.in_(done)))


def delete_scores(crisis_id: int | None) -> None:
    """Drop the scores of a crisis (None: all), before a full rescore writes them again."""
    statement = delete(TABLE)
    if crisis_id is not None:
        statement = statement.where(TABLE.c.report_id.in_(select(Report.id).where(Report.crisis_id == crisis_id)))
    connection().execute(statement)


def existing(report_ids: Iterable[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(report_ids):
        found.update(connection().execute(select(TABLE.c.report_id).where(TABLE.c.report_id.in_(chunk))).scalars())
    return found


# The reports waiting for a score.


def _stale(limit: int):
    return select(TABLE.c.report_id).where(TABLE.c.stale.is_(True)).order_by(TABLE.c.report_id).limit(limit)


def _unscored(after: int, limit: int):
    return (
        select(Report.id)
        .outerjoin(TABLE, TABLE.c.report_id == Report.id)
        .where(Report.id > after, TABLE.c.report_id.is_(None))
        .order_by(Report.id)
        .limit(limit)
    )


def _mark():
    return select(PROGRESS.c.value).where(PROGRESS.c.name == SCORED_THROUGH)


def stale_ids(limit: int) -> list[int]:
    """The rows marked stale (to be scored whole), oldest report first."""
    if limit <= 0:
        return []
    return list(connection().execute(_stale(limit)).scalars())


def behind_source_rows(limit: int) -> list:
    """The rows out of date only because their source's state changed (not marked stale, scored
    before their source's mark), oldest report first, at most `limit`, locked for update: each
    with its place (crisis_id, sector, lat, lon, moment: t), explanation, neighbours and source_id."""
    if limit <= 0:
        return []
    query = (
        _out_of_date_by_source()
        .with_only_columns(*_place(), TABLE.c.explanation, TABLE.c.neighbours, REPORTS.c.source_id)
        .where(TABLE.c.stale.is_(False))
        .order_by(TABLE.c.report_id)
        .limit(limit)
        .with_for_update(of=TABLE)
    )
    return list(connection().execute(query))


# On PostgreSQL, several servers insert reports at once and ids (from a sequence) may commit out
# of order: a batch can move the mark past a report whose transaction had not committed yet, and
# that report would wait below the mark for ever. Every REWIND_SECONDS a process looks below the
# mark for a report without a score, and scans from just below it until a batch has scored it.
REWIND_SECONDS = 30.0
_rewind = {"checked": 0.0, "mark": None}


def _current_mark(conn) -> int:
    mark = conn.execute(_mark()).scalar() or 0
    if conn.dialect.name == "postgresql" and mark:
        if time.monotonic() - _rewind["checked"] >= REWIND_SECONDS:
            _rewind["checked"] = time.monotonic()
            skipped = conn.execute(
                select(func.min(Report.id))
                .outerjoin(TABLE, TABLE.c.report_id == Report.id)
                .where(Report.id <= mark, TABLE.c.report_id.is_(None))
            ).scalar()
            if skipped is not None:
                log.warning("validation: report %s was passed by the scoring mark; scanning from it", skipped)
                _rewind["mark"] = skipped - 1
        if _rewind["mark"] is not None:
            mark = min(mark, _rewind["mark"])
    return mark


def scored_through() -> int:
    return _current_mark(connection())


def unscored_ids(after: int, limit: int) -> list[int]:
    """Reports with no score row, oldest first, above `after` (scored_through)."""
    return list(connection().execute(_unscored(after, limit)).scalars()) if limit > 0 else []


def backlog() -> dict:
    """The scoring lag for /readyz and /metrics (the background_backlog hook): how many reports
    wait for a score past the catch-up mark, and when the oldest of them came."""
    pending, oldest = db.session.execute(
        select(func.count(), func.min(Report.received_at))
        .select_from(Report)
        .outerjoin(TABLE, TABLE.c.report_id == Report.id)
        .where(Report.id > scored_through(), TABLE.c.report_id.is_(None))
    ).one()
    return {"name": "scoring", "pending": pending, "oldest": oldest}


def advance_scored_through(mark: int, picked: list[int], asked: int) -> None:
    """Move the catch-up mark past the unscored reports a batch scored: to the last one when it
    found as many as it asked for, else (none left above the mark) to the newest report, when
    that saves the next scans at least a thousand reports."""
    _rewind["mark"] = None  # a rewound mark's batch has picked the report it was rewound for
    if picked and len(picked) == asked:
        _set_scored_through(mark, picked[-1])
        return
    newest = connection().execute(select(func.max(Report.id))).scalar() or 0
    if newest - mark >= 1000:  # else not worth a write: the next scan from `mark` is short anyway
        _set_scored_through(mark, newest)


def skip_scored() -> None:
    """Move the catch-up mark to just below the first report without a score (after a rescore:
    one scan now spares every later look for work a scan of every report)."""
    mark = scored_through()
    first = unscored_ids(mark, 1)
    _set_scored_through(
        mark, first[0] - 1 if first else connection().execute(select(func.max(Report.id))).scalar() or 0
    )


def _set_scored_through(mark: int, new_mark: int) -> None:
    if new_mark <= mark:
        return
    conn = connection()
    if not conn.execute(update(PROGRESS).where(PROGRESS.c.name == SCORED_THROUGH).values(value=new_mark)).rowcount:
        conn.execute(insert(PROGRESS), [{"name": SCORED_THROUGH, "value": new_mark}])


def work_waiting(stale_too: bool) -> bool:
    """Is any report waiting for a score? Read only, on a connection of its own that is given
    back at once: an idle server's scorer asks twice a second, and must neither take the write
    lock for nothing nor keep a read transaction open."""
    with db.engine.connect() as conn:
        mark = _current_mark(conn)
        return conn.execute(_unscored(mark, 1)).first() is not None or (
            stale_too
            and (
                conn.execute(_stale(1)).first() is not None
                or conn.execute(select(MARKS.c.source_id).limit(1)).first() is not None
            )
        )


def calibrations(crisis_ids: Iterable[int]) -> dict[int, Calibration]:
    """The calibration each crisis's scores were last computed with (batch.rescore_all fits it
    on the crisis's verified and refuted reports): read from its lowest report's stored
    explanation (the one a background refit, recalibration.py, writes last), so that a report
    scored between two rescores is calibrated as its neighbours are."""
    found = {}
    for crisis_id in sorted(set(crisis_ids)):
        explanation = (
            connection()
            .execute(
                select(ReportScore.explanation)
                .where(ReportScore.crisis_id == crisis_id)
                .order_by(ReportScore.report_id)
                .limit(1)
            )
            .scalar()
        )
        found[crisis_id] = stored_calibration(explanation) if explanation else IDENTITY
    return found


def settled_counts() -> dict[int, int]:
    """Per crisis: how many of its scored reports are verified or refuted (the outcomes its
    calibration is fitted on)."""
    query = (
        select(TABLE.c.crisis_id, func.count())
        .join(Report, Report.id == TABLE.c.report_id)
        .where(Report.status.in_(("verified", "refuted")))
        .group_by(TABLE.c.crisis_id)
    )
    return {crisis_id: count for crisis_id, count in connection().execute(query)}


def crisis_rows(crisis_id: int, below: int | None = None, limit: int | None = None, settled: bool = False) -> list:
    """Score rows of a crisis (report_id, explanation, neighbours) with their report's status,
    locked for update, highest report id first: those below `below`, at most `limit` of them;
    with `settled`, only the verified and refuted reports' rows."""
    query = (
        select(TABLE.c.report_id, TABLE.c.explanation, TABLE.c.neighbours, Report.status)
        .join(Report, Report.id == TABLE.c.report_id)
        .where(TABLE.c.crisis_id == crisis_id)
        .order_by(TABLE.c.report_id.desc())
        .with_for_update(of=TABLE)
    )
    if below is not None:
        query = query.where(TABLE.c.report_id < below)
    if settled:
        query = query.where(Report.status.in_(("verified", "refuted")))
    if limit is not None:
        query = query.limit(limit)
    return list(connection().execute(query))

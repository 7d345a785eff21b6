"""Report imports in the background worker, with their progress.

The upload page stores the file (wiki.reports.import_uploads) and queues an `ImportJob`; the
answer comes at once, and the person watches a progress page (wiki.reports.import_views) that
reads `job_status`. The worker's "imports" job works on the oldest unfinished import a slice
at a time, through the same `_ImportRun` as the command line:

- queued: the rows are counted (for the progress bar) and the day/month order of the dates
  is settled from the whole file;
- checking (all-or-nothing imports): every row is checked before the first is stored; a file
  with a failing row ends here, done, with nothing imported and the good rows held back;
- importing: the rows are stored in batches. Each batch's transaction also records how many
  rows of the file are done and the counts so far (`checkpoint`), so a worker killed at any
  moment leaves a job that goes on from its last committed batch: no row is stored twice and
  none is lost (rows with an id are also stored once by their client id, as every import).

Plugins hear of the stored batches (`reports_imported`) when the import ends, from the id
ranges the checkpoints recorded, as they do after the command line's last batch.

A process keeps the open file and the run between slices (`_cursors()`); another process (after
a crash) opens the file again and skips the rows done.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import metrics, plugins
from ..database import write_transaction
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..hooks import hookimpl
from ..models import Crisis, ImportJob, Report, User
from ..models.base import utcnow
from ..workers import Job, wake
from .import_failures import FailureGroup, FailureGroups
from .import_files import Row, Table, UnreadableFile, open_table
from .import_uploads import KeptUpload, discard_upload, rejected_path
from .import_values import DAY_FIRST_CHOICES, DateReader, time_zone
from .importer import Failure, ImportOptions, ImportResult, _day_first, _ImportRun, check_mapping

JOB = "imports"
UNFINISHED = ("queued", "checking", "importing")
LISTED_FAILURES = 100  # failures listed one by one on the progress page (the rest are counted by kind)


# -- what a job found so far, as JSON ---------------------------------------------------------


def _groups_to_json(groups: FailureGroups) -> list[dict]:
    return [group.as_dict() for group in groups.groups.values()]


def _groups_from_json(items: list[dict]) -> FailureGroups:
    groups = FailureGroups()
    for item in items or []:
        group = FailureGroup(item["kind"], item["field"], item["example"], item["count"], list(item["lines"]))
        groups.groups[(group.kind, group.field)] = group
    return groups


def result_to_json(result: ImportResult) -> dict[str, Any]:
    counts = {
        name: getattr(result, name)
        for name in ("imported", "updated", "unchanged", "already_imported", "failed", "held_back", "rejected_rows")
    }
    return {
        **counts,
        "failures": [asdict(failure) for failure in result.failures],
        "groups": _groups_to_json(result.groups),
        "notes": _groups_to_json(result.notes),
        "error": result.error,
        "day_first": result.day_first,
    }


def result_from_json(data: dict[str, Any]) -> ImportResult:
    result = ImportResult()
    for name in ("imported", "updated", "unchanged", "already_imported", "failed", "held_back", "rejected_rows"):
        setattr(result, name, int(data.get(name) or 0))
    result.failures = [Failure(**failure) for failure in data.get("failures") or []]
    result.groups = _groups_from_json(data.get("groups") or [])
    result.notes = _groups_from_json(data.get("notes") or [])
    result.error = data.get("error")
    result.day_first = data.get("day_first") or "auto"
    return result


# -- queueing ------------------------------------------------------------------------------------


def queue_import(
    crisis: Crisis,
    upload: KeptUpload,
    mapping: dict[str, int],
    options: ImportOptions,
    *,
    encoding: str | None,
    organisation: str,
    user: User | None,
) -> ImportJob:
    """Check what can be checked at once (the file opens, the mapping and options are usable)
    and queue the import. Raises UnreadableFile or InvalidInput, queueing nothing. The same
    upload sent twice (a double click) gives the job already queued for it."""
    table = open_table(upload.path, encoding=encoding)
    check_mapping(table, mapping)
    if options.day_first not in DAY_FIRST_CHOICES:
        raise InvalidInput(_("Choose day-first, month-first or auto for the dates."), field="day_first")
    time_zone(options.timezone)
    organisation = organisation.strip()
    if len(organisation) > 200:
        raise InvalidInput(_("The organisation is longer than 200 characters."), field="organisation")
    with write_transaction():
        queued = db.session.scalars(
            select(ImportJob).where(ImportJob.token == upload.token, ImportJob.state.in_(UNFINISHED))
        )
        job = next((job for job in queued if bool((job.options or {}).get("partial")) == options.partial), None)
        if job is None:
            job = ImportJob(
                token=upload.token,
                crisis_id=crisis.id,
                user_id=user.id if user is not None else None,
                filename=upload.filename,
                mapping=dict(mapping),
                options={
                    "encoding": table.encoding if table.kind == "csv" else None,
                    "day_first": options.day_first,
                    "timezone": options.timezone,
                    "partial": options.partial,
                    "organisation": organisation,
                },
                state="queued",
                rows_done=0,
                result={},
            )
            db.session.add(job)
    wake(JOB)
    return job


def job_status(job: ImportJob) -> dict[str, Any]:
    """What the progress page shows, and its JSON."""
    result = job.result or {}
    return {
        "id": job.id,
        "state": job.state,
        "finished": job.finished,
        "filename": job.filename,
        "rows_total": job.total_rows,
        "rows_done": job.total_rows if job.state == "done" and job.total_rows is not None else job.rows_done,
        "imported": int(result.get("imported") or 0),
        "updated": int(result.get("updated") or 0),
        "already_imported": int(result.get("already_imported") or 0) + int(result.get("unchanged") or 0),
        "failed": int(result.get("failed") or 0),
        "held_back": int(result.get("held_back") or 0),
        "errors": [
            {"count": group["count"], "field": group["field"], "message": group["example"], "rows": group["lines"]}
            for group in sorted(result.get("groups") or [], key=lambda group: -group["count"])
        ],
        "error": job.error or result.get("error"),
    }


# -- the worker's job ----------------------------------------------------------------------------


@dataclass
class _Cursor:
    """A job's open file and run in this process, between slices."""

    job_id: int
    state: str
    rows: Iterator[Row]
    run: _ImportRun

    @property
    def position(self) -> int:
        return self.run.consumed


def _cursors() -> dict[int, _Cursor]:
    """This app's open imports in this process (a forked process starts with none of its own)."""
    return current_app.extensions.setdefault("crisiswiki_import_cursors", {})


def _options(job: ImportJob) -> ImportOptions:
    given = job.options or {}
    path = rejected_path(job.token)
    return ImportOptions(
        day_first=given.get("day_first_found") or given.get("day_first") or "auto",
        timezone=given.get("timezone") or "UTC",
        partial=bool(given.get("partial")),
        rejected_path=path,
    )


def _table(job: ImportJob) -> Table:
    from .import_uploads import _folder

    path = _folder() / job.token
    if not path.is_file():
        raise UnreadableFile(_("The uploaded file is no longer here; upload it again."), field="file")
    return open_table(path, encoding=(job.options or {}).get("encoding"))


def _open_cursor(job: ImportJob) -> _Cursor:
    """The job's run, from the start of its pass or from the rows already done."""
    table = _table(job)
    options = _options(job)
    crisis = db.session.get(Crisis, job.crisis_id)
    user = db.session.get(User, job.user_id) if job.user_id is not None else None
    run = _ImportRun(
        table,
        crisis,
        dict(job.mapping),
        job.filename,
        (job.options or {}).get("organisation") or "",
        user,
        current_app.config["IMPORT_BATCH_SIZE"],
        LISTED_FAILURES,
    )
    run.dates = DateReader(options.day_first, time_zone(options.timezone))
    run.result = result_from_json(job.result or {})
    rejected = options.rejected_path if (job.state == "checking" or options.partial) else None
    run.open_rejected(rejected, (job.result or {}).get("rejected_offset") if job.rows_done else None)
    rows = table.rows()
    for row in rows:  # the rows done, skipped (their ids noted: an id used twice is still caught)
        if run.consumed >= job.rows_done:
            rows = _chain(row, rows)
            break
        run.consumed += 1
        _note_id(run, row)
    return _Cursor(job.id, job.state, rows, run)


def _chain(first: Row, rest: Iterator[Row]) -> Iterator[Row]:
    yield first
    yield from rest


def _note_id(run: _ImportRun, row: Row) -> None:
    try:
        value = run.cell(row, "id")
        if value is not None and run.cell(row, "report_id") is None:
            client_id = run.client_id(value, row.line)
            if client_id is not None:
                run.seen[client_id] = row.line
    except (DomainError, IndexError):
        pass


def _cursor_for(job: ImportJob) -> _Cursor:
    cursor = _cursors().get(job.id)
    if cursor is None or cursor.state != job.state or cursor.position != job.rows_done:
        if cursor is not None:
            _close(cursor)
        cursor = _cursors()[job.id] = _open_cursor(job)
    return cursor


def _close(cursor: _Cursor) -> None:
    _cursors().pop(cursor.job_id, None)
    close = getattr(cursor.rows, "close", None)
    if close is not None:
        close()
    if cursor.run.rejected is not None and not cursor.run.rejected.handle.closed:
        cursor.run.rejected.handle.close()


def _record(job: ImportJob, run: _ImportRun, stored: list[int] | None = None, skipped: int = 0) -> None:
    """Write how far the job has got (inside the caller's write transaction), with the ids of
    the batches stored (announced to plugins once the last is stored, as the importer does)."""
    snapshot = result_to_json(run.result)
    snapshot["imported"] += len(stored or ())
    snapshot["already_imported"] += skipped
    snapshot["batches"] = list((job.result or {}).get("batches") or [])
    if stored:
        snapshot["batches"].append([min(stored), max(stored)])
    if run.rejected is not None and not run.rejected.handle.closed:
        snapshot["rejected_rows"] = run.result.rejected_rows + run.rejected.count
        snapshot["rejected_offset"] = run.rejected.offset()
    job.rows_done = run.consumed
    job.result = snapshot
    job.updated_at = utcnow()


def _start(job: ImportJob) -> None:
    """Count the rows and settle the order of the dates, once, then begin the first pass."""
    table = _table(job)
    options = _options(job)
    total = table.count_rows()
    found = _day_first(table, job.mapping, (job.options or {}).get("day_first") or "auto")
    with write_transaction():
        job.total_rows = total
        job.options = {**(job.options or {}), "day_first_found": found}
        job.state = "importing" if options.partial else "checking"
        job.rows_done = 0
        job.result = {}
        job.updated_at = utcnow()


def _finish(job: ImportJob, run: _ImportRun | None, state: str = "done", error: str | None = None) -> None:
    batches = (job.result or {}).get("batches") or []
    with write_transaction():
        if run is not None:
            job.result = {**result_to_json(run.result), "batches": batches}
            job.rows_done = run.consumed
        job.state = state
        job.error = error
        job.finished_at = job.updated_at = utcnow()
    if state == "done" and batches:
        _announce(job, batches)
    if not (job.result or {}).get("held_back"):  # else kept, to import the good rows if asked
        discard_upload(job.token, keep_rejected=bool((job.result or {}).get("rejected_rows")))


def _announce(job: ImportJob, batches: list[list[int]]) -> None:
    """Tell plugins of the reports stored, a batch at a time, after the last batch (as the
    importer does: a plugin may then rescore the crisis once rather than once per batch)."""
    crisis = db.session.get(Crisis, job.crisis_id)
    for low, high in batches:
        report_ids = list(
            db.session.scalars(
                select(Report.id).where(
                    Report.crisis_id == job.crisis_id, Report.channel == "import", Report.id.between(low, high)
                )
            )
        )
        if report_ids:
            metrics.inc("reports_received", len(report_ids), channel="import")
            plugins.call("reports_imported", crisis=crisis, report_ids=report_ids)


def _end_of_pass(job: ImportJob, cursor: _Cursor) -> None:
    run = cursor.run
    run.close_rejected()
    _close(cursor)
    result = run.result
    if job.state == "checking":
        if result.failed or result.error:
            result.held_back, result.imported = result.imported, 0
            result.updated = result.unchanged = 0
            _finish(job, run)  # nothing imported: the file is kept for "import the good rows"
            return
        with write_transaction():
            job.state = "importing"
            job.rows_done = 0
            job.result = {"day_first": result.day_first}
            job.updated_at = utcnow()
        return
    _finish(job, run)


def work_on_imports(deadline: float) -> float | None:
    """One slice of the oldest unfinished import: None when there is none."""
    job = db.session.scalar(select(ImportJob).where(ImportJob.state.in_(UNFINISHED)).order_by(ImportJob.id).limit(1))
    if job is None:
        for cursor in list(_cursors().values()):
            _close(cursor)
        return None
    try:
        _slice(job, deadline)
    except (UnreadableFile, InvalidInput) as exc:
        cursor = _cursors().get(job.id)
        if cursor is not None:
            _close(cursor)
        db.session.rollback()
        _finish(job, None, "failed", exc.message)
    return 0


def _slice(job: ImportJob, deadline: float) -> None:
    if job.state == "queued":
        _start(job)
        return
    cursor = _cursor_for(job)
    run = cursor.run
    store = job.state == "importing"
    run.checkpoint = (lambda stored, skipped: _record(job, run, stored, skipped)) if store else None
    try:
        while True:
            row = next(cursor.rows, None)
            if row is None:
                break
            run.consume(row, store)
            if time.monotonic() >= deadline:
                break
    except UnreadableFile as exc:
        run.result.error = exc.message  # the rows before it count
        row = None
    if store:
        recorded = bool(run.pending)  # by the batch's own transaction
        run.flush()
        if not recorded:
            with write_transaction():
                _record(job, run)
        run.batches = []  # announced when the job ends (_finish), from the ids recorded
    if row is None:
        _end_of_pass(job, cursor)
        return
    if not store:
        with write_transaction():
            _record(job, run)


@hookimpl
def background_jobs(app: Flask):
    return [Job(JOB, work_on_imports, poll_seconds=float(app.config["IMPORT_POLL_SECONDS"]), slice_seconds=1.0)]

"""What each event does to the scores, and when.

The report a person acted on (graded, its status decided, edited, a combined assessment written
from others) is scored at once, in their request, so that the answer shows its new score. Every
other score the event changes (propagation.py decides which: the source's other reports, the
neighbours) is marked stale there and refreshed by the scoring batches behind the response
(background.schedule), so a click never waits for other people's scores. A source's reports
are marked all at once, by one narrow row (store.mark_sources_stale): a source may have
thousands of reports, and rewriting each of their rows would cost the click more than scoring. New reports wait for
the batches too: intake first, scores right behind.

Outside a request (the CLI, an import, the benchmark) there is nobody to answer first: the
batches run at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import has_request_context

from wiki.workers import wake

from . import background, recalibration, store
from .batch import MARK_STALE, UPDATE, rescore_all, score_reports
from .config import current_settings
from .propagation import changes_scores, changes_source, source_dependents
from .records import load_records
from .settings import Settings
from .shown_scores import note_unscored
from .source_states import refresh_states


def report_submitted(report_id: int, now: bool = False) -> None:
    """A new report: scored by the next batch, unless `now` (its author is waiting for it: a
    combined assessment) or outside a request (then at once, with its neighbours)."""
    if now:
        store.run(lambda: score_reports([report_id], current_settings(), MARK_STALE))
    elif not has_request_context():
        store.run(lambda: score_reports([report_id], current_settings(), UPDATE))
    else:
        note_unscored(report_id)
    background.schedule()


def report_updated(report_id: int, changes: Mapping) -> None:
    """A coordinator changed a report (field -> (old, new)): its new score now; when an outcome
    changed, its source's other reports depend on it, and so do the neighbours it changes."""
    if not changes_scores(changes):
        return

    def work() -> None:
        settings = current_settings()
        record = load_records([report_id]).get(report_id)
        changed: int | None = None
        if record is not None and changes_source(record.status, changes):
            # The source's state first: this report's own evidence for its neighbours depends on it.
            changed = record.source_id if source_changed(record.source_id, settings) else None
        score_acted_on(report_id, changed, settings)

    store.run(work)
    background.schedule()
    if "status" in changes:  # a verdict given or withdrawn: the calibration may be behind
        wake(recalibration.JOB)


def assessment_added(report_id: int, source_id: int) -> None:
    """A verifier graded a report: its new score now; the grade may change what is known of its
    source, and then the source's other reports depend on it, as do the neighbours it changes."""

    def work() -> None:
        settings = current_settings()
        score_acted_on(report_id, source_id if source_changed(source_id, settings) else None, settings)

    store.run(work)
    background.schedule()


def score_acted_on(report_id: int, changed_source: int | None, settings: Settings) -> None:
    """Score the report a person acted on; `changed_source`: its source's state changed, so its
    other reports depend on it. In a request, the scores that depend on it are only marked stale,
    for the batches behind the response (the source's reports by one row: this report, scored
    after the mark, is current); outside one nobody waits for an answer, so they are scored in
    the same batch."""
    if has_request_context():
        if changed_source is not None:
            store.mark_sources_stale([changed_source])
        score_reports([report_id], settings, MARK_STALE)
    else:
        dependents = source_dependents(changed_source, [report_id]) if changed_source is not None else []
        score_reports([report_id, *dependents], settings, UPDATE)


def reports_imported(report_ids: list[int], batch_threshold: int, crisis_id: int) -> None:
    """A bulk import: its reports wait for the batches (at once outside a request), after their
    sources have learnt from the outcomes they may carry; one larger than `batch_threshold`
    rescores its crisis instead (the importer announces every batch after storing them all,
    so the first call's rescore also covers the later batches, which then find them scored)."""
    todo = sorted(set(report_ids) - store.existing(report_ids))
    if not todo:
        return
    if len(todo) > batch_threshold:
        rescore_all(crisis_id=crisis_id)
        return

    def work() -> None:
        settings = current_settings()
        sources = sorted({record.source_id for record in load_records(todo).values()})
        # Their new reports have no score yet: scored after the mark, they are current.
        store.mark_sources_stale(source_id for source_id in sources if source_changed(source_id, settings))

    store.run(work)
    background.schedule()


def source_changed(source_id: int, settings: Settings) -> bool:
    """Recompute a source's state from its facts and store it: did it change (then every score
    of its reports depends on the change)?"""
    old, new = refresh_states([source_id], settings).get(source_id, (None, None))
    return new is not None and old != new

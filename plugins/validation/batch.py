"""The one batch path: scoring many reports at once, with bulk reads.

Every score is computed here, whoever asked for it:

- `run_batch(deadline)`: the reports waiting for a score, new ones (never scored) and stale
  ones (an event changed what they depend on: a row marked stale, or its source), as many as
  fit before the deadline. The background scorer's whole unit of work (background.py), and
  `crisiswiki rescore --stale`.
- `score_reports(ids, dependents)`: given reports, now; the report a person just acted on
  (events.py) is scored this way, with the scores it affects only marked stale.
- `rescore_all(crisis_id)`: every report, `crisiswiki rescore`.

A batch reads its evidence in a few queries whatever its size (records.py, nearby.py,
source_states.py), scores each report with the pure arithmetic (scoring.py), writes the rows
(store.py), and then brings up to date the reports that count the newly scored ones among
their neighbours, as propagation.py decides: their stored evidence is updated in place (no new
search), or they are marked stale for a later batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import NamedTuple

from flask import current_app

from . import nearby, store
from .calibration import IDENTITY, Calibration, fit
from .config import current_settings
from .evidence import ReportRecord
from .independence import tied_groups
from .neighbours import nearest_all
from .propagation import settle_holders
from .records import latest_grades, load_all, load_records, sources_of
from .scoring import ScoreResult, combine, evidence_log_odds, score_report, source_factor, with_source_factor
from .settings import Settings
from .source_states import compute_states, load_states, replace_states
from .track_record import SourceState

# What happens to the reports that count a newly scored report among their neighbours.
UPDATE = "update"  # their stored evidence is updated now (the background batches)
MARK_STALE = "mark_stale"  # they are marked stale, for a later batch (a click: answer at once)
BATCH_MAX = 500  # reports scored in one batch at most
# ... and at least, however late: each batch is a commit (a disk sync), which a batch of one
# report pays alone; below this the fixed cost would make the measured cost per report, and so
# the next batch, smaller and smaller.
BATCH_MIN = 20
# Learnt from the batches, to size the next: how long a report scored from scratch takes, and a
# score recombined after its source's state changed (recombine_for_sources).
_cost = {"per_report_s": 0.002, "per_recombined_s": 0.0005}
_turn = {"recombine": True}  # False: the last batch had no time left to score reports from scratch


class Batch(NamedTuple):
    scored: int  # reports scored
    more: bool  # whether more reports are waiting for a score


def score_records(
    records: Sequence[ReportRecord],
    neighbourhoods: dict[int, list[tuple[float, ReportRecord]]],
    states: dict[int, SourceState],
    settings: Settings,
    progress: Callable[[Iterable], Iterable] | None = None,
    calibrations: dict[int, Calibration] | None = None,
) -> Iterator[tuple[ReportRecord, ScoreResult]]:
    """Each record with its score, from its neighbourhood and the sources' states (of the
    records and of their neighbours), calibrated as its crisis's scores are (`calibrations`,
    read from the store when not given); the verifiers' grades are read in bulk here."""
    grades = latest_grades(record.id for record in records)
    if calibrations is None:
        calibrations = store.calibrations({record.crisis_id for record in records})
    for record in progress(records) if progress else records:
        yield (
            record,
            score_report(
                record,
                states[record.source_id],
                grades.get(record.id, []),
                neighbourhoods[record.id],
                states,
                settings,
                calibrations.get(record.crisis_id, IDENTITY),
            ),
        )


def score_reports(report_ids: Iterable[int], settings: Settings, dependents: str = UPDATE) -> int:
    """Score these reports from scratch, inside the scoring transaction in progress (store.run),
    and then the reports that count them among their neighbours: updated (UPDATE) or marked
    stale (MARK_STALE). Returns how many were scored (reports that no longer exist are not)."""
    records = load_records(report_ids)
    if not records:
        return 0
    ordered = [records[report_id] for report_id in sorted(records)]
    stored = store.rows(records, evidence=False)  # where each was: its place, not its evidence
    neighbourhoods = nearby.neighbourhoods(ordered, settings)
    states = load_states(
        {r.source_id for r in ordered} | {other.source_id for found in neighbourhoods.values() for _d, other in found},
        settings,
    )
    store.write_scores(score_records(ordered, neighbourhoods, states, settings), stored, settings)
    _propagate(ordered, stored, states, settings, dependents)
    return len(ordered)


def _propagate(
    scored: list[ReportRecord],
    stored: dict,
    states: dict[int, SourceState],
    settings: Settings,
    dependents: str,
    holding_only: bool = False,
) -> None:
    """Bring up to date (or mark stale) the reports that may count `scored` among their
    neighbours, where each is now and where its old row placed it. `holding_only`: `scored`
    did not move nor change in anything but their sources' states, so only the reports whose
    stored evidence holds one of them can change (which reports are nearest does not)."""
    spots = {}
    for record in scored:
        here = nearby.spot_of(record)
        row = stored.get(record.id)
        before = nearby.Spot(row.crisis_id, row.sector, row.lat, row.lon, row.moment) if row is not None else here
        spots[record.id] = (here, before)
    holders = nearby.holders(spots, settings)
    if holding_only:
        holders = _other_people(scored, holders, states, settings)
    ids = set().union(*holders.values())
    if not holding_only:  # scored from scratch: their evidence is new
        ids -= {record.id for record in scored}
    live = store.rows(ids, live_only=True, explanation=False)  # stale ones are scored whole later
    if holding_only:  # only those that hold them
        holders = {
            offer: {holder for holder in found if holder in live and str(offer) in live[holder].neighbours}
            for offer, found in holders.items()
        }
        live = {holder: live[holder] for found in holders.values() for holder in found}
    records = load_records(live)
    states.update(load_states({r.source_id for r in records.values()} - states.keys(), settings))
    evidence = {report_id: dict(row.neighbours) for report_id, row in live.items()}
    updated, stale = settle_holders(scored, holders, records, evidence, states, settings)
    if dependents == UPDATE:
        explanations = store.explanations(updated)
        store.update_evidence(
            [
                (report_id, combine(explanations[report_id], found, settings))
                for report_id, found in sorted(updated.items())
            ],
            settings,
        )
        store.mark_stale(stale)
    else:
        store.mark_stale(set(updated) | stale)


def _other_people(
    offers: list[ReportRecord], holders: dict[int, set[int]], states: dict[int, SourceState], settings: Settings
) -> dict[int, set[int]]:
    """Of the reports that may hold each offer, those of other people: the evidence a report
    holds of the same person's (its source's key) is "same_source" whatever that source's state."""
    sources = sources_of(set().union(set(), *holders.values()))
    states.update(load_states(set(sources.values()) - states.keys(), settings))
    return {
        offer.id: {
            holder
            for holder in holders.get(offer.id, ())
            if holder in sources and states[sources[holder]].key != states[offer.source_id].key
        }
        for offer in offers
    }


def recombine_for_sources(limit: int, settings: Settings) -> int:
    """Bring up to date up to `limit` scores that are out of date only because their source's
    state changed (store.behind_source_rows: not marked stale, so their own evidence, grading
    and status are as stored): each stored explanation gets its source factor anew, from the
    source's state now, and is combined again with its stored evidence, as calibrated as a
    report scored now would be; no search for neighbours, no report read but those whose
    evidence for others moved. Then the reports that hold them among their neighbours get the
    new evidence (the source's reliability weighs it). The same numbers as scoring each from
    scratch (score_reports). Returns how many were recombined."""
    rows = store.behind_source_rows(limit)
    if not rows:
        return 0
    states = load_states({row.source_id for row in rows}, settings)
    calibrations = store.calibrations({row.crisis_id for row in rows})
    results = [
        (
            row.report_id,
            combine(
                with_source_factor(
                    row.explanation, source_factor(row.report_id, row.moment, states[row.source_id], settings)
                ),
                dict(row.neighbours),
                settings,
                calibrations.get(row.crisis_id, IDENTITY),
            ),
        )
        for row in rows
    ]
    store.update_evidence(results, settings, current=True)
    # Their evidence for the reports that hold them: only the source's state weighs in it.
    moved = [row.report_id for row in rows]
    offers = load_records(moved)
    _propagate(
        [offers[report_id] for report_id in moved if report_id in offers],
        {row.report_id: row for row in rows},
        states,
        settings,
        UPDATE,
        holding_only=True,
    )
    return len(rows)


def run_batch(deadline: float, wait: bool = True, stale_limit: int | None = None) -> bool:
    """Score one batch of the reports waiting for a score, sized to end by `deadline`
    (time.monotonic(); at least one report however late); True when more are waiting. Takes no
    write lock when nothing waits. `wait=False`: raise database.Busy at once when another
    writer holds the lock. Stale scores are refreshed up to VALIDATION_STALE_BATCH a batch
    (`stale_limit`; 0: left to `crisiswiki rescore --stale`)."""
    return next_batch(deadline, wait, stale_limit).more


def next_batch(deadline: float, wait: bool = True, stale_limit: int | None = None) -> Batch:
    """run_batch, saying also how many reports it scored."""
    if stale_limit is None:
        stale_limit = int(current_app.config["VALIDATION_STALE_BATCH"])
    if not store.work_waiting(stale_limit > 0):
        return Batch(0, False)
    settings = current_settings()
    timing = {}

    def work() -> int:
        timing["started"] = started = time.monotonic()  # the write lock is held from here: waiting is not scoring
        # First the scores only their source's state put out of date: a recombination each,
        # many times cheaper than a score from scratch (a click on a source of thousands).
        recombine_asked = min(stale_limit, batch_size(deadline, "per_recombined_s")) if _turn["recombine"] else 0
        recombined = recombine_for_sources(recombine_asked, settings)
        timing["scoring"] = scoring = time.monotonic()
        if recombined:
            _learn("per_recombined_s", (scoring - started) / recombined)
        # A batch holds the write lock for its slice, not more (a click waits for it): when the
        # recombination took the slice, the reports to score from scratch go first next time.
        if recombined and scoring + BATCH_MIN * _cost["per_report_s"] > deadline:
            _turn["recombine"] = not (store.stale_ids(1) or store.unscored_ids(store.scored_through(), 1))
            return recombined
        _turn["recombine"] = True
        size = batch_size(deadline)
        stale_asked = min(stale_limit, size)
        stale = store.stale_ids(stale_asked)
        mark = store.scored_through()
        asked = size - min(len(stale), size // 2)  # new reports get at least half of the batch
        unscored = store.unscored_ids(mark, asked)
        # Every out-of-date score is in this batch, or none is left.
        found_all = len(stale) < stale_asked and recombined < recombine_asked
        stale = stale[: size - len(unscored)]
        scored = score_reports([*stale, *unscored], settings, UPDATE)
        store.advance_scored_through(mark, unscored, asked)
        if found_all:
            store.settle_sources()
        timing["scored"] = scored
        return recombined + scored

    done = store.run(work, wait)
    if timing.get("scored"):
        _learn("per_report_s", (time.monotonic() - timing["scoring"]) / timing["scored"])
    return Batch(done, store.work_waiting(stale_limit > 0))


def _learn(cost: str, spent: float) -> None:
    _cost[cost] = 0.7 * _cost[cost] + 0.3 * spent


def batch_size(deadline: float, cost: str = "per_report_s") -> int:
    """How many reports fit before `deadline`, from what the last batches took (BATCH_MIN to
    BATCH_MAX; `cost`: per report scored from scratch, or per score recombined)."""
    if deadline == math.inf:
        return BATCH_MAX
    left = deadline - time.monotonic()
    return max(BATCH_MIN, min(BATCH_MAX, int(left / max(_cost[cost], 1e-5))))


def rescore_all(crisis_id: int | None = None, progress: Callable[[Iterable], Iterable] | None = None) -> int:
    """Recompute every score (of one crisis, or all) and every state of their sources, in one
    scoring transaction: every report is read once and neighbours are found in memory. Returns
    the number of reports scored."""
    settings = current_settings()

    def work() -> int:
        records = load_all(crisis_id)
        states = compute_states({r.source_id for r in records}, settings)
        neighbourhoods = nearest_all(records, records, settings)
        # Accounts that keep reporting together are one voice (independence.py): they share a
        # group key, kept in their stored state until the next rescore.
        groups = (
            tied_groups(
                {r.id: states[r.source_id].key for r in records},
                {report_id: [other.id for _d, other in found] for report_id, found in neighbourhoods.items()},
            )
            if settings.group_co_reporters
            else {}
        )
        states = {sid: replace(state, key=groups.get(state.key, state.key)) for sid, state in states.items()}
        replace_states(states, settings)
        store.delete_scores(crisis_id)
        # Every score first uncalibrated; then each crisis's calibration is fitted on its
        # verified and refuted reports, and every score combined again with it.
        results = list(
            score_records(
                records,
                neighbourhoods,
                states,
                settings,
                progress,
                dict.fromkeys({r.crisis_id for r in records}, IDENTITY),
            )
        )
        settled: dict[int, tuple[list[float], list[bool]]] = {}
        for record, result in results:
            if record.status in ("verified", "refuted"):
                xs, ys = settled.setdefault(record.crisis_id, ([], []))
                xs.append(evidence_log_odds(result.explanation))
                ys.append(record.status == "verified")
        calibrations = {crisis: fit(xs, ys) for crisis, (xs, ys) in settled.items()}
        rows: list[dict] = []
        for record, result in results:
            calibrated = combine(
                result.explanation, result.neighbours, settings, calibrations.get(record.crisis_id, IDENTITY)
            )
            rows.append({"report_id": record.id, **store.values(calibrated, settings, record)})
            if len(rows) >= 2000:
                store.insert_scores(rows)
                rows = []
        store.insert_scores(rows)
        store.skip_scored()
        store.settle_sources()
        return len(records)

    return store.run(work)

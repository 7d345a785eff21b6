"""The calibration refitted in the background, as verdicts arrive.

`crisiswiki rescore` fits each crisis's calibration (calibration.py) on its verified and
refuted reports, and every score of the crisis carries it. Between two rescores the verdicts
keep coming; this job of the core's background worker (handed to it through the
`background_jobs` hook) refits a crisis's calibration once VALIDATION_RECALIBRATION_REFIT_AFTER
(config.py: 10) verdicts were added (or withdrawn) since its scores' calibration was fitted, and
recombines every score of the crisis with it: a write transaction per chunk of scores (as many
as fit in the scoring batches' slice), no new search for evidence, since each stored
explanation keeps the log-odds the calibration shifts (scoring.evidence_log_odds).

A verdict wakes the job in a server (events.py); otherwise it looks every
VALIDATION_RECALIBRATION_POLL_SECONDS (10), and `crisiswiki worker --once` runs it to the end.
"""

from __future__ import annotations

import time

from flask import Flask, current_app

from wiki.extensions import db
from wiki.workers import Job

from . import store
from .calibration import MIN_OUTCOMES, Calibration, fit
from .config import current_settings
from .scoring import combine, evidence_log_odds

JOB = "validation-calibration"
CHUNK = 500  # scores recombined per write transaction, at most
CHUNK_MIN = 50  # ... and at least (each is a commit)
_cost = {"per_score_s": 0.0002}  # learnt from the chunks: how long a score takes to recombine


def due() -> list[int]:
    """The crises whose calibration is VALIDATION_RECALIBRATION_REFIT_AFTER verdicts or more
    behind (read only)."""
    refit_after = max(int(current_app.config["VALIDATION_RECALIBRATION_REFIT_AFTER"]), 1)
    counts = store.settled_counts()
    fitted = store.calibrations(counts)
    db.session.commit()  # end the read: the refit writes in a transaction of its own
    return [
        crisis_id
        for crisis_id, settled in sorted(counts.items())
        if abs(settled - fitted[crisis_id].outcomes) >= refit_after
        and max(settled, fitted[crisis_id].outcomes) >= MIN_OUTCOMES
    ]


def refit(crisis_id: int) -> Calibration:
    """Fit the crisis's calibration on its verified and refuted reports, as their stored scores
    explain them, and recombine every score of the crisis with it, a chunk of scores per scoring
    transaction (chunk_size), so that clicks and new reports get the write lock between two
    chunks (one transaction for a crisis of 100,000 reports would hold it for many seconds). Each chunk
    re-reads its rows under the lock, so a score rescored meanwhile is recombined as it now is.
    Highest report ids first: the lowest, from which `store.calibrations` reads the crisis's
    calibration, goes last, so a refit cut short (a killed worker) is found due again."""
    settings = current_settings()
    settled = store.run(lambda: store.crisis_rows(crisis_id, settled=True))
    calibration = fit(
        [evidence_log_odds(row.explanation) for row in settled], [row.status == "verified" for row in settled]
    )

    def recombine(below: int | None, size: int) -> tuple[int | None, int]:
        rows = store.crisis_rows(crisis_id, below=below, limit=size)
        store.update_evidence(
            [(row.report_id, combine(row.explanation, dict(row.neighbours), settings, calibration)) for row in rows],
            settings,
        )
        return (rows[-1].report_id if len(rows) == size else None), len(rows)

    below: int | None = None
    while True:
        size = chunk_size()
        started = time.monotonic()
        below, done = store.run(lambda: recombine(below, size))  # noqa: B023 (called at once)
        if done:
            _cost["per_score_s"] = 0.7 * _cost["per_score_s"] + 0.3 * (time.monotonic() - started) / done
        if below is None:
            return calibration


def chunk_size() -> int:
    """How many scores one write transaction recombines: as many as fit in the scoring batches'
    slice (VALIDATION_BACKGROUND_SLICE_MS), from what the last chunks took (CHUNK_MIN to CHUNK, CHUNK winning):
    a click waits for the chunk in progress, and 500 took up to 660 ms on a loaded machine."""
    slice_s = float(current_app.config["VALIDATION_BACKGROUND_SLICE_MS"]) / 1000.0
    return min(CHUNK, max(CHUNK_MIN, int(slice_s / max(_cost["per_score_s"], 1e-6))))


def calibration_job(app: Flask) -> Job:
    """One crisis refitted per turn, until none is behind."""

    def run(deadline: float) -> float | None:
        crises = due()
        if not crises:
            return None
        refit(crises[0])
        return 0.0 if len(crises) > 1 else None

    return Job(JOB, run, poll_seconds=float(app.config["VALIDATION_RECALIBRATION_POLL_SECONDS"]))

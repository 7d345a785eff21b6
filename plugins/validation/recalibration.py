"""The calibration refitted in the background, as verdicts arrive.

`crisiswiki rescore` fits each crisis's calibration (calibration.py) on its verified and
refuted reports, and every score of the crisis carries it. Between two rescores the verdicts
keep coming; this job of the core's background worker (handed to it through the
`background_jobs` hook) refits a crisis's calibration once VALIDATION_RECALIBRATION_REFIT_AFTER
(config.py: 10) verdicts were added (or withdrawn) since its scores' calibration was fitted, and
recombines every score of the crisis with it: a write transaction per CHUNK scores, no new
search for evidence, since each stored explanation keeps the log-odds the calibration shifts
(scoring.evidence_log_odds).

A verdict wakes the job in a server (events.py); otherwise it looks every
VALIDATION_RECALIBRATION_POLL_SECONDS (10), and `crisiswiki worker --once` runs it to the end.
"""

from __future__ import annotations

from flask import Flask, current_app

from wiki.extensions import db
from wiki.workers import Job

from . import store
from .calibration import MIN_OUTCOMES, Calibration, fit
from .config import current_settings
from .scoring import combine, evidence_log_odds

JOB = "validation-calibration"
CHUNK = 500  # scores recombined per write transaction


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
    explain them, and recombine every score of the crisis with it, CHUNK scores per scoring
    transaction, so that clicks and new reports get the write lock between two chunks (one
    transaction for a crisis of 100,000 reports would hold it for many seconds). Each chunk
    re-reads its rows under the lock, so a score rescored meanwhile is recombined as it now is.
    Highest report ids first: the lowest, from which `store.calibrations` reads the crisis's
    calibration, goes last, so a refit cut short (a killed worker) is found due again."""
    settings = current_settings()
    settled = store.run(lambda: store.crisis_rows(crisis_id, settled=True))
    calibration = fit(
        [evidence_log_odds(row.explanation) for row in settled], [row.status == "verified" for row in settled]
    )

    def recombine(below: int | None) -> int | None:
        rows = store.crisis_rows(crisis_id, below=below, limit=CHUNK)
        store.update_evidence(
            [(row.report_id, combine(row.explanation, dict(row.neighbours), settings, calibration)) for row in rows],
            settings,
        )
        return rows[-1].report_id if len(rows) == CHUNK else None

    below = store.run(lambda: recombine(None))
    while below is not None:
        below = store.run(lambda: recombine(below))  # noqa: B023 (called at once)
    return calibration


def calibration_job(app: Flask) -> Job:
    """One crisis refitted per turn, until none is behind."""

    def run(deadline: float) -> float | None:
        crises = due()
        if not crises:
            return None
        refit(crises[0])
        return 0.0 if len(crises) > 1 else None

    return Job(JOB, run, poll_seconds=float(app.config["VALIDATION_RECALIBRATION_POLL_SECONDS"]))

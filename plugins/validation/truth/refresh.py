"""Truth discovery re-run in the background, never in a click.

A run over a crisis fits the model about a dozen times (discovery.py: the fit and the vote
guard's refits), which on a crisis of thousands of claims is far too long for a request, and
far too long to hold the write lock. So recording a claim, or changing the status of a report
that has claims, only marks the subjects concerned pending (their computed_at is cleared, in
the claim's transaction, or in one of its own right after the status change is committed) and
wakes this job of the core's background worker (wiki/workers.py), which one process of the
deployment runs at a time:

- it finds the crises with a pending subject, waits VALIDATION_TRUTH_RERUN_DELAY_MS after it
  first saw each (so that a burst of clicks on one crisis costs one run, not one per click), then
  re-runs one crisis per turn;
- it reads the crisis's claims in a plain transaction, fits without any transaction, and writes
  in a write transaction that reads the claims again first: if they are what it fitted on (the
  same values, reports' statuses and sources), its subjects stop being pending; if a click
  changed them meanwhile, its values are written but every subject of the crisis stays pending,
  and the next turn runs again on the new claims.

Until then every answer that shows the crisis's key figures says that they are being updated
(`"pending": true` in the API, a notice on the claims page, the dashboard and sitrep drafts),
with the values of the last run, never with a value computed some other way. Where no worker
runs in a process (tests) the job runs when the tests run the worker; a deployment whose worker
is a process of its own finds the work every VALIDATION_TRUTH_POLL_SECONDS.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flask import Flask, current_app
from sqlalchemy import select, update

from wiki.database import write_transaction
from wiki.extensions import db
from wiki.workers import Job, wake

from .discovery import discover
from .models import ClaimSubject, ReportClaim
from .proposals import claim_rows, read_inputs, settings_from_config, store_discovery

JOB = "validation-truth"


def mark_pending(subject_ids: Iterable[int]) -> None:
    """The crisis of these subjects needs a new run (in the caller's transaction, which commits)."""
    ids = sorted(set(subject_ids))
    if ids:
        db.session.execute(update(ClaimSubject).where(ClaimSubject.id.in_(ids)).values(computed_at=None))


def wake_worker() -> None:
    """Tell this process's worker, if it runs here, that a crisis waits for a run."""
    wake(JOB)


def refresh_after_report_change(report_id: int, changes: dict) -> bool:
    """When a change to a report alters which of its claims count or how (its status: a
    duplicate, or no longer one, or an outcome that moves its source's track record), mark its
    crisis pending for the job; for the `report_updated` hook. Answers whether it did."""
    if "status" not in changes and "duplicate_of" not in changes and "duplicate_of_id" not in changes:
        return False
    subject_ids = list(db.session.scalars(select(ReportClaim.subject_id).where(ReportClaim.report_id == report_id)))
    if subject_ids:
        mark_pending(subject_ids)
    db.session.commit()
    if subject_ids:
        wake_worker()
    return bool(subject_ids)


def due() -> list[int]:
    """The crises with a pending subject (read only)."""
    found = sorted(
        set(db.session.scalars(select(ClaimSubject.crisis_id).where(ClaimSubject.computed_at.is_(None)).distinct()))
    )
    db.session.commit()  # end the read: a run writes in a transaction of its own
    return found


def rerun(crisis_id: int) -> bool:
    """Run truth discovery over the crisis's claims and store it; answers whether the run was
    current (no claim changed while it fitted), which is when the crisis stops being pending."""
    inputs = read_inputs(crisis_id)
    db.session.commit()  # no transaction open while it fits
    discovery = discover(inputs.claims, settings_from_config(), inputs.priors)
    with write_transaction():
        # The claims as they now are (their values, reports' statuses, sources); the sources'
        # priors are left out: every grading moves them, and a verification session would keep
        # the crisis pending for ever. They are read again by the next run a claim asks for.
        current = claim_rows(crisis_id) == inputs.rows
        store_discovery(crisis_id, inputs, discovery, current=current)
    return current


def truth_job(app: Flask) -> Job:
    """The re-runs as a job of the background worker (see the module docstring)."""
    seen: dict[int, float] = {}  # crisis -> time.monotonic() this process first found it pending

    def run(deadline: float) -> float | None:
        crises = due()
        if not crises:
            seen.clear()
            return None
        delay = float(current_app.config["VALIDATION_TRUTH_RERUN_DELAY_MS"]) / 1000.0
        now = time.monotonic()
        for crisis_id in list(seen):
            if crisis_id not in crises:
                del seen[crisis_id]
        for crisis_id in crises:
            seen.setdefault(crisis_id, now)
        ready = [crisis_id for crisis_id in crises if now - seen[crisis_id] >= delay]
        if not ready:
            return max(0.0, min(seen[crisis_id] for crisis_id in crises) + delay - now)
        crisis_id = min(ready, key=seen.__getitem__)
        del seen[crisis_id]  # a run that was not current finds it pending again, and waits again
        rerun(crisis_id)
        return 0.0

    return Job(JOB, run, poll_seconds=float(app.config["VALIDATION_TRUTH_POLL_SECONDS"]))

"""Where the scoring batches run (batch.run_batch): behind the responses, never in front of them.

In a deployment, the batches are a job of the core's background worker (wiki.workers): one
process at a time runs it, woken when a report arrives or a click leaves stale scores, scoring
what waits, oldest first, one batch (VALIDATION_BACKGROUND_SLICE_MS at most) per write
transaction, and pausing between batches so that it holds the write lock at most
VALIDATION_BACKGROUND_SHARE of the time while reports keep arriving or people click (grade,
change statuses): a click then rarely waits for a batch. When they stop, it catches up at
full speed, and an idle server finishes on its own.

Where no worker runs (tests), the batches run once a response has been sent, for at most
VALIDATION_CATCH_UP_MS, and only if the write lock is free then; outside a request (the CLI),
at once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from contextlib import suppress

from flask import Flask, after_this_request, current_app, has_request_context
from sqlalchemy import func, select

from wiki.extensions import db
from wiki.models import Report
from wiki.models.base import utcnow
from wiki.workers import Job, runs_in_servers, wake

from .batch import next_batch, run_batch
from .database import Busy
from .models import Assessment, StaleSource

log = logging.getLogger(__name__)
JOB = "validation-scoring"


def scoring_job(app: Flask) -> Job:
    """The batches as a job of the background worker (see the module docstring)."""
    share = min(max(float(app.config["VALIDATION_BACKGROUND_SHARE"]), 0.05), 1.0)

    def run(deadline: float) -> float | None:
        started = time.monotonic()
        if not run_batch(deadline):
            return None
        if people_acting():  # leave the write lock to the reports and the clicks most of the time
            return (time.monotonic() - started) * (1.0 - share) / share
        return 0.0

    return Job(
        JOB,
        run,
        poll_seconds=float(app.config["VALIDATION_BACKGROUND_POLL_MS"]) / 1000.0,
        slice_seconds=float(app.config["VALIDATION_BACKGROUND_SLICE_MS"]) / 1000.0,
    )


def schedule() -> None:
    """Have the batches run soon: wake this process's worker (a server); where no worker runs
    (tests), once the response has been sent; outside a request, now, until nothing waits. A
    deployment whose worker is a process of its own finds the work when it next looks."""
    if not has_request_context():
        while next_batch(math.inf).scored:
            pass
        return
    app = current_app._get_current_object()
    if runs_in_servers(app):
        wake(JOB, app)
    elif app.testing:
        _after_response(app)


def people_acting(within_s: float = 1.0, clicks_within_s: float = 0.5) -> bool:
    """Whether (by any server process) a report arrived in the last `within_s` seconds, or
    someone clicked in the last `clicks_within_s`: a verifier's grading, or a click that changed
    what is known of a source (a status change to or from verified or refuted: its source was
    marked). Clicks come in sessions of several people, seconds apart each; a click alone
    should not slow its own consequences for long."""
    now = utcnow()
    for newest, within in (
        (select(Report.received_at).order_by(Report.id.desc()).limit(1), within_s),
        (select(Assessment.created_at).order_by(Assessment.id.desc()).limit(1), clicks_within_s),
        (select(func.max(StaleSource.marked_at)), clicks_within_s),
    ):
        moment = db.session.execute(newest).scalar()
        if moment is not None and (now - moment).total_seconds() < within:
            db.session.commit()
            return True
    db.session.commit()
    return False


def _after_response(app: Flask) -> None:
    """Run the batches once this request's response has been sent (once per request)."""
    from flask import g

    if g.get("validation_after_response"):
        return
    g.validation_after_response = True

    def later() -> None:
        with app.app_context():
            try:
                _catch_up(app)
            except Exception:
                log.exception("validation: scoring after the response failed")
            finally:
                db.session.remove()

    @after_this_request
    def schedule_on_close(response):
        response.call_on_close(later)
        return response


_last_catch_up = {"at": -1e9}
_catch_up_lock = threading.Lock()


def _catch_up(app: Flask) -> None:
    """Batches until nothing waits or VALIDATION_CATCH_UP_MS have passed (at least one), not
    more often than VALIDATION_MAINTAIN_EVERY_MS per process, and only if the write lock is
    free (else a later pass does it)."""
    budget = float(app.config["VALIDATION_CATCH_UP_MS"]) / 1000.0
    if not budget:
        return
    with _catch_up_lock:
        now = time.monotonic()
        if now - _last_catch_up["at"] < float(app.config["VALIDATION_MAINTAIN_EVERY_MS"]) / 1000.0:
            return
        _last_catch_up["at"] = now
    deadline = time.monotonic() + budget
    with suppress(Busy):
        while run_batch(deadline, wait=False) and time.monotonic() < deadline:
            pass

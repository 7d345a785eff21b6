"""Keeping the index in step with the database: one writer at a time, never in a request.

Why a queue and a lock rather than writing from the request: Whoosh allows one writer at a
time, and gunicorn runs several worker processes. A request that had to wait for the index
lock could stall for as long as another worker's commit takes, and a request that gave up
would lose the update. So a request only appends a row to `search_queue` (in the same
database, so it outlives any process), and each server process runs the job (this
module is its job on the background worker, wiki.workers) that, a few times a second, tries to
take `writer.lock` (an fcntl lock: never waits, and the kernel frees it if the process dies).
The process that gets it applies the pending rows and lets go. A worker restarted by gunicorn
simply leaves the job to the others. A hook in the same process wakes the job at once, so a new
report is searchable within a fraction of a second; in other processes within SEARCH_POLL_SECONDS. In a
surge, commits are at least SEARCH_COMMIT_INTERVAL_SECONDS apart: each Whoosh commit opens a
reader of the whole index and merges segments, which cost more than indexing the few reports
that arrived since the last one (at 60 reports/s, a third of the CPU went to the search writer).
A backlog of score-only changes (a source's thousands of scores changed by one click) is applied
a slice at a time, with pauses as long as the slices, so that the writer never holds its server
process for long; new and changed objects go first, all that wait in one commit.

What the queue cannot carry (a worker killed between the database commit and the queue
insert; a queue row lost to a power cut, as it is written without a disk sync of its own) the
catch-up scan finds (wiki.search.indexer.catch_up): every few minutes the writer compares the
`updated_at` of recently changed objects with the time stored in the index, and queues any that
differ. And `crisiswiki reindex` rebuilds everything from the database.
"""

from __future__ import annotations

import time

from flask import Flask

from ..workers import Job, Retry
from .backend import SearchUnavailable
from .indexer import drain_batch, housekeeping
from .locks import writer_lock

# Each turn of the writer applies as many queued rows as fit in its slice (learnt from the
# turns before), at least BATCH_MIN, at most BATCH_MAX; its thread runs in a server process, so
# a turn that took seconds (a source's 2,000 scores, all re-indexed in one go) held that
# process's GIL for seconds and slowed every request it served meanwhile.
SLICE_SECONDS = 0.1
BATCH_MIN = 200  # a commit costs more than 20 rows: fewer would make the estimate, and the backlog, grow
BATCH_MAX = 2000
_cost = {"per_row_s": 0.001}


def batch_size(deadline: float) -> int:
    """How many queue rows fit before `deadline`, from what the last turns took."""
    left = deadline - time.monotonic()
    return max(BATCH_MIN, min(BATCH_MAX, int(left / max(_cost["per_row_s"], 1e-5))))


def index_job(app: Flask) -> Job:
    """The search writer as a job of the background worker."""
    commit_interval = float(app.config["SEARCH_COMMIT_INTERVAL_SECONDS"])

    def run(deadline: float) -> float | None:
        try:
            # New, changed and deleted objects (a surge of reports): as many as wait, in one
            # commit, then a pause before the next (the lock is kept meanwhile, so no other
            # process commits sooner): more is coming, let the batch grow. Whoosh's commits cost
            # more than the documents; sliced like the scores below, a surge of 3,200 reports
            # was found by search 9.9 s after it ended instead of 2.8 s.
            if drain_batch(BATCH_MAX, only="changes"):
                return commit_interval
            # Objects queued only for a moved score (a source's thousands, after one grading): a
            # slice at a time (see batch_size), each followed by a pause as long as it was.
            size = batch_size(deadline)
            started = time.monotonic()
            applied = drain_batch(size, only="scores")
            if applied:
                spent = time.monotonic() - started
                _cost["per_row_s"] = 0.7 * _cost["per_row_s"] + 0.3 * spent / applied
                return spent if applied >= size else commit_interval
            housekeeping(app)
        except SearchUnavailable as error:
            from .service import log_unavailable

            log_unavailable(error)
            raise Retry(error.message) from error
        return None

    return Job(
        "search",
        run,
        poll_seconds=float(app.config["SEARCH_POLL_SECONDS"]),
        slice_seconds=SLICE_SECONDS,
        lock=writer_lock,
    )

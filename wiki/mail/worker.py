"""The mail job of the background worker: sends what waits in the outbox (alerts, and what a
request's own sending after its response could not deliver), registered by the core as the
plugin "wiki.mail"."""

from __future__ import annotations

from flask import Flask, current_app

from ..hooks import hookimpl
from ..workers import Job
from .sender import deliver_pending

BATCH = 200


def send_waiting(deadline: float) -> float | None:
    if not current_app.config["MAIL_SERVER"]:
        return None
    done = deliver_pending(limit=BATCH, deadline=deadline)
    return 0 if done.sent + done.failed >= BATCH else None


@hookimpl
def background_jobs(app: Flask):
    return [Job("mail", send_waiting, poll_seconds=float(app.config["MAIL_POLL_SECONDS"]), slice_seconds=0.5)]

"""The alerts' jobs for the background worker (wiki/workers.py): "alerts" matches events and
makes the messages that are due; "alert-senders" posts webhooks and hands SMS to the gateway.
Each runs in one process of the deployment at a time; what they write is safe to redo if
another process takes over after a crash (see matcher, compose, senders)."""

from __future__ import annotations

import time

from flask import Flask

from ..database import chunked
from ..models.base import utcnow
from ..workers import Job, wake
from .compose import compose_many, due_subscriptions
from .matcher import match_batch
from .senders import send_waiting

COMPOSE_BATCH = 500  # subscriptions looked at per slice
COMPOSE_TRANSACTION = 50  # messages made per write transaction


def match_and_compose(deadline: float) -> float | None:
    """One slice: match event batches until the deadline, then make the messages that are due.
    Answers 0 (more to do at once), or None (the worker looks again every poll)."""
    matched = 0
    while True:
        events, _made = match_batch()
        matched += events
        if not events or time.monotonic() > deadline:
            break
    made = mailed = 0
    for ids in chunked(due_subscriptions(utcnow(), COMPOSE_BATCH), COMPOSE_TRANSACTION):
        messages = [message for message in compose_many(list(ids), utcnow()) if message is not None]
        made += len(messages)
        mailed += sum(message.channel == "email" for message in messages)
        if time.monotonic() > deadline:
            break
    if mailed:
        wake("mail")
    if made - mailed:
        wake("alert-senders")
    return 0 if matched or made else None


def send(deadline: float) -> float | None:
    return 0 if send_waiting(deadline) else None


def jobs(app: Flask) -> list[Job]:
    config = app.config
    return [
        Job("alerts", match_and_compose, poll_seconds=float(config["ALERT_POLL_SECONDS"]), slice_seconds=0.5),
        Job("alert-senders", send, poll_seconds=float(config["ALERT_POLL_SECONDS"]), slice_seconds=1.0),
    ]


def run_until_idle() -> None:
    """Match, compose and send everything waiting now (tests and `crisiswiki send-alerts`)."""
    while True:
        deadline = time.monotonic() + 5
        busy = match_and_compose(deadline) is not None
        busy = (send(deadline) is not None) or busy
        if not busy:
            return

"""Alerts (and anything else that calls the deliver_sms hook) send SMS through the channels'
outbox: a gateway's send API, or SMSSync's task queue. Registered as a plugin only where an SMS
channel is configured, so that elsewhere "no SMS gateway" stays true and SMS alerts wait."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..database import write_transaction
from ..hooks import hookimpl

SMS_SECRETS = ("TWILIO_AUTH_TOKEN", "SMSSYNC_SECRET", "RAPIDPRO_SECRET", "WEBHOOK_SECRET")


def configured(config: Mapping[str, Any]) -> bool:
    """Is there an SMS channel to send through?"""
    return any(config.get(name) for name in SMS_SECRETS)


@hookimpl
def deliver_sms(to, text, crisis):
    """Queued in the channels' outbox and committed here: handed over once this returns."""
    from .outbox import send_sms

    with write_transaction():
        message_id = send_sms(to, text, crisis).id
    return str(message_id)

"""Posting an outgoing message to a gateway's HTTP API (urllib: no client library needed)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

from flask import current_app

from .base import DeliveryError


def post(request: urllib.request.Request, gateway_id: Callable[[bytes], object]) -> str:
    """Send `request`; the gateway's id for the message, read from its answer by `gateway_id`.
    Any refusal or failure is a DeliveryError (the message is tried again later)."""
    try:
        with urllib.request.urlopen(request, timeout=current_app.config["CHANNEL_SEND_TIMEOUT"]) as response:
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{exc.code} {exc.read(2000).decode('utf-8', 'replace')}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DeliveryError(str(exc)) from None
    try:
        return str(gateway_id(body))[:255]
    except (ValueError, AttributeError, TypeError):
        return ""

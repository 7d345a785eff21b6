"""Prometheus metrics: the small API features call, and the text served at /metrics.

Features count what happens with `metrics.inc(NAME, **labels)` (and time it with `observe`);
every metric is declared once, below, with its labels, so a typo fails at once instead of
inventing a new series. Alerts, when they land, count their deliveries with
`metrics.inc("alert_deliveries", channel=...)` and `metrics.inc("alert_delivery_failures", channel=...)`.

Several processes, one set of numbers: gunicorn runs several worker processes and the
background worker may be a process of its own (`crisiswiki worker`). Outside the tests every
process writes its counters and histograms to files in METRICS_DIR (prometheus-client's
multiprocess mode: `PROMETHEUS_MULTIPROC_DIR`, set here before prometheus_client is first
imported), and /metrics adds up the files of every process, living or dead, so a scrape of any
server of the host gives the host's totals. Counters of dead processes stay in their files (a
total never goes down); no metric here is a per-process gauge. Lags and backlogs are not counted
but read from the database when /metrics is asked (wiki/operations/readiness.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from flask import Flask

# name -> (kind, help, label names)
DECLARED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "requests": ("counter", "HTTP requests answered, by endpoint, method and status", ("endpoint", "method", "status")),
    "request_duration_seconds": ("histogram", "Time to answer an HTTP request, by endpoint", ("endpoint", "method")),
    "reports_received": ("counter", "Field reports taken in (new ones, not replays), by channel", ("channel",)),
    "mail_sent": ("counter", "Mail messages accepted by the SMTP server", ()),
    "mail_failures": ("counter", "Mail deliveries that failed (the message stays in the outbox)", ()),
    "alert_deliveries": ("counter", "Alerts delivered, by channel", ("channel",)),
    "alert_delivery_failures": ("counter", "Alert deliveries that failed, by channel", ("channel",)),
}
PREFIX = "crisiswiki_"
# Request times from a cached page (well under a millisecond) to a slow export.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_metrics: dict[str, Any] = {}


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def init_metrics(app: Flask) -> None:
    """Choose per-process or multiprocess mode (before prometheus_client is imported) and declare
    the metrics once per process. The choice is the process's: PROMETHEUS_MULTIPROC_DIR, once set
    (here, or by whoever started the process), holds for every app the process makes."""
    if not app.testing and not multiprocess_dir():
        folder = Path(app.config["METRICS_DIR"] or Path(app.instance_path) / "metrics")
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    if _metrics:
        return
    from prometheus_client import Counter, Histogram, disable_created_metrics

    disable_created_metrics()  # no *_created series: they double what a scrape carries

    for name, (kind, description, labels) in DECLARED.items():
        if kind == "counter":
            _metrics[name] = Counter(PREFIX + name, description, labels)
        else:
            _metrics[name] = Histogram(PREFIX + name, description, labels, buckets=BUCKETS)


def _metric(name: str, labels: dict[str, Any]):
    metric = _metrics.get(name)
    if metric is None:
        if name not in DECLARED:
            raise KeyError(f"undeclared metric {name!r} (declare it in wiki/metrics.py)")
        return None  # before init_metrics (a script using the services without an app)
    return metric.labels(**{key: str(value) for key, value in labels.items()}) if labels else metric


def inc(name: str, amount: float = 1, **labels: Any) -> None:
    """Add to a counter, e.g. inc("reports_received", channel="sms")."""
    metric = _metric(name, labels)
    if metric is not None:
        metric.inc(amount)


def observe(name: str, value: float, **labels: Any) -> None:
    """Record a value in a histogram."""
    metric = _metric(name, labels)
    if metric is not None:
        metric.observe(value)


def exposition(extra_collectors=()) -> tuple[bytes, str]:
    """The text /metrics serves: every process's counters and histograms, then `extra_collectors`
    (objects with a `collect()` that yields metric families, read now)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    extra = CollectorRegistry()
    for collector in extra_collectors:
        extra.register(collector)
    return generate_latest(registry) + generate_latest(extra), CONTENT_TYPE_LATEST


ENDPOINT_KEY = "crisiswiki.endpoint"


class RequestMetrics:
    """WSGI middleware: every response counted and timed by endpoint (Flask's endpoint name;
    "page_cache" for a page the cache answered before Flask, "static" for static files, "other"
    for no route)."""

    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        status_holder: list[str] = []

        def start(status, headers, exc_info=None):
            status_holder.append(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            return self.wrapped(environ, start)
        finally:
            endpoint = environ.get(ENDPOINT_KEY) or (
                "static" if environ.get("PATH_INFO", "").startswith("/static/") else "other"
            )
            method = environ.get("REQUEST_METHOD", "")
            observe("request_duration_seconds", time.perf_counter() - started, endpoint=endpoint, method=method)
            inc("requests", endpoint=endpoint, method=method, status=status_holder[0] if status_holder else "none")

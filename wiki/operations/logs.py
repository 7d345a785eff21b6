"""A request id on every request, and logs as JSON lines when LOG_FORMAT=json.

The request id comes from the client's (or the proxy's) X-Request-ID when it is a plain token
(letters, digits, ".", "_", "-", up to 128 characters), else it is made here; it is echoed in
the response's X-Request-ID (cached pages and static files too: `RequestId` wraps the whole
app) and put on every log line written while the request is handled, so one request can be
followed from nginx's log to the app's.

LOG_FORMAT=json writes each log record as one JSON object (time, level, logger, message,
request_id, and the exception when there is one) and one line per request (method, path,
endpoint, status, duration_ms). Client addresses are not logged: reporters may be at risk.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

ENVIRON_KEY = "crisiswiki.request_id"
HEADER = "X-Request-ID"
_GIVEN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def request_id_from(environ) -> str:
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _GIVEN.match(given) else uuid.uuid4().hex


class RequestId:
    """WSGI middleware: the request id in the environ and in the response's X-Request-ID."""

    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped

    def __call__(self, environ, start_response):
        request_id = environ[ENVIRON_KEY] = request_id_from(environ)

        def start(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != HEADER.lower()]
            return start_response(status, [*headers, (HEADER, request_id)], exc_info)

        return self.wrapped(environ, start)


def current_request_id() -> str | None:
    if not has_request_context():
        return None
    return request.environ.get(ENVIRON_KEY)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("method", "path", "endpoint", "status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update({name: getattr(record, name) for name in self.FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_json_logging(level: str = "INFO") -> None:
    """Every log record of the process as a JSON line on stderr (gunicorn's error log too)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


request_log = logging.getLogger("crisiswiki.requests")


def init_logs(app: Flask) -> None:
    fmt = str(app.config["LOG_FORMAT"]).strip().lower()
    if fmt not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be text or json, not {app.config['LOG_FORMAT']!r}")
    if fmt != "json":
        return
    if not app.testing:
        configure_json_logging(str(app.config["LOG_LEVEL"]).upper())
    app.logger.handlers = []  # to the root's JSON handler
    app.logger.propagate = True
    request_log.disabled = False  # logging.config.fileConfig (Alembic's env.py) disables existing loggers

    @app.before_request
    def _started() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        request_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": current_request_id(),
                "method": request.method,
                "path": request.path,
                "endpoint": request.endpoint,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            },
        )
        return response

"""Running the site: liveness (/healthz), readiness (/readyz), Prometheus metrics (/metrics) and
the request id and JSON logs (wiki/operations/logs.py)."""

from __future__ import annotations

from flask import Flask, request


def init_operations(app: Flask) -> None:
    """The routes, the metrics of every request, and the logs (before any blueprint is added, so
    that every request is seen)."""
    from .. import metrics
    from .logs import init_logs
    from .views import bp

    metrics.init_metrics(app)
    init_logs(app)
    app.register_blueprint(bp)

    @app.before_request
    def _name_the_endpoint() -> None:
        request.environ[metrics.ENDPOINT_KEY] = request.endpoint or "other"

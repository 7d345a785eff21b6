"""/healthz (the process answers; nothing else is touched), /readyz (it can serve: 503 naming the
failing checks otherwise) and /metrics (Prometheus text, only for METRICS_ALLOWED_ADDRESSES)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _

from .. import metrics
from ..network import in_networks, parse_networks
from .readiness import BacklogCollector, checks

bp = Blueprint("operations", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    found = checks()
    failing = sorted(name for name, check in found.items() if not check["ok"])
    if failing:
        body = {
            "status": "not ready",
            "failing": failing,
            "message": _("Not ready: %(checks)s.", checks=", ".join(failing)),
            "checks": found,
        }
        return jsonify(body), 503
    return jsonify({"status": "ready", "checks": found})


@bp.get("/metrics")
def metrics_view():
    if not in_networks(request.remote_addr, parse_networks(current_app.config["METRICS_ALLOWED_ADDRESSES"])):
        message = _("Metrics are served only to the addresses in METRICS_ALLOWED_ADDRESSES.")
        return Response(message + "\n", status=403, mimetype="text/plain")
    body, content_type = metrics.exposition([BacklogCollector(current_app._get_current_object())])
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

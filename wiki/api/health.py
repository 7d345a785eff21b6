"""A health check for load balancers and the test suite's server fixture."""

from __future__ import annotations

import os

from flask import jsonify
from sqlalchemy import text

from ..extensions import db
from ..plugins import loaded_plugin_names
from .blueprint import bp
from .spec import operation


@bp.get("/health")
@operation(summary="Health check: the database answers", responses={"200": {"description": "ok"}})
def health():
    db.session.execute(text("SELECT 1"))
    return jsonify(
        {
            "status": "ok",
            "database": db.engine.dialect.name,
            "plugins": loaded_plugin_names(),
            "worker_pid": os.getpid(),
        }
    )

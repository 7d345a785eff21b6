"""The crisis dashboard's doors: the page (/c/<crisis>/dashboard), each chart's CSV, and the same
numbers as JSON (/api/v1/crises/<crisis>/dashboard). All three build the dashboard with
wiki.desk.dashboard.build, for the viewer and the filters in the URL."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..api.blueprint import bp as api_bp
from ..api.spec import ERROR, operation
from ..auth.permissions import can, require
from ..crises.services import get_crisis_or_404
from ..errors import NotFound
from ..models.reports import CHANNELS, SECTORS, STATUSES
from .aggregates import area_names
from .charts import to_csv, to_json
from .dashboard import build

bp = Blueprint("desk", __name__)


@bp.route("/c/<crisis_slug>/dashboard")
def dashboard(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("view_dashboard")
    board = build(crisis, request.args, current_user)
    areas = {level: sorted(area_names(crisis, level).items(), key=lambda item: item[1]) for level in (1, 2)}
    return render_template(
        "desk/dashboard.html",
        crisis=crisis,
        board=board,
        charts=[(chart, to_json(chart, board.links(chart))) for chart in board.charts],
        sectors=SECTORS,
        statuses=STATUSES,
        channels=CHANNELS,
        areas=areas,
        scores=_scores_available(),
        can_draft=can("draft_sitrep"),
    )


def _scores_available() -> bool:
    from .. import plugins

    return plugins.implemented("report_search_fields") or plugins.implemented("report_search_fields_many")


@bp.route("/c/<crisis_slug>/dashboard/<key>.csv")
def chart_csv(crisis_slug: str, key: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("view_dashboard")
    board = build(crisis, request.args, current_user)
    chart = next((chart for chart in board.charts if chart.key == key), None)
    if chart is None:
        raise NotFound(_("There is no chart %(key)s.", key=key))
    response = Response(to_csv(chart), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{crisis.slug}-{chart.key}.csv"'
    return response


@api_bp.get("/crises/<crisis_slug>/dashboard")
@operation(
    summary="The crisis dashboard's numbers, chart by chart, for the filters in the query (verifiers, "
    "coordinators, admins); the same numbers as the page /c/{crisis_slug}/dashboard and its CSVs",
    responses={
        "200": {
            "description": "crisis, filters, unit, level, reports, verified and charts (each with its "
            "categories, series, extra columns and the report list behind every number)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "401": ERROR,
        "403": ERROR,
        "404": ERROR,
        "422": ERROR,
    },
    parameters=[
        *(
            {"name": name, "in": "query", "schema": {"type": "string"}}
            for name in ("sector", "status", "since", "until", "adm", "q", "channel", "min_score", "max_score")
        ),
        {"name": "unit", "in": "query", "schema": {"type": "string", "enum": ["day", "hour"]}},
        {"name": "level", "in": "query", "schema": {"type": "string", "enum": ["1", "2"]}},
    ],
)
def dashboard_json(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("view_dashboard")
    board = build(crisis, request.args, current_user)
    return {
        "crisis": crisis.slug,
        "filters": board.args,
        "unit": board.unit,
        "level": board.level,
        "reports": board.reports,
        "verified": board.verified,
        "charts": [to_json(chart, board.links(chart)) for chart in board.charts],
    }

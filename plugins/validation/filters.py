"""The `min_score` filter on report lists (API, exports, map, search), through `filter_reports`.
Reports without a score (not yet assessed) are left out."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select

from wiki.errors import Forbidden, InvalidInput
from wiki.models import Report

from .access import can_see_scores
from .models import ReportScore


def min_score_filter(params: Mapping[str, str], viewer) -> ColumnElement[bool] | None:
    """min_score (at least) and max_score (below, or at most 1): reports with a score in range."""
    raw = params.get("min_score") if params else None
    below = max_score(params, viewer)
    if raw in (None, ""):
        if below is None:
            return None
        raw = "0"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(_("min_score must be a number from 0 to 1."), field="min_score")
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(_("min_score must be a number from 0 to 1."), field="min_score")
    if not can_see_scores(viewer):
        raise Forbidden(_("Scores are not shown to you, so you cannot filter by them."))
    # A report with no score yet (nothing known of its source or its information) never passes,
    # whatever the threshold: min_score=0 lists the reports that have a score.
    scored = select(ReportScore.report_id).where(ReportScore.score.is_not(None), ReportScore.score >= value)
    if below is not None:
        scored = scored.where(ReportScore.score < below if below < 1.0 else ReportScore.score <= below)
    return Report.id.in_(scored)


def max_score(params: Mapping[str, str], viewer) -> float | None:
    raw = params.get("max_score") if params else None
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(_("max_score must be a number from 0 to 1."), field="max_score")
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(_("max_score must be a number from 0 to 1."), field="max_score")
    if not can_see_scores(viewer):
        raise Forbidden(_("Scores are not shown to you, so you cannot filter by them."))
    return value

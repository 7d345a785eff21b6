"""Scores in the CSV exports: #meta+score, the Admiralty code as #meta+x_admiralty (both left
empty while there is no basis for them) and how far the report has been assessed as
#meta+x_assessment (not_assessed, partly_assessed, assessed, graded)."""

from __future__ import annotations

from sqlalchemy import select

from wiki.extensions import db
from wiki.models import Report

from .models import ReportScore
from .scoring import NOT_ASSESSED

PREFETCH = 1000


class ScoreLookup:
    """The scores of one export, read a thousand at a time in report id order (the order the
    export streams in), instead of one query per row."""

    def __init__(self) -> None:
        self.cache: dict[int, tuple[float | None, str | None, str] | None] = {}

    def _get(self, report: Report) -> tuple[float | None, str | None, str] | None:
        if report.id not in self.cache:
            rows = db.session.execute(
                select(ReportScore.report_id, ReportScore.score, ReportScore.admiralty, ReportScore.assessment)
                .where(ReportScore.report_id >= report.id)
                .order_by(ReportScore.report_id)
                .limit(PREFETCH)
            ).all()
            self.cache = {row.report_id: (row.score, row.admiralty, row.assessment) for row in rows}
            self.cache.setdefault(report.id, None)
        return self.cache[report.id]

    def score(self, report: Report) -> str:
        found = self._get(report)
        return f"{found[0]:.4f}" if found and found[0] is not None else ""

    def admiralty(self, report: Report) -> str:
        found = self._get(report)
        return (found[1] or "") if found else ""

    def assessment(self, report: Report) -> str:
        found = self._get(report)
        return found[2] if found else NOT_ASSESSED

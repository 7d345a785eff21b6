"""Scores in the CSV exports (#meta+score and the Admiralty code as #meta+x_admiralty)."""
from __future__ import annotations

from sqlalchemy import select

from wiki.extensions import db
from wiki.models import Report

from .models import ReportScore

PREFETCH = 1000


class ScoreLookup:
    """The scores of one export, read a thousand at a time in report id order (the order the
    export streams in), instead of one query per row."""

    def __init__(self) -> None:
        self.cache: dict[int, tuple[float, str] | None] = {}

    def _get(self, report: Report) -> tuple[float, str] | None:
        if report.id not in self.cache:
            rows = db.session.execute(select(ReportScore.report_id, ReportScore.score, ReportScore.admiralty)
                                      .where(ReportScore.report_id >= report.id).order_by(ReportScore.report_id)
                                      .limit(PREFETCH)).all()
            self.cache = {row.report_id: (row.score, row.admiralty) for row in rows}
            self.cache.setdefault(report.id, None)
        return self.cache[report.id]

    def score(self, report: Report) -> str:
        found = self._get(report)
        return f"{found[0]:.4f}" if found else ""

    def admiralty(self, report: Report) -> str:
        found = self._get(report)
        return found[1] if found else ""

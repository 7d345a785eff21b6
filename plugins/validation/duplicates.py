"""Duplicate suggestions: reports of the same crisis near in space and time whose words are
alike (the validation plugin's own similarity, similarity.py), shown on a report and in the
queue, each with a one-click merge of the later report into the earlier one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from wiki.toolkit import Report, bounding_box, db, haversine_km, merge_duplicate, report_place, visible_reports

from .similarity import similarity, words

RADIUS_KM = 2.0
WINDOW = timedelta(hours=48)
MIN_SIMILARITY = 0.3
MAX_SUGGESTIONS = 5
CANDIDATES = 200  # nearest in time looked at per report


@dataclass(frozen=True)
class Suggestion:
    report: Report
    distance_km: float
    similarity: float

    @property
    def id(self) -> int:
        return self.report.id


def _when(report: Report):
    return report.occurred_at or report.received_at


def suggestions(reports: list[Report], viewer) -> dict[int, list[Suggestion]]:
    """{report id: its likely duplicates, most alike first}. Only reports the viewer may see,
    never withdrawn ones or ones already merged; distances from where the viewer sees them."""
    found: dict[int, list[Suggestion]] = {}
    for report in reports:
        if report.lat is None or report.lon is None or report.status == "duplicate":
            continue
        place = report_place(report, viewer)
        south, north, west, east = bounding_box(place.lat, place.lon, RADIUS_KM)
        when = _when(report)
        query = visible_reports(
            select(Report).where(
                Report.crisis_id == report.crisis_id,
                Report.id != report.id,
                Report.withdrawn_at.is_(None),
                Report.status != "duplicate",
                Report.lat.between(south, north),
                Report.lon.between(west, east),
                func.coalesce(Report.occurred_at, Report.received_at).between(when - WINDOW, when + WINDOW),
            ),
            viewer,
        ).limit(CANDIDATES)
        mine = words(f"{report.title} {report.description}")
        matches = []
        for other in db.session.scalars(query):
            there = report_place(other, viewer)
            distance = haversine_km(place.lat, place.lon, there.lat, there.lon)
            if distance > RADIUS_KM:
                continue
            alike = similarity(mine, words(f"{other.title} {other.description}"))
            if alike >= MIN_SIMILARITY:
                matches.append(Suggestion(other, round(distance, 2), round(alike, 2)))
        if matches:
            found[report.id] = sorted(matches, key=lambda s: (-s.similarity, s.distance_km, s.id))[:MAX_SUGGESTIONS]
    return found


def merge_pair(report: Report, other: Report, user) -> tuple[Report, Report]:
    """Merge the later of two reports into the earlier (the first report stays the original);
    returns (duplicate, original)."""
    duplicate, original = (report, other) if (_when(report), report.id) > (_when(other), other.id) else (other, report)
    merge_duplicate(duplicate, original, user)
    return duplicate, original

"""Verifiers' work: grading a report (an Admiralty code per verifier, history kept) and The
Matrix's combined assessment (one report written from several, which may be withdrawn from
public view to shield the people who sent them). One service behind the web forms and the API."""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from wiki.auth.permissions import require
from wiki.database import fits_id
from wiki.errors import InvalidInput, TooLarge
from wiki.extensions import db
from wiki.models import Crisis, Report
from wiki.reports.input import report_input_from_feature
from wiki.reports.submission import submit_report
from wiki.reports.triage import withdraw_report

from . import events
from .matrix import CREDIBILITY, RELIABILITY
from .models import Assessment, CombinedAssessment, CombinedSource
from .records import latest_grades

NOTE_MAX = 2000
COMBINED_MAX = 200  # reports in one combined assessment


def parse_grades(data: dict[str, Any]) -> tuple[str, int, str]:
    """(reliability, credibility, note) from a request, or InvalidInput naming the field. Both
    grades must be chosen: there is no default grading (F and 6 are choices too: "cannot be judged")."""
    reliability = data.get("reliability")
    if reliability is None or (isinstance(reliability, str) and not reliability.strip()):
        raise InvalidInput(
            _("Choose the source reliability (reliability): A to F, F when it cannot be judged."), field="reliability"
        )
    if not isinstance(reliability, str) or reliability.strip().upper() not in RELIABILITY:
        raise InvalidInput(
            _("reliability must be one of A, B, C, D, E or F (F: cannot be judged)."), field="reliability"
        )
    credibility = data.get("credibility")
    if credibility is None or (isinstance(credibility, str) and not credibility.strip()):
        raise InvalidInput(
            _("Choose the credibility of the information (credibility): 1 to 6, 6 when it cannot be judged."),
            field="credibility",
        )
    if isinstance(credibility, str) and credibility.strip().isdigit():
        credibility = int(credibility.strip())
    if not isinstance(credibility, int) or isinstance(credibility, bool) or credibility not in CREDIBILITY:
        raise InvalidInput(
            _("credibility must be a whole number from 1 to 6 (6: cannot be judged)."), field="credibility"
        )
    note = data.get("note") or ""
    if not isinstance(note, str):
        raise InvalidInput(_("note must be text."), field="note")
    if len(note) > NOTE_MAX:
        raise TooLarge(_("note is longer than %(n)d characters.", n=NOTE_MAX), field="note")
    return reliability.strip().upper(), credibility, note.strip()


def add_assessment(report: Report, data: dict[str, Any], user) -> Assessment:
    """Record `user`'s grading of `report`; its score is updated before this returns, the
    other scores the grading affects soon after (events.assessment_added)."""
    require("assess_report", user)
    reliability, credibility, note = parse_grades(data)
    assessment = Assessment(
        report_id=report.id, verifier_id=user.id, reliability=reliability, credibility=credibility, note=note
    )
    db.session.add(assessment)
    db.session.commit()
    events.assessment_added(report.id, report.source_id)
    return assessment


def assessments_of(report_id: int) -> list[Assessment]:
    """Every grading of the report, newest first (the history)."""
    return db.session.scalars(
        select(Assessment)
        .where(Assessment.report_id == report_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    ).all()


def latest_codes(report_id: int) -> list[str]:
    """Each verifier's current grading of the report, e.g. ["B2", "C3"]."""
    return [grade.code for grade in latest_grades([report_id]).get(report_id, [])]


def parse_report_ids(value: Any) -> list[int]:
    if isinstance(value, str):
        value = [part for part in value.replace(" ", ",").split(",") if part]
    if not isinstance(value, list) or not value:
        raise InvalidInput(_("Choose the reports to combine (report_ids)."), field="report_ids")
    try:
        ids = sorted({int(v) for v in value if not isinstance(v, bool)})
    except (TypeError, ValueError):
        raise InvalidInput(_("report_ids must be report numbers."), field="report_ids")
    if not all(fits_id(i) for i in ids):
        raise InvalidInput(
            _("There is no report %(id)d.", id=next(i for i in ids if not fits_id(i))), field="report_ids"
        )
    if len(ids) < 2:
        raise InvalidInput(_("A combined assessment is made from at least two reports."), field="report_ids")
    if len(ids) > COMBINED_MAX:
        raise InvalidInput(_("At most %(n)d reports can be combined.", n=COMBINED_MAX), field="report_ids")
    return ids


def combined_defaults(reports: list[Report]) -> dict[str, Any]:
    """Suggestions for the combined report: the originals' commonest sector, their centre, the
    earliest time, the first place name."""
    sector = Counter(r.sector for r in reports).most_common(1)[0][0]
    times = [r.occurred_at or r.received_at for r in reports]
    located = [r for r in reports if r.lat is not None and r.lon is not None] or reports[:0]
    return {
        "sector": sector,
        "lat": round(sum(r.lat for r in located) / len(located), 6) if located else None,
        "lon": round(sum(r.lon for r in located) / len(located), 6) if located else None,
        "occurred_at": min(times).isoformat(),
        "place_name": next((r.place_name for r in reports if r.place_name), ""),
    }


def originals(crisis: Crisis, report_ids: list[int]) -> list[Report]:
    reports = db.session.scalars(select(Report).where(Report.id.in_(report_ids)).order_by(Report.id)).all()
    found = {r.id for r in reports}
    missing = [i for i in report_ids if i not in found]
    if missing:
        raise InvalidInput(_("There is no report %(id)d.", id=missing[0]), field="report_ids")
    if any(r.crisis_id != crisis.id for r in reports):
        raise InvalidInput(_("All the reports must belong to this crisis."), field="report_ids")
    return reports


def create_combined(crisis: Crisis, data: dict[str, Any], user) -> CombinedAssessment:
    """Write one report from several: stored as a report of the verifier's own, linked to the
    originals, which are withdrawn from public view if asked (recorded in their history)."""
    require("assess_report", user)
    reports = originals(crisis, parse_report_ids(data.get("report_ids")))
    defaults = combined_defaults(reports)
    withdraw = data.get("withdraw_originals", False)
    if not isinstance(withdraw, bool):
        raise InvalidInput(_("withdraw_originals must be true or false."), field="withdraw_originals")
    grading = None
    if data.get("reliability") not in (None, "") or data.get("credibility") not in (None, ""):
        grading = parse_grades(data)
    geometry = data.get("geometry")
    if geometry is None and defaults["lon"] is not None:
        geometry = {"type": "Point", "coordinates": [defaults["lon"], defaults["lat"]]}
    feature = {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "crisis": crisis.slug,
            "title": data.get("title"),
            "description": data.get("description"),
            "sector": data.get("sector") or defaults["sector"],
            "place_name": data.get("place_name") or defaults["place_name"],
            "occurred_at": data.get("occurred_at") or defaults["occurred_at"],
            "sensitive": any(r.sensitive for r in reports),
            "source": {"name": user.name, "channel": "web"},
        },
    }
    given = report_input_from_feature(feature, default_channel="web")
    report = submit_report(given, user, channel="web").report
    combined = CombinedAssessment(
        report_id=report.id,
        verifier_id=user.id,
        withdrew_originals=withdraw,
        sources=[CombinedSource(report_id=r.id) for r in reports],
    )
    db.session.add(combined)
    db.session.commit()
    if withdraw:
        for original in reports:  # for good: only a coordinator's republication undoes it (wiki.visibility)
            withdraw_report(original, user, _("Withdrawn from public view: combined into report %(id)d", id=report.id))
    events.report_submitted(report.id, now=True)  # now that its sources are linked, and for the answer
    if grading is not None:
        add_assessment(report, {"reliability": grading[0], "credibility": grading[1], "note": grading[2]}, user)
    return combined


def combined_for(report_id: int) -> tuple[CombinedAssessment | None, list[CombinedAssessment]]:
    """(the combined assessment this report is, the combined assessments it is part of)."""
    own = db.session.scalar(select(CombinedAssessment).where(CombinedAssessment.report_id == report_id))
    part_of = db.session.scalars(
        select(CombinedAssessment)
        .join(CombinedSource)
        .where(CombinedSource.report_id == report_id)
        .order_by(CombinedAssessment.id)
    ).all()
    return own, list(part_of)

"""A report's timeline: everything that happened to it, oldest first, from the records already
kept (no second log): its receipt, its history of changes (edits, status changes, merges,
withdrawal), verifiers' gradings, combined assessments, structured claims, assignments and
internal notes. For verifiers and coordinators (it holds the notes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from wiki.toolkit import Report, ReportChange, db
from wiki.vocabulary import label

from .assignments import history as assignment_history
from .models import Assessment, CombinedAssessment, CombinedSource
from .notes import notes_of
from .truth.models import ClaimSubject, ReportClaim


@dataclass(frozen=True)
class Event:
    at: datetime
    # submitted, edited, status, merged, merged_in, withdrawn, republished, graded, combined, claim, assigned, note
    kind: str
    who: str
    text: str
    link: int | None = None  # a report the event names


def _change_events(change: ReportChange) -> list[Event]:
    fields = dict(change.changes)
    who = change.author_name or _("someone")
    if "withdrawn_at" in fields:
        kind = "withdrawn" if fields["withdrawn_at"][1] else "republished"
        text = _("Withdrawn from public view") if kind == "withdrawn" else _("Published again")
        return [Event(change.created_at, kind, who, f"{text}: {change.comment}" if change.comment else text)]
    events = []
    if "duplicate_of_id" in fields and fields["duplicate_of_id"][1]:
        target = fields["duplicate_of_id"][1]
        events.append(
            Event(change.created_at, "merged", who, _("Merged as a duplicate of report %(id)d", id=target), target)
        )
        fields.pop("status", None)
    if "status" in fields:
        old, new = fields.pop("status")
        events.append(
            Event(
                change.created_at,
                "status",
                who,
                _("Status: %(old)s → %(new)s", old=label("status", old), new=label("status", new)),
            )
        )
    fields.pop("duplicate_of_id", None)
    if fields:
        names = ", ".join(sorted(fields))
        events.append(Event(change.created_at, "edited", who, _("Edited: %(fields)s", fields=names)))
    return events


def timeline(report: Report) -> list[Event]:
    events = [
        Event(
            report.received_at, "submitted", "", _("Received (%(channel)s)", channel=label("channel", report.channel))
        )
    ]
    for change in db.session.scalars(select(ReportChange).where(ReportChange.report_id == report.id)):
        events.extend(_change_events(change))
    merged_in = db.session.execute(
        select(Report.id, ReportChange.created_at, ReportChange.author_name)
        .join(ReportChange, ReportChange.report_id == Report.id)
        .where(Report.duplicate_of_id == report.id)
    ).all()
    for other, at, who in merged_in:
        events.append(Event(at, "merged_in", who, _("Report %(id)d was merged into this one", id=other), other))
    for grading in db.session.scalars(select(Assessment).where(Assessment.report_id == report.id)):
        who = grading.verifier.name if grading.verifier else _("former user")
        text = _("Graded %(code)s", code=grading.code) + (f" — {grading.note}" if grading.note else "")
        events.append(Event(grading.created_at, "graded", who, text))
    for combined in db.session.scalars(
        select(CombinedAssessment)
        .join(CombinedSource, CombinedSource.assessment_id == CombinedAssessment.id)
        .where(CombinedSource.report_id == report.id)
    ):
        who = combined.verifier.name if combined.verifier else ""
        events.append(
            Event(
                combined.created_at,
                "combined",
                who,
                _("Combined into the assessment of report %(id)d", id=combined.report_id),
                combined.report_id,
            )
        )
    own = db.session.scalar(select(CombinedAssessment).where(CombinedAssessment.report_id == report.id))
    if own is not None:
        ids = ", ".join(str(source.report_id) for source in own.sources)
        events.append(Event(own.created_at, "combined", "", _("Written as an assessment of reports %(ids)s", ids=ids)))
    for claim, subject in db.session.execute(
        select(ReportClaim, ClaimSubject)
        .join(ClaimSubject, ClaimSubject.id == ReportClaim.subject_id)
        .where(ReportClaim.report_id == report.id)
    ):
        text = _(
            "Claim: %(attribute)s of %(subject)s on %(date)s is %(value)s",
            attribute=subject.attribute,
            subject=subject.subject,
            date=subject.as_of.isoformat(),
            value=claim.value,
        )
        events.append(Event(claim.updated_at, "claim", "", text))
    for row in assignment_history(report.id):
        by = row.assigned_by.name if row.assigned_by else ""
        if row.assignee is None:
            text = _("Let go: nobody has it")
        elif row.assignee_id == row.assigned_by_id:
            text = _("Taken by %(name)s", name=row.assignee.name)
        else:
            text = _("Assigned to %(name)s", name=row.assignee.name)
        events.append(Event(row.created_at, "assigned", by, text))
    for note in notes_of(report.id):
        events.append(Event(note.created_at, "note", note.author.name if note.author else _("former user"), note.body))
    order = {"submitted": 0}
    return sorted(events, key=lambda event: (event.at, order.get(event.kind, 1)))

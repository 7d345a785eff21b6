"""The demo's gradings (the core's demo loader hands them over through the `demo_loaded` hook):
stored as the verifiers' assessments, a few hours after each report came in, in one transaction,
then the crisis is scored in one batch (as `crisiswiki rescore --crisis` does), so its scores,
verdicts, calibration and the sources' records are there when the demo opens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from wiki.database import write_transaction
from wiki.extensions import db
from wiki.models import Report

from .batch import rescore_all
from .models import Assessment


def record_demo_gradings(crisis_id: int, gradings: list[dict]) -> int:
    received = dict(
        db.session.execute(
            select(Report.id, Report.received_at).where(Report.id.in_([g["report_id"] for g in gradings]))
        ).all()
    )
    rows = [
        {
            "report_id": grading["report_id"],
            "verifier_id": grading["verifier_id"],
            "reliability": grading["reliability"],
            "credibility": int(grading["credibility"]),
            "note": grading.get("note", ""),
            "created_at": received[grading["report_id"]] + timedelta(hours=3),
        }
        for grading in gradings
        if grading["report_id"] in received
    ]
    db.session.rollback()
    if rows:
        with write_transaction():
            db.session.execute(insert(Assessment), rows)
    return rescore_all(crisis_id)

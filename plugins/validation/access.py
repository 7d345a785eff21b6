"""Who may see what of the validation data. Grading is the verifiers' work (permission
`assess_report`); a source's record is for verifiers and admins only (`view_source_record`);
scores are shown to whoever VALIDATION_SCORES_VISIBLE_TO allows."""

from __future__ import annotations

from flask import current_app

from wiki.auth.permissions import can


def can_assess(viewer) -> bool:
    return can("assess_report", viewer)


def can_see_source_record(viewer) -> bool:
    return can("view_source_record", viewer)


def can_see_scores(viewer) -> bool:
    audience = current_app.config["VALIDATION_SCORES_VISIBLE_TO"]
    if audience == "everyone":
        return True
    if audience == "logged_in":
        return bool(getattr(viewer, "is_authenticated", False))
    return can_assess(viewer) or can("triage_report", viewer)

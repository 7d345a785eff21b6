"""Scores as people and programs see them: the API properties, the explanation in the reader's
language, the report page's panel. Explanations never name a source or a contact; the source's
track record in figures is shown only to those who may see its record."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import get_translations
from markupsafe import Markup
from sqlalchemy import or_, select

from wiki.extensions import db
from wiki.i18n import N_
from wiki.models import Report

from .access import can_assess, can_see_source_record
from .matrix import CREDIBILITY_NAMES, RELIABILITY_NAMES, VERDICT_NAMES, display_code, grid, verdict
from .models import ReportScore, SourceReliability, StaleSource
from .scoring import ASSESSED, GRADED, NOT_ASSESSED, PARTLY_ASSESSED
from .shown_scores import score_row

FACTOR_NAMES = {
    "base": N_("Starting point"),
    "source": N_("Source"),
    "status": N_("Status"),
    "verifiers": N_("Verifiers"),
    "corroboration": N_("Corroboration"),
    "contradiction": N_("Contradiction"),
}
PUBLIC_SOURCE_TEXT = N_(
    "The source's reliability, from its track record (shown to verifiers only) or what is known of it."
)

# How far a report has been assessed, in words (never by colour alone) and why.
ASSESSMENT_NAMES = {
    NOT_ASSESSED: N_("Not yet assessed"),
    PARTLY_ASSESSED: N_("Partly assessed: no verdict yet"),
    ASSESSED: N_("Assessed from the evidence"),
    GRADED: N_("Graded by a verifier"),
}
NOT_SCORED_TEXT = N_("Not yet assessed: the validation has not looked at this report yet.")
NOT_ASSESSED_TEXT = N_(
    "No verifier has graded it, nothing is known of its source yet, and no other report corroborates or contradicts it."
)
SOURCE_UNKNOWN_TEXT = N_(
    "Nothing is known of its source yet (no track record and no verifier's grading), so there is no verdict."
)
INFORMATION_UNKNOWN_TEXT = N_(
    "No verifier has graded the information, and no other report corroborates or contradicts "
    "it, so there is no verdict."
)
ASSESSED_TEXT = N_("Derived from the evidence about its source and its information; no verifier has graded it yet.")
GRADED_TEXT = N_("A verifier graded it.")
UNJUDGED_TEXTS = {  # a verifier's "cannot be judged", for the source (F), the information (6) or both
    (True, False): N_("A verifier graded it: the source's reliability cannot be judged."),
    (False, True): N_("A verifier graded it: the truth of the information cannot be judged."),
    (True, True): N_("A verifier graded it: neither the source nor the information can be judged."),
}
NO_SCORE_NAME = N_("No score")
UNJUDGED_NO_SCORE_TEXT = N_(
    "No score: a verifier's “cannot be judged” is no evidence, and nothing else is known of it yet."
)


def assessment_reason(row) -> str:
    """Why a report stands where it does (an English message id: translate it to show it)."""
    if row is None:
        return NOT_SCORED_TEXT
    if row.assessment == GRADED:
        unjudged = (row.reliability_grade == "F", row.credibility_grade == 6)
        return UNJUDGED_TEXTS.get(unjudged, GRADED_TEXT)
    if row.assessment == PARTLY_ASSESSED:
        return SOURCE_UNKNOWN_TEXT if row.reliability_grade is None else INFORMATION_UNKNOWN_TEXT
    return ASSESSED_TEXT if row.assessment == ASSESSED else NOT_ASSESSED_TEXT


def assessment(row, translate=None) -> dict[str, Any]:
    """{"state", "reason", "reliability", "credibility"}: how far the report has been assessed,
    why, and the parts of its grading known so far (None: no basis yet)."""
    translate = translate or get_translations().ugettext
    if row is None:
        return {"state": NOT_ASSESSED, "reason": translate(NOT_SCORED_TEXT), "reliability": None, "credibility": None}
    return {
        "state": row.assessment,
        "reason": translate(assessment_reason(row)),
        "reliability": row.reliability_grade,
        "credibility": row.credibility_grade,
    }


def map_properties(report_ids) -> dict[int, dict[str, Any]]:
    """What the map shows of each report's score: the score, the Admiralty code and its verdict,
    and how far it has been assessed (a report with nothing known is drawn in a neutral style)."""
    found: dict[int, dict[str, Any]] = {}
    ids = list(report_ids)
    reasons: dict[tuple, str] = {}
    translate = get_translations().ugettext
    for start in range(0, len(ids), 500):
        for row in db.session.execute(
            select(
                ReportScore.report_id,
                ReportScore.score,
                ReportScore.admiralty,
                ReportScore.reliability_grade,
                ReportScore.credibility_grade,
                ReportScore.assessment,
                ReportScore.stale,
            ).where(ReportScore.report_id.in_(ids[start : start + 500]))
        ):
            reason = assessment_reason(row)
            if reason not in reasons:
                reasons[reason] = translate(reason)
            found[row.report_id] = {
                "score": round(row.score, 4) if row.score is not None else None,
                "admiralty": row.admiralty,
                "verdict": verdict(row.admiralty) if row.admiralty else None,
                "assessment": {"state": row.assessment, "reason": reasons[reason]},
                "score_stale": row.stale,
            }
    not_scored = {"state": NOT_ASSESSED, "reason": translate(NOT_SCORED_TEXT)}
    for report_id in ids:
        found.setdefault(report_id, {"score": None, "admiralty": None, "verdict": None, "assessment": not_scored})
    return found


def explanation(row, viewer) -> list[dict[str, Any]]:
    """The factors, each with its effect in log-odds and in score points and a sentence; they add
    up to the score. With no score, one entry that says why there is none."""
    translate = get_translations().ugettext  # once, not per sentence: lists explain hundreds of scores
    if row is None or row.score is None:
        text = UNJUDGED_NO_SCORE_TEXT if row is not None and row.assessment == GRADED else assessment_reason(row)
        return [
            {
                "factor": "no_score",
                "name": translate(NO_SCORE_NAME),
                "value": None,
                "delta_log_odds": 0.0,
                "delta_score": 0.0,
                "sentence": translate(text),
            }
        ]
    detailed = can_see_source_record(viewer)
    factors = []
    for entry in row.explanation:
        text, params = entry["text"], dict(entry["params"])
        if entry["factor"] == "source" and not detailed:
            text, params = PUBLIC_SOURCE_TEXT, {}
        sentence = translate(text) % params if "%(" in text else translate(text)
        factors.append(
            {
                "factor": entry["factor"],
                "name": translate(FACTOR_NAMES.get(entry["factor"], entry["factor"])),
                "value": entry["value"] if entry["factor"] != "source" or detailed else round(entry["value"], 2),
                "delta_log_odds": round(entry["delta_log_odds"], 3),
                "delta_score": round(entry["delta_score"], 4),
                "sentence": sentence,
            }
        )
    return factors


def score_properties(row, viewer) -> dict[str, Any]:
    """A report's validation properties in the API: score, admiralty and verdict (each None
    until there is a basis for it), the assessment state and why, and the explanation."""
    properties = {
        "score": round(row.score, 4) if row is not None and row.score is not None else None,
        "admiralty": row.admiralty if row is not None else None,
        "verdict": verdict(row.admiralty) if row is not None and row.admiralty else None,
        "assessment": assessment(row),
        "score_explanation": explanation(row, viewer),
        "score_stale": row.stale if row is not None else False,
    }
    if row is not None:
        properties["score_updated_at"] = row.updated_at.isoformat()
    return properties


def grid_context(code: str | None, verifier_codes: list[str]) -> dict[str, Any]:
    """The Matrix for a report: `code` is its full grading (None: no verdict, no cell selected)."""
    return {
        "rows": grid(code, verifier_codes),
        "selected": code,
        "reliability_names": RELIABILITY_NAMES,
        "credibility_names": CREDIBILITY_NAMES,
        "verdict_names": VERDICT_NAMES,
        "selected_verdict": verdict(code) if code else None,
    }


def assessment_context(row, translate=None) -> dict[str, Any]:
    """How a page shows a report's assessment: its state in words and why, the score (None: no
    score), the grading with unknown parts as "–", the verdict (None: none yet), and whether a
    verifier said "cannot be judged" (shown apart from "not yet assessed")."""
    translate = translate or get_translations().ugettext
    state = row.assessment if row is not None else NOT_ASSESSED
    reliability = row.reliability_grade if row is not None else None
    credibility = row.credibility_grade if row is not None else None
    code = row.admiralty if row is not None else None
    outcome = verdict(code) if code else None
    return {
        "state": state,
        "name": translate(ASSESSMENT_NAMES[state]),
        "reason": translate(assessment_reason(row)),
        "score": row.score if row is not None else None,
        "code": display_code(reliability, credibility),
        "verdict": outcome,
        "verdict_name": VERDICT_NAMES[outcome] if outcome else None,
        "unjudged": state == GRADED and (reliability == "F" or credibility == 6),
        "stale": bool(row.stale) if row is not None else False,
    }


def related_scores_stale(report: Report, row) -> bool:
    """Are scores that depend on this report still being updated after a change (stale: its
    source's other reports, its neighbours), while its own is current?"""
    if row is None or row.stale:
        return False
    scores = ReportScore.__table__
    neighbours = [int(key) for key in row.neighbours]
    marked_row = (
        select(scores.c.report_id)
        .join(Report, Report.id == scores.c.report_id)
        .where(
            scores.c.stale.is_(True),
            scores.c.report_id != report.id,
            or_(Report.source_id == report.source_id, scores.c.report_id.in_(neighbours)),
        )
        .limit(1)
    )
    # The source's other reports scored before its mark; the neighbours (of other sources too)
    # out of date in any way.
    behind_source = (
        select(scores.c.report_id)
        .join(Report, Report.id == scores.c.report_id)
        .join(StaleSource, StaleSource.source_id == Report.source_id)
        .where(
            Report.source_id == report.source_id,
            scores.c.report_id != report.id,
            scores.c.source_generation < StaleSource.generation,
        )
        .limit(1)
    )
    behind_neighbour = select(ReportScore.report_id).where(
        ReportScore.report_id.in_(neighbours), ReportScore.stale.is_(True)
    )
    return any(
        db.session.execute(query.limit(1)).first() is not None
        for query in (marked_row, behind_source, behind_neighbour)
    )


def panel(report: Report, viewer) -> Markup:
    from .assessments import assessments_of, combined_for, latest_codes

    row = score_row(report.id)
    verifier = can_assess(viewer)
    history = assessments_of(report.id) if verifier else []
    codes = latest_codes(report.id)
    own, part_of = combined_for(report.id)
    source_state, source_reports = None, []
    if can_see_source_record(viewer):
        source_state = db.session.get(SourceReliability, report.source_id)
        source_reports = db.session.execute(
            select(Report.id, Report.title, Report.status, ReportScore.score)
            .outerjoin(ReportScore, ReportScore.report_id == Report.id)
            .where(Report.source_id == report.source_id, Report.id != report.id)
            .order_by(Report.id.desc())
            .limit(5)
        ).all()
    return Markup(
        render_template(
            "validation/_panel.html",
            report=report,
            row=row,
            factors=explanation(row, viewer) if row else [],
            grid=grid_context(row.admiralty if row else None, codes),
            codes=codes,
            history=history,
            verifier=verifier,
            assessment=assessment_context(row),
            combined=own,
            part_of=part_of,
            source_state=source_state,
            source_reports=source_reports,
            related_stale=related_scores_stale(report, row),
            record_url=url_for("validation.source_record", source_id=report.source_id)
            if source_state is not None
            else None,
        )
    )

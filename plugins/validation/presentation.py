"""Scores as people and programs see them: the API properties, the explanation in the reader's
language, the report page's panel. Explanations never name a source or a contact; the source's
track record in figures is shown only to those who may see its record."""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context, render_template, url_for
from flask_babel import get_translations
from markupsafe import Markup
from sqlalchemy import select

from wiki.extensions import db
from wiki.i18n import N_
from wiki.models import Report

from .access import can_assess, can_see_source_record
from .matrix import CREDIBILITY_NAMES, RELIABILITY_NAMES, VERDICT_NAMES, grid, verdict
from .models import ReportScore, SourceReliability

FACTOR_NAMES = {
    "base": N_("Starting point"), "source": N_("Source"), "status": N_("Status"), "verifiers": N_("Verifiers"),
    "corroboration": N_("Corroboration"), "contradiction": N_("Contradiction"),
}
PUBLIC_SOURCE_TEXT = N_("The source's reliability, from its track record (shown to verifiers only) or what is known of it.")


def score_row(report_id: int) -> ReportScore | None:
    return db.session.get(ReportScore, report_id)


LISTED_WINDOW = 200
LISTED_COLUMNS = (ReportScore.report_id, ReportScore.score, ReportScore.admiralty, ReportScore.explanation,
                  ReportScore.stale, ReportScore.updated_at)


def listed_score_row(report_id: int):
    """The score of a report in a list (API pages, exports, the map), read LISTED_WINDOW rows at a
    time around it: lists go in report id order, up or down, so one query serves many reports
    instead of one query each. Kept for the request only, and dropped when scores change."""
    if not has_request_context():
        return score_row(report_id)
    cache = g.setdefault("validation_listed_scores", {"rows": {}, "last": None})
    rows = cache["rows"]
    if report_id not in rows:
        downwards = cache["last"] is not None and report_id < cache["last"]
        low, high = (report_id - LISTED_WINDOW + 1, report_id) if downwards else (report_id, report_id + LISTED_WINDOW - 1)
        if len(rows) > 20 * LISTED_WINDOW:
            rows.clear()
        rows.update({row.report_id: row for row in db.session.execute(
            select(*LISTED_COLUMNS).where(ReportScore.report_id.between(low, high)))})
        rows.setdefault(report_id, None)
        cache["last"] = report_id
    return rows[report_id]


def preload_scores(report_ids) -> None:
    """Load the scores of reports about to be listed together, in one query per 500."""
    if not has_request_context():
        return
    cache = g.setdefault("validation_listed_scores", {"rows": {}, "last": None})
    wanted = set(report_ids)
    # Keep only this list's scores: an export announces 100,000 reports batch by batch, and
    # holding every batch's rows would grow the worker by hundreds of megabytes.
    cache["rows"] = {report_id: row for report_id, row in cache["rows"].items() if report_id in wanted}
    ids = sorted(wanted - cache["rows"].keys())
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        cache["rows"].update({row.report_id: row for row in db.session.execute(
            select(*LISTED_COLUMNS).where(ReportScore.report_id.in_(chunk)))})
        cache["rows"].update({report_id: None for report_id in chunk if report_id not in cache["rows"]})


def map_properties(report_ids) -> dict[int, dict[str, Any]]:
    """What the map shows of each report's score: the score, the Admiralty code and its verdict."""
    found: dict[int, dict[str, Any]] = {}
    ids = list(report_ids)
    for start in range(0, len(ids), 500):
        for report_id, score, admiralty, stale in db.session.execute(
                select(ReportScore.report_id, ReportScore.score, ReportScore.admiralty, ReportScore.stale)
                .where(ReportScore.report_id.in_(ids[start:start + 500]))):
            found[report_id] = {"score": round(score, 4), "admiralty": admiralty, "verdict": verdict(admiralty),
                                "score_stale": stale}
    return found


def forget_listed_scores() -> None:
    if has_request_context():
        g.pop("validation_listed_scores", None)


def explanation(row: ReportScore, viewer) -> list[dict[str, Any]]:
    """The factors, each with its effect in log-odds and in score points and a sentence."""
    detailed = can_see_source_record(viewer)
    translate = get_translations().ugettext  # once, not per sentence: lists explain hundreds of scores
    factors = []
    for entry in row.explanation:
        text, params = entry["text"], dict(entry["params"])
        if entry["factor"] == "source" and not detailed:
            text, params = PUBLIC_SOURCE_TEXT, {}
        sentence = translate(text) % params if "%(" in text else translate(text)
        factors.append({"factor": entry["factor"], "name": translate(FACTOR_NAMES.get(entry["factor"], entry["factor"])),
                        "value": entry["value"] if entry["factor"] != "source" or detailed else round(entry["value"], 2),
                        "delta_log_odds": round(entry["delta_log_odds"], 3), "delta_score": round(entry["delta_score"], 4),
                        "sentence": sentence})
    return factors


def score_properties(row: ReportScore | None, viewer) -> dict[str, Any]:
    if row is None:
        return {"score": None, "admiralty": None, "verdict": None, "score_explanation": [], "score_stale": False}
    return {"score": round(row.score, 4), "admiralty": row.admiralty, "verdict": verdict(row.admiralty),
            "score_explanation": explanation(row, viewer), "score_stale": row.stale,
            "score_updated_at": row.updated_at.isoformat()}


def grid_context(code: str | None, verifier_codes: list[str]) -> dict[str, Any]:
    return {"rows": grid(code, verifier_codes), "selected": code, "reliability_names": RELIABILITY_NAMES,
            "credibility_names": CREDIBILITY_NAMES, "verdict_names": VERDICT_NAMES,
            "selected_verdict": verdict(code) if code else None}


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
            .where(Report.source_id == report.source_id, Report.id != report.id).order_by(Report.id.desc()).limit(5)).all()
    return Markup(render_template(
        "validation/_panel.html", report=report, row=row, factors=explanation(row, viewer) if row else [],
        grid=grid_context(row.admiralty if row else None, codes), codes=codes, history=history, verifier=verifier,
        combined=own, part_of=part_of, source_state=source_state, source_reports=source_reports,
        record_url=url_for("validation.source_record", source_id=report.source_id) if source_state is not None else None,
    ))

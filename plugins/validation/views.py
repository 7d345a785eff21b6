"""The plugin's web pages: the verifier queue, grading from the report page, a source's record,
the related-reports finder and the combined assessment."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wiki.auth.permissions import can, require
from wiki.crises.services import get_crisis_or_404
from wiki.errors import DomainError, InvalidInput
from wiki.extensions import db
from wiki.models import Report
from wiki.models.reports import SECTORS
from wiki.toolkit import safe_next
from wiki.visibility import get_visible_report

from .access import can_assess, can_see_scores
from .assessments import add_assessment, combined_defaults, create_combined, originals, parse_report_ids
from .assignments import assignees, can_assign
from .assignments import verifiers as list_verifiers
from .duplicates import suggestions
from .finder import find_related, parse_query, related_features
from .matrix import CREDIBILITY_NAMES, RELIABILITY_NAMES
from .presentation import assessment_context, grid_context
from .queue import SORTS, area_choices, codes_by_report, verifier_queue
from .source_record import source_record

bp = Blueprint(
    "validation", __name__, template_folder="templates", static_folder="static", static_url_path="/validation-static"
)


def _report_or_404(report_id: int) -> Report:
    return get_visible_report(report_id, current_user)


@bp.route("/c/<crisis_slug>/verify")
def queue(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    if not can_assign(current_user):  # coordinators assign from the queue; verifiers work it
        require("assess_report")
    sort = request.args.get("sort", "newest")
    include_assessed = request.args.get("all") == "1"
    sector = request.args.get("sector") or None
    assigned = request.args.get("assigned", "")
    adm = request.args.get("adm") or None
    page = request.args.get("page", 1, type=int)
    rows, more = verifier_queue(crisis, current_user, sort, include_assessed, sector, page, assigned, adm)
    reports = [report for report, _score in rows]
    codes = codes_by_report([report.id for report in reports])
    assessments = {report.id: assessment_context(score) for report, score in rows}
    related_stale = any(score is not None and score.stale for _report, score in rows)
    return render_template(
        "validation/queue.html",
        crisis=crisis,
        rows=rows,
        codes=codes,
        sort=sort,
        assessments=assessments,
        related_stale=related_stale,
        sorts=SORTS,
        include_assessed=include_assessed,
        sector=sector,
        sectors=SECTORS,
        page=page,
        more=more,
        assigned=assigned,
        adm=adm,
        areas=area_choices(crisis),
        holders=assignees([report.id for report in reports]),
        duplicates=suggestions(reports, current_user),
        verifiers=list_verifiers() if can_assign(current_user) else [],
        can_grade=can_assess(current_user),
        can_assign=can_assign(current_user),
        can_merge=can("merge_reports", current_user),
        reliability_names=RELIABILITY_NAMES,
        credibility_names=CREDIBILITY_NAMES,
        here=request.full_path.rstrip("?"),
        empty_grid=grid_context(None, []),
    )


@bp.route("/reports/<int:report_id>/grade", methods=["POST"])
def assess(report_id: int):
    report = _report_or_404(report_id)
    require("assess_report")
    assessment = add_assessment(report, request.form.to_dict(), current_user)
    flash(_("Saved your grading %(code)s of report %(id)d.", code=assessment.code, id=report.id))
    if request.form.get("next"):  # graded from the queue: back to it, on the next report
        return redirect(safe_next(request.form["next"]))
    return redirect(url_for("reports.view", report_id=report.id))


@bp.route("/sources/<int:source_id>/record", endpoint="source_record")
def source_record_page(source_id: int):
    record = source_record(source_id, current_user)
    return render_template(
        "validation/source_record.html", record=record, series=json.dumps(record["reliability_over_time"])
    )


@bp.route("/c/<crisis_slug>/related")
def related(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    results, query, error = [], None, None
    if any(request.args.get(name) for name in ("report", "lat", "lon")):
        try:
            query = parse_query(crisis, request.args, current_user)
            results = find_related(crisis, query, current_user)
        except InvalidInput as exc:
            error = exc
    features = related_features(results, current_user)
    map_data = json.dumps(
        {
            "type": "FeatureCollection",
            "features": features,
            "centre": [query.lon, query.lat] if query else None,
            "radius_km": query.radius_km if query else None,
        }
    )
    assessments = {report.id: assessment_context(score) for _distance, report, score in results}
    return render_template(
        "validation/related.html",
        crisis=crisis,
        results=results,
        query=query,
        error=error,
        args=request.args,
        sectors=SECTORS,
        map_data=map_data,
        show_scores=can_see_scores(current_user),
        can_combine=can_assess(current_user),
        assessments=assessments,
    ), (422 if error else 200)


@bp.route("/c/<crisis_slug>/combine", methods=["GET", "POST"])
def combine(crisis_slug: str):
    """Write one report from several (verifiers)."""
    crisis = get_crisis_or_404(crisis_slug)
    require("assess_report")
    source = request.form if request.method == "POST" else request.args
    raw_ids = source.getlist("ids") or source.getlist("report_ids")
    error = None
    try:
        ids = parse_report_ids(",".join(raw_ids))
        reports = originals(crisis, ids)
    except InvalidInput as exc:
        if request.method == "POST":
            raise
        ids, reports, error = [], [], exc
    form = combined_defaults(reports) if reports else {}
    if request.method == "POST":
        form = request.form.to_dict()
        data = {
            "report_ids": ids,
            "title": form.get("title"),
            "description": form.get("description"),
            "sector": form.get("sector"),
            "place_name": form.get("place_name"),
            "occurred_at": form.get("occurred_at"),
            "withdraw_originals": form.get("withdraw_originals") == "1",
            "reliability": form.get("reliability"),
            "credibility": form.get("credibility"),
            "note": form.get("note", ""),
        }
        if form.get("lat") and form.get("lon"):
            try:
                data["geometry"] = {"type": "Point", "coordinates": [float(form["lon"]), float(form["lat"])]}
            except ValueError:
                error = InvalidInput(_("Coordinates must be numbers."), field="geometry")
        if error is None:
            try:
                combined = create_combined(crisis, data, current_user)
                flash(_("Saved the combined assessment as report %(id)d.", id=combined.report_id))
                return redirect(url_for("reports.view", report_id=combined.report_id))
            except DomainError as exc:
                if exc.status in (401, 403):
                    raise
                db.session.rollback()
                error = exc
    return render_template(
        "validation/combine.html",
        crisis=crisis,
        reports=reports,
        ids=ids,
        form=form,
        error=error,
        sectors=SECTORS,
        reliability_names=RELIABILITY_NAMES,
        credibility_names=CREDIBILITY_NAMES,
    ), (error.status if error else 200)

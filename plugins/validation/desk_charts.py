"""The validation plugin's part of the coordinator's desk: the dashboard's charts of scores,
Admiralty verdicts and key figures (`dashboard_charts`), and a sitrep draft's key figures from
the structured claims and its clearly marked unverified, high-scoring information
(`sitrep_sections`). Numbers come from SQL aggregates over the view's reports."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from wiki.toolkit import Chart, Report, Section, Series, db, escape_markdown

from .access import can_see_scores
from .desk_tallies import BANDS, band_of
from .matrix import VERDICT_NAMES, verdict
from .models import ReportScore, ScoreTally
from .truth.models import ClaimSubject, ReportClaim
from .truth.proposals import subject_views

MAX_FIGURES = 30


def being_updated() -> str:
    """The notice that the key figures wait for a re-run of truth discovery (truth/refresh.py)."""
    return _(
        "Being updated: truth discovery is re-running with the latest claims; "
        "these values are from its previous run and change within seconds."
    )


UNVERIFIED_MIN_SCORE = 0.7  # VALIDATION_SITREP_MIN_SCORE
MAX_UNVERIFIED = 10


def dashboard_charts(scope) -> list[Chart] | None:
    if not can_see_scores(scope.viewer):
        return None
    return [*score_charts(scope), key_figures_chart(scope)]


TENTHS = 10  # the bars of the distribution of scores


def score_charts(scope) -> list[Chart]:
    """The distribution of scores (in tenths) and of Admiralty verdicts, from one aggregate."""
    query, per_tenth = None, 1
    if scope.tallies is not None:
        # The tallies kept by triggers (migrations v0007_desk_tallies, v0009_band_twentieths): a few
        # rows per day and value, by twentieth (two to a tenth); on a view with a minimum score the
        # view's tallies narrow them to its bands (desk_tallies.py).
        try:
            query = scope.tallies.apply(
                select(ScoreTally.band, ScoreTally.admiralty, func.sum(ScoreTally.n)).group_by(
                    ScoreTally.band, ScoreTally.admiralty
                ),
                ScoreTally.crisis_id,
                ScoreTally.day,
                ScoreTally.sector,
                ScoreTally.adm1,
            )
            per_tenth = BANDS // TENTHS
        except LookupError:  # another plugin's filters: its tallies answer the view, not ours
            query = None
    if query is None:
        band = band_of(ReportScore.score, TENTHS).label("band")
        query = scope.where(
            select(band, ReportScore.admiralty, func.count())
            .select_from(Report)
            .join(ReportScore, ReportScore.report_id == Report.id)
            .group_by(band, ReportScore.admiralty)
        )
    counts = [0] * TENTHS
    verdicts: dict[str, int] = {}
    unscored = 0
    for found, code, count in db.session.execute(query):
        count = int(count)
        if not count:
            continue
        tenth = int(found) // per_tenth  # -1: no score
        if tenth == -1:
            unscored += count
        else:
            counts[min(tenth, TENTHS - 1)] += count
        key = verdict(code) if code else "none"
        verdicts[key] = verdicts.get(key, 0) + count
    low = [index / TENTHS for index in range(TENTHS)]
    scores = Chart(
        key="scores",
        title=_("Distribution of scores"),
        kind="bar",
        category_label=_("Score"),
        categories=[f"{int(value * 100)}–{int(value * 100) + 100 // TENTHS}%" for value in low],
        series=[Series("reports", _("Reports"), counts)],
        category_params=[{"min_score": f"{k / TENTHS:g}", "max_score": f"{(k + 1) / TENTHS:g}"} for k in range(TENTHS)],
        unit=_("reports"),
        note=_("%(n)d reports have no score yet (nothing is known of their source or their information).", n=unscored),
        order=70,
    )
    keys = [*VERDICT_NAMES, "none"]
    names = {**{key: str(name) for key, name in VERDICT_NAMES.items()}, "none": _("No verdict yet")}
    verdict_chart = Chart(
        key="verdicts",
        title=_("Admiralty verdicts"),
        kind="bar",
        category_label=_("Verdict of The Matrix"),
        categories=[names[key] for key in keys],
        series=[Series("reports", _("Reports"), [verdicts.get(key, 0) for key in keys])],
        category_params=[None] * len(keys),
        unit=_("reports"),
        note=_("From each report's grading (source reliability and credibility), as The Matrix reads it."),
        order=80,
    )
    return [scores, verdict_chart]


def _figures(subject_ids, viewer, allowed: set[int] | None) -> list[dict[str, Any]]:
    """The subjects as `viewer` may see them, without the claims of reports outside `allowed`
    (withdrawn, unpublished or outside the view); a proposal that rests only on those is withheld."""
    subjects = list(db.session.scalars(select(ClaimSubject).where(ClaimSubject.id.in_(subject_ids))))
    views = subject_views(subjects, viewer)
    kept = []
    for view in views:
        values = []
        for value in view["values"]:
            claims = [c for c in value["claims"] if allowed is None or c["report_id"] in allowed]
            if claims:
                values.append({**value, "claims": claims})
        if not values:
            continue
        proposed = view["proposed_value"]
        if proposed is not None and not any(v["value"] == proposed for v in values):
            proposed = None  # what it rests on is not here
        kept.append({**view, "values": values, "proposed_value": proposed})
    return kept


def key_figures_chart(scope) -> Chart:
    """The key figures the claims agree on: each subject's proposed value, its confidence and the
    competing values, for the subjects the view's reports make claims about."""
    # From the claims (a few) to their reports, with the view's filters (scope.where: never a
    # withdrawn report), rather than from every report of the view to its claims; one reading.
    claimed = db.session.execute(
        scope.where(
            select(ReportClaim.subject_id, ReportClaim.report_id).join(Report, Report.id == ReportClaim.report_id)
        )
    ).all()
    subject_ids = sorted({subject for subject, _report in claimed}, reverse=True)[:MAX_FIGURES]
    chosen = set(subject_ids)
    allowed = {report for subject, report in claimed if subject in chosen}
    figures = _figures(subject_ids, scope.viewer, allowed)
    figures.sort(key=lambda f: (f["attribute"], f["subject"], f["as_of"]))
    return Chart(
        key="key_figures",
        title=_("Key figures from the claims"),
        kind="hbar",
        category_label=_("Figure"),
        categories=[f"{f['attribute']} · {f['subject']} · {f['as_of']}" for f in figures],
        series=[
            Series(
                "confidence",
                _("Confidence (%)"),
                [round(f["confidence"] * 100, 1) if f["confidence"] is not None else None for f in figures],
            )
        ],
        extra_columns=[
            (_("Proposed value"), [_value(f["proposed_value"], f["unit"]) for f in figures]),
            (
                _("Competing values"),
                [
                    "; ".join(
                        f"{_value(v['value'], f['unit'])} ({len(v['claims'])})"
                        for v in f["values"]
                        if v["value"] != f["proposed_value"]
                    )
                    for f in figures
                ],
            ),
        ],
        category_params=[None] * len(figures),
        unit=_("%"),
        note=_(
            "Truth discovery's proposal for each subject the reports make claims about, "
            "with the other values claimed (and how many reports claim each)."
        )
        + (" " + being_updated() if any(f["pending"] for f in figures) else ""),
        order=90,
    )


def _value(value, unit: str) -> str:
    if value is None:
        return "–"
    return f"{value} {unit}".strip()


def sitrep_sections(draft) -> list[Section]:
    if not can_see_scores(draft.author):
        return []
    return [section for section in (key_figures_section(draft), unverified_section(draft)) if section is not None]


def key_figures_section(draft) -> Section | None:
    usable = {report.id for report in draft.reports}
    if not usable:
        return None
    subject_ids = db.session.scalars(
        select(ReportClaim.subject_id)
        .join(ClaimSubject, ClaimSubject.id == ReportClaim.subject_id)
        .where(
            ReportClaim.report_id.in_(usable),
            ClaimSubject.as_of >= draft.start,
            ClaimSubject.as_of <= draft.end,
        )
        .group_by(ReportClaim.subject_id)
        .limit(MAX_FIGURES)
    ).all()
    figures = _figures(subject_ids, draft.author, usable)
    if not figures:
        return None
    lines = [
        "| "
        + " | ".join(
            (
                _("Figure"),
                _("Subject"),
                _("As of"),
                _("Value"),
                _("Confidence"),
                _("Other values claimed"),
                _("Reports"),
            )
        )
        + " |",
        "| --- | --- | --- | ---: | ---: | --- | --- |",
    ]
    cited: set[int] = set()
    for f in sorted(figures, key=lambda f: (f["attribute"], f["subject"], f["as_of"])):
        proposed = f["proposed_value"]
        behind = [c["report_id"] for v in f["values"] if v["value"] == proposed for c in v["claims"]]
        others = "; ".join(
            f"{escape_markdown(_value(v['value'], f['unit']))} {draft.cite(c['report_id'] for c in v['claims'])}"
            for v in f["values"]
            if v["value"] != proposed
        )
        cited.update(behind)
        confidence = f"{round(f['confidence'] * 100)}%" if f["confidence"] is not None and proposed is not None else "–"
        lines.append(
            f"| {escape_markdown(f['attribute'])} | {escape_markdown(f['subject'])} | {f['as_of']} | "
            f"{_shown_value(proposed, f)} | "
            f"{confidence} | {others or '–'} | {draft.cite(behind)} |"
        )
    note = _(
        "Values proposed by truth discovery from the reports' structured claims; "
        "the confidence says how far the sources agree."
    )
    if any(f["pending"] for f in figures):
        note += " **" + being_updated() + "**"
    return Section("key_figures", note + "\n\n" + "\n".join(lines), cited=tuple(cited), order=10)


def _shown_value(proposed, figure) -> str:
    if proposed is not None:
        return escape_markdown(_value(proposed, figure["unit"]))
    return _("being computed") if figure["pending"] else _("no agreement")


def unverified_section(draft) -> Section | None:
    threshold = float(current_app.config.get("VALIDATION_SITREP_MIN_SCORE", UNVERIFIED_MIN_SCORE))
    waiting = {report.id: report for report in draft.reports if report.status in ("new", "under_review")}
    if not waiting:
        return None
    rows = db.session.execute(
        select(ReportScore.report_id, ReportScore.score)
        .where(ReportScore.report_id.in_(list(waiting)), ReportScore.score >= threshold)
        .order_by(ReportScore.score.desc(), ReportScore.report_id)
        .limit(MAX_UNVERIFIED)
    ).all()
    if not rows:
        return None
    marker = _("NOT VERIFIED")
    lines = [
        _(
            "The information below is **not verified**. It comes from reports that score %(p)d%% or more "
            "but that no verifier or coordinator has confirmed. Do not treat it as fact.",
            p=round(threshold * 100),
        ),
        "",
    ]
    for report_id, score in rows:
        report = waiting[report_id]
        where = draft.where(report)
        text = " — ".join(part for part in (escape_markdown(report.title), where) if part)
        score_text = _("score %(p)d%%", p=round(score * 100))
        lines.append(f"- **{marker}:** {text} · {score_text} {draft.cite([report_id])}")
    return Section("end", "\n".join(lines), heading=_("Unverified information (not confirmed)"), order=90)

"""Situation reports drafted from the reports: a new page in the OCHA structure of the sitrep
template (wiki/pages/sitrep.py), composed deterministically from the crisis's verified reports
of a period (and optionally one admin area), every statement linking the reports it came from.

What a draft may use is what the drafting coordinator may see *and* what may be published:
never a withdrawn report, never a duplicate (its original is cited), a sensitive report only as
the public sees it (its admin-1 area, no place name, no district), and nobody's name or contact.
Plugins add sections through the `sitrep_sections` hook (key figures from structured claims,
information that is not verified but scores high, marked as such). The text is written in the
crisis's language. Afterwards the page is an ordinary page: edits are revisions, and each draft
records the one before it, so that drafting again shows what changed since (a diff).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from flask import url_for
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from .. import plugins
from ..auth.permissions import require
from ..database import begin_write
from ..errors import InvalidInput
from ..extensions import db
from ..models import AdminArea, Crisis, Page, Report, SitrepDraft, User
from ..models.reports import SECTORS
from ..reports.queries import adm_condition
from ..visibility import Place, report_place, visible_reports
from . import revisions as service
from .sitrep import SITREP_CATEGORY, next_sitrep_number

AWAITING = ("new", "under_review")
NEEDS_PER_CLUSTER = 10  # statements listed per cluster; the rest are linked as a list
MAX_PERIOD_DAYS = 92
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|~"})


def escape_markdown(text: str) -> str:
    """Reporters' words as plain text in Markdown (no links, emphasis, HTML or tables from them)."""
    return " ".join(str(text).split()).translate(_MARKDOWN_SPECIAL)


@dataclass(frozen=True)
class Section:
    """A part of a draft from a plugin. `place` is where it goes: "key_figures" (under Key
    figures), "overview" (after the situation overview), a sector key (under that cluster's
    needs) or "end" (a section of its own before Funding, with `heading`)."""

    place: str
    markdown: str
    heading: str = ""
    cited: tuple[int, ...] = ()
    order: int = 100


@dataclass
class DraftContext:
    crisis: Crisis
    start: date
    end: date
    area: str | None
    area_name: str | None
    author: User
    reports: list[Report]  # usable: visible to the author, not withdrawn, not duplicates, in period and area
    cited: set[int] = field(default_factory=set)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end, time.max, tzinfo=UTC)

    def cite(self, report_ids) -> str:
        """Markdown links to reports, e.g. "([#12](/reports/12), [#15](/reports/15))"."""
        ids = sorted(set(int(i) for i in report_ids))
        self.cited.update(ids)
        if not ids:
            return ""
        links = ", ".join(f"[#{i}]({url_for('reports.view', report_id=i)})" for i in ids)
        return f"({links})"

    def list_link(self, **params: str) -> str:
        """The address of the report list of the draft's period and area, with `params`."""
        query = {"since": self.since.strftime("%Y-%m-%dT%H:%M:%SZ"), "until": self.until.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if self.area:
            query["adm"] = self.area
        query.update(params)
        return url_for("reports.index", crisis_slug=self.crisis.slug, **query)

    @staticmethod
    def public_place(report: Report) -> Place:
        return report_place(report, AnonymousUserMixin())

    def where(self, report: Report) -> str:
        """Where a report is, as the public may read it (a sensitive report's province only)."""
        place = self.public_place(report)
        parts = [place.place_name, place.adm2_name, place.adm1_name]
        return ", ".join(escape_markdown(p) for p in dict.fromkeys(parts) if p)


def _date(value, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "")[:10])
    except ValueError:
        raise InvalidInput(_("%(field)s is a date like 2010-01-13.", field=name), field=name) from None


def usable_reports(crisis: Crisis, start: date, end: date, area: str | None, author) -> list[Report]:
    """The reports a draft may use: visible to `author`, never withdrawn nor duplicates, whose
    event (or receipt) falls in the period, in `area` as the public places them."""
    when = Report.occurred_at.is_not(None) & Report.occurred_at.between(
        datetime.combine(start, time.min, tzinfo=UTC), datetime.combine(end, time.max, tzinfo=UTC)
    ) | Report.occurred_at.is_(None) & Report.received_at.between(
        datetime.combine(start, time.min, tzinfo=UTC), datetime.combine(end, time.max, tzinfo=UTC)
    )
    query = select(Report).where(
        Report.crisis_id == crisis.id,
        Report.published.is_(True),  # what may be published: never withdrawn, nor held back
        Report.withdrawn_at.is_(None),
        Report.status != "duplicate",
        when,
    )
    if area:
        query = query.where(adm_condition(area, exact=False))  # a sensitive report's district is not public
    query = visible_reports(query, author).order_by(Report.id)
    return list(db.session.scalars(query))


def draft_sitrep(crisis: Crisis, data: dict, author: User) -> SitrepDraft:
    """Write a new sitrep page for the period `data["from"]`..`data["to"]` (and `data["area"]`)."""
    require("draft_sitrep", author)
    start, end = _date(data.get("from"), "from"), _date(data.get("to"), "to")
    if end < start:
        raise InvalidInput(_("“to” is before “from”."), field="to")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(_("A situation report covers at most %(n)d days.", n=MAX_PERIOD_DAYS), field="to")
    area = str(data.get("area") or "").strip() or None
    area_name = None
    if area:
        area_name = db.session.scalar(
            select(AdminArea.name).where(AdminArea.crisis_id == crisis.id, AdminArea.pcode == area).limit(1)
        )
        if area_name is None:
            raise InvalidInput(_("%(code)s is not an admin area of this crisis.", code=area), field="area")
    context = DraftContext(
        crisis, start, end, area, area_name, author, usable_reports(crisis, start, end, area, author)
    )
    previous = db.session.scalar(
        select(SitrepDraft)
        .join(Page, Page.id == SitrepDraft.page_id)
        .where(SitrepDraft.crisis_id == crisis.id, Page.deleted_at.is_(None))
        .order_by(SitrepDraft.id.desc())
        .limit(1)
    )
    with force_locale(crisis.language or "en"):
        title, body = compose(context)
        comment = _("Drafted from the verified reports of %(start)s to %(end)s", start=start, end=end)
    revision = service.create_page(crisis, title, body, author, comment, [SITREP_CATEGORY])
    begin_write()
    record = SitrepDraft(
        crisis_id=crisis.id,
        page_id=revision.page_id,
        revision_id=revision.id,
        previous_id=previous.id if previous else None,
        period_start=start.isoformat(),
        period_end=end.isoformat(),
        area=area,
        author_id=author.id,
        cited=sorted(context.cited),
    )
    db.session.add(record)
    db.session.commit()
    return record


def _row(*cells) -> str:
    """One row of a Markdown table."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _link(text: str, url: str) -> str:
    return f"[{text}]({url})"


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines) if lines else ""


def _sections(context: DraftContext) -> list[Section]:
    found: list[Section] = []
    for result in plugins.call("sitrep_sections", draft=context):
        found.extend(result or [])
    for section in found:
        context.cited.update(section.cited)
    return sorted(found, key=lambda s: (s.order, s.heading))


def compose(context: DraftContext) -> tuple[str, str]:
    """The title and Markdown of the draft (in the current locale)."""
    crisis = context.crisis
    number = next_sitrep_number(crisis)
    verified = [r for r in context.reports if r.status == "verified"]
    waiting = [r for r in context.reports if r.status in AWAITING]
    by_sector: dict[str, list[Report]] = {}
    for report in verified:
        by_sector.setdefault(report.sector, []).append(report)
    extra = _sections(context)
    period = _("%(start)s to %(end)s", start=format_date(context.start), end=format_date(context.end))
    where = f"{escape_markdown(context.area_name)} ({escape_markdown(context.area)})" if context.area else crisis.name
    title = _("Situation Report No. %(n)d", n=number)
    if context.area:
        title += f" · {context.area_name}"
    lines = [
        f"**{title}** · {escape_markdown(crisis.name)}",
        "**" + _("Period covered:") + f"** {period} · **" + _("Area:") + f"** {where}",
        "",
        "> "
        + _(
            "Drafted by crisiswiki from %(n)d verified reports (of %(m)d reports of the period it may use): "
            "every statement links the reports it came from. Check it, complete it and edit it before it goes out.",
            n=len(verified),
            m=len(context.reports),
        ),
        "",
        "## " + _("Highlights"),
    ]
    highlights = []
    for key in sorted(by_sector, key=lambda k: (-len(by_sector[k]), k)):
        reports = by_sector[key]
        areas = _count_areas(context, reports)
        top = ", " + _("most in %(area)s", area=areas[0]) if areas else ""
        highlights.append(
            ngettext(
                "%(sector)s: %(num)d verified report",
                "%(sector)s: %(num)d verified reports",
                len(reports),
                sector=_(SECTORS[key]),
            )
            + f"{top} {context.cite(r.id for r in reports[:5])}"
            + (
                " ["
                + _("and %(n)d more", n=len(reports) - 5)
                + f"]({context.list_link(sector=key, status='verified')})"
                if len(reports) > 5
                else ""
            )
        )
    lines.append(_bullets(highlights[:5]) or "- " + _("No verified report in this period."))
    lines += ["", "## " + _("Key figures")]
    key_figures = [s for s in extra if s.place == "key_figures"]
    lines.append(
        _row(_("Figure"), _("Number"), _("Source"))
        + "\n| --- | ---: | --- |\n"
        + _row(_("Reports published"), len(context.reports), _link(_("list"), context.list_link()))
        + "\n"
        + _row(_("Reports verified"), len(verified), _link(_("list"), context.list_link(status="verified")))
        + "\n"
        + _row(
            _("Reports awaiting verification"),
            len(waiting),
            _link(_("list"), context.list_link(status="new,under_review")),
        )
    )
    for section in key_figures:
        lines += ["", section.markdown]
    lines += ["", "## " + _("Situation overview")]
    areas = _area_lines(context, verified)
    lines.append(
        ngettext(
            "%(num)d report was published for this period; %(v)d verified and %(w)d awaiting verification.",
            "%(num)d reports were published for this period; %(v)d verified and %(w)d awaiting verification.",
            len(context.reports),
            v=len(verified),
            w=len(waiting),
        )
    )
    if areas:
        lines += ["", _bullets(areas)]
    lines += ["", _map_block(context)]
    for section in (s for s in extra if s.place == "overview"):
        lines += ["", section.markdown]
    lines += ["", "## " + _("Humanitarian response")]
    for key, name in SECTORS.items():
        reports = by_sector.get(key, [])
        pending = [r for r in waiting if r.sector == key]
        plugin_parts = [s for s in extra if s.place == key]
        if not reports and not pending and not plugin_parts:
            continue
        lines += ["", "### " + _(name), "**" + _("Needs:") + "**", ""]
        needs = [_statement(context, r) for r in reports[:NEEDS_PER_CLUSTER]]
        if len(reports) > NEEDS_PER_CLUSTER:
            needs.append(
                _link(
                    _("%(n)d more verified reports", n=len(reports) - NEEDS_PER_CLUSTER),
                    context.list_link(sector=key, status="verified"),
                )
            )
        lines.append(_bullets(needs) or "- " + _("No verified report in this period."))
        for section in plugin_parts:
            lines += ["", section.markdown]
        lines += [
            "",
            "**" + _("Response:") + "**",
            "",
            "- " + _("(to be completed by the cluster)"),
            "",
            "**" + _("Gaps:") + "**",
            "",
        ]
        gaps = []
        if pending:
            gaps.append(
                ngettext("%(num)d report awaits verification", "%(num)d reports await verification", len(pending))
                + " "
                + _link(_("list"), context.list_link(sector=key, status="new,under_review"))
            )
        if not reports:
            gaps.append(_("No verified information for this cluster in this period."))
        lines.append(_bullets(gaps) or "- " + _("(to be completed by the cluster)"))
    for section in (s for s in extra if s.place == "end"):
        lines += ["", f"## {section.heading}", "", section.markdown]
    lines += ["", "## " + _("Funding"), "", "", "## " + _("Contacts")]
    lines.append(_row(_("Name"), _("Role"), _("Email"), _("Phone")) + "\n| --- | --- | --- | --- |\n| | | | |")
    return title, "\n".join(lines) + "\n"


def _statement(context: DraftContext, report: Report) -> str:
    """One verified report as a statement: its title, where (as the public sees it) and when."""
    when = report.occurred_at or report.received_at
    where = context.where(report)
    parts = [escape_markdown(report.title)]
    if where:
        parts.append(where)
    parts.append(format_date(when.date()))
    return " — ".join(parts) + f" {context.cite([report.id])}"


def _count_areas(context: DraftContext, reports: list[Report]) -> list[str]:
    counts: dict[str, int] = {}
    for report in reports:
        name = context.public_place(report).adm1_name
        if name:
            counts[name] = counts.get(name, 0) + 1
    return [escape_markdown(name) for name in sorted(counts, key=lambda n: (-counts[n], n))]


def _area_lines(context: DraftContext, verified: list[Report]) -> list[str]:
    by_area: dict[str, list[Report]] = {}
    for report in verified:
        name = context.public_place(report).adm1_name or _("no admin area")
        by_area.setdefault(name, []).append(report)
    return [
        ngettext(
            "%(area)s: %(num)d verified report",
            "%(area)s: %(num)d verified reports",
            len(reports),
            area=escape_markdown(name),
        )
        + f" {context.cite(r.id for r in reports[:5])}"
        for name, reports in sorted(by_area.items(), key=lambda item: (-len(item[1]), item[0]))
    ]


def _map_block(context: DraftContext) -> str:
    options = [
        f"crisis: {context.crisis.slug}",
        "status: verified",
        f"since: {context.start.isoformat()}",
        f"until: {context.end.isoformat()}T23:59:59",
    ]
    if context.area:
        options.append(f"adm: {context.area}")
    return "```map\n" + "\n".join(options) + "\n```"


def previous_body(record: SitrepDraft) -> tuple[SitrepDraft | None, str]:
    """The draft before `record` and its text as drafted (empty when there is none)."""
    if record.previous_id is None:
        return None, ""
    previous = db.session.get(SitrepDraft, record.previous_id)
    return previous, previous.revision.body if previous else ""


def draft_for_page(page: Page) -> SitrepDraft | None:
    return db.session.scalar(select(SitrepDraft).where(SitrepDraft.page_id == page.id))

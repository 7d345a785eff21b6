"""The Atom feed of a crisis's newly verified reports: an entry when a report becomes verified
(its title, sector, place and link), newest first. What it shows of each report, and which
reports it shows at all, is wiki.visibility's rule for the viewer: for the anonymous reader of a
feed, published reports only (never a withdrawn one), a sensitive report at its grid cell, and
nothing of who sent it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..feeds import ENTRIES, new_feed
from ..models import Crisis, Report, ReportChange
from ..visibility import Place, report_place, visible_reports
from ..vocabulary import label


@dataclass(frozen=True)
class Verified:
    report: Report
    at: datetime  # when it became verified (its latest change to verified, else when it came in verified)


def _verifying(change: ReportChange) -> bool:
    status = (change.changes or {}).get("status")
    return isinstance(status, list | tuple) and len(status) == 2 and status[1] == "verified"


def _verified_query(crisis: Crisis, viewer):
    query = select(Report).where(
        Report.crisis_id == crisis.id, Report.status == "verified", Report.withdrawn_at.is_(None)
    )
    return visible_reports(query, viewer)


def _latest_verifications(changes: Iterable[ReportChange], limit: int | None = None) -> dict[int, datetime]:
    """Each report's latest change to verified, from changes given newest first."""
    moments: dict[int, datetime] = {}
    for change in changes:
        if change.report_id not in moments and _verifying(change):
            moments[change.report_id] = change.created_at
            if limit is not None and len(moments) >= limit:
                break
    return moments


def verified_reports(crisis: Crisis, viewer, limit: int = ENTRIES) -> list[Verified]:
    """The `limit` reports of `crisis` most recently verified that `viewer` may see, newest first.

    A report verified by a coordinator has a change to "verified" in its history; one that came
    in verified (an import) has none and counts from when it was received. Both lists are read
    newest first and merged: a report never changed to verified is received no later than it
    counts from, so the newest `limit` of each hold the newest `limit` of all."""
    visible = _verified_query(crisis, viewer).with_only_columns(Report.id).scalar_subquery()
    changes = db.session.scalars(
        select(ReportChange)
        .where(ReportChange.report_id.in_(visible))
        .order_by(ReportChange.created_at.desc(), ReportChange.id.desc())
        .execution_options(yield_per=500)
    )
    moments = _latest_verifications(changes, limit)
    received = db.session.scalars(
        _verified_query(crisis, viewer).order_by(Report.received_at.desc(), Report.id.desc()).limit(limit)
    ).all()
    unknown = [report.id for report in received if report.id not in moments]
    if unknown:
        earlier = db.session.scalars(
            select(ReportChange)
            .where(ReportChange.report_id.in_(unknown))
            .order_by(ReportChange.created_at.desc(), ReportChange.id.desc())
        )
        moments.update(_latest_verifications(earlier))
    reports = {report.id: report for report in received}
    missing = [report_id for report_id in moments if report_id not in reports]
    if missing:
        reports.update(
            {report.id: report for report in db.session.scalars(select(Report).where(Report.id.in_(missing)))}
        )
    found = [Verified(report, moments.get(report.id, report.received_at)) for report in reports.values()]
    found.sort(key=lambda item: (item.at, item.report.id), reverse=True)
    return found[:limit]


def place_text(place: Place) -> str:
    """Where a report is, in words, as precisely as the viewer may see it."""
    names = [name for name in (place.place_name, place.adm2_name, place.adm1_name) if name]
    if place.lon is not None and place.lat is not None:
        point = f"{place.lat:.5f}, {place.lon:.5f}" if place.exact else f"~{place.lat:.3f}, {place.lon:.3f}"
        names.append(point)
    return " · ".join(names) or _("place unknown")


def verified_feed(crisis: Crisis, viewer, self_url: str):
    """The feed, and the time of its newest entry (None when it has none)."""
    found = verified_reports(crisis, viewer)
    updated = found[0].at if found else None
    feed = new_feed(
        _("Verified reports: %(crisis)s", crisis=crisis.name),
        self_url,
        url_for("reports.index", crisis_slug=crisis.slug, status="verified", _external=True),
        updated,
    )
    for item in reversed(found):  # feedgen prepends each entry
        report = item.report
        link = url_for("reports.view", report_id=report.id, _external=True)
        sector = label("sector", report.sector)
        place = place_text(report_place(report, viewer))
        entry = feed.add_entry()
        entry.id(link)
        entry.title(report.title)
        entry.link(href=link)
        entry.updated(item.at)
        entry.published(item.at)
        entry.category(term=report.sector, label=sector)
        entry.summary(_("%(sector)s · %(place)s", sector=sector, place=place))
    return feed, updated

"""The one visibility rule: for a viewer and an object, whether it exists for them, which of its
fields they see, how precisely they see where it is, and whether they see who sent it.

crisiswiki holds reports from people who may be at risk for having sent them. Every output
(HTML pages, the JSON and GeoJSON API, map points and clusters, the search index and its
results, exports, feeds, plugin panels, caches) asks this module and nothing else, so the rule
is written once:

- A report exists for a viewer when it is published, when the viewer may see unpublished
  reports (verifiers, coordinators, admins), or when the viewer sent it.
- A withdrawn report (taken out of public view to shield its reporters) stays out of public
  view: nothing but an explicit republication by a coordinator, with a reason, publishes it
  again. The database enforces it too (a withdrawn report cannot be stored as published).
- Who sent a report (the source's name, contact, organisation, account) is for those who may
  see contacts (verifiers, coordinators, admins); each time a contact is shown to someone,
  it is recorded (wiki.contact_log).
- A sensitive report is placed, for everyone who may not see exact locations, at the centre of
  a grid cell of about SENSITIVE_GRID_KM, computed once when the report is stored
  (`public_lon`, `public_lat`): the same cell on every request, so repeated requests cannot be
  averaged back to the place. Everything derived from the place follows it: the place name,
  the admin area below level 1, photos (which can show the place), distances, map clusters.
- A report located by a named place or an admin area (not by coordinates) carries its
  uncertainty radius; the public's is never smaller than anyone's (`public_radius`): a
  sensitive report's grid cell does not make an area look more precise than it is. A report
  whose location is unknown has no point for anyone.
- The reporter sees their own report as they sent it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, or_

from .auth.permissions import can
from .errors import NotFound
from .extensions import db
from .geo import grid_cell_centre
from .models import Report

# -- who the viewer is ---------------------------------------------------------------------------


def sees_unpublished(viewer) -> bool:
    return can("view_unpublished", viewer)


def sees_contacts(viewer) -> bool:
    """May `viewer` see who sent reports (name, contact, organisation)?"""
    return can("view_contacts", viewer)


def sees_exact_locations(viewer) -> bool:
    """May `viewer` see the exact place of sensitive reports? The same people who see contacts."""
    return can("view_contacts", viewer)


def _user_id(viewer) -> int | None:
    return viewer.id if getattr(viewer, "is_authenticated", False) else None


def is_reporter(report: Report, viewer) -> bool:
    """Did `viewer` (a logged-in user) send `report`?"""
    user_id = _user_id(viewer)
    return user_id is not None and report.submitted_by_id == user_id


# -- reports: do they exist for the viewer -------------------------------------------------------


def report_visible(report: Report, viewer) -> bool:
    return bool(report.published) or sees_unpublished(viewer) or is_reporter(report, viewer)


def get_visible_report(report_id: int, viewer, options=()) -> Report:
    """The report if it exists for `viewer`, else NotFound: the same answer whether it does not
    exist at all or is hidden from them, so hidden reports cannot be told apart."""
    report = db.session.get(Report, report_id, options=list(options))
    if report is None or not report_visible(report, viewer):
        raise NotFound(_("There is no report %(id)d.", id=report_id))
    return report


def visible_reports(query: Select, viewer) -> Select:
    """Restrict a query over Report to the reports `viewer` may see."""
    if sees_unpublished(viewer):
        return query
    user_id = _user_id(viewer)
    if user_id is None:
        return query.where(Report.published.is_(True))
    return query.where(or_(Report.published.is_(True), Report.submitted_by_id == user_id))


def is_withdrawn(report: Report) -> bool:
    return report.withdrawn_at is not None


# -- reports: where they are -------------------------------------------------------------------


def coarsen(lon: float, lat: float, grid_km: float | None = None) -> tuple[float, float]:
    """The centre of the grid cell (about SENSITIVE_GRID_KM on a side) that holds the point."""
    return grid_cell_centre(lon, lat, grid_km or current_app.config["SENSITIVE_GRID_KM"])


def public_position(lon: float | None, lat: float | None, sensitive: bool) -> tuple[float | None, float | None]:
    """Where the public sees a report: its own point, or its grid cell when it is sensitive
    (nowhere when its location is unknown). Stored with the report (`public_lon`,
    `public_lat`) when it is stored or moved."""
    if lon is None or lat is None:
        return None, None
    return coarsen(lon, lat) if sensitive else (lon, lat)


def public_radius(radius_m: float | None, sensitive: bool) -> float | None:
    """The public's uncertainty radius of a place- or area-located report: its own, or for a
    sensitive one at least the half-diagonal of its grid cell (never more precise than it is)."""
    if radius_m is None:
        return None
    if not sensitive:
        return radius_m
    cell_m = current_app.config["SENSITIVE_GRID_KM"] * 1000.0 * math.sqrt(2) / 2
    return max(radius_m, round(cell_m))


def shows_exact_location(report: Report, viewer) -> bool:
    return not report.sensitive or sees_exact_locations(viewer) or is_reporter(report, viewer)


@dataclass(frozen=True)
class Place:
    """What a viewer sees of where a report is."""

    lon: float | None  # None: the location is unknown
    lat: float | None
    exact: bool
    place_name: str
    adm1_pcode: str | None
    adm1_name: str | None
    adm2_pcode: str | None  # a district can be as precise as the grid cell: only with the exact place
    adm2_name: str | None
    kind: str = "point"  # point, place, area, unknown (wiki.reports.location)
    radius_m: float | None = None  # how far from (lon, lat) it may be, for a place or an area
    ref: str | None = None  # the gazetteer's id of its place or area: only with the exact place


def report_place(report: Report, viewer) -> Place:
    exact = shows_exact_location(report, viewer)
    if exact:
        return Place(
            report.lon,
            report.lat,
            True,
            report.place_name,
            report.adm1_pcode,
            report.adm1_name,
            report.adm2_pcode,
            report.adm2_name,
            report.location_kind or "point",
            report.location_radius_m,
            report.location_ref,
        )
    lon, lat = stored_public_position(report)
    radius = report.public_radius_m
    if radius is None and report.location_radius_m is not None:  # not flushed yet
        radius = public_radius(report.location_radius_m, True)
    return Place(lon, lat, False, "", report.adm1_pcode, report.adm1_name, None, None, report.location_kind, radius)


def map_radius_m(place: Place) -> float:
    """How far from where `place` shows a report it may be, for drawing it on a map: its place's
    or area's radius, at least the half-diagonal of its grid cell when it is coarsened, 0 for an
    exact point (never drawn more precisely than the viewer may see it)."""
    if place.exact:
        return float(place.radius_m or 0)
    return float(public_radius(place.radius_m or 0, True))


def stored_public_position(report: Report) -> tuple[float | None, float | None]:
    if report.public_lon is None or report.public_lat is None:  # not flushed yet, or unknown
        return public_position(report.lon, report.lat, bool(report.sensitive))
    return report.public_lon, report.public_lat


def position_columns(viewer) -> tuple[ColumnElement, ColumnElement]:
    """SQL for where `viewer` sees each report (lists, maps, clusters, bbox filters)."""
    if sees_exact_locations(viewer):
        return Report.lon, Report.lat
    return Report.public_lon, Report.public_lat


def shows_photos(report: Report, viewer) -> bool:
    """Photos can show the place: a sensitive report's are for those who see its exact place."""
    return report_visible(report, viewer) and shows_exact_location(report, viewer)


# -- reports: who sent them --------------------------------------------------------------------


def source_details(report: Report, viewer) -> dict[str, Any] | None:
    """The source of `report` as `viewer` may see it, or None. Showing a contact is recorded."""
    if not (sees_contacts(viewer) or is_reporter(report, viewer)):
        return None
    source = report.source
    if source.contact and not is_reporter(report, viewer):
        from .contact_log import note_contact_shown

        note_contact_shown(report.id, source.id)
    return {
        "id": source.id,
        "name": source.name,
        "contact": source.contact,
        "organisation": source.organisation,
        "channel": source.channel,
        "user": source.user.username if source.user else None,
    }


# -- messages from the channels ----------------------------------------------------------------


def sees_messages(viewer) -> bool:
    """May `viewer` read the channels' inbox (messages are never public: they carry who sent them)?"""
    return can("read_inbox", viewer)


def message_visible(message, viewer) -> bool:
    return sees_messages(viewer)


def masked_contact(contact: str) -> str:
    """A phone number or address with all but its last two characters hidden."""
    if "@" in contact:
        local, _at, domain = contact.partition("@")
        return (local[:1] + "•••@" + domain[:1] + "•••") if local else "•••"
    return "•••• " + contact[-2:] if len(contact) > 4 else "••••"


def message_sender(message, viewer) -> str:
    """Who sent a message as `viewer` may see it: the number or address for those who see
    contacts (each showing recorded, as a source's contact is), masked for anyone else."""
    if not sees_contacts(viewer):
        return masked_contact(message.sender)
    from .contact_log import note_contact_shown

    note_contact_shown(message.report_id, None, message_id=message.id)
    return message.sender


# -- other objects -------------------------------------------------------------------------------


def page_visible(page, viewer) -> bool:
    """Deleted pages exist only for those who may restore them."""
    return not page.is_deleted or can("view_deleted", viewer)


def layer_visible(layer, viewer) -> bool:
    return not layer.is_deleted or can("view_deleted", viewer)


def source_record_visible(viewer) -> bool:
    """A source's whole record (its reports, its track record) is for verifiers and admins."""
    return can("view_source_record", viewer)


# -- alerts: what a subscriber may receive, who may see a subscription -------------------------
#
# Alerts leave the site (mail, webhooks, SMS, feeds read by other programs): they carry a report
# only while its subscriber could see it on the site at that moment, never a withdrawn one, never
# who sent it, and a sensitive report's place only as the public sees it (its grid cell), whoever
# the subscriber is.


def alert_viewer(subscription):
    """The viewer an alert subscription receives as: its owner, or the public for someone who
    subscribed by e-mail without an account."""
    from flask_login import AnonymousUserMixin

    return subscription.user if subscription.user_id is not None else AnonymousUserMixin()


def report_alertable(report: Report, viewer) -> bool:
    """May an alert about `report` go to `viewer` now?"""
    return not is_withdrawn(report) and report_visible(report, viewer)


def alert_place(report: Report) -> Place:
    """Where an alert places a report: as the public sees it (a sensitive report's grid cell,
    no place name or district)."""
    from flask_login import AnonymousUserMixin

    return report_place(report, AnonymousUserMixin())


def subscription_visible(subscription, viewer) -> bool:
    """A subscription (its address, filters, feed and delivery log) is for its owner, and for
    administrators, who see and pause every subscription of a crisis."""
    user_id = _user_id(viewer)
    return (user_id is not None and subscription.user_id == user_id) or can("manage_alerts", viewer)

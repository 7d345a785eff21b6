"""Coordinators' changes to reports: edit, change status, publish, merge duplicates, withdraw
from public view and republish. Every change is recorded (who, what, from, to, when) and
announced with `report_updated`.

A withdrawal (to shield the people who sent a report) is sticky: no edit, status change,
merge, grading or import publishes the report again; only `republish_report`, a coordinator's
explicit decision with a reason, does (see wiki.visibility)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from .. import plugins
from ..auth.permissions import require
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..models import Report, ReportChange
from ..models.base import utcnow
from ..models.reports import STATUSES
from ..visibility import public_position, public_radius
from .input import _text, parse_datetime, parse_point, parse_sector
from .location import locate

REASON_MAX = 500
AWAITING = ("new", "under_review")  # statuses waiting for a verifier's or coordinator's decision

EDITABLE = (
    "title",
    "description",
    "sector",
    "status",
    "place_name",
    "occurred_at",
    "sensitive",
    "published",
    "geometry",
    "place",
)


def _lock(report: Report) -> Report:
    return db.session.execute(
        select(Report).where(Report.id == report.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def _clean(report: Report, field: str, value: Any, max_text: int) -> dict[str, Any]:
    """Validated new column values for one editable field."""
    if field == "title":
        return {"title": _text(value, "title", 200, required=True)}
    if field == "description":
        return {"description": _text(value, "description", max_text)}
    if field == "place_name":
        return {"place_name": _text(value, "place_name", 200)}
    if field == "sector":
        return {"sector": parse_sector(value)}
    if field == "occurred_at":
        return {"occurred_at": parse_datetime(value)}
    if field == "status":
        if value not in STATUSES:
            raise InvalidInput(
                _("Unknown status %(value)r; use one of: %(list)s.", value=value, list=", ".join(STATUSES)),
                field="status",
            )
        if value == "duplicate" and report.duplicate_of_id is None:
            raise InvalidInput(_("Mark a duplicate by merging it into the report it repeats."), field="status")
        return {"status": value}
    if field in ("sensitive", "published"):
        if not isinstance(value, bool):
            raise InvalidInput(_("%(field)s must be true or false.", field=field), field=field)
        if field == "published" and value and report.withdrawn_at is not None:
            raise Conflict(
                _(
                    "This report was withdrawn from public view to protect the people who sent it. "
                    "Publishing it again is a separate decision: republish it with a reason."
                ),
                field="published",
            )
        return {field: value}
    if field == "geometry":
        lon, lat = parse_point(value)
        return {"lon": lon, "lat": lat, "location_kind": "point", "location_radius_m": None, "location_ref": None}
    if field == "place":
        location = locate(report.crisis, None, None, _text(value, "place", 200, required=True))
        return {
            "lon": location.lon,
            "lat": location.lat,
            "location_kind": location.kind,
            "location_radius_m": location.radius_m,
            "location_ref": location.ref,
        }
    raise InvalidInput(
        _("%(field)s cannot be changed; editable fields: %(list)s.", field=field, list=", ".join(EDITABLE)), field=field
    )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def apply_changes(report: Report, values: dict[str, Any], user, comment: str = "") -> dict[str, list]:
    """Write column changes, record them in the history, commit, and announce them."""
    changes = {
        name: [_jsonable(getattr(report, name)), _jsonable(value)]
        for name, value in values.items()
        if getattr(report, name) != value
    }
    if not changes:
        return {}
    for name, value in values.items():
        setattr(report, name, value)
    if changes.keys() & {"lon", "lat", "sensitive", "location_radius_m"}:  # where the public sees it moves with it
        report.public_lon, report.public_lat = public_position(report.lon, report.lat, report.sensitive)
        report.public_radius_m = public_radius(report.location_radius_m, report.sensitive)
    report.updated_at = utcnow()
    leaves_backlog = "status" in changes and changes["status"][0] in AWAITING and report.status not in AWAITING
    if leaves_backlog and report.triaged_at is None:
        report.triaged_at = report.updated_at  # the end of its wait for a decision
    db.session.add(
        ReportChange(
            report_id=report.id,
            user_id=getattr(user, "id", None),
            author_name=getattr(user, "name", ""),
            changes=changes,
            comment=comment[:500],
            created_at=report.updated_at,
        )
    )
    db.session.flush()
    plugins.call("report_before_commit", report=report, changes={k: tuple(v) for k, v in changes.items()})
    db.session.commit()
    plugins.call("report_updated", report=report, changes={k: tuple(v) for k, v in changes.items()})
    return changes


def update_report(report: Report, data: dict[str, Any], user, comment: str = "") -> dict[str, list]:
    """Edit a report's fields (coordinators). Validates everything before changing anything."""
    require("triage_report", user)
    from flask import current_app

    max_text = current_app.config["REPORT_MAX_TEXT"]
    report = _lock(report)
    values: dict[str, Any] = {}
    for field, value in data.items():
        values.update(_clean(report, field, value, max_text))
    if (
        values.get("status") == "verified"
        and "published" not in values
        and not report.published
        and report.withdrawn_at is None
    ):
        values["published"] = True  # verified information is what the public should see (unless withdrawn)
    return apply_changes(report, values, user, comment)


def merge_duplicate(duplicate: Report, original: Report, user, comment: str = "") -> None:
    """Mark `duplicate` as repeating `original`; it leaves public lists but is never deleted.
    Coordinators and verifiers may (`merge_reports`)."""
    require("merge_reports", user)
    if duplicate.id == original.id:
        raise InvalidInput(_("A report cannot duplicate itself."), field="duplicate_of")
    if duplicate.crisis_id != original.crisis_id:
        raise InvalidInput(_("Both reports must belong to the same crisis."), field="duplicate_of")
    target = original
    while target.duplicate_of_id is not None:  # point at the report that is not itself a duplicate
        target = db.session.get(Report, target.duplicate_of_id)
        if target.id == duplicate.id:
            raise InvalidInput(_("That would make the reports duplicates of each other."), field="duplicate_of")
    duplicate = _lock(duplicate)
    apply_changes(
        duplicate,
        {"status": "duplicate", "duplicate_of_id": target.id},
        user,
        comment or _("Merged into report %(id)d", id=target.id),
    )


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason: it is kept in the report's history."), field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("The reason is longer than %(n)d characters.", n=REASON_MAX), field="reason")
    return reason


def withdraw_report(report: Report, user, reason: str) -> dict[str, list]:
    """Take a report out of public view to shield the people who sent it, for good: only
    `republish_report` makes it public again. Verifiers, coordinators and admins may."""
    require("withdraw_report", user)
    reason = _reason(reason)
    report = _lock(report)
    if report.withdrawn_at is not None:
        return {}
    now = utcnow()
    return apply_changes(
        report,
        {
            "published": False,
            "withdrawn_at": now,
            "withdrawn_reason": reason,
            "withdrawn_by_id": getattr(user, "id", None),
        },
        user,
        reason,
    )


def republish_report(report: Report, user, reason: str) -> dict[str, list]:
    """A coordinator's explicit decision to make a withdrawn report public again, with a reason."""
    require("republish_report", user)
    reason = _reason(reason)
    report = _lock(report)
    if report.withdrawn_at is None:
        raise Conflict(_("This report is not withdrawn; publish it with the published field."), field="reason")
    return apply_changes(
        report, {"published": True, "withdrawn_at": None, "withdrawn_reason": "", "withdrawn_by_id": None}, user, reason
    )

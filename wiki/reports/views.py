"""Field reports in the web UI: the volunteer's form, the coordinators' queue, the report page."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import plugins
from ..auth.permissions import can, require
from ..auth.tokens import token_scope
from ..crises.services import get_crisis_or_404
from ..database import fits_id, reads_first
from ..errors import DomainError, InvalidInput, NotFound, wants_json
from ..extensions import db
from ..feeds import atom_response
from ..media.storage import path_for
from ..models import Report, ReportChange, ReportPhoto
from ..models.reports import SECTORS, STATUSES
from ..offline.shell import shell_response
from ..visibility import (
    get_visible_report,
    map_radius_m,
    report_place,
    report_visible,
    sees_contacts,
    shows_photos,
    source_details,
)
from .feeds import verified_feed
from .forms import feature_from_form
from .input import report_input_from_feature
from .queries import ReportFilters, report_list_query
from .submission import Photo, submit_report
from .triage import merge_duplicate, republish_report, update_report, withdraw_report

bp = Blueprint("reports", __name__)
FORM_FIELDS = (
    "title",
    "description",
    "sector",
    "occurred_at",
    "place_name",
    "lat",
    "lon",
    "name",
    "contact",
    "sensitive",
    "client_id",
    "place_choice",
)
QUEUE_SIZE = 100


def _visible_or_404(report_id: int) -> Report:
    return get_visible_report(report_id, current_user, options=[selectinload(Report.photos)])


@bp.route("/c/<crisis_slug>/report", methods=["GET", "POST"])
@token_scope("submit")
@reads_first
def submit(crisis_slug: str):
    """The volunteer's form. Works as a plain HTML form post; scripts only add the map picker,
    the phone's location and the offline draft."""
    crisis = get_crisis_or_404(crisis_slug)
    require("submit_report")
    form = dict.fromkeys(FORM_FIELDS, "")
    form["client_id"] = uuid.uuid4().hex  # makes a double tap or a resend on a bad connection safe
    error = None
    if request.method == "GET" and request.args.get("shell") == "1":
        # The copy the offline app keeps on the phone (wiki.offline.shell): the same for everyone,
        # with no token and no client_id (the phone's script gives each report its own).
        form["client_id"] = ""
        return shell_response("reports/form.html", **_form_context(crisis, form, None, anonymous=True))
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in FORM_FIELDS}
        try:
            given = report_input_from_feature(feature_from_form(crisis, form), default_channel="web")
            photos = [Photo(f.filename, f.stream) for f in request.files.getlist("photos") if f.filename]
            result = submit_report(given, current_user, photos, channel="web")
            thanks_url = url_for("reports.thanks", report_id=result.report.id)
            if wants_json():  # the phone's outbox sending a report it kept (static/js/outbox.js)
                answer = jsonify({"id": result.report.id, "created": result.created, "thanks": thanks_url})
                answer.status_code = 201 if result.created else 200
                return _with_receipt(answer, result.report.id)
            return _with_receipt(redirect(thanks_url), result.report.id)
        except DomainError as exc:
            if exc.status in (401, 403, 429) or wants_json():  # the outbox reads the reason as JSON
                raise
            db.session.rollback()
            error = exc
    context = _form_context(crisis, form, error, anonymous=not current_user.is_authenticated)
    return render_template("reports/form.html", **context), (error.status if error else 200)


def _form_context(crisis, form: dict, error, anonymous: bool) -> dict:
    from ..places.offline import data_urls

    return {
        "crisis": crisis,
        "form": form,
        "error": error,
        "sectors": SECTORS,
        "anonymous": anonymous,
        "offline": data_urls(crisis),
    }


RECEIPT_COOKIE = "report_receipt"


def _receipts() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="report-receipt")


def _with_receipt(response, report_id: int):
    """The sender's receipt for the thanks page, in a cookie only that page gets: without it
    (or the right to see the report) the page would tell anyone which report numbers exist."""
    response.set_cookie(
        RECEIPT_COOKIE,
        _receipts().dumps(report_id),
        max_age=3600,
        httponly=True,
        samesite="Lax",
        path=url_for("reports.thanks", report_id=report_id),
        secure=request.is_secure,
    )
    return response


def _has_receipt(report_id: int) -> bool:
    try:
        return _receipts().loads(request.cookies.get(RECEIPT_COOKIE, ""), max_age=3600) == report_id
    except BadData:
        return False


@bp.route("/reports/<int:report_id>/thanks")
@token_scope("submit")  # where the form sends the reporter
def thanks(report_id: int):
    report = db.session.get(Report, report_id)
    if report is None or not (report_visible(report, current_user) or _has_receipt(report_id)):
        raise NotFound(_("There is no report %(id)d.", id=report_id))
    return render_template(
        "reports/thanks.html", crisis=report.crisis, report_id=report.id, visible=report_visible(report, current_user)
    )


@bp.route("/c/<crisis_slug>/reports")
def index(crisis_slug: str):
    """Public list, and for coordinators the triage queue: new reports first, with filters."""
    crisis = get_crisis_or_404(crisis_slug)
    filters = ReportFilters.from_args(request.args, crisis=crisis.slug)
    query = report_list_query(filters, current_user)
    triage = can("triage_report")
    if triage and not filters.statuses and request.args.get("order") != "newest":
        # The queue: what nobody has looked at yet comes first.
        query = query.order_by(None).order_by((Report.status == "new").desc(), Report.id.desc())
    cursor = request.args.get("cursor", type=int)
    if cursor and fits_id(cursor):  # every row lies below a larger cursor
        query = query.where(Report.id < cursor)
    rows = db.session.scalars(query.limit(QUEUE_SIZE + 1)).all()
    more = len(rows) > QUEUE_SIZE
    rows = rows[:QUEUE_SIZE]
    return render_template(
        "reports/index.html",
        crisis=crisis,
        reports=rows,
        filters=filters,
        triage=triage,
        sectors=SECTORS,
        statuses=STATUSES,
        next_cursor=rows[-1].id if more and not triage else None,
        args=request.args,
        privileged=sees_contacts(current_user),
        place_of=lambda report: report_place(report, current_user),
        source_of=lambda report: source_details(report, current_user),
    )


@bp.route("/c/<crisis_slug>/reports/verified.atom")
def verified_atom(crisis_slug: str):
    """Newly verified reports, as the viewer may see them (a feed reader: the anonymous public)."""
    crisis = get_crisis_or_404(crisis_slug)
    feed, updated = verified_feed(
        crisis, current_user, url_for("reports.verified_atom", crisis_slug=crisis.slug, _external=True)
    )
    return atom_response(feed, updated, shared=not current_user.is_authenticated)


@bp.route("/reports/<int:report_id>")
def view(report_id: int):
    report = _visible_or_404(report_id)
    place = report_place(report, current_user)
    history = []
    if can("triage_report") or sees_contacts(current_user):
        history = db.session.scalars(
            select(ReportChange)
            .where(ReportChange.report_id == report.id)
            .order_by(ReportChange.created_at.desc(), ReportChange.id.desc())
        ).all()
    panels = plugins.call("report_panels", report=report, viewer=current_user)
    return render_template(
        "reports/view.html",
        crisis=report.crisis,
        report=report,
        place=place,
        source=source_details(report, current_user),
        show_photos=shows_photos(report, current_user),
        history=history,
        triage=can("triage_report"),
        republish=can("republish_report"),
        sectors=SECTORS,
        statuses=STATUSES,
        panels=panels,
        here_radius=map_radius_m(place),
    )


@bp.route("/reports/<int:report_id>/edit", methods=["POST"])
def edit(report_id: int):
    report = _visible_or_404(report_id)
    require("triage_report")
    data: dict = {}
    for field in ("title", "description", "sector", "status", "place_name", "occurred_at"):
        if field in request.form:
            data[field] = request.form[field] or (None if field == "occurred_at" else "")
    for flag in ("sensitive", "published"):
        if f"{flag}_present" in request.form:
            data[flag] = request.form.get(flag) == "1"
    if request.form.get("lat") and request.form.get("lon"):
        try:
            data["geometry"] = {
                "type": "Point",
                "coordinates": [float(request.form["lon"]), float(request.form["lat"])],
            }
        except ValueError:
            raise InvalidInput(_("Coordinates must be numbers."), field="geometry")
    if data.get("status") == report.status == "duplicate":
        data.pop("status")
    changes = update_report(report, data, current_user, request.form.get("comment", ""))
    flash(
        ngettext("Saved %(num)d change.", "Saved %(num)d changes.", len(changes)) if changes else _("Nothing changed.")
    )
    return redirect(url_for("reports.view", report_id=report.id))


@bp.route("/reports/<int:report_id>/merge", methods=["POST"])
def merge(report_id: int):
    report = _visible_or_404(report_id)
    require("merge_reports")
    original_id = request.form.get("duplicate_of", type=int)
    original = db.session.get(Report, original_id) if original_id and fits_id(original_id) else None
    if original is None:
        raise InvalidInput(_("Give the number of the report this one repeats."), field="duplicate_of")
    merge_duplicate(report, original, current_user, request.form.get("comment", ""))
    flash(_("Report %(a)d is now marked as a duplicate of report %(b)d.", a=report.id, b=original.id))
    return redirect(url_for("reports.view", report_id=report.id))


@bp.route("/reports/<int:report_id>/withdraw", methods=["POST"])
def withdraw(report_id: int):
    require("withdraw_report")  # before the lookup: the answer must not depend on what exists
    report = _visible_or_404(report_id)
    withdraw_report(report, current_user, request.form.get("reason", ""))
    flash(_("Report %(id)d is withdrawn from public view.", id=report.id))
    return redirect(url_for("reports.view", report_id=report.id))


@bp.route("/reports/<int:report_id>/republish", methods=["POST"])
def republish(report_id: int):
    require("republish_report")
    report = _visible_or_404(report_id)
    republish_report(report, current_user, request.form.get("reason", ""))
    flash(_("Report %(id)d is public again.", id=report.id))
    return redirect(url_for("reports.view", report_id=report.id))


@bp.route("/reports/photos/<int:photo_id>/<size>")
def photo(photo_id: int, size: str):
    """A report's photo; never for a sensitive report unless the viewer may see its exact place."""
    record = db.session.get(ReportPhoto, photo_id)
    if record is None or size not in ("display", "thumb", "original"):
        abort(404)
    report = record.report
    if not shows_photos(report, current_user):
        abort(404)
    digest = {"display": record.display_sha256, "thumb": record.thumb_sha256, "original": record.sha256}[size]
    mimetype = record.content_type if size == "original" else "image/jpeg"
    response = send_file(path_for(digest), mimetype=mimetype, conditional=True, etag=digest)
    # Photos of sensitive reports must not linger in shared caches.
    response.headers["Cache-Control"] = (
        "private, max-age=86400" if report.sensitive or not report.published else "public, max-age=31536000, immutable"
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

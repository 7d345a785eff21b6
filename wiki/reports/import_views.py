"""The report import page: coordinators import a CSV, spreadsheet or GeoJSON file in two steps
(upload it, then check which column holds what against a preview of the first rows, with the
file's encoding, the day/month order of its dates and their time zone, and import). The mapping
chosen is remembered per crisis for the next file with the same columns. Failures are shown by
kind, and the rejected rows can be downloaded with a reason column
(`?rejected=<upload>`). The import itself runs in the background worker
(wiki/reports/import_jobs.py): the form answers at once with a progress page. The command-line
import is wiki/reports/import_command.py; both use wiki/reports/importer.py."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import require
from ..crises.services import get_crisis_or_404
from ..database import fits_id, reads_first
from ..errors import BadRequest, DomainError, InvalidInput, NotFound, TooLarge
from ..extensions import db
from ..i18n import human_size
from ..models import Crisis, ImportJob
from ..models.reports import STATUSES
from .import_files import FIELDS, UnreadableFile, detect_mapping, open_table, preview
from .import_jobs import job_status, queue_import, result_from_json
from .import_memory import recall_mapping, remember_mapping
from .import_uploads import KeptUpload, discard_upload, keep_upload, load_upload, rejected_path
from .import_values import DAY_FIRST_CHOICES, configured_zone
from .importer import ImportOptions

bp = Blueprint("imports", __name__)

FORM_SLACK = 64 * 1024  # the form fields around the uploaded file


def _import_template(crisis: Crisis, step: str, status: int = 200, **context):
    return render_template(
        "reports/import.html",
        crisis=crisis,
        step=step,
        fields=FIELDS,
        statuses=STATUSES,
        limit=human_size(current_app.config["IMPORT_MAX_BYTES"]),
        **context,
    ), status


def _options_from_form() -> tuple[str | None, ImportOptions]:
    encoding = (request.form.get("encoding") or request.args.get("encoding") or "").strip() or None
    options = ImportOptions(
        day_first=request.form.get("day_first", "auto"),
        timezone=request.form.get("timezone") or configured_zone(),
        partial=request.form.get("partial") == "1",
    )
    return encoding, options


def _mapping_page(
    crisis: Crisis,
    upload: KeptUpload,
    mapping: dict[str, int] | None = None,
    organisation: str = "",
    error: DomainError | None = None,
):
    """Step two: the columns found, the mapping guessed (or chosen, or remembered from the
    crisis's last import of a file with these columns), and the first rows."""
    encoding, options = _options_from_form()
    try:
        table = open_table(upload.path, encoding=encoding)
        rows = preview(table)
    except UnreadableFile as exc:
        if encoding is None:
            discard_upload(upload.token)
            return _import_template(crisis, "upload", 422, error=exc)
        table, rows, error = None, [], exc  # a wrong encoding chosen: choose again
    except InvalidInput as exc:
        table, rows, error = None, [], exc
    remembered = False
    if mapping is None and table is not None:
        mapping = recall_mapping(crisis.slug, table.columns)
        remembered = mapping is not None
        if mapping is None:
            mapping = detect_mapping(table.columns, table.layout)
    return _import_template(
        crisis,
        "mapping",
        422 if error else 200,
        upload=upload,
        table=table,
        rows=rows,
        mapping=mapping or {},
        remembered=remembered,
        organisation=organisation,
        options=options,
        encoding=encoding or (table.encoding if table is not None else ""),
        day_first_choices=DAY_FIRST_CHOICES,
        error=error,
    )


def _receive_upload(crisis: Crisis, viewer):
    limit = current_app.config["IMPORT_MAX_BYTES"]
    too_large = TooLarge(_("The file is larger than %(limit)s.", limit=human_size(limit)), field="file")
    if request.content_length and request.content_length > limit + FORM_SLACK:
        return _import_template(crisis, "upload", too_large.status, error=too_large)
    request.max_content_length = limit + FORM_SLACK  # a body without a length stops here too
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_template(crisis, "upload", 422, error=InvalidInput(_("Choose a file to import."), field="file"))
    try:
        kept = keep_upload(upload.stream, upload.filename, crisis.slug, viewer.id)
    except TooLarge as exc:
        return _import_template(crisis, "upload", exc.status, error=exc)
    return redirect(url_for("imports.import_page", crisis_slug=crisis.slug, upload=kept.token))


def _mapping_from_form() -> dict[str, int]:
    mapping = {}
    for name in FIELDS:
        value = request.form.get(f"map_{name}", "")
        if value:
            if not value.isdigit():
                raise BadRequest(_("The column choice for %(field)s is not valid.", field=name), field=name)
            mapping[name] = int(value)
    return mapping


def _run_import(crisis: Crisis, viewer):
    """Queue the import on the background worker and answer at once with its progress page."""
    upload = load_upload(request.form.get("upload", ""), crisis.slug, viewer.id)
    organisation = request.form.get("organisation", "")
    encoding, options = _options_from_form()
    mapping = _mapping_from_form()
    try:
        job = queue_import(crisis, upload, mapping, options, encoding=encoding, organisation=organisation, user=viewer)
    except UnreadableFile as exc:
        return _mapping_page(crisis, upload, None, organisation, error=exc)
    except InvalidInput as exc:  # the mapping lacks a required column, or an option is wrong: choose again
        return _mapping_page(crisis, upload, mapping, organisation, error=exc)
    remember_mapping(crisis.slug, open_table(upload.path, encoding=encoding).columns, mapping)
    return redirect(url_for("imports.progress", crisis_slug=crisis.slug, job_id=job.id), code=303)


def _job_of(crisis: Crisis, job_id: int) -> ImportJob:
    require("import_reports")
    job = db.session.get(ImportJob, job_id) if fits_id(job_id) else None
    if job is None or job.crisis_id != crisis.id:
        raise NotFound(_("There is no import %(id)d in this crisis.", id=job_id))
    return job


@bp.route("/c/<crisis_slug>/reports/import/jobs/<int:job_id>")
def progress(crisis_slug: str, job_id: int):
    """An import's progress (the page refreshes itself, with or without JavaScript), then its result."""
    crisis = get_crisis_or_404(crisis_slug)
    job = _job_of(crisis, job_id)
    status = job_status(job)
    if not job.finished:
        return _import_template(crisis, "progress", job=job, state=status)
    if job.state == "failed":
        return _import_template(crisis, "progress", 422, job=job, state=status)
    result = result_from_json(job.result or {})
    given = job.options or {}
    options = ImportOptions(day_first=given.get("day_first") or "auto", timezone=given.get("timezone") or "UTC")
    return _import_template(
        crisis,
        "result",
        result=result,
        filename=job.filename,
        upload=KeptUpload(job.token, rejected_path(job.token), job.filename),
        retry=bool(result.held_back) and not given.get("partial"),
        mapping=job.mapping,
        options=options,
        encoding=given.get("encoding") or "",
        organisation=given.get("organisation") or "",
    )


@bp.route("/c/<crisis_slug>/reports/import/jobs/<int:job_id>.json")
def progress_json(crisis_slug: str, job_id: int):
    """An import's progress for the progress page's script: rows done of the total, the counts
    and the failures so far by kind (with their first row numbers), and whether it has finished."""
    crisis = get_crisis_or_404(crisis_slug)
    response = jsonify(job_status(_job_of(crisis, job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/c/<crisis_slug>/reports/import", methods=["GET", "POST"])
@reads_first  # SQLite's write lock only for each batch (the importer's write transactions)
def import_page(crisis_slug: str):
    """Coordinators import a CSV or GeoJSON file in two steps: upload it, then check which
    column holds what against a preview of the first rows, and import."""
    crisis = get_crisis_or_404(crisis_slug)
    require("import_reports")
    viewer = current_user._get_current_object()
    if request.method == "GET":
        rejected = request.args.get("rejected")
        if rejected:
            path = rejected_path(load_upload(rejected, crisis.slug, viewer.id, rejected_only=True).token)
            return send_file(path, mimetype="text/csv", as_attachment=True, download_name="rejected-rows.csv")
        token = request.args.get("upload")
        if token:
            return _mapping_page(crisis, load_upload(token, crisis.slug, viewer.id))
        return _import_template(crisis, "upload")
    step = request.form.get("step")
    if step == "upload":
        return _receive_upload(crisis, viewer)
    if step == "import":
        return _run_import(crisis, viewer)
    if step == "cancel":
        discard_upload(load_upload(request.form.get("upload", ""), crisis.slug, viewer.id).token)
        return redirect(url_for("reports.index", crisis_slug=crisis.slug))
    raise BadRequest(_("Unknown step of the import."), field="step")

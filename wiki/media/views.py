"""Attachments on pages and crises: upload, list and serve.

Files are served with their detected type and `nosniff`; images inline, everything else as a
download, and every file response also carries a sandboxing CSP so that even a file a browser
mistook for a page could not run script.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.permissions import can, require
from ..crises.services import get_crisis_or_404
from ..errors import InvalidInput
from ..extensions import db
from ..models import Attachment, Page
from ..pages.cache import bump_generation
from ..pages.revisions import get_page_or_404
from .storage import download_name, path_for, read_limited, store_upload

bp = Blueprint("media", __name__)
ATTACHMENT_KINDS = frozenset({"image", "video", "document"})


def save_attachment(crisis, page, file_storage, user) -> Attachment:
    """Store one uploaded file and record it against the crisis (and page)."""
    require("upload", user)
    if file_storage is None or not file_storage.filename:
        raise InvalidInput(_("Choose a file to upload."), field="file")
    data = read_limited(file_storage.stream, current_app.config["ATTACHMENT_MAX_BYTES"])
    stored = store_upload(data, file_storage.filename, ATTACHMENT_KINDS)
    attachment = Attachment(
        crisis_id=crisis.id,
        page_id=page.id if page else None,
        sha256=stored.sha256,
        filename=download_name(file_storage.filename, stored.content_type),
        content_type=stored.content_type,
        kind=stored.kind,
        size=stored.size,
        width=stored.width,
        height=stored.height,
        uploaded_by_id=user.id,
    )
    db.session.add(attachment)
    bump_generation(crisis.id)  # pages list their files
    db.session.commit()
    return attachment


def attachment_url(attachment: Attachment) -> str:
    return url_for("media.serve", attachment_id=attachment.id, filename=attachment.filename)


def embed_markdown(attachment: Attachment) -> str:
    """The Markdown a coordinator pastes into a page to show or link the file."""
    url = attachment_url(attachment)
    if attachment.kind == "image":
        return f"![{attachment.filename}]({url})"
    return f"[{attachment.filename}]({url})"


@bp.route("/c/<crisis_slug>/attachments", methods=["GET", "POST"])
def attachments(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = None
    if request.values.get("page"):
        page = get_page_or_404(crisis, request.values["page"])
    if request.method == "POST":
        attachment = save_attachment(crisis, page, request.files.get("file"), current_user)
        flash(
            _(
                "Uploaded %(name)s. To show it on a page, add: %(md)s",
                name=attachment.filename,
                md=embed_markdown(attachment),
            )
        )
        if page is not None:
            return redirect(url_for("pages.view", crisis_slug=crisis.slug, slug=page.slug) + "#attachments")
        return redirect(url_for("media.attachments", crisis_slug=crisis.slug))
    query = select(Attachment).where(Attachment.crisis_id == crisis.id).order_by(Attachment.created_at.desc())
    rows = db.session.scalars(query.limit(500)).all()
    page_query = select(Page).where(Page.id.in_({a.page_id for a in rows if a.page_id}))
    if not can("view_deleted"):  # a deleted page's title is for administrators only
        page_query = page_query.where(Page.deleted_at.is_(None))
    pages = {p.id: p for p in db.session.scalars(page_query)}
    return render_template("media/attachments.html", crisis=crisis, attachments=rows, pages=pages, embed=embed_markdown)


@bp.route("/media/<int:attachment_id>/<path:filename>")
def serve(attachment_id: int, filename: str):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.filename != filename:
        abort(404)
    path = path_for(attachment.sha256)
    if not path.exists():
        abort(404)
    inline = attachment.kind == "image"
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=not inline,
        download_name=attachment.filename,
        conditional=True,
        max_age=365 * 24 * 3600,
        etag=attachment.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response

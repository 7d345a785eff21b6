"""HTML views of wiki pages. All writes go through wiki.pages.revisions (the service layer)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, select

from ..auth.permissions import can, can_edit_page, require
from ..crises.services import get_crisis_or_404
from ..database import fits_id, reads_first
from ..errors import EditConflict, InvalidInput, NotFound
from ..extensions import db
from ..markup import extract_wikilinks, mark_missing_links, slugify
from ..models import Attachment, Crisis, Page, PageCategory, PageLink, PageRedirect, Revision, Watch
from . import drafts
from . import revisions as service
from .cache import cached_for_anonymous
from .changes import atom_feed, recent_changes
from .diffs import diff_rows
from .sitrep import SITREP_CATEGORY, sitrep_draft

bp = Blueprint("pages", __name__)


def _page_url(page: Page, **kwargs) -> str:
    return url_for("pages.view", crisis_slug=page.crisis.slug, slug=page.slug, **kwargs)


def linked_html(crisis: Crisis, html: str, links: list[str]) -> Markup:
    """The cached revision HTML with links to missing pages turned red."""
    existing: set[str] = set()
    if links:
        existing |= set(
            db.session.scalars(
                select(Page.slug).where(Page.crisis_id == crisis.id, Page.slug.in_(links), Page.deleted_at.is_(None))
            )
        )
        existing |= set(
            db.session.scalars(
                select(PageRedirect.slug).where(PageRedirect.crisis_id == crisis.id, PageRedirect.slug.in_(links))
            )
        )
    create = lambda slug: url_for("pages.new", crisis_slug=crisis.slug, title=slug.replace("_", " "))  # noqa: E731
    return Markup(mark_missing_links(html, existing, create))


def _revision_or_404(page: Page, number: int) -> Revision:
    revision = None
    if fits_id(number):
        revision = db.session.scalar(select(Revision).where(Revision.page_id == page.id, Revision.number == number))
    if revision is None:
        raise NotFound(_("Revision %(n)d of this page does not exist.", n=number))
    return revision


def _is_watching(page: Page) -> bool:
    if not current_user.is_authenticated:
        return False
    return db.session.get(Watch, (current_user.id, page.id)) is not None


@bp.route("/")
def home():
    crises = db.session.scalars(select(Crisis).order_by(Crisis.start_date.desc().nulls_last(), Crisis.name)).all()
    counts = dict(
        db.session.execute(
            select(Page.crisis_id, func.count()).where(Page.deleted_at.is_(None)).group_by(Page.crisis_id)
        ).all()
    )
    return render_template("home.html", crises=crises, counts=counts, changes=recent_changes(limit=15))


@bp.route("/recent")
def recent():
    return render_template("pages/recent.html", crisis=None, changes=recent_changes(limit=200))


@bp.route("/recent.atom")
def recent_atom():
    feed = atom_feed(
        recent_changes(limit=50),
        _("crisiswiki: recent changes"),
        url_for("pages.recent_atom", _external=True),
        url_for("pages.recent", _external=True),
    )
    return Response(feed, mimetype="application/atom+xml")


@bp.route("/watchlist")
@login_required
def watchlist():
    watched = db.session.scalars(
        select(Page).join(Watch, Watch.page_id == Page.id).where(Watch.user_id == current_user.id).order_by(Page.title)
    ).all()
    return render_template(
        "pages/watchlist.html", pages=watched, changes=recent_changes(limit=100, watcher_id=current_user.id)
    )


@bp.route("/c/<crisis_slug>/recent")
def crisis_recent(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    return render_template("pages/recent.html", crisis=crisis, changes=recent_changes(crisis, limit=200))


@bp.route("/c/<crisis_slug>/recent.atom")
def crisis_recent_atom(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    feed = atom_feed(
        recent_changes(crisis, limit=50),
        _("%(name)s: recent changes", name=crisis.name),
        url_for("pages.crisis_recent_atom", crisis_slug=crisis.slug, _external=True),
        url_for("pages.crisis_recent", crisis_slug=crisis.slug, _external=True),
    )
    return Response(feed, mimetype="application/atom+xml")


@bp.route("/c/<crisis_slug>/pages")
@cached_for_anonymous
def index(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    pages = db.session.scalars(
        select(Page).where(Page.crisis_id == crisis.id, Page.deleted_at.is_(None)).order_by(Page.title)
    ).all()
    categories = db.session.execute(
        select(PageCategory.name, func.count())
        .join(Page, Page.id == PageCategory.page_id)
        .where(Page.crisis_id == crisis.id, Page.deleted_at.is_(None))
        .group_by(PageCategory.name)
        .order_by(PageCategory.name)
    ).all()
    deleted = []
    if can("view_deleted"):
        deleted = db.session.scalars(
            select(Page).where(Page.crisis_id == crisis.id, Page.deleted_at.is_not(None)).order_by(Page.title)
        ).all()
    return render_template("pages/index.html", crisis=crisis, pages=pages, categories=categories, deleted=deleted)


@bp.route("/c/<crisis_slug>/category/<name>")
@cached_for_anonymous
def category(crisis_slug: str, name: str):
    crisis = get_crisis_or_404(crisis_slug)
    pages = db.session.scalars(
        select(Page)
        .join(PageCategory, PageCategory.page_id == Page.id)
        .where(Page.crisis_id == crisis.id, Page.deleted_at.is_(None), PageCategory.name == name)
        .order_by(Page.title)
    ).all()
    return render_template("pages/category.html", crisis=crisis, name=name, pages=pages)


@bp.route("/c/<crisis_slug>/new", methods=["GET", "POST"])
@reads_first
def new(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("create_page")
    form = {"title": request.args.get("title", ""), "body": "", "comment": "", "categories": ""}
    error = None
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in form}
        try:
            revision = service.create_page(
                crisis, form["title"], form["body"], current_user, form["comment"], form["categories"]
            )
            return redirect(_page_url(revision.page))
        except InvalidInput as exc:
            db.session.rollback()
            error = exc
    return render_template("pages/new.html", crisis=crisis, form=form, error=error), (error.status if error else 200)


@bp.route("/c/<crisis_slug>/new-sitrep")
def new_sitrep(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("create_page")
    title, body = sitrep_draft(crisis)
    form = {"title": title, "body": body, "comment": _("New situation report"), "categories": SITREP_CATEGORY}
    return render_template("pages/new.html", crisis=crisis, form=form, error=None)


@bp.route("/c/<crisis_slug>/sitrep-drafts", methods=["POST"])
def draft_sitrep(crisis_slug: str):
    """The dashboard's "Draft a situation report" button."""
    crisis = get_crisis_or_404(crisis_slug)
    require("draft_sitrep")
    record = drafts.draft_sitrep(crisis, request.form.to_dict(), current_user)
    flash(_("Drafted from %(n)d reports. Check it and edit it like any page.", n=len(record.cited)))
    return redirect(_page_url(record.page))


@bp.route("/c/<crisis_slug>/wiki/<slug>/since-last-draft")
def since_last_draft(crisis_slug: str, slug: str):
    """What changed between the situation report drafted before this one and this one (both as drafted)."""
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    record = drafts.draft_for_page(page)
    if record is None:
        raise NotFound(_("This page was not drafted from the reports."))
    previous, old_body = drafts.previous_body(record)
    return render_template(
        "pages/since_last_draft.html",
        crisis=crisis,
        page=page,
        record=record,
        previous=previous,
        rows=diff_rows(old_body, record.revision.body),
    )


@bp.route("/c/<crisis_slug>/wiki/<slug>")
@cached_for_anonymous
def view(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page, redirected = service.find_page(crisis, slug, include_deleted=can("view_deleted"))
    if page is None:
        title = slug.replace("_", " ")
        return render_template("pages/missing.html", crisis=crisis, title=title), 404
    if redirected:
        flash(_("Redirected from %(old)s.", old=slug.replace("_", " ")))
        return redirect(_page_url(page), code=301)
    revision = page.current_revision
    links = list(db.session.scalars(select(PageLink.target_slug).where(PageLink.page_id == page.id)))
    attachments = db.session.scalars(
        select(Attachment).where(Attachment.page_id == page.id).order_by(Attachment.created_at)
    ).all()
    return render_template(
        "pages/view.html",
        crisis=crisis,
        page=page,
        revision=revision,
        html=linked_html(crisis, revision.html, links),
        can_edit=can_edit_page(page),
        watching=_is_watching(page),
        attachments=attachments,
        is_current=True,
        draft=drafts.draft_for_page(page),
    )


@bp.route("/c/<crisis_slug>/wiki/<slug>/revisions/<int:number>")
def revision(crisis_slug: str, slug: str, number: int):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug, include_deleted=can("view_deleted"))
    old = _revision_or_404(page, number)
    html = linked_html(crisis, old.html, list(dict.fromkeys(extract_wikilinks(old.html))))
    return render_template(
        "pages/view.html",
        crisis=crisis,
        page=page,
        revision=old,
        html=html,
        can_edit=can_edit_page(page),
        watching=_is_watching(page),
        attachments=[],
        is_current=old.id == page.current_revision_id,
    )


@bp.route("/c/<crisis_slug>/wiki/<slug>/edit", methods=["GET", "POST"])
@reads_first
def edit(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    if not can_edit_page(page):
        service.require_edit_page(page)
    current = page.current_revision
    form = {
        "body": current.body,
        "comment": "",
        "categories": ", ".join(current.category_list),
        "base_revision": current.id,
    }
    conflict = error = None
    status = 200
    if request.method == "POST":
        form = {
            "body": request.form.get("body", ""),
            "comment": request.form.get("comment", ""),
            "categories": request.form.get("categories", ""),
            "base_revision": request.form.get("base_revision", type=int),
        }
        try:
            result = service.save_revision(
                page,
                form["body"],
                form["base_revision"],
                current_user,
                form["comment"],
                form["categories"],
                resolving_conflict=bool(request.form.get("resolving_conflict")),
            )
            if result.merged:
                flash(_("Someone else saved this page while you edited it; your changes were merged with theirs."))
            elif result.unchanged:
                flash(_("Nothing changed, so no new revision was saved."))
            return redirect(_page_url(page))
        except EditConflict as exc:
            db.session.rollback()
            conflict = exc
            status = 409
            form["body"] = exc.merged_with_markers
            form["base_revision"] = exc.current_revision.id
            rows = diff_rows(exc.current_revision.body, exc.attempted_body)
            return render_template(
                "pages/edit.html", crisis=crisis, page=page, form=form, conflict=conflict, rows=rows, error=None
            ), status
        except InvalidInput as exc:
            db.session.rollback()
            error, status = exc, exc.status
    return render_template(
        "pages/edit.html", crisis=crisis, page=page, form=form, conflict=None, rows=None, error=error
    ), status


@bp.route("/c/<crisis_slug>/wiki/<slug>/history")
@cached_for_anonymous
def history(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug, include_deleted=can("view_deleted"))
    revisions = db.session.scalars(
        select(Revision).where(Revision.page_id == page.id).order_by(Revision.number.desc())
    ).all()
    return render_template(
        "pages/history.html", crisis=crisis, page=page, revisions=revisions, can_edit=can_edit_page(page)
    )


@bp.route("/c/<crisis_slug>/wiki/<slug>/diff")
def diff(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug, include_deleted=can("view_deleted"))
    newest = page.current_revision.number
    new_number = request.args.get("to", newest, type=int)
    old_number = request.args.get("from", max(new_number - 1, 1), type=int)
    mode = request.args.get("mode", "side")
    if mode not in ("side", "inline"):
        abort(400)
    old, new_ = _revision_or_404(page, old_number), _revision_or_404(page, new_number)
    rows = diff_rows(old.body, new_.body)
    return render_template(
        "pages/diff.html",
        crisis=crisis,
        page=page,
        old=old,
        new=new_,
        rows=rows,
        mode=mode,
        can_edit=can_edit_page(page),
    )


@bp.route("/c/<crisis_slug>/wiki/<slug>/revert/<int:number>", methods=["POST"])
def revert(crisis_slug: str, slug: str, number: int):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    service.require_edit_page(page)
    revision = service.revert_page(page, _revision_or_404(page, number), current_user, request.form.get("comment", ""))
    flash(_("Reverted to revision %(n)d (saved as revision %(m)d).", n=number, m=revision.number))
    return redirect(_page_url(page))


@bp.route("/c/<crisis_slug>/wiki/<slug>/rename", methods=["GET", "POST"])
def rename(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    service.require_edit_page(page)
    require("create_page")
    error = None
    if request.method == "POST":
        try:
            service.rename_page(page, request.form.get("title", ""), current_user, request.form.get("comment", ""))
            flash(_("Renamed; the old title now redirects here."))
            return redirect(_page_url(page))
        except InvalidInput as exc:
            db.session.rollback()
            error = exc
    return render_template("pages/rename.html", crisis=crisis, page=page, error=error), (error.status if error else 200)


@bp.route("/c/<crisis_slug>/wiki/<slug>/delete", methods=["POST"])
def delete(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    service.delete_page(page, current_user)
    flash(_("Deleted “%(title)s”. An administrator can restore it with its whole history.", title=page.title))
    return redirect(url_for("crises.home", crisis_slug=crisis.slug))


@bp.route("/c/<crisis_slug>/wiki/<slug>/restore", methods=["POST"])
def restore(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug, include_deleted=True)
    service.restore_page(page, current_user)
    flash(_("Restored “%(title)s”.", title=page.title))
    return redirect(_page_url(page))


@bp.route("/c/<crisis_slug>/wiki/<slug>/protect", methods=["POST"])
def protect(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    protected = request.form.get("protected") == "1"
    service.set_protected(page, protected, current_user)
    flash(
        _("The page is now protected: only coordinators can edit it.")
        if protected
        else _("The page is no longer protected.")
    )
    return redirect(_page_url(page))


@bp.route("/c/<crisis_slug>/wiki/<slug>/watch", methods=["POST"])
@login_required
def watch(crisis_slug: str, slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.get_page_or_404(crisis, slug)
    existing = db.session.get(Watch, (current_user.id, page.id))
    if request.form.get("watch") == "1" and existing is None:
        db.session.add(Watch(user_id=current_user.id, page_id=page.id))
    elif request.form.get("watch") != "1" and existing is not None:
        db.session.delete(existing)
    db.session.commit()
    return redirect(_page_url(page))


@bp.route("/c/<crisis_slug>/go")
def go(crisis_slug: str):
    """Jump to a page by title (the "go to page" box)."""
    crisis = get_crisis_or_404(crisis_slug)
    title = request.args.get("title", "")
    return redirect(url_for("pages.view", crisis_slug=crisis.slug, slug=slugify(title) or "Main_Page"))

"""The search page (/search): the same service as GET /api/v1/search, as HTML."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..errors import InvalidInput
from ..extensions import db
from ..models import Crisis
from .backend import SearchUnavailable
from .query import SearchRequest
from .service import search

bp = Blueprint("search", __name__)


def search_link(
    remove: tuple[str, str] | None = None,
    add: tuple[str, str] | None = None,
    q: str | None = None,
    page: int | None = None,
) -> str:
    """This search's address with one filter value removed or added, another query or page."""
    args = {
        key: [part for value in request.args.getlist(key) for part in value.split(",") if part]
        for key in request.args
        if key not in ("page", "q")
    }
    if request.args.get("q"):
        args["q"] = [request.args["q"]]
    if remove is not None:
        args[remove[0]] = [value for value in args.get(remove[0], []) if value != remove[1]]
    if add is not None:
        args[add[0]] = [*args.get(add[0], []), add[1]]
    if q is not None:
        args["q"] = [q]
    if page is not None and page > 1:
        args["page"] = [str(page)]
    return url_for("search.search_page", **{key: values for key, values in args.items() if values})


@bp.route("/search")
def search_page():
    error = unavailable = None
    page = None
    try:
        search_request = SearchRequest.from_args(request.args, default_limit=current_app.config["SEARCH_PAGE_SIZE"])
    except InvalidInput as exc:
        search_request, error = SearchRequest(), exc
    asked = bool(
        request.args.get("q") or any(request.args.get(name) for name in ("type", "crisis", "sector", "status", "adm1"))
    )
    if error is None and asked:
        try:
            page = search(search_request, current_user)
        except SearchUnavailable as exc:
            unavailable = exc
    crisis = None
    if len(search_request.crises) == 1:
        crisis = db.session.scalar(select(Crisis).where(Crisis.slug == search_request.crises[0]))
    status = 422 if error else 503 if unavailable else 200
    return render_template(
        "search/results.html",
        search=search_request,
        page=page,
        error=error,
        unavailable=unavailable,
        crisis=crisis,
        search_link=search_link,
    ), status

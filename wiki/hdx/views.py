"""The coordinator's page for publishing a crisis to HDX: the last publication's outcome, and a
button that queues a new one for the background worker (wiki.hdx.jobs)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import require
from ..crises.services import get_crisis_or_404
from ..database import reads_first
from ..errors import Conflict, InvalidInput
from .dataset import country_codes, dataset_name
from .jobs import WAITING, publication, queue_publication

bp = Blueprint("hdx", __name__)


def _unconfigured() -> list[str]:
    config = current_app.config
    return [name for name in ("HDX_URL", "HDX_API_TOKEN", "HDX_ORGANISATION") if not config[name]]


@bp.route("/c/<crisis_slug>/hdx", methods=["GET", "POST"])
@reads_first  # it writes no row: the request is a file for the worker
def publish_page(crisis_slug: str):
    """Coordinators publish the crisis's public reports and layers to HDX (a CKAN site)."""
    crisis = get_crisis_or_404(crisis_slug)
    require("edit_crisis")
    last = publication(crisis.slug)
    if request.method == "POST":
        missing = _unconfigured()
        if missing:
            raise Conflict(_("Publishing to HDX is not set up: set %(names)s on the server.", names=", ".join(missing)))
        if last and last.get("state") in WAITING:
            raise Conflict(_("A publication of this crisis is already under way; wait for it to end."))
        given = tuple(code.strip() for code in request.form.get("countries", "").split(",") if code.strip())
        try:
            countries = country_codes(crisis, given)
        except InvalidInput:
            raise InvalidInput(
                _("Give the countries as ISO3 codes separated by commas, e.g. HTI."), field="countries"
            ) from None
        queue_publication(crisis, countries, request.form.get("private") == "on", current_user.username)
        return redirect(url_for("hdx.publish_page", crisis_slug=crisis.slug), code=303)
    return render_template(
        "hdx/publish.html",
        crisis=crisis,
        last=last,
        waiting=bool(last and last.get("state") in WAITING),
        missing=_unconfigured(),
        name=dataset_name(crisis, None),
        site=current_app.config["HDX_URL"],
        countries=(crisis.glide.rsplit("-", 1)[-1] if crisis.glide else ""),
    )

"""HTML views of the maps feature: the crisis map, layers (list, upload, page, history,
revert) and the admin boundaries page. Writes go through wiki.maps.layers and
wiki.maps.boundaries, the same services as the API."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.permissions import can, require
from ..crises.services import get_crisis_or_404
from ..errors import DomainError, NotFound
from ..extensions import db
from ..feeds import atom_response
from ..i18n import human_size
from ..media.storage import read_limited
from ..models import Crisis, Layer, LayerRevision, Page
from ..models.reports import SECTORS, STATUSES
from . import layers as service
from .api import _allow_layer_sized_body
from .basemap import basemap_settings
from .boundaries import boundary_summary, import_boundaries, read_boundary_file
from .feeds import layers_feed

bp = Blueprint("maps", __name__)
FEATURE_TABLE_ROWS = 200
LAYER_FIELDS = ("title", "description", "source", "licence", "style", "comment", "page")


def _layer_in(crisis: Crisis, layer_id: int, include_deleted: bool = False) -> Layer:
    layer = service.get_layer_or_404(layer_id, include_deleted=include_deleted)
    if layer.crisis_id != crisis.id:
        raise NotFound(_("There is no layer %(id)d in %(crisis)s.", id=layer_id, crisis=crisis.name))
    return layer


def tile_settings() -> dict[str, str]:
    return {
        "url": current_app.config["MAP_TILE_URL"] or "",
        "attribution": current_app.config["MAP_TILE_ATTRIBUTION"] or "",
    }


@bp.route("/c/<crisis_slug>/map")
def crisis_map(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    layers = service.list_layers(crisis)
    return render_template(
        "maps/map.html",
        crisis=crisis,
        layers=layers,
        tiles=tile_settings(),
        sectors=SECTORS,
        statuses=STATUSES,
        args=request.args,
        levels=boundary_summary(crisis),
        max_points=current_app.config["MAP_MAX_POINTS"],
    )


@bp.route("/c/<crisis_slug>/layers")
def layers(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    page = service.find_page(crisis, request.args.get("page")) if request.args.get("page") else None
    return render_template("maps/layers.html", crisis=crisis, layers=service.list_layers(crisis, page), page=page)


@bp.route("/c/<crisis_slug>/layers.atom")
def layers_atom(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    feed, updated = layers_feed(crisis, url_for("maps.layers_atom", crisis_slug=crisis.slug, _external=True))
    return atom_response(feed, updated)


def _form_data() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in LAYER_FIELDS}


def _uploaded_geojson() -> bytes | str | None:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return read_limited(upload.stream, current_app.config["LAYER_MAX_BYTES"], field="file")
    pasted = request.form.get("geojson", "")
    return pasted if pasted.strip() else None


def _pages(crisis: Crisis) -> list[Page]:
    return list(
        db.session.scalars(
            select(Page).where(Page.crisis_id == crisis.id, Page.deleted_at.is_(None)).order_by(Page.title)
        )
    )


@bp.route("/c/<crisis_slug>/layers/new", methods=["GET", "POST"])
def new_layer(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    require("edit_layer")
    form = {key: "" for key in LAYER_FIELDS} | {"page": request.args.get("page", ""), "geojson": ""}
    error = None
    if request.method == "POST":
        _allow_layer_sized_body()
        form = _form_data() | {"geojson": request.form.get("geojson", "")}
        try:
            geojson = _uploaded_geojson()
            if geojson is None:
                raise DomainError(_("Choose a GeoJSON file or paste GeoJSON."), field="geojson")
            page = service.find_page(crisis, form["page"] or None)
            layer = service.create_layer(crisis, form, geojson, current_user, page=page)
            flash(_("Layer “%(title)s” saved.", title=layer.title))
            _flash_conversion(layer.conversion)
            return redirect(url_for("maps.layer", crisis_slug=crisis.slug, layer_id=layer.id))
        except DomainError as exc:
            db.session.rollback()
            error = exc
    return (
        render_template(
            "maps/layer_form.html",
            crisis=crisis,
            layer=None,
            form=form,
            error=error,
            pages=_pages(crisis),
            max_size=human_size(current_app.config["LAYER_MAX_BYTES"]),
        ),
        error.status if error else 200,
    )


def _flash_conversion(converted: dict | None) -> None:
    """Say what reading a GIS file did: the CRS it came in, and each geometry repaired."""
    if not converted:
        return
    if converted.get("reprojected_from"):
        flash(
            _(
                "Read from %(format)s and reprojected from %(crs)s to WGS 84.",
                format=converted["format"],
                crs=converted["reprojected_from"][:80],
            )
        )
    for repair in converted["repairs"][:10]:
        flash(
            _(
                "Feature %(n)d (layer %(layer)s) had an invalid geometry (%(problem)s); it was repaired into a "
                "%(type)s.",
                n=repair["feature"],
                layer=repair["layer"],
                problem=repair["problem"],
                type=repair["result"],
            )
        )
    if converted["repaired"] > 10:
        flash(_("… and %(n)d more geometries repaired.", n=converted["repaired"] - 10))


def _feature_rows(revision: LayerRevision) -> tuple[list[dict], list[str], int]:
    """Up to FEATURE_TABLE_ROWS features' properties for the table on the layer page (the
    template escapes every value: properties are the uploader's text, never HTML)."""
    features = json.loads(revision.geojson)["features"]
    rows, columns = [], {}
    for feature in features[:FEATURE_TABLE_ROWS]:
        properties = feature.get("properties") or {}
        rows.append({"geometry": (feature.get("geometry") or {}).get("type", "—"), "properties": properties})
        columns.update(dict.fromkeys(properties))
    return rows, list(columns)[:12], len(features)


@bp.route("/c/<crisis_slug>/layers/<int:layer_id>")
def layer(crisis_slug: str, layer_id: int):
    crisis = get_crisis_or_404(crisis_slug)
    found = _layer_in(crisis, layer_id)
    revision = found.current_revision
    rows, columns, total = _feature_rows(revision)
    return render_template(
        "maps/layer.html",
        crisis=crisis,
        layer=found,
        revision=revision,
        rows=rows,
        columns=columns,
        total=total,
        tiles=tile_settings(),
        can_edit=can("edit_layer"),
    )


@bp.route("/c/<crisis_slug>/layers/<int:layer_id>/edit", methods=["GET", "POST"])
def edit_layer(crisis_slug: str, layer_id: int):
    crisis = get_crisis_or_404(crisis_slug)
    found = _layer_in(crisis, layer_id)
    require("edit_layer")
    current = found.current_revision
    form = {
        "title": current.title,
        "description": current.description,
        "source": current.source,
        "licence": current.licence,
        "style": json.dumps(current.style) if current.style else "",
        "comment": "",
        "geojson": "",
        "base_revision": str(current.id),
    }
    error = None
    if request.method == "POST":
        _allow_layer_sized_body()
        form = _form_data() | {
            "geojson": request.form.get("geojson", ""),
            "base_revision": request.form.get("base_revision", ""),
        }
        data = {key: form[key] for key in ("title", "description", "source", "licence", "style", "comment")}
        try:
            base = int(form["base_revision"]) if form["base_revision"].isdigit() else None
            result = service.save_layer(found, data, _uploaded_geojson(), current_user, base_revision=base)
            flash(
                _("Nothing changed, so no new revision was saved.")
                if result.unchanged
                else _("Saved revision %(n)d.", n=result.revision.number)
            )
            return redirect(url_for("maps.layer", crisis_slug=crisis.slug, layer_id=found.id))
        except DomainError as exc:
            db.session.rollback()
            error = exc
    return (
        render_template(
            "maps/layer_form.html",
            crisis=crisis,
            layer=found,
            form=form,
            error=error,
            pages=[],
            max_size=human_size(current_app.config["LAYER_MAX_BYTES"]),
        ),
        error.status if error else 200,
    )


@bp.route("/c/<crisis_slug>/layers/<int:layer_id>/history")
def layer_history(crisis_slug: str, layer_id: int):
    crisis = get_crisis_or_404(crisis_slug)
    found = _layer_in(crisis, layer_id)
    revisions = db.session.scalars(
        select(LayerRevision).where(LayerRevision.layer_id == found.id).order_by(LayerRevision.number.desc())
    ).all()
    return render_template(
        "maps/layer_history.html", crisis=crisis, layer=found, revisions=revisions, can_edit=can("edit_layer")
    )


@bp.route("/c/<crisis_slug>/layers/<int:layer_id>/revert/<int:number>", methods=["POST"])
def revert_layer(crisis_slug: str, layer_id: int, number: int):
    crisis = get_crisis_or_404(crisis_slug)
    require("edit_layer")
    found = _layer_in(crisis, layer_id)
    revision = service.revert_layer(
        found, service.get_revision_or_404(found, number), current_user, request.form.get("comment", "")
    )
    flash(_("Reverted to revision %(n)d (saved as revision %(m)d).", n=number, m=revision.number))
    return redirect(url_for("maps.layer", crisis_slug=crisis.slug, layer_id=found.id))


@bp.route("/c/<crisis_slug>/layers/<int:layer_id>/delete", methods=["POST"])
def delete_layer(crisis_slug: str, layer_id: int):
    crisis = get_crisis_or_404(crisis_slug)
    require("edit_layer")
    found = _layer_in(crisis, layer_id)
    service.delete_layer(found, current_user)
    flash(_("Layer “%(title)s” deleted.", title=found.title))
    return redirect(url_for("maps.layers", crisis_slug=crisis.slug))


@bp.route("/c/<crisis_slug>/boundaries", methods=["GET", "POST"])
def boundaries(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    error = None
    if request.method == "POST":
        require("edit_layer")
        limit = current_app.config["BOUNDARIES_MAX_BYTES"]
        request.max_content_length = max(limit + 1024 * 1024, current_app.config["MAX_CONTENT_LENGTH"] or 0)
        try:
            level = int(request.form.get("level", "0") or 0)
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise DomainError(_("Choose a GeoJSON file of admin boundaries."), field="file")
            document = read_boundary_file(read_limited(upload.stream, limit, field="file"))
            result = import_boundaries(crisis, level, document, current_user)
            flash(
                _(
                    "Imported %(n)d admin-%(level)d areas; %(m)d reports changed admin area.",
                    n=result.areas,
                    level=result.level,
                    m=result.reports_placed,
                )
            )
            return redirect(url_for("maps.boundaries", crisis_slug=crisis.slug))
        except DomainError as exc:
            db.session.rollback()
            error = exc
    return (
        render_template(
            "maps/boundaries.html",
            crisis=crisis,
            levels=boundary_summary(crisis),
            error=error,
            max_size=human_size(current_app.config["BOUNDARIES_MAX_BYTES"]),
        ),
        error.status if error else 200,
    )


STATUS_LETTERS = {"new": "N", "under_review": "R", "verified": "V", "refuted": "X", "duplicate": "D", "archived": "A"}


def map_labels() -> dict:
    """The words the map scripts show, translated here (the scripts carry none of their own)."""
    return {
        "letters": STATUS_LETTERS,
        "statuses": {
            "new": _("new"),
            "under_review": _("under review"),
            "verified": _("verified"),
            "refuted": _("refuted"),
            "duplicate": _("duplicate"),
            "archived": _("archived"),
        },
        "sectors": {key: _(name) for key, name in SECTORS.items()},
        "open_report": _("Open the report"),
        "approximate": _("Approximate location: this report is sensitive."),
        "around_place": _("Located by a place name: within {km} km of this point."),
        "in_area": _("Located by an admin area: somewhere within {km} km of its centre."),
        "score": _("score"),
        "not_assessed": _("not yet assessed"),
        "reports_in_view": _("{n} reports in view."),
        "newest_shown": _("{n} reports in view; the newest {shown} are listed. Zoom in to see them all on the map."),
        "no_reports": _("No reports in view match the filters."),
        "cluster": _("{n} reports here: select to zoom in"),
        "loading": _("Loading…"),
        "failed": _("The map data could not be loaded: {error}"),
        "layer_failed": _("Layer {id} could not be loaded."),
        "feature": _("Feature"),
        "open_map": _("Open the full map"),
        "no_crisis": _("This map does not say which crisis to show (add crisis: ... to the block)."),
        "area_reports": _("{name} ({pcode}): {n} reports"),
        "unassigned": _("outside every imported area"),
    }


@bp.app_context_processor
def _map_template_globals() -> dict:
    return {"map_labels": map_labels, "basemap": basemap_settings()}

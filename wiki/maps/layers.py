"""GeoJSON layers of a crisis (or of one of its pages), versioned like pages.

The one service layer behind the HTML views and the JSON API: each function checks
permissions, validates everything before writing, writes one transaction, commits, and only
then tells the plugins (`layer_saved`, `layer_deleted`). Revisions are append-only; a revert
is a new revision with an old revision's content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import plugins, versioning
from ..auth.permissions import require
from ..database import fits_id
from ..errors import Conflict, InvalidInput, NotFound, TooLarge
from ..extensions import db
from ..i18n import human_size
from ..models import Crisis, Layer, LayerRevision, Page, User
from ..models.base import utcnow
from .geojson_checks import CheckedGeoJSON, check_layer_geojson, parse_json
from .gis_files import kind_of, read_gis_file
from .styles import clean_layer_style

LIMITS = {"title": 200, "description": 5000, "source": 500, "licence": 200}
MAX_COMMENT = 500
META_FIELDS = ("title", "description", "source", "licence", "style")
# Top-level members the service writes itself when serving a layer.
RESERVED_MEMBERS = ("metadata",)


@dataclass(frozen=True)
class LayerData:
    """Checked GeoJSON, ready to store: compact JSON text plus what lists need to know, and what
    reading a GIS file repaired (wiki.maps.gis_files)."""

    text: str
    feature_count: int
    bbox: tuple[float, float, float, float] | None
    repairs: tuple = ()
    source_format: str = "GeoJSON"
    source_crs: str | None = None


def release_write_lock() -> None:
    """End the request's transaction before the slow part (parsing and checking megabytes of
    GeoJSON), so that on SQLite, where every unsafe request holds the write lock from its first
    statement, other writers are not kept waiting meanwhile. Nothing of the layer is written
    yet (at most an API token's last-used time); the writes that follow take the lock again."""
    if db.session().in_transaction():
        db.session.commit()


def check_size(size: int) -> None:
    limit = current_app.config["LAYER_MAX_BYTES"]
    if size > limit:
        raise TooLarge(_("The layer is larger than the limit of %(size)s.", size=human_size(limit)), field="geojson")


def read_layer_data(raw: str | bytes | Mapping, filename: str = "") -> LayerData:
    """Validate GeoJSON given as text, bytes (an uploaded file) or an already parsed object; an
    uploaded Shapefile (zipped), GeoPackage, KML/KMZ, GPX or projected GeoJSON is read into WGS 84
    GeoJSON first, its invalid geometries repaired (and listed)."""
    gis = None
    if isinstance(raw, (str, bytes)):
        check_size(len(raw.encode() if isinstance(raw, str) else raw))
        if not raw.strip():
            raise InvalidInput(_("The GeoJSON is empty."), field="geojson")
        binary = raw if isinstance(raw, bytes) else raw.encode()
        if kind_of(binary) is not None:
            gis = read_gis_file(binary, filename)
            document = gis.collection
        else:
            document = parse_json(raw)
    else:
        document = raw
    checked = check_layer_geojson(document)
    text = _serialise(checked)
    check_size(len(text.encode()))
    if gis is None:
        return LayerData(text=text, feature_count=checked.feature_count, bbox=checked.bbox)
    return LayerData(
        text=text,
        feature_count=checked.feature_count,
        bbox=checked.bbox,
        repairs=gis.repairs,
        source_format=gis.format,
        source_crs=gis.source_crs,
    )


def _serialise(checked: CheckedGeoJSON) -> str:
    """Compact JSON with "type" first and "features" last, foreign members kept in between."""
    collection = checked.collection
    members = {key: value for key, value in collection.items() if key not in ("type", "features", *RESERVED_MEMBERS)}
    ordered = {"type": "FeatureCollection", **members, "features": collection["features"]}
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)


def _text(data: Mapping, name: str, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be text.", field=name), field=name)
    value = value.strip() if name != "description" else value.strip("\n")
    if len(value) > LIMITS[name]:
        raise InvalidInput(_("%(field)s has at most %(n)d characters.", field=name, n=LIMITS[name]), field=name)
    return value


def clean_metadata(data: Mapping, current: LayerRevision | None = None) -> dict[str, Any]:
    """Title, description, source, licence and default style from `data`; fields left out keep
    their current values (on an edit)."""
    clean: dict[str, Any] = {}
    for name in ("title", "description", "source", "licence"):
        if name in data or current is None:
            clean[name] = _text(data, name)
        else:
            clean[name] = getattr(current, name)
    clean["title"] = " ".join(clean["title"].split())
    if not clean["title"]:
        raise InvalidInput(_("A layer needs a title."), field="title")
    if "style" in data or current is None:
        style = data.get("style")
        if isinstance(style, str) and style.strip():
            try:
                style = json.loads(style)
            except ValueError:
                raise InvalidInput(_("style must be a JSON object of simplestyle properties."), field="style") from None
        clean["style"] = clean_layer_style(style)
    else:
        clean["style"] = dict(current.style or {})
    return clean


def clean_comment(comment: Any) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise InvalidInput(_("comment must be text."), field="comment")
    comment = " ".join(comment.split())
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(_("An edit summary has at most %(n)d characters.", n=MAX_COMMENT), field="comment")
    return comment


def find_page(crisis: Crisis, slug: str | None) -> Page | None:
    """The page a layer belongs to, by slug, in the same crisis (None for a crisis layer)."""
    if not slug:
        return None
    page = db.session.scalar(
        select(Page).where(Page.crisis_id == crisis.id, Page.slug == slug, Page.deleted_at.is_(None))
    )
    if page is None:
        raise InvalidInput(_("There is no page %(slug)s in %(crisis)s.", slug=slug, crisis=crisis.name), field="page")
    return page


def get_layer_or_404(layer_id: int, include_deleted: bool = False) -> Layer:
    layer = db.session.get(Layer, layer_id)
    if layer is None or (layer.is_deleted and not include_deleted):
        raise NotFound(_("There is no layer %(id)d.", id=layer_id))
    return layer


def get_revision_or_404(layer: Layer, number: int) -> LayerRevision:
    revision = None
    if fits_id(number):
        revision = db.session.scalar(
            select(LayerRevision).where(LayerRevision.layer_id == layer.id, LayerRevision.number == number)
        )
    if revision is None:
        raise NotFound(_("Revision %(n)d of this layer does not exist.", n=number))
    return revision


def _append(
    layer: Layer,
    meta: dict[str, Any],
    data: LayerData,
    *,
    comment: str,
    kind: str,
    author: User | None,
    parent: LayerRevision | None,
) -> LayerRevision:
    west, south, east, north = data.bbox or (None, None, None, None)
    return versioning.append_revision(
        layer,
        LayerRevision,
        parent,
        kind=kind,
        comment=comment,
        author=author,
        layer=layer,
        title=meta["title"],
        description=meta["description"],
        source=meta["source"],
        licence=meta["licence"],
        style=meta["style"],
        geojson=data.text,
        feature_count=data.feature_count,
        size=len(data.text.encode()),
        west=west,
        south=south,
        east=east,
        north=north,
    )


def _commit_and_announce(layer: Layer) -> None:
    plugins.call("layer_before_commit", layer=layer, revision=layer.current_revision)
    db.session.commit()
    plugins.call("layer_saved", layer=layer)


def create_layer(
    crisis: Crisis, data: Mapping, geojson: str | bytes | Mapping, author: User | None, page: Page | None = None
) -> Layer:
    """A new layer with its first revision."""
    require("edit_layer", author)
    if page is not None and page.crisis_id != crisis.id:
        raise InvalidInput(_("The page belongs to another crisis."), field="page")
    meta = clean_metadata(data)
    comment = clean_comment(data.get("comment"))
    release_write_lock()
    checked = read_layer_data(geojson)
    now = utcnow()
    layer = Layer(
        crisis_id=crisis.id, page_id=page.id if page else None, title=meta["title"], created_at=now, updated_at=now
    )
    db.session.add(layer)
    db.session.flush()
    _append(layer, meta, checked, comment=comment or _("Created layer"), kind="create", author=author, parent=None)
    _commit_and_announce(layer)
    layer.conversion = conversion(checked)  # not stored: what reading the file did, for the answer
    return layer


@dataclass(frozen=True)
class LayerSave:
    revision: LayerRevision
    unchanged: bool = False
    conversion: dict[str, Any] | None = None


def conversion(data: LayerData) -> dict[str, Any] | None:
    """What reading a GIS file did (its format, the CRS it was reprojected from, the geometries
    repaired, each with its feature), or None for GeoJSON taken as it was."""
    if data.source_format == "GeoJSON" and data.source_crs is None and not data.repairs:
        return None
    return {
        "format": data.source_format,
        "reprojected_from": data.source_crs,
        "repairs": [repair.as_dict() for repair in data.repairs[:50]],
        "repaired": len(data.repairs),
    }


def _same(revision: LayerRevision, meta: dict[str, Any], data: LayerData) -> bool:
    return all(getattr(revision, key) == meta[key] for key in META_FIELDS) and revision.geojson == data.text


def save_layer(
    layer: Layer,
    data: Mapping,
    geojson: str | bytes | Mapping | None,
    author: User | None,
    base_revision: int | None = None,
) -> LayerSave:
    """A new revision: new metadata, new data, or both (what is left out stays as it is).

    `base_revision` (the revision id the edit started from) guards against overwriting a
    change made meanwhile: a stale base is a 409. Layers are not merged; GeoJSON rarely merges
    line by line the way text does."""
    require("edit_layer", author)
    if layer.is_deleted:
        raise NotFound(_("There is no layer %(id)d.", id=layer.id))
    current = layer.current_revision
    meta = clean_metadata(data, current)
    comment = clean_comment(data.get("comment"))
    if geojson is not None:
        release_write_lock()
        checked = read_layer_data(geojson)
    else:
        checked = LayerData(current.geojson, current.feature_count, current.bbox)
    layer = versioning.lock(layer)
    current = layer.current_revision
    if base_revision is not None and base_revision != current.id:
        raise Conflict(
            _(
                "The layer was changed since revision %(base)s; the current revision is %(n)d (id %(id)d). "
                "Reload it and apply your change again.",
                base=base_revision,
                n=current.number,
                id=current.id,
            ),
            field="base_revision",
            current_revision=current.id,
        )
    if _same(current, meta, checked):
        return LayerSave(current, unchanged=True, conversion=conversion(checked))
    revision = _append(layer, meta, checked, comment=comment, kind="edit", author=author, parent=current)
    _commit_and_announce(layer)
    return LayerSave(revision, conversion=conversion(checked))


def revert_layer(layer: Layer, target: LayerRevision, author: User | None, comment: str = "") -> LayerRevision:
    """Make `target`'s content current again, as a new revision."""
    require("edit_layer", author)
    if layer.is_deleted:
        raise NotFound(_("There is no layer %(id)d.", id=layer.id))
    if target.layer_id != layer.id:
        raise InvalidInput(_("That revision belongs to another layer."), field="revision")
    comment = versioning.revert_comment(clean_comment(comment), target)
    layer = versioning.lock(layer)
    meta = {key: getattr(target, key) for key in META_FIELDS}
    data = LayerData(target.geojson, target.feature_count, target.bbox)
    revision = _append(layer, meta, data, comment=comment, kind="revert", author=author, parent=layer.current_revision)
    _commit_and_announce(layer)
    return revision


def delete_layer(layer: Layer, author: User | None) -> None:
    """Soft delete: the layer leaves maps and lists; every revision stays."""
    require("edit_layer", author)
    layer = versioning.lock(layer)
    if not versioning.mark_deleted(layer, author):
        return
    db.session.commit()
    plugins.call("layer_deleted", layer=layer)


def list_layers(crisis: Crisis | None = None, page: Page | None = None) -> list[Layer]:
    query = select(Layer).where(Layer.deleted_at.is_(None))
    if crisis is not None:
        query = query.where(Layer.crisis_id == crisis.id)
    if page is not None:
        query = query.where(Layer.page_id == page.id)
    return list(db.session.scalars(query.order_by(Layer.title, Layer.id)))


def layer_metadata(layer: Layer, revision: LayerRevision | None = None) -> dict[str, Any]:
    """What a layer is, without its features (lists, and the `metadata` member of its GeoJSON)."""
    revision = revision or layer.current_revision
    crisis = layer.crisis
    return {
        "id": layer.id,
        "title": revision.title,
        "description": revision.description,
        "source": revision.source,
        "licence": revision.licence,
        "style": revision.style or {},
        "crisis": crisis.slug,
        "page": layer.page.slug if layer.page is not None else None,
        "feature_count": revision.feature_count,
        "size": revision.size,
        "extent": list(revision.bbox) if revision.bbox else None,
        "revision": {
            "id": revision.id,
            "number": revision.number,
            "kind": revision.kind,
            "comment": revision.comment,
            "author": revision.author_name,
            "created_at": revision.created_at.isoformat(),
        },
        "current": revision.id == layer.current_revision_id,
        "updated_at": layer.updated_at.isoformat(),
        "links": {
            "self": url_for("api.get_layer", layer_id=layer.id, _external=True),
            "html": url_for("maps.layer", crisis_slug=crisis.slug, layer_id=layer.id, _external=True),
            "revisions": url_for("api.layer_revisions", layer_id=layer.id, _external=True),
        },
    }


def layer_geojson_text(layer: Layer, revision: LayerRevision | None = None, converted: dict | None = None) -> str:
    """The layer as an RFC 7946 FeatureCollection with its metadata in a foreign member
    `metadata` (RFC 7946 section 7.1 reserves `properties` for Features; `converted` adds what
    reading an uploaded GIS file did). Spliced into the stored JSON rather than parsed and
    written again: layers can be tens of megabytes."""
    revision = revision or layer.current_revision
    described = layer_metadata(layer, revision)
    if converted:
        described["conversion"] = converted
    metadata = json.dumps(described, separators=(",", ":"), ensure_ascii=False)
    stored = revision.geojson
    return '{"type":"FeatureCollection","metadata":' + metadata + "," + stored[len('{"type":"FeatureCollection",') :]

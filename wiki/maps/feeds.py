"""The Atom feed of a crisis's layers: an entry for each revision of a layer that is not deleted
(added, changed, reverted), newest first. Layers are public; their history pages show the
same authors and comments."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..feeds import ENTRIES, new_feed
from ..i18n import human_size
from ..models import Crisis, Layer, LayerRevision
from ..vocabulary import label


def layer_revisions(crisis: Crisis, limit: int = ENTRIES) -> list[LayerRevision]:
    return list(
        db.session.scalars(
            select(LayerRevision)
            .join(LayerRevision.layer)
            .options(contains_eager(LayerRevision.layer))
            .where(Layer.crisis_id == crisis.id, Layer.deleted_at.is_(None))
            .order_by(LayerRevision.created_at.desc(), LayerRevision.id.desc())
            .limit(limit)
        )
    )


def layers_feed(crisis: Crisis, self_url: str):
    """The feed, and the time of its newest entry (None when it has none)."""
    revisions = layer_revisions(crisis)
    updated = revisions[0].created_at if revisions else None
    feed = new_feed(
        _("Layers: %(crisis)s", crisis=crisis.name),
        self_url,
        url_for("maps.layers", crisis_slug=crisis.slug, _external=True),
        updated,
    )
    for revision in reversed(revisions):  # feedgen prepends each entry
        layer = revision.layer
        link = url_for("maps.layer", crisis_slug=crisis.slug, layer_id=layer.id, _external=True)
        what = revision.comment or label("kind", revision.kind)
        entry = feed.add_entry()
        entry.id(f"{link}#revision-{revision.number}")
        entry.title(f"{revision.title}: {what}")
        entry.link(href=link)
        entry.author({"name": revision.author_name or _("anonymous")})
        entry.updated(revision.created_at)
        entry.summary(
            _(
                "Revision %(number)d: %(features)d features, %(size)s.",
                number=revision.number,
                features=revision.feature_count,
                size=human_size(revision.size),
            )
        )
    return feed, updated

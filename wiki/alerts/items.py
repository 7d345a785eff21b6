"""What an alert says about each of its subjects, asked of wiki.visibility at the moment the
message (or the feed) is made: a report the subscriber may no longer see (withdrawn since,
unpublished, deleted) is left out, a sensitive report is placed at its public grid cell, and
no alert names who sent a report or how to reach them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import plugins
from ..extensions import db
from ..models import AlertDelivery, AlertSubscription, Layer, LayerRevision, Page, Report, Revision
from ..visibility import alert_place, alert_viewer, layer_visible, page_visible, report_alertable
from ..vocabulary import label
from .subscriptions import site_url

MAP_ZOOM = 12
SUMMARY_CHARACTERS = 400


@dataclass
class Item:
    kind: str  # report | page | layer
    id: int
    title: str
    summary: str
    url: str
    when: datetime
    fields: dict[str, Any] = field(default_factory=dict)  # the JSON a webhook gets

    def as_json(self) -> dict[str, Any]:
        return {"type": self.kind, "id": self.id, "title": self.title, "url": self.url, **self.fields}


def _shorten(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SUMMARY_CHARACTERS else text[: SUMMARY_CHARACTERS - 1] + "…"


def _report_items(subscription: AlertSubscription, ids: list[int], viewer) -> dict[int, Item]:
    reports = {report.id: report for report in db.session.scalars(select(Report).where(Report.id.in_(ids)))}
    visible = [report for report in reports.values() if report_alertable(report, viewer)]
    scores: dict[int, dict] = {}
    for found in plugins.call("report_map_properties", report_ids=[r.id for r in visible], viewer=viewer):
        for report_id, properties in found.items():
            scores.setdefault(report_id, {}).update(properties)
    items = {}
    for report in visible:
        place = alert_place(report)
        crisis = subscription.crisis.slug
        fields: dict[str, Any] = {
            "crisis": crisis,
            "sector": report.sector,
            "status": report.status,
            "received_at": report.received_at.isoformat(),
            "occurred_at": report.occurred_at.isoformat() if report.occurred_at else None,
            "description": _shorten(report.description),
            "place": {
                "lon": place.lon,
                "lat": place.lat,
                "exact": place.exact,
                "place_name": place.place_name,
                "adm1_pcode": place.adm1_pcode,
                "adm1_name": place.adm1_name,
                "adm2_pcode": place.adm2_pcode,
                "adm2_name": place.adm2_name,
            },
            "map_url": site_url(
                subscription,
                "maps.crisis_map",
                crisis_slug=crisis,
                lat=f"{place.lat:.5f}",
                lon=f"{place.lon:.5f}",
                zoom=MAP_ZOOM,
            ),
        }
        if report.id in scores:
            fields["score"] = scores[report.id].get("score")
            fields["verdict"] = scores[report.id].get("verdict")
        items[report.id] = Item(
            "report",
            report.id,
            report.title,
            _shorten(report.description),
            site_url(subscription, "reports.view", report_id=report.id),
            report.updated_at,
            fields,
        )
    return items


def _revision_items(subscription: AlertSubscription, ids: list[int], viewer) -> dict[int, Item]:
    items = {}
    for revision, page in db.session.execute(
        select(Revision, Page).join(Page, Page.id == Revision.page_id).where(Revision.id.in_(ids))
    ):
        if not page_visible(page, viewer):
            continue
        url = site_url(subscription, "pages.view", crisis_slug=subscription.crisis.slug, slug=page.slug)
        fields = {
            "crisis": subscription.crisis.slug,
            "page": page.slug,
            "revision": revision.number,
            "comment": revision.comment,
            "author": revision.author_name,
            "saved_at": revision.created_at.isoformat(),
        }
        items[revision.id] = Item("page", page.id, revision.title, revision.comment, url, revision.created_at, fields)
    return items


def _layer_items(subscription: AlertSubscription, ids: list[int], viewer) -> dict[int, Item]:
    items = {}
    for revision, layer in db.session.execute(
        select(LayerRevision, Layer).join(Layer, Layer.id == LayerRevision.layer_id).where(LayerRevision.id.in_(ids))
    ):
        if not layer_visible(layer, viewer) or layer.is_deleted:
            continue
        url = site_url(subscription, "maps.layer", crisis_slug=subscription.crisis.slug, layer_id=layer.id)
        fields = {
            "crisis": subscription.crisis.slug,
            "layer": layer.id,
            "revision": revision.number,
            "comment": revision.comment,
            "features": revision.feature_count,
            "saved_at": revision.created_at.isoformat(),
        }
        items[revision.id] = Item("layer", layer.id, revision.title, revision.comment, url, revision.created_at, fields)
    return items


def items_for(
    subscription: AlertSubscription, deliveries: Sequence[AlertDelivery]
) -> tuple[list[tuple[AlertDelivery, Item]], list[AlertDelivery]]:
    """(delivery, item) for what the subscriber may see now, and the deliveries left out."""
    viewer = alert_viewer(subscription)
    reports = _report_items(subscription, [d.report_id for d in deliveries if d.report_id is not None], viewer)
    pages = _revision_items(subscription, [d.revision_id for d in deliveries if d.revision_id is not None], viewer)
    layers = _layer_items(
        subscription, [d.layer_revision_id for d in deliveries if d.layer_revision_id is not None], viewer
    )
    shown, dropped = [], []
    for delivery in deliveries:
        if delivery.report_id is not None:
            item = reports.get(delivery.report_id)
        elif delivery.revision_id is not None:
            item = pages.get(delivery.revision_id)
        else:
            item = layers.get(delivery.layer_revision_id)
        (shown.append((delivery, item)) if item is not None else dropped.append(delivery))
    return shown, dropped


def item_label(item: Item) -> str:
    """One line about an item, in the current language."""
    if item.kind != "report":
        return item.title
    parts = [label("status", item.fields["status"]), label("sector", item.fields["sector"])]
    if item.fields["place"]["adm1_name"]:
        parts.append(item.fields["place"]["adm1_name"])
    return f"{item.title} ({', '.join(part for part in parts if part)})"

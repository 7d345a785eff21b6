"""Matching the outbox's events against the subscriptions, in batches.

A batch is read (events, the reports, pages and layers they name, the subscriptions), matched
without holding any lock, then written in one short transaction: a delivery per (subscription,
subject), inserted with ON CONFLICT DO NOTHING on the unique pair, and the events marked
matched. A worker killed mid-batch leaves its events unmatched and they are matched again; two
servers matching the same events at once insert each delivery once. The subscriptions are kept
in memory as a RuleIndex, rebuilt when any of them changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import plugins
from ..database import chunked, write_transaction
from ..extensions import db
from ..models import (
    AlertDelivery,
    AlertEvent,
    AlertSubscription,
    Crisis,
    Layer,
    Page,
    PageCategory,
    Report,
    User,
    Watch,
)
from ..models.base import utcnow
from ..pages.sitrep import SITREP_CATEGORY
from ..visibility import sees_unpublished
from .areas import area_of
from .keywords import parsed
from .matching import Fact, Rule, RuleIndex

_cache: dict[str, tuple[tuple, RuleIndex, dict[str, User]]] = {}
_cache_lock = threading.Lock()


def _version() -> tuple:
    row = db.session.execute(
        select(func.count(AlertSubscription.id), func.max(AlertSubscription.id), func.max(AlertSubscription.updated_at))
    ).one()
    return tuple(row)


def rule_of(subscription: AlertSubscription, owner: User | None) -> Rule:
    return Rule(
        id=subscription.id,
        crisis_id=subscription.crisis_id,
        owner_id=subscription.user_id,
        sees_unpublished=owner is not None and sees_unpublished(owner),
        score_group=owner.role if owner is not None else "anonymous",
        area=area_of(subscription),
        sectors=frozenset(subscription.sectors or ()),
        statuses=frozenset(subscription.statuses or ()),
        min_score=subscription.min_score,
        verdicts=frozenset(subscription.verdicts or ()),
        query=parsed(subscription.keywords),
    )


def report_rules() -> tuple[RuleIndex, dict[str, User]]:
    """The active report subscriptions as a RuleIndex, and one owner per role (whose view of
    scores stands for the role's: plugins decide what a viewer sees of scores by permission)."""
    key = str(db.engine.url)
    version = _version()
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
    subscriptions = db.session.scalars(
        select(AlertSubscription).where(
            AlertSubscription.kind == "reports",
            AlertSubscription.confirmed_at.is_not(None),
            AlertSubscription.paused_at.is_(None),
        )
    ).all()
    owner_ids = {s.user_id for s in subscriptions if s.user_id is not None}
    owners = {}
    for ids in chunked(sorted(owner_ids)):
        owners.update({user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))})
    rules = [rule_of(s, owners.get(s.user_id)) for s in subscriptions]
    by_role: dict[str, User] = {}
    for user in owners.values():
        by_role.setdefault(user.role, user)
    for user in by_role.values():
        db.session.expunge(user)  # kept past this session as the role's viewer
    index = RuleIndex(rules)
    with _cache_lock:
        _cache[key] = (version, index, by_role)
    return index, by_role


def _facts(report_ids: list[int]) -> list[Fact]:
    facts = []
    for ids in chunked(report_ids):
        for row in db.session.execute(
            select(
                Report.id,
                Report.crisis_id,
                Report.public_lon,
                Report.public_lat,
                Report.sector,
                Report.status,
                Report.published,
                Report.withdrawn_at,
                Report.submitted_by_id,
                Report.title,
                Report.description,
                Report.adm1_pcode,
                Report.adm1_name,
                Crisis.slug,
            )
            .join(Crisis, Crisis.id == Report.crisis_id)
            .where(Report.id.in_(ids))
        ):
            facts.append(
                Fact(
                    id=row.id,
                    crisis_id=row.crisis_id,
                    lon=row.public_lon,
                    lat=row.public_lat,
                    sector=row.sector,
                    status=row.status,
                    published=bool(row.published),
                    withdrawn=row.withdrawn_at is not None,
                    submitted_by_id=row.submitted_by_id,
                    title=row.title,
                    body=row.description or "",
                    crisis=row.slug,
                    adm1=row.adm1_pcode or "",
                    adm1_name=row.adm1_name or "",
                )
            )
    return facts


def _scores(index: RuleIndex, by_role: dict[str, User], facts: list[Fact]):
    """A lookup of scores and verdicts, asked of the plugins once per role that needs them."""
    groups = {rule.score_group for rule in index.rules if rule.needs_scores}
    if not groups or not facts:
        return lambda group, report_id: None
    from flask_login import AnonymousUserMixin

    ids = [fact.id for fact in facts]
    found: dict[str, dict[int, dict]] = {}
    for group in groups:
        viewer = AnonymousUserMixin() if group == "anonymous" else by_role.get(group)
        if viewer is None:
            continue
        merged: dict[int, dict] = {}
        for answer in plugins.call("report_map_properties", report_ids=ids, viewer=viewer):
            for report_id, properties in answer.items():
                merged.setdefault(report_id, {}).update(properties)
        found[group] = merged
    return lambda group, report_id: found.get(group, {}).get(report_id)


def _report_deliveries(events: list[AlertEvent]) -> list[dict]:
    first_event: dict[int, int] = {}
    for event in events:
        if event.report_id is not None:
            first_event.setdefault(event.report_id, event.id)
    if not first_event:
        return []
    index, by_role = report_rules()
    facts = _facts(sorted(first_event))
    pairs = index.match(facts, _scores(index, by_role, facts))
    return [
        {"subscription_id": sid, "subject": f"report:{rid}", "event_id": first_event[rid], "report_id": rid}
        for sid, rid in pairs
    ]


def _page_deliveries(events: list[AlertEvent]) -> list[dict]:
    page_events = [event for event in events if event.page_id is not None and event.revision_id is not None]
    if not page_events:
        return []
    page_ids = sorted({event.page_id for event in page_events})
    pages = {page.id: page for page in db.session.scalars(select(Page).where(Page.id.in_(page_ids)))}
    watchers: dict[int, set[int]] = {}
    sitreps: set[int] = set()
    for ids in chunked(page_ids):
        for page_id, user_id in db.session.execute(select(Watch.page_id, Watch.user_id).where(Watch.page_id.in_(ids))):
            watchers.setdefault(page_id, set()).add(user_id)
        sitreps.update(
            db.session.scalars(
                select(PageCategory.page_id).where(PageCategory.page_id.in_(ids), PageCategory.name == SITREP_CATEGORY)
            )
        )
    crisis_ids = {page.crisis_id for page in pages.values()}
    subscriptions = db.session.scalars(
        select(AlertSubscription).where(
            AlertSubscription.crisis_id.in_(crisis_ids),
            AlertSubscription.kind.in_(("watchlist", "sitreps")),
            AlertSubscription.confirmed_at.is_not(None),
            AlertSubscription.paused_at.is_(None),
        )
    ).all()
    rows = []
    for event in page_events:
        page = pages.get(event.page_id)
        if page is None or page.is_deleted:
            continue
        for subscription in subscriptions:
            if subscription.crisis_id != page.crisis_id:
                continue
            if subscription.kind == "watchlist" and subscription.user_id in watchers.get(page.id, ()):
                subject = f"revision:{event.revision_id}"
            elif subscription.kind == "sitreps" and page.id in sitreps:
                subject = f"sitrep:{page.id}"  # once per situation report: when it first is one
            else:
                continue
            rows.append(
                {
                    "subscription_id": subscription.id,
                    "subject": subject,
                    "event_id": event.id,
                    "page_id": page.id,
                    "revision_id": event.revision_id,
                }
            )
    return rows


def _layer_deliveries(events: list[AlertEvent]) -> list[dict]:
    layer_events = [event for event in events if event.layer_revision_id is not None]
    if not layer_events:
        return []
    layers = {
        layer.id: layer
        for layer in db.session.scalars(select(Layer).where(Layer.id.in_({e.layer_id for e in layer_events})))
    }
    subscriptions = db.session.scalars(
        select(AlertSubscription).where(
            AlertSubscription.crisis_id.in_({layer.crisis_id for layer in layers.values()}),
            AlertSubscription.kind == "layers",
            AlertSubscription.confirmed_at.is_not(None),
            AlertSubscription.paused_at.is_(None),
        )
    ).all()
    rows = []
    for event in layer_events:
        layer = layers.get(event.layer_id)
        if layer is None or layer.is_deleted:
            continue
        rows += [
            {
                "subscription_id": subscription.id,
                "subject": f"layer-revision:{event.layer_revision_id}",
                "event_id": event.id,
                "layer_id": layer.id,
                "layer_revision_id": event.layer_revision_id,
            }
            for subscription in subscriptions
            if subscription.crisis_id == layer.crisis_id
        ]
    return rows


def store_deliveries(rows: Iterable[dict], now: datetime) -> int:
    """Insert deliveries, each (subscription, subject) at most once; returns how many were new."""
    rows = [
        {
            "report_id": None,
            "page_id": None,
            "revision_id": None,
            "layer_id": None,
            "layer_revision_id": None,
            **row,
            "state": "pending",
            "message_id": None,
            "created_at": now,
        }
        for row in sorted(rows, key=lambda row: (row["subscription_id"], row["subject"]))
    ]
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    new = 0
    for batch in chunked(rows, 500):
        statement = insert(AlertDelivery.__table__).on_conflict_do_nothing(
            index_elements=["subscription_id", "subject"]
        )
        new += max(db.session.execute(statement, list(batch)).rowcount or 0, 0)
    return new


def match_batch(limit: int | None = None) -> tuple[int, int]:
    """Match the oldest unmatched events; (events matched, deliveries made)."""
    limit = limit or int(current_app.config["ALERT_MATCH_BATCH"])
    events = list(
        db.session.scalars(
            select(AlertEvent).where(AlertEvent.matched_at.is_(None)).order_by(AlertEvent.id).limit(limit)
        )
    )
    if not events:
        db.session.rollback()
        return 0, 0
    event_ids = [event.id for event in events]
    rows = _report_deliveries(events) + _page_deliveries(events) + _layer_deliveries(events)
    db.session.rollback()  # end the reads; the writes take the write lock briefly
    now = utcnow()
    with write_transaction():
        made = store_deliveries(rows, now)
        for ids in chunked(event_ids):
            db.session.execute(
                update(AlertEvent).where(AlertEvent.id.in_(ids), AlertEvent.matched_at.is_(None)).values(matched_at=now)
            )
    return len(event_ids), made

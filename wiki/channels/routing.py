"""Which crisis a message belongs to, by the crisis's routing rules: the gateway number or address
it was sent to, the keyword it starts with ("WATER Delmas 33 no water since Monday"), or a
trusted sender. The inbound URL's ?crisis= (or the address a mail was written to) names the
crisis outright. A rule may set the sector, and may turn messages into reports at once
(`auto_report`: for trusted numbers and keywords only a coordinator would give out).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select

from ..errors import InvalidInput
from ..extensions import db
from ..models import ChannelRoute, Crisis, InboundMessage
from ..places.names import words
from ..reports.input import normalise_contact
from ..reports.sources import contact_hash

RULE_KINDS = ("recipient", "keyword", "sender")


def rule_value(kind: str, value: str) -> str:
    """How a rule's value is stored and compared. A trusted sender's number is a contact
    detail: only its hash is kept."""
    value = (value or "").strip()
    if not value:
        raise InvalidInput(_("Give the number, address or keyword the rule is about."), field="value")
    if kind == "recipient":
        return normalise_contact(value)[:254]
    if kind == "keyword":
        found = words(value.lstrip("#"))
        if len(found) != 1:
            raise InvalidInput(_("A keyword is one word, e.g. WATER."), field="value")
        return found[0][:254]
    if kind == "sender":
        return contact_hash(value)
    raise InvalidInput(_("Unknown kind of rule %(kind)r; use one of: %(list)s.", kind=kind, list=", ".join(RULE_KINDS)))


@dataclass(frozen=True)
class Route:
    crisis_id: int | None
    sector: str = ""
    auto_report: bool = False
    keyword: str = ""  # the keyword the text starts with, when a keyword rule matched


def first_word(text: str) -> str:
    found = words(text.lstrip().lstrip("#")[:60])
    return found[0] if found else ""


def route(message: InboundMessage) -> Route:
    crisis_id = None
    if message.crisis_hint:
        crisis_id = db.session.scalar(select(Crisis.id).where(Crisis.slug == message.crisis_hint))
    keyword = first_word(message.text)
    conditions = [ChannelRoute.kind == "sender", ChannelRoute.value == message.sender_hash]
    rules = db.session.scalars(
        select(ChannelRoute).where(
            or_(
                (ChannelRoute.kind == "recipient")
                & (ChannelRoute.value == normalise_contact(message.recipient or "-")),
                (ChannelRoute.kind == "keyword") & (ChannelRoute.value == keyword),
                conditions[0] & conditions[1],
            )
        )
    ).all()
    if crisis_id is None:
        for kind in ("keyword", "recipient", "sender"):  # the most specific rule names the crisis
            matching = [rule for rule in rules if rule.kind == kind]
            if matching:
                crisis_id = matching[0].crisis_id
                break
    mine = [rule for rule in rules if rule.crisis_id == crisis_id]
    sector = next((rule.sector for rule in mine if rule.sector), "")
    matched_keyword = keyword if any(rule.kind == "keyword" for rule in mine) else ""
    return Route(crisis_id, sector, any(rule.auto_report for rule in mine), matched_keyword)

"""The coordinators' inbox: what they do with a message. Turn it into a report (prefilled from
the message: its text, its time, its sender as the source, the place found in it), attach it
to a report that exists, mark it irrelevant or spam, translate it (the original stays; search
finds the report by both), ask the sender a question (kept in the message's thread), give it a
crisis, link its sender to a known source. One service behind the HTML pages and the API."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from ..auth.permissions import require
from ..clock import utcnow
from ..database import begin_write, chunked, fits_id
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import (
    ChannelRoute,
    ChannelSettings,
    Crisis,
    InboundMessage,
    MessageAttachment,
    OutboundMessage,
    Report,
    ReportPhoto,
    Source,
    SourceContact,
)
from ..models.messages import MESSAGE_STATES
from ..places.names import fold
from ..reports.input import ReportInput, SourceInput, parse_datetime, parse_sector
from ..reports.submission import Submission, submit_report
from ..search import reindex_later
from ..visibility import get_visible_report, message_visible
from .media import add_photos_to_report, report_photo
from .outbox import queue_outbound, wake_delivery
from .registry import channel_named
from .routing import RULE_KINDS, rule_value

MARKS = ("inbox", "irrelevant", "spam")
TITLE_LENGTH = 80


def get_message(message_id: int, viewer) -> InboundMessage:
    """The message, for those who may read the inbox; NotFound for everyone else."""
    require("read_inbox", viewer)
    message = db.session.get(InboundMessage, message_id) if fits_id(message_id) else None
    if message is None or not message_visible(message, viewer):
        raise NotFound(_("There is no message %(id)d.", id=message_id))
    return message


def inbox_query(crisis: Crisis | None, states: tuple[str, ...] = ("inbox",)) -> Select:
    """Messages of a crisis (None: those no rule routed to a crisis yet), newest first."""
    query = select(InboundMessage).where(InboundMessage.processed_at.isnot(None))
    query = query.where(
        InboundMessage.crisis_id == crisis.id if crisis is not None else InboundMessage.crisis_id.is_(None)
    )
    if states:
        query = query.where(InboundMessage.state.in_(states))
    return query.order_by(InboundMessage.id.desc())


def parse_states(values: list[str]) -> tuple[str, ...]:
    chosen = tuple(v for value in values for v in value.split(",") if v)
    unknown = [state for state in chosen if state not in MESSAGE_STATES]
    if unknown:
        raise InvalidInput(
            _("Unknown state %(value)r; use: %(list)s.", value=unknown[0], list=", ".join(MESSAGE_STATES)),
            field="state",
        )
    return chosen


def thread(message: InboundMessage) -> list[InboundMessage | OutboundMessage]:
    """The message, the replies sent to it, and what the same sender wrote afterwards, in order."""
    replies = db.session.scalars(select(OutboundMessage).where(OutboundMessage.in_reply_to_id == message.id)).all()
    later = db.session.scalars(
        select(InboundMessage)
        .where(InboundMessage.sender_hash == message.sender_hash, InboundMessage.id > message.id)
        .order_by(InboundMessage.id)
        .limit(50)
    ).all()
    items: list = [message, *replies, *later]
    return sorted(items, key=lambda item: getattr(item, "received_at", None) or item.created_at)


def suggested_title(message: InboundMessage) -> str:
    """The first words of the text (without a routing keyword), or the mail's subject."""
    if message.subject:
        return message.subject[:TITLE_LENGTH]
    text = " ".join((message.translation or message.text).split())
    if message.sector and text:
        first, _sep, rest = text.partition(" ")
        if rest and fold(first.lstrip("#")).isalpha():
            from .routing import first_word

            if first_word(first) == first_word(message.text):
                text = rest
    if len(text) <= TITLE_LENGTH:
        return text or _("Message %(id)d", id=message.id)
    return text[:TITLE_LENGTH].rsplit(" ", 1)[0] + "…"


def report_text(message: InboundMessage) -> str:
    """The report's description: the translation, then the original."""
    if message.translation:
        return f"{message.translation}\n\n({message.language or '?'}) {message.text}"
    return message.text


def detected_place_id(message: InboundMessage) -> str:
    place = (message.place or {}).get("place") if isinstance(message.place, dict) else None
    return place.get("id", "") if isinstance(place, dict) else ""


def message_photos(message: InboundMessage) -> list[ReportPhoto]:
    return [report_photo(attachment) for attachment in message.attachments]


def report_input(message: InboundMessage, crisis: Crisis, data: dict | None = None) -> ReportInput:
    """What a report made from the message holds: the message's own values, overridden by what
    the coordinator changed on the form (`data`)."""
    data = data or {}
    occurred = data.get("occurred_at")
    occurred_at = parse_datetime(occurred) if occurred else (message.sent_at or message.received_at)
    if occurred_at is not None and occurred_at > utcnow():
        occurred_at = message.received_at  # a phone with a clock ahead
    title = (data.get("title") or suggested_title(message)).strip()[:200]
    place = data["place"] if "place" in data else detected_place_id(message)
    channel = "email" if (channel_named(message.channel) and channel_named(message.channel).kind == "email") else "sms"
    return ReportInput(
        title=title,
        description=(data.get("description") if data.get("description") is not None else report_text(message))[:10000],
        lon=None,
        lat=None,
        place_name=(data.get("place_name") or "").strip()[:200],
        place=(place or "").strip()[:200],
        occurred_at=occurred_at,
        sector=parse_sector(data.get("sector") or message.sector or "other"),
        sensitive=bool(data.get("sensitive", False)),
        crisis=crisis.slug,
        client_id=f"message:{message.id}",
        source=SourceInput(contact=message.sender, channel=channel),
    )


def create_report(message: InboundMessage, data: dict | None, user, by_rule: bool = False) -> Submission:
    """A report from the message (once: a second try returns the same report), in the
    message's crisis, its sender as the source; the message is marked reported."""
    if not by_rule:
        require("handle_messages", user)
    if message.crisis_id is None:
        raise InvalidInput(_("Give the message a crisis first."), field="crisis")
    existing = db.session.scalar(select(Report).where(Report.client_id == f"message:{message.id}"))
    if existing is not None:
        _mark_reported(message.id, existing.id, user)
        return Submission(existing, created=False)
    crisis = db.session.get(Crisis, message.crisis_id)
    given = report_input(message, crisis, data)
    message_id = message.id
    submission = submit_report(
        given,
        None if by_rule else user,
        channel=given.source.channel,
        on_behalf=True,
        ready_photos=message_photos(message),
        by_rule=by_rule,
    )
    _mark_reported(message_id, submission.report.id, None if by_rule else user)
    return submission


def _mark_reported(message_id: int, report_id: int, user) -> None:
    begin_write()
    message = db.session.get(InboundMessage, message_id)
    # Photos fetched from the gateway while the report was being made (wiki.channels.media)
    fetched = select(MessageAttachment).where(MessageAttachment.message_id == message_id).order_by(MessageAttachment.id)
    add_photos_to_report(report_id, list(db.session.scalars(fetched)))
    message.state, message.report_id = "reported", report_id
    message.handled_by_id = getattr(user, "id", None)
    message.handled_at = utcnow()
    db.session.commit()


def attach(message: InboundMessage, report_id: int, user) -> Report:
    """The message adds to a report that exists (its text stays with the message)."""
    require("handle_messages", user)
    report = get_visible_report(report_id, user) if fits_id(report_id) else None
    if report is None:
        raise NotFound(_("There is no report %(id)d.", id=report_id))
    if message.crisis_id is not None and report.crisis_id != message.crisis_id:
        raise InvalidInput(_("The report belongs to another crisis."), field="report")
    begin_write()
    message.state, message.report_id = "attached", report.id
    message.crisis_id = report.crisis_id
    message.handled_by_id, message.handled_at = user.id, utcnow()
    db.session.commit()
    reindex_later("report", [report.id])  # its search document holds the messages' translations
    return report


def mark(message: InboundMessage, state: str, user) -> None:
    require("handle_messages", user)
    if state not in MARKS:
        raise InvalidInput(_("Mark a message as one of: %(list)s.", list=", ".join(MARKS)), field="state")
    begin_write()
    message.state = state
    message.handled_by_id, message.handled_at = user.id, utcnow()
    db.session.commit()


def translate(message: InboundMessage, text: str, language: str, user) -> None:
    """Keep a translation beside the original; the report made from the message is found by both."""
    require("handle_messages", user)
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write the translation."), field="translation")
    if len(text) > 10000:
        raise InvalidInput(_("The translation is longer than %(n)d characters.", n=10000), field="translation")
    language = (language or "").strip().lower()[:8]
    begin_write()
    message.translation, message.translation_language = text, language
    db.session.commit()
    if message.report_id:
        reindex_later("report", [message.report_id])


def reply(message: InboundMessage, text: str, user) -> OutboundMessage:
    """A question to the sender through the channel it came by, kept in the message's thread."""
    require("handle_messages", user)
    channel = channel_named(message.channel)
    if channel is None or not channel.can_send:
        raise InvalidInput(_("Messages cannot be sent back through %(channel)s.", channel=message.channel))
    begin_write()
    outgoing = queue_outbound(
        message.channel,
        message.sender,
        text,
        crisis_id=message.crisis_id,
        kind="reply",
        language=message.language,
        in_reply_to=message,
        created_by_id=user.id,
        subject=("Re: " + message.subject) if message.subject else "",
    )
    db.session.commit()
    wake_delivery()
    return outgoing


def assign_crisis(message: InboundMessage, crisis: Crisis, user) -> None:
    """Give an unrouted message its crisis (and find its place in that crisis's gazetteer)."""
    require("handle_messages", user)
    from ..places import detect, gazetteer_for

    detection = detect(message.text, gazetteer_for(crisis)).as_dict()
    begin_write()
    message.crisis_id = crisis.id
    message.place = detection
    if message.state == "received":
        message.state = "inbox"
    db.session.commit()


def link_sender(message: InboundMessage, source_id: int, user) -> Source:
    """Tell crisiswiki that this message's sender is a source it knows (another number or
    address of the same person): later messages and reports from either are one source, with
    one track record."""
    require("link_source", user)
    source = db.session.get(Source, source_id) if fits_id(source_id) else None
    if source is None:
        raise NotFound(_("There is no source %(id)d.", id=source_id))
    begin_write()
    if source.contact_hash == message.sender_hash:
        return source
    link = db.session.scalar(select(SourceContact).where(SourceContact.contact_hash == message.sender_hash))
    if link is None:
        db.session.add(
            SourceContact(
                source_id=source.id,
                contact_hash=message.sender_hash,
                contact=message.sender,
                linked_by_id=user.id,
                linked_at=utcnow(),
            )
        )
    else:
        link.source_id, link.linked_by_id, link.linked_at = source.id, user.id, utcnow()
    db.session.commit()
    return source


def sender_source(message: InboundMessage) -> Source | None:
    """The source this message's sender already is, if any (by the contact's hash)."""
    linked = db.session.scalar(select(SourceContact.source_id).where(SourceContact.contact_hash == message.sender_hash))
    if linked is not None:
        return db.session.get(Source, linked)
    return db.session.scalar(select(Source).where(Source.contact_hash == message.sender_hash))


def attachment_visible(attachment_id: int, viewer) -> MessageAttachment:
    require("read_inbox", viewer)
    found = db.session.get(MessageAttachment, attachment_id) if fits_id(attachment_id) else None
    if found is None:
        raise NotFound(_("There is no attachment %(id)d.", id=attachment_id))
    return found


# -- routing rules and acknowledgements ------------------------------------------------------------


def add_rule(crisis: Crisis, kind: str, value: str, sector: str, auto_report: bool, user) -> ChannelRoute:
    require("handle_messages", user)
    if kind not in RULE_KINDS:
        raise InvalidInput(
            _("Unknown kind of rule %(kind)r; use one of: %(list)s.", kind=kind, list=", ".join(RULE_KINDS)),
            field="kind",
        )
    stored = rule_value(kind, value)
    sector = parse_sector(sector) if sector else ""
    taken = db.session.scalar(select(ChannelRoute).where(ChannelRoute.kind == kind, ChannelRoute.value == stored))
    if taken is not None:
        raise InvalidInput(_("A rule for this already exists (in this or another crisis)."), field="value")
    begin_write()
    rule = ChannelRoute(
        crisis_id=crisis.id,
        kind=kind,
        value=stored,
        sector=sector,
        auto_report=auto_report,
        created_by_id=user.id,
        created_at=utcnow(),
    )
    db.session.add(rule)
    db.session.commit()
    return rule


def delete_rule(crisis: Crisis, rule_id: int, user) -> None:
    require("handle_messages", user)
    rule = db.session.get(ChannelRoute, rule_id) if fits_id(rule_id) else None
    if rule is None or rule.crisis_id != crisis.id:
        raise NotFound(_("There is no rule %(id)d.", id=rule_id))
    begin_write()
    db.session.delete(rule)
    db.session.commit()


def save_settings(crisis: Crisis, acknowledge: bool, templates: dict[str, str], user) -> ChannelSettings:
    require("handle_messages", user)
    cleaned = {}
    for language, text in templates.items():
        text = (text or "").strip()
        if len(text) > 480:
            raise InvalidInput(
                _("An acknowledgement is at most 480 characters (three SMS)."), field=f"template_{language}"
            )
        if text:
            cleaned[language] = text
    begin_write()
    settings = db.session.get(ChannelSettings, crisis.id)
    if settings is None:
        settings = ChannelSettings(crisis_id=crisis.id)
        db.session.add(settings)
    settings.acknowledge, settings.templates = acknowledge, cleaned
    db.session.commit()
    return settings


def rules_of(crisis: Crisis) -> list[ChannelRoute]:
    return list(
        db.session.scalars(select(ChannelRoute).where(ChannelRoute.crisis_id == crisis.id).order_by(ChannelRoute.id))
    )


def search_texts(report_ids: list[int]) -> dict[int, str]:
    """Translations of the messages each report was made from or that were attached to it:
    searched with the report (the original is already its description). One query per chunk."""
    found: dict[int, list[str]] = {}
    for chunk in chunked(report_ids):
        rows = db.session.execute(
            select(InboundMessage.report_id, InboundMessage.translation)
            .where(
                InboundMessage.report_id.in_(chunk),
                or_(InboundMessage.translation != "", InboundMessage.text != ""),
            )
            .order_by(InboundMessage.id)
        )
        for report_id, text in rows:
            if text:
                found.setdefault(report_id, []).append(text)
    return {report_id: "\n".join(texts) for report_id, texts in found.items()}

"""The words for stored values shown to people: statuses, roles, revision kinds, token scopes,
channels and sectors are kept in English in the data (they are matched on import and in the
API) and shown in the reader's language (`label`, also a template global)."""

from __future__ import annotations

from flask_babel import gettext

from .i18n import N_
from .models.reports import SECTORS

# Stored values shown to people: statuses, roles, revision kinds, channels (sectors: SECTORS).
LABELS: dict[str, dict[str, str]] = {
    "status": {
        "new": N_("new"),
        "under_review": N_("under review"),
        "verified": N_("verified"),
        "refuted": N_("refuted"),
        "duplicate": N_("duplicate"),
        "archived": N_("archived"),
    },
    "role": {
        "admin": N_("administrator"),
        "coordinator": N_("coordinator"),
        "verifier": N_("verifier"),
        "volunteer": N_("volunteer"),
    },
    "kind": {
        "create": N_("created"),
        "edit": N_("edited"),
        "revert": N_("reverted"),
        "rename": N_("renamed"),
        "merge": N_("merged"),
    },
    "scope": {"full": N_("full"), "read": N_("read"), "submit": N_("submit")},  # of API tokens
    "channel": {
        "web": N_("web form"),
        "api": N_("API"),
        "sms": N_("SMS"),
        "email": N_("e-mail"),
        "import": N_("import"),
        "odk": N_("ODK Collect"),
    },
    "message_state": {  # wiki.models.messages.MESSAGE_STATES
        "received": N_("being processed"),
        "inbox": N_("to handle"),
        "reported": N_("made into a report"),
        "attached": N_("added to a report"),
        "irrelevant": N_("irrelevant"),
        "spam": N_("spam"),
    },
    "route_kind": {  # wiki.channels.routing.RULE_KINDS
        "recipient": N_("gateway number or address"),
        "keyword": N_("keyword"),
        "sender": N_("trusted sender"),
    },
    # Alert subscriptions (wiki/alerts)
    "alert_kind": {
        "reports": N_("field reports"),
        "watchlist": N_("pages on my watchlist"),
        "sitreps": N_("new situation reports"),
        "layers": N_("map layers changing"),
    },
    "alert_channel": {"email": N_("e-mail"), "webhook": N_("webhook"), "sms": N_("SMS"), "feed": N_("feed only")},
    "frequency": {"immediate": N_("immediately"), "hourly": N_("hourly digest"), "daily": N_("daily digest")},
    "alert_state": {"unconfirmed": N_("waiting for confirmation"), "active": N_("active"), "paused": N_("paused")},
    "alert_message_state": {
        "pending": N_("waiting to be sent"),
        "sent": N_("sent"),
        "dead": N_("gave up"),
        "mailed": N_("handed to the mail outbox"),
    },
    "area": {"polygon": N_("drawn area"), "pcode": N_("admin area"), "radius": N_("circle")},
}


def label(group: str, value) -> str:
    """A stored value (status, role, kind, channel, sector) in the reader's language; unknown
    values are shown as they are."""
    names = SECTORS if group == "sector" else LABELS.get(group, {})
    return gettext(names[value]) if isinstance(value, str) and value in names else ("" if value is None else str(value))

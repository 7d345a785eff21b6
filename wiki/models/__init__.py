"""The core's SQLAlchemy models. Importing this package registers every core table."""

from .alerts import AlertAttempt, AlertDelivery, AlertEvent, AlertMessage, AlertSubscription
from .attachments import Attachment
from .boundaries import AdminArea
from .crises import Crisis
from .imports import ImportJob
from .layers import Layer, LayerRevision
from .mail import MailMessage
from .messages import (
    ChannelRoute,
    ChannelSettings,
    InboundMessage,
    MessageAttachment,
    MessageMedia,
    OutboundMessage,
    SourceContact,
)
from .pages import Page, PageCategory, PageLink, PageRedirect, Revision, SitrepDraft, Watch
from .reports import (
    ContactView,
    RateLimitCounter,
    Report,
    ReportChange,
    ReportHourTally,
    ReportPhoto,
    ReportTally,
    Source,
)
from .users import ApiToken, LoginThrottle, RecoveryCode, User

__all__ = [
    "AdminArea",
    "AlertAttempt",
    "AlertDelivery",
    "AlertEvent",
    "AlertMessage",
    "AlertSubscription",
    "ApiToken",
    "Attachment",
    "ChannelRoute",
    "ChannelSettings",
    "ContactView",
    "Crisis",
    "ImportJob",
    "InboundMessage",
    "Layer",
    "LayerRevision",
    "LoginThrottle",
    "MailMessage",
    "MessageAttachment",
    "MessageMedia",
    "OutboundMessage",
    "Page",
    "PageCategory",
    "PageLink",
    "PageRedirect",
    "RateLimitCounter",
    "RecoveryCode",
    "Report",
    "ReportChange",
    "ReportHourTally",
    "ReportPhoto",
    "ReportTally",
    "Revision",
    "SitrepDraft",
    "Source",
    "SourceContact",
    "User",
    "Watch",
]

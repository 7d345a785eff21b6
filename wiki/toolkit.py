"""The toolkit for plugins: the one surface of the core that a plugin uses besides the hooks
(wiki/hooks.py), as CKAN's plugins.toolkit and Datasette's internals are. What is named here is
kept stable; anything else of the core may change behind it. docs/plugins.md explains each
name with an example.
"""

from __future__ import annotations

from .alerts.events import scores_changed
from .api.spec import operation
from .auth.permissions import can, require
from .auth.views import safe_next
from .channels import send_sms
from .clock import iso, utcnow
from .config import add_settings
from .crises.services import get_crisis_or_404
from .database import IN_LIST_SIZE, begin_write, chunked, write_transaction
from .desk.charts import Chart, Scope, Series, TallySource
from .errors import BadRequest, Conflict, DomainError, Forbidden, InvalidInput, NotFound, TooLarge, Unauthorized
from .extensions import db
from .geo import EARTH_RADIUS_KM, KM_PER_DEGREE, bounding_box, haversine_km
from .hooks import hookimpl
from .i18n import N_
from .mail.outbox import queue_mail
from .models import AdminArea, Crisis, Report, ReportChange, User
from .pages.drafts import DraftContext, Section, escape_markdown
from .reports.queries import adm_condition
from .reports.serialise import announce_listing, report_feature, report_properties
from .reports.triage import merge_duplicate
from .search import reindex_later
from .visibility import (
    get_visible_report,
    report_place,
    report_visible,
    sees_contacts,
    sees_exact_locations,
    sees_unpublished,
    visible_reports,
)
from .workers import Job, Retry, wake

__all__ = [
    "EARTH_RADIUS_KM",
    "IN_LIST_SIZE",
    "KM_PER_DEGREE",
    "N_",
    "AdminArea",
    "BadRequest",
    "Chart",
    "Conflict",
    "Crisis",
    "DomainError",
    "DraftContext",
    "Forbidden",
    "InvalidInput",
    "Job",
    "NotFound",
    "Report",
    "ReportChange",
    "Retry",
    "Scope",
    "Section",
    "Series",
    "TallySource",
    "TooLarge",
    "Unauthorized",
    "User",
    "add_settings",
    "adm_condition",
    "announce_listing",
    "begin_write",
    "bounding_box",
    "can",
    "chunked",
    "db",
    "escape_markdown",
    "get_crisis_or_404",
    "get_visible_report",
    "haversine_km",
    "hookimpl",
    "iso",
    "merge_duplicate",
    "operation",
    "queue_mail",
    "reindex_later",
    "report_feature",
    "report_place",
    "report_properties",
    "report_visible",
    "require",
    "safe_next",
    "scores_changed",
    "sees_contacts",
    "sees_exact_locations",
    "sees_unpublished",
    "send_sms",
    "utcnow",
    "visible_reports",
    "wake",
    "write_transaction",
]

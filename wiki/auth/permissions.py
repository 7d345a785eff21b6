"""Who may do what. Every write goes through `require()`; the table below is the whole policy.

Anonymous users read public content; whether they may also edit pages or submit reports is
configurable (ANONYMOUS_EDIT, ANONYMOUS_SUBMIT).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import Forbidden, Unauthorized
from ..vocabulary import label

COORDINATOR = frozenset(
    {
        "edit_page",
        "create_page",
        "edit_protected",
        "protect_page",
        "delete_page",
        "upload",
        "create_crisis",
        "edit_crisis",
        "triage_report",
        "submit_report",
        "view_contacts",
        "edit_layer",
        "import_reports",
        "view_unpublished",
        "withdraw_report",
        "republish_report",
        "read_inbox",
        "handle_messages",
        "link_source",
        "view_dashboard",
        "merge_reports",
        # Draft a sitrep from the crisis's reports: a coordinator's page, never opened to anonymous
        # editors by ANONYMOUS_EDIT (which opens creating and editing pages, and nothing else).
        "draft_sitrep",
    }
)
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": COORDINATOR
    | {
        "manage_users",
        "restore_page",
        "view_deleted",
        "assess_report",
        "view_source_record",
        "read_outbox",
        "manage_alerts",  # see and pause every alert subscription of a crisis
    },
    "coordinator": COORDINATOR,
    # Verifiers may withdraw a report to shield its reporters; making it public again is a
    # coordinator's decision.
    # Verifiers read the inbox (they check what reporters wrote) and link a sender's numbers and
    # addresses to one source; coordinators handle the messages.
    "verifier": frozenset(
        {
            "submit_report",
            "assess_report",
            "view_contacts",
            "view_unpublished",
            "view_source_record",
            "withdraw_report",
            "read_inbox",
            "link_source",
            "view_dashboard",  # the crisis dashboard (wiki.desk): the backlog is theirs to work
            "merge_reports",  # mark a report as repeating another (a suggested duplicate)
        }
    ),
    "volunteer": frozenset({"submit_report"}),
}


def user_permissions(user) -> frozenset[str]:
    granted: set[str] = set()
    if user is not None and getattr(user, "is_authenticated", False):
        granted |= PERMISSIONS.get(user.role, frozenset())
    config = current_app.config
    if config["ANONYMOUS_SUBMIT"]:
        granted.add("submit_report")
    if config["ANONYMOUS_EDIT"]:
        granted |= {"edit_page", "create_page"}
    return frozenset(granted)


def can(permission: str, user=None) -> bool:
    return permission in user_permissions(current_user if user is None else user)


def require(permission: str, user=None) -> None:
    """Raise Unauthorized (not logged in) or Forbidden (logged in, not allowed)."""
    user = current_user if user is None else user
    if can(permission, user):
        return
    if not getattr(user, "is_authenticated", False):
        raise Unauthorized(_("Log in to do this."))
    raise Forbidden(_("Your role (%(role)s) may not do this.", role=label("role", user.role)))


def can_edit_page(page, user=None) -> bool:
    if page.protected:
        return can("edit_protected", user)
    return can("edit_page", user)


def require_edit_page(page, user=None) -> None:
    if page.protected and not can("edit_protected", user):
        if can("edit_page", user):
            raise Forbidden(_("This page is protected: only coordinators may edit it."))
        require("edit_protected", user)
    require("edit_page", user)

"""Errors as values of the domain, turned into HTTP in one place.

Services raise these; `register_error_handlers` renders them as JSON for the API (and for
clients that ask for JSON) and as an HTML page for the web UI.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from .database import database_unreachable

# How long a client is asked to wait when the database is away (a PostgreSQL restart takes seconds).
UNREACHABLE_RETRY_AFTER_S = 5


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return {"error": body}

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the error (WWW-Authenticate, Retry-After)."""
        return {}


class InvalidInput(DomainError):
    """The request is understood but a field's value is wrong (422)."""

    status = 422
    code = "invalid"


class BadRequest(DomainError):
    """The request cannot be parsed at all (400): malformed JSON, missing body."""

    status = 400
    code = "bad_request"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        # A 401 names the way to authenticate (RFC 9110); a bearer token (RFC 6750) is the
        # one scripts can use. No error code: the request carried no credentials.
        return {"WWW-Authenticate": 'Bearer realm="crisiswiki"'}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class EditConflict(Conflict):
    """An edit started from a revision that is no longer current and the changes overlap.

    Carries everything a person needs to resolve it without losing their text."""

    code = "edit_conflict"

    def __init__(self, page, base_revision, current_revision, attempted_body: str, merged_with_markers: str) -> None:
        super().__init__(
            _(
                "The page was changed by someone else since revision %(base)d; the current revision is %(current)d "
                "and the changes overlap.",
                base=base_revision.number,
                current=current_revision.number,
            ),
            field="body",
        )
        self.page = page
        self.base_revision = base_revision
        self.current_revision = current_revision
        self.attempted_body = attempted_body
        self.merged_with_markers = merged_with_markers

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["error"].update(
            {
                "base_revision": self.base_revision.id,
                "current_revision": self.current_revision.id,
                "current_body": self.current_revision.body,
                "your_body": self.attempted_body,
                "merged_with_conflict_markers": self.merged_with_markers,
            }
        )
        return body


class InsufficientStorage(DomainError):
    """The server has no room left to store an upload (507): nothing of it was kept, and the
    same request succeeds once space is freed."""

    status = 507
    code = "insufficient_storage"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def wants_json() -> bool:
    """API paths (the OGC API's too: GIS clients read its errors) and the gateways' URLs always
    get JSON; elsewhere, JSON when the client prefers it to HTML."""
    if request.path.startswith(("/api/", "/channels/", "/ogc/")) or request.path == "/ogc":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _respond(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if wants_json():
        response = jsonify(payload)
    else:
        response = make_response(render_template("error.html", status=status, error=payload["error"]))
    response.status_code = status
    response.headers.update(headers or {})
    return response


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    507: "insufficient_storage",
}


def _http_message(status: int) -> str | None:
    """What an HTML error page says for Werkzeug's errors, in the reader's language."""
    return {
        400: _("The request could not be understood."),
        401: _("Log in to do this."),
        403: _("You may not do this."),
        404: _("There is nothing at this address: the page or record does not exist, or no longer does."),
        405: _("This address does not accept this kind of request."),
        429: _("Too many requests: wait a moment, then try again."),
        500: _("Something went wrong on the server. Try again in a moment."),
    }.get(status)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return _respond(error.status, error.to_dict(), error.headers())

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        message = _(
            "The form's security token is missing or stale (%(reason)s). Reload the page and try again.",
            reason=error.description,
        )
        return _respond(400, {"error": {"code": "csrf", "message": message}})

    @app.errorhandler(SQLAlchemyError)
    def _database(error: SQLAlchemyError):
        """The database server restarting or failing over is answered 503 with Retry-After, so
        that phones, gateways and scripts send again (a report with its Idempotency-Key is stored
        once). Any other database error is a defect: a 500, logged."""
        if not database_unreachable(error):
            raise error
        app.logger.warning("the database is not reachable: %s", error)
        message = _("The database cannot be reached at the moment (it may be restarting). Try again in a few seconds.")
        payload = {"error": {"code": "database_unavailable", "message": message}}
        headers = {"Retry-After": str(UNREACHABLE_RETRY_AFTER_S)}
        if wants_json():
            return _respond(503, payload, headers)
        # Not the site's error template: rendering it may need the database (the signed-in user).
        page = f"<!doctype html><title>503</title><h1>503</h1><p>{escape(message)}</p>"
        return make_response(page, 503, headers)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        message = error.description or error.name
        if error.description == type(error).description and not wants_json():  # Werkzeug's English text
            message = _http_message(status) or message
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            if limit:
                from .i18n import human_size

                message = _("The request is too large; the limit is %(size)s.", size=human_size(limit))
        payload = {"error": {"code": _HTTP_CODES.get(status, "http_error"), "message": message}}
        return _respond(status, payload, dict(error.get_headers()) if status == 405 else None)

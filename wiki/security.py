"""Request-wide security policy: CSRF on every form, and protective response headers.

CSRF: every unsafe request carries the form's token (or an X-CSRFToken header from our own
scripts), except API calls that cannot ride on a victim's browser session: those that
authenticate with a bearer token, and anonymous ones with no session user at all.
"""
from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

from .database import UNSAFE_METHODS
from .extensions import csrf


def _needs_csrf_check() -> bool:
    if request.method not in UNSAFE_METHODS:
        return False
    if request.path.startswith("/api/"):
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            return False
        if not current_user.is_authenticated:
            return False
    return True


def content_security_policy(app: Flask) -> str:
    img = " ".join(["'self'", "data:", "blob:", *app.config["CSP_EXTRA_IMG_SOURCES"]])
    return (
        "default-src 'self'; "
        f"img-src {img}; "
        "media-src 'self' blob:; "
        "script-src 'self'; "
        "style-src 'self'; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'self'"
    )


def init_security(app: Flask) -> None:
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    policy = content_security_policy(app)

    @app.before_request
    def _csrf() -> None:
        if app.config.get("WTF_CSRF_ENABLED", True) and _needs_csrf_check():
            csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Content-Security-Policy", policy)
        return response

"""Request-wide security policy: CSRF on every form, and protective response headers.

CSRF: every unsafe request carries the form's token (or an X-CSRFToken header from our own
scripts), except API calls that cannot ride on a victim's browser session: those that
authenticate with a bearer token, and anonymous ones with no session user at all.
"""
from __future__ import annotations

from urllib.parse import urlsplit

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


def tile_source(url: str | None) -> str | None:
    """The CSP source of a map tile URL template (MAP_TILE_URL), so the map may load its tiles:
    https://{s}.tile.example.org/{z}/{x}/{y}.png -> https://*.tile.example.org; None for none."""
    if not url:
        return None
    parts = urlsplit(url.replace("{s}.", "subdomain."))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.replace("subdomain.", "*.", 1) if "{s}." in url else parts.netloc
    return f"{parts.scheme}://{host}"


def content_security_policy(app: Flask) -> str:
    tiles = tile_source(app.config.get("MAP_TILE_URL"))
    extra = [*app.config["CSP_EXTRA_IMG_SOURCES"], *([tiles] if tiles else [])]
    img = " ".join(["'self'", "data:", "blob:", *dict.fromkeys(extra)])
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

    @app.before_request
    def _csrf() -> None:
        if app.config.get("WTF_CSRF_ENABLED", True) and _needs_csrf_check():
            csrf.protect()

    headers = security_headers(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


def security_headers(app: Flask) -> dict[str, str]:
    """The protective headers every response carries (also those served before Flask, from the
    page cache)."""
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": content_security_policy(app),
    }

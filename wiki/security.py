"""Request-wide security policy: CSRF on every form, protective response headers, cookies.

CSRF: every unsafe request carries the form's token (or an X-CSRFToken header from our own
scripts), except API calls that cannot ride on a victim's browser session: those that
authenticate with a bearer token, and anonymous ones with no session user at all; and views
marked `without_csrf_token`, whose credential is a secret in their own URL.

Headers and cookies: `SecurityHeaders` wraps the whole WSGI app, so every response gets the
same headers whoever answered it: Flask (pages, API, errors), the page cache that answers
before Flask, and WhiteNoise's static files. It runs inside ProxyFix, so "came over HTTPS"
means what the trusted proxy said (X-Forwarded-Proto).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_login import current_user

from .database import UNSAFE_METHODS
from .extensions import csrf


def without_csrf_token(view):
    """Mark a view that unsafe requests reach without the form's token: only for one whose
    credential is a secret in its own URL and that uses no session (RFC 8058's one-click
    unsubscribe, which mail clients POST on their own)."""
    view.without_csrf_token = True
    return view


def _needs_csrf_check() -> bool:
    if request.method not in UNSAFE_METHODS:
        return False
    # Gateways' endpoints (wiki/channels) authenticate every request by a secret or signature
    # of their own and never act on a session, so there is nothing for a forged request to ride
    # on; the one-click unsubscribe of alert mails (RFC 8058) carries its own signed token.
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "authenticated_by_secret", False) or getattr(view, "without_csrf_token", False):
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


# The report form asks for the phone's location and camera; nothing asks for anything else.
PERMISSIONS_POLICY = ", ".join(
    [
        "geolocation=(self)",
        "camera=(self)",
        "microphone=()",
        "accelerometer=()",
        "autoplay=()",
        "bluetooth=()",
        "browsing-topics=()",
        "display-capture=()",
        "encrypted-media=()",
        "fullscreen=()",
        "gyroscope=()",
        "hid=()",
        "idle-detection=()",
        "magnetometer=()",
        "midi=()",
        "payment=()",
        "picture-in-picture=()",
        "publickey-credentials-get=()",
        "screen-wake-lock=()",
        "serial=()",
        "usb=()",
        "xr-spatial-tracking=()",
    ]
)


def init_security(app: Flask) -> None:
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    @app.before_request
    def _csrf() -> None:
        if app.config.get("WTF_CSRF_ENABLED", True) and _needs_csrf_check():
            csrf.protect()


def security_headers(app: Flask) -> dict[str, str]:
    """The protective headers every response carries (see SecurityHeaders)."""
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": content_security_policy(app),
        "Permissions-Policy": PERMISSIONS_POLICY,
    }


def cookie_secure_mode(value) -> bool | None:
    """SESSION_COOKIE_SECURE as given: True, False, or None for "auto" (follow the request)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"SESSION_COOKIE_SECURE must be auto, true or false, not {value!r}")


def configure_cookies(app: Flask) -> None:
    """Session and remember-me cookies are HttpOnly and SameSite=Lax; Secure as configured. For
    "auto", Flask and Flask-Login set them without Secure and SecurityHeaders adds it to every
    cookie of a response to an HTTPS request."""
    mode = cookie_secure_mode(app.config["SESSION_COOKIE_SECURE"])
    app.config["COOKIE_SECURE_MODE"] = mode
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = mode is True


def _with_secure(cookie: str) -> str:
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    return cookie if "secure" in attributes else cookie + "; Secure"


class SecurityHeaders:
    """WSGI middleware: the security headers on every response (a header the response already
    has is left alone, e.g. an attachment's stricter CSP); Strict-Transport-Security and Secure
    cookies when the request came over HTTPS."""

    def __init__(self, app: Flask, wrapped) -> None:
        self.config = app.config
        self.wrapped = wrapped
        self.headers = list(security_headers(app).items())

    def __call__(self, environ, start_response):
        https = environ.get("wsgi.url_scheme") == "https"
        secure_cookies = self.config["COOKIE_SECURE_MODE"]
        secure_cookies = https if secure_cookies is None else secure_cookies
        hsts = self.config["HSTS_SECONDS"] if https else 0

        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _value in headers}
            extra = [header for header in self.headers if header[0].lower() not in present]
            if hsts and "strict-transport-security" not in present:
                extra.append(("Strict-Transport-Security", f"max-age={hsts}"))
            if secure_cookies and "set-cookie" in present:
                headers = [
                    (name, _with_secure(value) if name.lower() == "set-cookie" else value) for name, value in headers
                ]
            return start_response(status, [*headers, *extra], exc_info)

        return self.wrapped(environ, start)

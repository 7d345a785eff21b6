"""Page shells: pages rendered for the offline app's cache, the same for everyone.

A shell is rendered as an anonymous visitor sees the page, whoever asks (the account menu is a
plain link), without the CSRF token (base.html leaves it out when `g.shared_render` is set, so no
session is started either). It carries nothing private and reflects nothing from the request, so
it may be compressed (no BREACH), and it has an ETag so that a phone revalidating it gets a 304."""

from __future__ import annotations

import gzip
import hashlib

from flask import Response, current_app, g, make_response, render_template, request

try:
    import brotli
except ImportError:  # pragma: no cover (Flask-Compress brings it)
    brotli = None


def as_public() -> None:
    """Render the rest of this request as an anonymous visitor would see it."""
    g.shared_render = True
    g.offline_shell = True
    g._login_user = current_app.login_manager.anonymous_user()


def compressed(response: Response, body: bytes) -> Response:
    """`body` brotli- or gzip-compressed as the client accepts (for responses that carry no secret)."""
    accepted = request.accept_encodings
    if brotli is not None and accepted["br"]:
        response.set_data(brotli.compress(body, quality=5))
        response.headers["Content-Encoding"] = "br"
    elif accepted["gzip"]:
        response.set_data(gzip.compress(body, 6))
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def shell_response(template: str, **context) -> Response:
    as_public()
    body = render_template(template, **context).encode()
    response = make_response(body)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Offline-Shell"] = "1"
    # Only the worker of the same release keeps it (sw.js): a cache never mixes two releases.
    response.headers["X-Release"] = current_app.extensions.get("static_release", "")
    for header in ("Cookie", "Accept-Language"):
        response.vary.add(header)
    response.set_etag(hashlib.sha256(body).hexdigest()[:20])
    response = response.make_conditional(request)
    if response.status_code == 200:
        compressed(response, body)
    return response

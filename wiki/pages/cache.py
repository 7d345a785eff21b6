"""A shared cache of the pages anonymous readers see.

Most readers in a crisis are not logged in, and they all see the same HTML. Rendering a page
view costs a few milliseconds of Python; reading it from a file costs microseconds. So
anonymous page views are kept as files under instance/page-cache/, shared by every gunicorn
worker, keyed by the URL, the language and the crisis's `generation`, a counter that every
change to the crisis's pages bumps (`bump_generation`). A save therefore never serves stale
HTML: it moves the crisis to a new generation whose cache starts empty, and the old files are
removed by the next worker that notices.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from flask import current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import update

from ..extensions import db
from ..models import Crisis

# What a cached page's answer says to browsers and caches (on both sides: cache_server.py).
CACHE_CONTROL = "public, max-age=0, must-revalidate"
VARY = ("Cookie", "Accept-Language")


def bump_generation(crisis_id: int) -> None:
    """Call inside the transaction that changes something the crisis's pages show."""
    db.session.execute(update(Crisis).where(Crisis.id == crisis_id).values(generation=Crisis.generation + 1))


def _root() -> Path:
    return Path(current_app.instance_path) / "page-cache"


def _eligible() -> bool:
    return (
        current_app.config["PAGE_CACHE"]
        and request.method == "GET"
        and not current_user.is_authenticated
        and "Authorization" not in request.headers
        and not session.get("_flashes")
    )


def cache_path(root: Path, slug: str, generation: int, full_path: str, language: str, config) -> Path:
    """Where the page at `full_path` (path and query) is kept for anonymous readers of `language`
    in this generation of the crisis. Also used before Flask, by pages/cache_server.py."""
    key = f"{full_path}|{language}|{config['ANONYMOUS_EDIT']}|{config['ANONYMOUS_SUBMIT']}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return root / slug / str(generation) / digest[:2] / digest


def _path_for(crisis: Crisis) -> Path:
    return cache_path(_root(), crisis.slug, crisis.generation, request.full_path, str(get_locale()), current_app.config)


def _forget_old_generations(crisis: Crisis) -> None:
    folder = _root() / crisis.slug
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if name != str(crisis.generation):
            shutil.rmtree(folder / name, ignore_errors=True)


def cached_for_anonymous(view: Callable) -> Callable:
    """Serve a crisis view to anonymous readers from the shared cache, filling it on a miss.

    The view must take `crisis_slug` and look the crisis up with get_crisis_or_404 (which
    memoises it on `g`)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _eligible():
            return view(*args, **kwargs)
        from ..crises.services import get_crisis_or_404

        crisis = get_crisis_or_404(kwargs["crisis_slug"])
        path = _path_for(crisis)
        etag = path.name[:32]
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            body = None
        if body is not None:
            response = make_response(body)
            response.headers["Content-Type"] = "text/html; charset=utf-8"
            response.headers["X-Page-Cache"] = "hit"
        else:
            # The copy is shared by every anonymous reader, so it must not carry this reader's
            # CSRF token (base.html leaves it out; rendering it would also start a session).
            g.shared_render = True
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.is_streamed or session.get("_flashes"):
                return response
            _store(path, response.get_data(), crisis)
            response.headers["X-Page-Cache"] = "miss"
        response.set_etag(etag)
        response.headers["Cache-Control"] = CACHE_CONTROL
        for header in VARY:
            response.vary.add(header)
        return response.make_conditional(request)

    wrapper.anonymous_cache = True  # pages/cache_server.py serves hits of these views before Flask
    return wrapper


def _store(path: Path, body: bytes, crisis: Crisis) -> None:
    try:
        if not path.parent.exists():
            _forget_old_generations(crisis)
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(temp, path)  # readers see the whole file or none
    except OSError:
        current_app.logger.warning("could not write the page cache at %s", path, exc_info=True)

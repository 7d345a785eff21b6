"""A shared cache of the pages anonymous readers see.

Most readers in a crisis are not logged in, and they all see the same HTML. Rendering a page
view costs a few milliseconds of Python; reading it from a file costs microseconds. So
anonymous page views are kept as files under instance/page-cache/, shared by every gunicorn
worker, keyed by the URL, the language and the crisis's `generation`, a counter that every
change to the crisis's pages bumps (`bump_generation`). A save therefore never serves stale
HTML: it moves the crisis to a new generation whose cache starts empty, and the old files are
removed by the next worker that notices.

The files are laid out so that nginx finds them without Python (wiki/cache_generations.py; the
nginx site in deploy/nginx/ answers hits itself).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from flask import current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import update

from ..cache_generations import (
    CURRENT,
    cache_path,
    cache_root,
    etag_for,
    generation_changed,
    generation_folder,
    generation_now,
    publish_generation,
)
from ..extensions import db
from ..models import Crisis

# What a cached page's answer says to browsers and caches (on both sides: cache_server.py).
CACHE_CONTROL = "public, max-age=0, must-revalidate"
VARY = ("Cookie", "Accept-Language")


def bump_generation(crisis_id: int) -> None:
    """Call inside the transaction that changes something the crisis's pages show."""
    db.session.execute(update(Crisis).where(Crisis.id == crisis_id).values(generation=Crisis.generation + 1))
    generation_changed(crisis_id)


def _eligible() -> bool:
    return (
        current_app.config["PAGE_CACHE"]
        and request.method == "GET"
        and not current_user.is_authenticated
        and "Authorization" not in request.headers
        and not session.get("_flashes")
    )


def _path_for(crisis: Crisis) -> Path:
    return cache_path(
        cache_root(), crisis.slug, crisis.generation, request.full_path, str(get_locale()), current_app.config
    )


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
        try:
            body = path.read_bytes()
            stat = path.stat()
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
            stat = _store(path, response.get_data(), crisis)
            response.headers["X-Page-Cache"] = "miss"
            if stat is None:
                return response
        response.set_etag(etag_for(stat))
        response.last_modified = stat.st_mtime
        response.headers["Cache-Control"] = CACHE_CONTROL
        for header in VARY:
            response.vary.add(header)
        return response.make_conditional(request)

    wrapper.anonymous_cache = True  # pages/cache_server.py serves hits of these views before Flask
    return wrapper


def _store(path: Path, body: bytes, crisis: Crisis) -> os.stat_result | None:
    root = cache_root()
    try:
        generation = root / crisis.slug / generation_folder(crisis.generation, current_app.config)
        try:
            published = os.readlink(root / crisis.slug / CURRENT) == generation.name
        except OSError:
            published = False
        if not published:  # a new crisis, a new deployment, or a switch that a crash left undone
            publish_generation(root, crisis.slug, current_app.config, generation_now)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.chmod(temp, 0o644)  # nginx reads it (mkstemp makes files only their owner reads)
        os.replace(temp, path)  # readers see the whole file or none
        return path.stat()
    except OSError:
        current_app.logger.warning("could not write the page cache at %s", path, exc_info=True)
        return None

"""The page cache's files and their generations: where a cached page is kept (a layout nginx
finds without Python), and the `current` symlink of each crisis that follows its generation.
See wiki/pages/cache.py for the cache itself.

    page-cache/<crisis>/current -> <generation>           a symlink, switched atomically
    page-cache/<crisis>/<generation>/<lang>/c/<crisis>/@index.html     /c/<crisis>/
    page-cache/<crisis>/<generation>/<lang>/c/<crisis>/wiki/<slug>/@page.html   and so on
    page-cache/<crisis>/<generation>/<lang>/@query/<ab>/<sha256>    URLs with a query string

The generation folder's name carries a suffix when ANONYMOUS_EDIT or ANONYMOUS_SUBMIT differ
from their defaults, since the pages differ. After every commit that changes a crisis's
generation (`generation_changed` marks it in the transaction), `publish_generation` points
`current` at the generation the database holds (read afresh, under a lock, so of two changes
committed close together the later one wins), before the response goes out: a reader who asks
after a save was answered never gets the old page from nginx. A process killed between a commit
and the switch (microseconds) leaves nginx on the old generation until the crisis's next change
or the app's next miss for it (a miss re-publishes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .database import read_only
from .extensions import db
from .locks import FileLock
from .models import Crisis


def cache_root() -> Path:
    return Path(current_app.instance_path) / "page-cache"


PAGE_FILE = "@page.html"  # the page at a URL without a trailing slash: <path>/@page.html
INDEX_FILE = "@index.html"  # ... with one: <path>/@index.html
QUERY_FOLDER = "@query"
CURRENT = "current"
CHANGED = "crisiswiki_generation_changed"


def generation_changed(crisis_id: int) -> None:
    """Note that this transaction changes the crisis's generation: `current` follows it after the
    commit (see the module docstring)."""
    db.session.info.setdefault(CHANGED, set()).add(crisis_id)


def generation_folder(generation: int, config) -> str:
    flags = (bool(config["ANONYMOUS_EDIT"]), bool(config["ANONYMOUS_SUBMIT"]))
    return str(generation) if flags == (False, True) else f"{generation}-e{int(flags[0])}s{int(flags[1])}"


def publish_generation(root: Path, slug: str, config, read_generation: Callable[[str], int | None]) -> None:
    """Point <root>/<slug>/current at the generation the database holds now, and remove the
    folders of older generations."""
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / ".publish.lock"):
        generation = read_generation(slug)
        if generation is None:
            shutil.rmtree(folder, ignore_errors=True)  # the crisis is gone
            return
        name = generation_folder(generation, config)
        (folder / name).mkdir(exist_ok=True)
        link = folder / CURRENT
        try:
            already = os.readlink(link) == name
        except OSError:
            already = False
        if not already:
            temporary = folder / f".current-{os.getpid()}"
            temporary.unlink(missing_ok=True)
            os.symlink(name, temporary)
            os.replace(temporary, link)  # nginx sees the old target or the new one, never none
        for other in os.listdir(folder):
            if other != name and not other.startswith(".") and other != CURRENT:
                shutil.rmtree(folder / other, ignore_errors=True)


def cache_path(root: Path, slug: str, generation: int, full_path: str, language: str, config) -> Path:
    """Where the page at `full_path` (path and query) is kept for anonymous readers of `language`
    in this generation of the crisis (see the module docstring). Also used before Flask, by
    pages/cache_server.py; nginx builds the same path for URLs without a query string."""
    base = root / slug / generation_folder(generation, config) / language
    path, _, query = full_path.partition("?")
    segments = [segment for segment in path.split("/") if segment]
    if query or not segments or any(segment in (".", "..") or "\0" in segment for segment in segments):
        digest = hashlib.sha256(f"{full_path}|{language}".encode()).hexdigest()
        return base / QUERY_FOLDER / digest[:2] / digest
    return base.joinpath(*segments) / (INDEX_FILE if path.endswith("/") else PAGE_FILE)


def etag_for(stat: os.stat_result) -> str:
    """The ETag of a cached page, as nginx makes it for a file (hex mtime "-" hex size), so that
    the app and nginx answer a page with the same ETag."""
    return f"{int(stat.st_mtime):x}-{stat.st_size:x}"


def generation_now(slug: str) -> int | None:
    """The crisis's generation as committed now (a connection of its own, outside the session's
    transaction)."""
    with read_only(), db.engine.connect() as connection:
        return connection.execute(select(Crisis.generation).where(Crisis.slug == slug)).scalar()


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    changed = session.info.pop(CHANGED, None)
    if not changed or not has_app_context() or not current_app.config.get("PAGE_CACHE"):
        return
    try:
        with read_only(), db.engine.connect() as connection:
            slugs = connection.execute(select(Crisis.slug).where(Crisis.id.in_(changed))).scalars().all()
        for slug in slugs:
            publish_generation(cache_root(), slug, current_app.config, generation_now)
    except Exception:
        current_app.logger.warning("could not switch the page cache to the new generation", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)

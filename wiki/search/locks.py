"""The search writer's and rebuilds' locks (wiki.locks.FileLock) and where they live."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, current_app

from ..locks import FileLock

__all__ = ["FileLock", "index_root", "writer_lock"]


def index_root(app: Flask | None = None) -> Path:
    app = app or current_app
    return Path(app.config["SEARCH_INDEX_DIR"] or Path(app.instance_path) / "search-index")


_locks: dict[Path, FileLock] = {}
_locks_guard = threading.Lock()


def writer_lock(app: Flask | None = None) -> FileLock:
    path = index_root(app) / "writer.lock"
    with _locks_guard:
        return _locks.setdefault(path, FileLock(path))

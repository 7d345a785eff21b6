"""The column mapping a coordinator chose for an import, remembered per crisis for the next file
with the same columns (a weekly export from the same form, say), in the instance folder beside
the uploads: imports/mappings/<crisis>.json, keyed by the file's headers and hashtags."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from flask import current_app

KEEP = 20  # layouts remembered per crisis


def _path(crisis_slug: str) -> Path:
    safe = hashlib.sha256(crisis_slug.encode()).hexdigest()[:32]
    return Path(current_app.instance_path) / "imports" / "mappings" / f"{safe}.json"


def _key(columns) -> str:
    return hashlib.sha256(json.dumps([[c.header, c.tag] for c in columns]).encode()).hexdigest()


def _load(crisis_slug: str) -> dict:
    try:
        return json.loads(_path(crisis_slug).read_text())
    except (OSError, ValueError):
        return {}


def recall_mapping(crisis_slug: str, columns) -> dict[str, int] | None:
    """The mapping last chosen in this crisis for a file with exactly these columns, or None."""
    saved = _load(crisis_slug).get(_key(columns))
    if not isinstance(saved, dict):
        return None
    return {name: index for name, index in saved.items() if isinstance(index, int) and 0 <= index < len(columns)}


def remember_mapping(crisis_slug: str, columns, mapping: dict[str, int]) -> None:
    path = _path(crisis_slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = _load(crisis_slug)
    saved.pop(_key(columns), None)
    saved[_key(columns)] = dict(mapping)
    while len(saved) > KEEP:
        saved.pop(next(iter(saved)))
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(saved))
    temporary.replace(path)  # whole or not at all, for another worker reading it

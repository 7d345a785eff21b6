"""Keeping an uploaded import file between the upload page and the mapping page.

The file waits in the instance folder under imports/<random token> (never in the session
cookie, which could not hold 50 MB), beside a small JSON note of who uploaded it for which
crisis. It is deleted after the import; files left behind by abandoned uploads go after a day.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from ..errors import NotFound, TooLarge
from ..i18n import human_size

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24}$")
KEEP_SECONDS = 24 * 3600
_CHUNK = 1 << 16


@dataclass(frozen=True)
class KeptUpload:
    token: str
    path: Path
    filename: str


def _folder() -> Path:
    return Path(current_app.instance_path) / "imports"


def keep_upload(stream, filename: str, crisis_slug: str, user_id: int) -> KeptUpload:
    """Copy an uploaded file to the imports folder, refusing it past IMPORT_MAX_BYTES."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale(folder)
    limit = current_app.config["IMPORT_MAX_BYTES"]
    token = secrets.token_urlsafe(18)
    path = folder / token
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise TooLarge(_("The file is larger than %(limit)s.", limit=human_size(limit)), field="file")
            out.write(chunk)
    name = Path(filename.replace("\\", "/")).name[:200] or "upload"
    note = {"filename": name, "crisis": crisis_slug, "user_id": user_id, "created": time.time()}
    (folder / f"{token}.json").write_text(json.dumps(note))
    return KeptUpload(token, path, name)


def rejected_path(token: str) -> Path:
    """Where an import of this upload writes the rows it refused (with a reason column)."""
    return _folder() / f"{token}.rejected.csv"


def load_upload(token: str, crisis_slug: str, user_id: int, rejected_only: bool = False) -> KeptUpload:
    """The upload with this token, if this user uploaded it for this crisis (`rejected_only`: its
    file may be gone, as long as the rows an import rejected are still there)."""
    missing = NotFound(_("This upload is no longer here; upload the file again."), field="upload")
    if not _TOKEN.match(token or ""):
        raise missing
    folder = _folder()
    try:
        note = json.loads((folder / f"{token}.json").read_text())
    except (OSError, ValueError):
        raise missing
    path = folder / token
    wanted = rejected_path(token) if rejected_only else path
    if note.get("crisis") != crisis_slug or note.get("user_id") != user_id or not wanted.is_file():
        raise missing
    return KeptUpload(token, path, note.get("filename") or "upload")


def discard_upload(token: str, keep_rejected: bool = False) -> None:
    """Delete the upload; with `keep_rejected`, its note and rejected rows stay for the download
    (until they are a day old, as every leftover)."""
    if not _TOKEN.match(token or ""):
        return
    folder = _folder()
    paths = [folder / token] if keep_rejected else [folder / token, folder / f"{token}.json", rejected_path(token)]
    for path in paths:
        path.unlink(missing_ok=True)


def _remove_stale(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass  # another worker removed it first

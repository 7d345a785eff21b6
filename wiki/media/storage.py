"""Uploaded files: type checked from the bytes, metadata stripped from images, stored once per
content hash.

The name a client gives a file is only ever used as a download name; what a file *is* comes
from its first bytes (`filetype`), and only types on the allowlist below are accepted.
Images are re-encoded without their metadata (EXIF, including GPS position, XMP, comments),
because a photo's location can expose the person who took it.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InvalidInput, TooLarge, UnsupportedMediaType

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/3gpp", "video/x-m4v"})
DOCUMENT_TYPES = frozenset({
    "application/pdf", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/zip", "application/rtf",
})
# Decompression bombs: refuse images that would expand beyond this many pixels.
MAX_IMAGE_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    content_type: str
    kind: str  # image | video | document
    size: int
    width: int | None = None
    height: int | None = None


def read_limited(stream: BinaryIO, limit: int, field: str = "file") -> bytes:
    """Read an upload, refusing (413) one that is larger than `limit` bytes."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(_("The file is larger than the limit of %(mb)s MB.", mb=_megabytes(limit)), field=field)
    if not data:
        raise InvalidInput(_("The file is empty."), field=field)
    return data


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def _is_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    try:
        data[:65536].decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the boundary is fine
        return exc.start > 65530
    return True


def detect_type(data: bytes, filename: str, allowed_kinds: frozenset[str], field: str = "file") -> tuple[str, str]:
    """(content type, kind) of `data`, judged from its bytes; 415 if it is not allowed."""
    guess = filetype.guess(data)
    mime = guess.mime if guess else None
    if mime in IMAGE_TYPES:
        kind = "image"
    elif mime in VIDEO_TYPES:
        kind = "video"
    elif mime in DOCUMENT_TYPES:
        kind = "document"
    elif mime is None and _is_text(data):
        # Plain text and CSV. HTML or SVG arrive here too and are stored as text/plain, which
        # is only ever served as a download, so a browser never renders them.
        mime = "text/csv" if filename.lower().endswith(".csv") else "text/plain"
        kind = "document"
    else:
        kind = ""
    if kind not in allowed_kinds:
        accepted = {"image": _("images (JPEG, PNG, GIF, WebP)"), "video": _("videos (MP4, WebM, MOV)"),
                    "document": _("documents (PDF, office files, text, CSV)")}
        raise UnsupportedMediaType(
            _("This kind of file (%(type)s) is not accepted here; accepted: %(list)s.",
              type=mime or _("unknown"), list=", ".join(accepted[k] for k in sorted(allowed_kinds))),
            field=field,
        )
    return mime, kind


def strip_image_metadata(data: bytes, content_type: str, field: str = "file") -> tuple[bytes, int, int]:
    """Re-encode an image without any metadata, turned upright first (EXIF orientation is
    metadata too). Returns (bytes, width, height)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if content_type == "image/gif":
                # GIF carries no EXIF; re-encoding would flatten animations.
                return data, image.width, image.height
            upright = ImageOps.exif_transpose(image)
            if content_type == "image/jpeg" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            options = {"quality": 90} if content_type in ("image/jpeg", "image/webp") else {}
            upright.save(out, IMAGE_TYPES[content_type], **options)
            return out.getvalue(), upright.width, upright.height
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnsupportedMediaType(_("The image could not be read: %(reason)s", reason=str(exc)), field=field) from exc


def display_copy(data: bytes, max_pixels: int) -> bytes:
    """A JPEG no larger than `max_pixels` on its longest side, for fast display on phones."""
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_pixels, max_pixels))
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str) -> Path:
    return upload_root() / sha256[:2] / sha256[2:4] / sha256


def write_blob(data: bytes) -> str:
    """Store bytes under their SHA-256 (once), atomically; returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(digest)
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return digest


def store_upload(data: bytes, filename: str, allowed_kinds: frozenset[str], field: str = "file") -> StoredFile:
    """Check, clean and store an upload's bytes."""
    content_type, kind = detect_type(data, filename, allowed_kinds, field)
    width = height = None
    if kind == "image":
        data, width, height = strip_image_metadata(data, content_type, field)
    digest = write_blob(data)
    return StoredFile(digest, content_type, kind, len(data), width, height)


def safe_filename(name: str) -> str:
    """A download name: letters of any script, digits, dot, dash and underscore only."""
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._")
    return name[:120] or "file"

"""Uploaded files: type checked from the bytes, metadata stripped from images, stored once per
content hash.

The name a client gives a file is only ever used as a download name; what a file *is* comes
from its first bytes (`filetype`), and only types on the allowlist below are accepted.
Images are re-encoded without their metadata (EXIF, including GPS position, XMP, comments),
because a photo's location can expose the person who took it.
"""

from __future__ import annotations

import errno
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
from PIL import Image, ImageOps

from ..errors import InsufficientStorage, InvalidInput, TooLarge, UnsupportedMediaType
from ..i18n import human_size

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/3gpp", "video/x-m4v"})
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/zip",
        "application/rtf",
    }
)
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
        raise TooLarge(_("The file is larger than the limit of %(size)s.", size=human_size(limit)), field=field)
    if not data:
        raise InvalidInput(_("The file is empty."), field=field)
    return data


def _is_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    sample = data[:65536]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only a multi-byte character cut by the sample's end is fine, not a bad byte near it.
        return len(data) > len(sample) and exc.reason == "unexpected end of data" and exc.end == len(sample)
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
        accepted = {
            "image": _("images (JPEG, PNG, GIF, WebP)"),
            "video": _("videos (MP4, WebM, MOV)"),
            "document": _("documents (PDF, office files, text, CSV)"),
        }
        raise UnsupportedMediaType(
            _(
                "This kind of file (%(type)s) is not accepted here; accepted: %(list)s.",
                type=mime or _("unknown"),
                list=", ".join(accepted[k] for k in sorted(allowed_kinds)),
            ),
            field=field,
        )
    return mime, kind


# What an image's `info` may keep when it is re-encoded: what is needed to draw it the same way.
# Everything else goes, in particular "exif", "xmp" and "comment": Pillow writes an image's own
# JPEG and GIF comments back out unless they are removed from `info`.
_DRAWING_INFO = frozenset({"transparency", "icc_profile", "duration", "loop", "background", "disposal"})


def _drop_metadata(image: Image.Image) -> Image.Image:
    image.info = {key: value for key, value in image.info.items() if key in _DRAWING_INFO}
    return image


def _too_many_pixels(field: str) -> TooLarge:
    return TooLarge(_("The image has more than %(n)s million pixels.", n=f"{MAX_IMAGE_PIXELS / 1e6:g}"), field=field)


def strip_image_metadata(data: bytes, content_type: str, field: str = "file") -> tuple[bytes, int, int]:
    """Re-encode an image without any metadata, turned upright first (EXIF orientation is
    metadata too). Returns (bytes, width, height)."""
    fmt = IMAGE_TYPES[content_type]
    try:
        # Only the decoder for the type the bytes were detected as: no second opinion from another.
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            frames = getattr(image, "n_frames", 1) if fmt == "GIF" else 1
            if image.width * image.height * frames > MAX_IMAGE_PIXELS:
                raise _too_many_pixels(field)
            image.load()
            out = io.BytesIO()
            if fmt == "GIF":
                # GIF has no EXIF, but comments (and XMP) travel in extension blocks; re-encode
                # every frame so that an animation stays one.
                _drop_metadata(image).save(out, fmt, save_all=True)
                return out.getvalue(), image.width, image.height
            upright = _drop_metadata(ImageOps.exif_transpose(image))
            if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = _drop_metadata(upright.convert("RGB"))
            options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
            upright.save(out, fmt, **options)
            return out.getvalue(), upright.width, upright.height
    except TooLarge:
        raise
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(field) from exc
    except Exception as exc:  # a malformed file can make a decoder raise almost anything
        raise UnsupportedMediaType(
            _("The image could not be read: %(reason)s", reason=str(exc) or type(exc).__name__), field=field
        ) from exc


def display_copy(data: bytes, max_pixels: int) -> bytes:
    """A JPEG no larger than `max_pixels` on its longest side, for fast display on phones."""
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_pixels, max_pixels))
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        _drop_metadata(image).save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str) -> Path:
    return upload_root() / sha256[:2] / sha256[2:4] / sha256


def write_blob(data: bytes) -> str:
    """Store bytes under their SHA-256 (once), atomically; returns the hash. When the upload
    folder's disk is full, raises InsufficientStorage (507) and leaves nothing of them behind."""
    return write_blobs([data])[0]


def write_blobs(blobs: list[bytes]) -> list[str]:
    """Store several files (an upload and its copies) all or none, each under its SHA-256 (once);
    returns the hashes. Each is written to a temporary file and synced first, and only when all
    are written are they renamed into place: when the upload folder's disk is full, the
    temporary files are removed and InsufficientStorage (507) is raised, leaving nothing behind
    (and never removing a file another upload may already be using)."""
    digests = [hashlib.sha256(data).hexdigest() for data in blobs]
    pending: dict[str, str] = {}  # digest -> temporary file
    try:
        for digest, data in zip(digests, blobs, strict=True):
            target = path_for(digest)
            if digest in pending or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, pending[digest] = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for digest, temp in list(pending.items()):
            os.replace(temp, path_for(digest))
            del pending[digest]
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            current_app.logger.error("upload refused: no space left in %s (%s)", upload_root(), exc)
            raise InsufficientStorage(
                _(
                    "The server's storage for uploads is full, so the file was not stored and nothing was saved. "
                    "Try again later; an administrator has to free space."
                )
            ) from exc
        raise
    finally:
        for temp in pending.values():
            Path(temp).unlink(missing_ok=True)
    return digests


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


# Endings a download may keep for each detected type; types the bytes cannot tell apart
# (office files in one container, ISO media) share theirs. A name with any other ending gets
# the first one added, so a saved file opens as what it is: "page.html" that was stored as
# text downloads as "page.html.txt", not as a page a browser would run from disk.
_OLE = (".doc", ".dot", ".xls", ".xlt", ".ppt", ".pps", ".pot")
_ZIPPED = (".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp")
_ISO_MEDIA = (".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2")
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "video/mp4": _ISO_MEDIA,
    "video/x-m4v": (".m4v", *_ISO_MEDIA),
    "video/quicktime": (".mov", *_ISO_MEDIA),
    "video/3gpp": (".3gp", *_ISO_MEDIA),
    "video/webm": (".webm",),
    "application/pdf": (".pdf",),
    "application/rtf": (".rtf",),
    "text/plain": (".txt",),
    "text/csv": (".csv",),
    "application/msword": _OLE,
    "application/vnd.ms-excel": (".xls", *_OLE),
    "application/vnd.ms-powerpoint": (".ppt", *_OLE),
    "application/zip": _ZIPPED,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx", *_ZIPPED),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx", *_ZIPPED),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx", *_ZIPPED),
    "application/vnd.oasis.opendocument.text": (".odt", *_ZIPPED),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods", *_ZIPPED),
    "application/vnd.oasis.opendocument.presentation": (".odp", *_ZIPPED),
}


def download_name(name: str, content_type: str) -> str:
    """`safe_filename(name)`, ending in an extension that matches `content_type`."""
    safe = safe_filename(name)
    endings = EXTENSIONS.get(content_type)
    if not endings or safe.lower().endswith(endings):
        return safe
    return safe[: 120 - len(endings[0])] + endings[0]

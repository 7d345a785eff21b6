"""Static files: content-hashed names, precompressed, served by WhiteNoise with long caching.

At start-up the files under static/ are copied into instance/static-build/ twice: under their
own name and under a name carrying a hash of their content (css/wiki.3f2a1b9c0d.css), each
with gzip and brotli variants. `url_for('static', ...)` hands out the hashed names, which
WhiteNoise serves as immutable for a year: a phone on a slow link downloads the stylesheet
once, and a new release changes the name. The original names stay available (with short
caching) for what refers to files by a fixed name, such as Leaflet's CSS pointing at its images.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

MANIFEST = "manifest.json"
_HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")
# Files that must keep a stable URL (a service worker's scope is its URL).
UNHASHED = frozenset({"js/sw.js"})


def _source_fingerprint(source: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(source)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _hashed_name(relative: str, data: bytes) -> str:
    stem, dot, suffix = relative.rpartition(".")
    if not dot or relative in UNHASHED:
        return relative
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:12]}.{suffix}"


def build(source: Path, target: Path) -> dict[str, str]:
    """Copy, hash and compress `source` into `target` (atomically) unless it is up to date."""
    fingerprint = _source_fingerprint(source)
    manifest_path = target / MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("fingerprint") == fingerprint:
            return manifest["files"]
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".static-build.lock", "w") as lock:  # several workers start at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_path.exists() and json.loads(manifest_path.read_text()).get("fingerprint") == fingerprint:
            return json.loads(manifest_path.read_text())["files"]
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".static-build-"))
        files: dict[str, str] = {}
        compressor = Compressor(quiet=True)
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            relative = path.relative_to(source).as_posix()
            data = path.read_bytes()
            hashed = _hashed_name(relative, data)
            files[relative] = hashed
            for name in {relative, hashed}:
                out = staging / name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                if compressor.should_compress(str(out)):
                    for _compressed in compressor.compress(str(out)):
                        pass
        (staging / MANIFEST).write_text(json.dumps({"fingerprint": fingerprint, "files": files}))
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.rename(target, old)
        os.rename(staging, target)
        shutil.rmtree(old, ignore_errors=True)
        return files


def transfer_size(app: Flask, relative: str) -> int:
    """Bytes a browser accepting brotli downloads for the static file `relative` (its .br copy
    when there is one, else the file itself); 0 for a file that does not exist."""
    target, files = app.extensions["static_build"]
    built = target / files.get(relative, relative)
    for path in (built.with_name(built.name + ".br"), built):
        if path.exists():
            return path.stat().st_size
    return 0


def release_of(files: dict[str, str]) -> str:
    """The release's asset hash: one short hash of every static file's hashed name. The offline
    app's service worker names its cache after it, so a release that changes any file replaces
    the whole cache in one step."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:12]


def release(app: Flask) -> str:
    return app.extensions["static_release"]


def init_assets(app: Flask) -> None:
    if app.config.get("STATIC_FOLDER"):
        app.static_folder = app.config["STATIC_FOLDER"]
    source = Path(app.static_folder)
    target = Path(app.config["STATIC_BUILD_DIR"] or Path(app.instance_path) / "static-build")
    files = build(source, target)
    app.extensions["static_build"] = (target, files)
    app.extensions["static_release"] = release_of(files)

    @app.url_defaults
    def _hashed_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = files.get(values["filename"], values["filename"])

    app.wsgi_app = WhiteNoise(
        app.wsgi_app,
        root=str(target),
        prefix="static/",
        max_age=3600,
        immutable_file_test=lambda _path, url: bool(_HASHED.search(url)),
    )

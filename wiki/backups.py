"""`crisiswiki backup DEST` and `crisiswiki restore SRC`.

A backup is a folder:

    manifest.json        when, which database backend, the migration revisions, row counts
    database.sqlite3     SQLite: a copy made with SQLite's online backup API (writers go on)
    database.pgdump      PostgreSQL: `pg_dump --format=custom`
    uploads/             the upload folder (attachments, report photos)
    settings/            the instance's secret_key and config.py, when there are (the secret
                         key signs sessions and reset links: keep backups safe). restore puts
                         the key back; a config.py the instance already has is kept, and the
                         backup's is written beside it as config.py.from-backup

The search index is not backed up: `restore` rebuilds it from the database. The page cache is
not either: `restore` empties it (its generations would not match the restored database).

A backup taken while reports keep arriving holds every report and revision committed before it
started (SQLite: the backup API copies one consistent snapshot; pg_dump: one transaction).
The uploads are copied after the database, so every file the copied rows name is there (files
are written before the rows that name them are committed).

`restore` refuses to overwrite a database that holds any row unless given --force. Stop the app
servers and the worker first: restore replaces the database under them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import MetaData, func, inspect, select

from .extensions import db

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FORMAT = 1


class BackupError(click.ClickException):
    """A backup or restore that cannot go on: the message says why; nothing was changed."""


def _sqlite_path(app: Flask) -> Path | None:
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(url.database).resolve()


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore: on PATH, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    raise BackupError(f"{name} was not found; install PostgreSQL's client programs (postgresql-client).")


def _pg_url() -> str:
    """The database URL as libpq takes it (without SQLAlchemy's +psycopg)."""
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextmanager
def sqlite_write_lock(path: Path):
    """Hold the app's SQLite write queue (wiki/database.py) and the database's write lock, so no
    server writes while the block replaces the database."""
    fd = os.open(f"{path}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def row_counts() -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(db.engine)
    counts = {}
    with db.engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name == "alembic_version" or "rtree" in name:
                continue
            counts[name] = connection.scalar(select(func.count()).select_from(table))
    return counts


def _revisions() -> list[str]:
    from .migrations import current_revisions

    return current_revisions()


def backup(destination: Path) -> dict:
    """Write a backup of the app's database, uploads and settings into `destination` (a new or
    empty folder); returns the manifest."""
    app = current_app._get_current_object()
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise BackupError(f"{destination} exists and is not an empty folder; choose a new one.")
    destination.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    sqlite_path = _sqlite_path(app)
    if sqlite_path is not None:
        if not sqlite_path.exists():
            raise BackupError(f"There is no database at {sqlite_path}.")
        source = sqlite3.connect(f"{sqlite_path.as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(destination / SQLITE_FILE)
        try:
            source.backup(target)  # all pages in one step: one consistent snapshot; writers go on (WAL)
        finally:
            target.close()
            source.close()
        database_file = SQLITE_FILE
    else:
        dump = subprocess.run(
            [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(destination / PG_FILE), _pg_url()],
            capture_output=True,
            text=True,
        )
        if dump.returncode != 0:
            raise BackupError(f"pg_dump failed: {dump.stderr.strip()}")
        database_file = PG_FILE
    uploads = Path(app.config["UPLOAD_FOLDER"])
    if uploads.is_dir():
        shutil.copytree(uploads, destination / "uploads", ignore=shutil.ignore_patterns(".upload-*"))
    else:
        (destination / "uploads").mkdir()
    settings = destination / "settings"
    settings.mkdir()
    for name in ("secret_key", "config.py"):
        source_file = Path(app.instance_path) / name
        if source_file.exists():
            shutil.copy2(source_file, settings / name)
            (settings / name).chmod(0o600)
    manifest = {
        "format": FORMAT,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "backend": db.engine.dialect.name,
        "database_file": database_file,
        "revisions": _revisions(),
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} is not a crisiswiki backup (no {MANIFEST}).") from None
    except ValueError:
        raise BackupError(f"{source / MANIFEST} is not valid JSON.") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} has backup format {manifest.get('format')!r}; this version reads {FORMAT}.")
    if not (source / manifest.get("database_file", "")).is_file():
        raise BackupError(f"{source} has no {manifest.get('database_file')}.")
    return manifest


def database_is_empty() -> bool:
    if not inspect(db.engine).get_table_names():
        return True
    return not any(row_counts().values())


def restore(source: Path, force: bool = False) -> dict:
    """Restore a backup made by `backup` into the app's database, upload folder and instance
    folder, then rebuild the search index; returns the manifest."""
    app = current_app._get_current_object()
    manifest = _read_manifest(source)
    here = db.engine.dialect.name
    if manifest["backend"] != here:
        raise BackupError(f"This backup is of a {manifest['backend']} database; this site uses {here}.")
    if not force and not database_is_empty():
        raise BackupError("The database is not empty; restoring would overwrite it. Add --force to replace it.")
    db.session.remove()
    sqlite_path = _sqlite_path(app)
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        db.engine.dispose()
        with sqlite_write_lock(sqlite_path):
            source_db = sqlite3.connect(f"{(source / SQLITE_FILE).resolve().as_uri()}?mode=ro", uri=True)
            target = sqlite3.connect(sqlite_path)
            try:
                source_db.backup(target)
            finally:
                target.close()
                source_db.close()
    else:
        db.engine.dispose()
        restored = subprocess.run(
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                _pg_url(),
                str(source / PG_FILE),
            ],
            capture_output=True,
            text=True,
        )
        if restored.returncode != 0:
            raise BackupError(f"pg_restore failed: {restored.stderr.strip()}")
    uploads = Path(app.config["UPLOAD_FOLDER"])
    if (source / "uploads").is_dir():
        shutil.copytree(source / "uploads", uploads, dirs_exist_ok=True)
    # The secret key comes back (sessions, remember-me cookies and reset links stay valid; the key
    # this instance made when it first started signed nothing of the restored data). An existing
    # config.py is the operator's for this server: kept, the backup's beside it.
    instance = Path(app.instance_path)
    restored_files = []
    for name, target in (("secret_key", "secret_key"), ("config.py", "config.py")):
        saved = source / "settings" / name
        if not saved.exists():
            continue
        here_file = instance / target
        if name == "config.py" and here_file.exists() and here_file.read_bytes() != saved.read_bytes():
            here_file = instance / "config.py.from-backup"
        shutil.copy2(saved, here_file)
        here_file.chmod(0o600)
        restored_files.append(here_file.name)
    manifest["restored_settings"] = restored_files
    shutil.rmtree(Path(app.instance_path) / "page-cache", ignore_errors=True)
    from .search.indexer import rebuild

    rebuild()
    return manifest


@click.command("backup")
@click.argument("destination", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(destination: Path) -> None:
    """Back up the database, uploads and settings into DESTINATION (a new folder)."""
    manifest = backup(destination)
    click.echo(f"Backed up the {manifest['backend']} database, uploads and settings to {destination}.")


@click.command("restore")
@click.argument("source", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that is not empty.")
@with_appcontext
def restore_command(source: Path, force: bool) -> None:
    """Restore a backup made by `crisiswiki backup`, then rebuild the search index."""
    manifest = restore(source, force=force)
    click.echo(f"Restored the backup of {manifest['started_at']} and rebuilt the search index.")
    if "config.py.from-backup" in manifest["restored_settings"]:
        click.echo("This instance has a config.py of its own: the backup's is beside it as config.py.from-backup.")

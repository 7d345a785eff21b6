"""`crisiswiki demo --reset`: empty the database (every row of every table, plugins' too), the
page cache and the uploads, so that the demo can be loaded again from scratch."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import current_app
from sqlalchemy import MetaData, text

from ..database import write_transaction
from ..extensions import db

KEPT = ("alembic_version",)


def wipe_database() -> None:
    """Delete every row but Alembic's, in one write transaction (SQLite's write lock up front)."""
    metadata = MetaData()
    metadata.reflect(db.engine)
    # Any order: TRUNCATE ... CASCADE on PostgreSQL, foreign keys checked at commit on SQLite.
    tables = [t for name, t in sorted(metadata.tables.items()) if name not in KEPT and "rtree" not in name]
    with write_transaction():
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            db.session.execute(text("PRAGMA defer_foreign_keys = ON"))  # pages and revisions point at each other
            for table in tables:
                db.session.execute(table.delete())
    app = current_app
    shutil.rmtree(Path(app.instance_path) / "page-cache", ignore_errors=True)
    uploads = Path(app.config["UPLOAD_FOLDER"])
    if uploads.is_dir():
        shutil.rmtree(uploads)
    (Path(app.instance_path) / "demo-admin.txt").unlink(missing_ok=True)
    (Path(app.instance_path) / "demo-logins.txt").unlink(missing_ok=True)

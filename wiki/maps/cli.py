"""`crisiswiki import-boundaries FILE --crisis SLUG --level 1|2`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from tqdm import tqdm

from ..errors import DomainError
from ..extensions import db
from ..models import Report, User


@click.command("import-boundaries")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crisis", "crisis_slug", required=True, help="The crisis's short name.")
@click.option("--level", type=click.IntRange(1, 2), required=True, help="Admin level of the file: 1 or 2.")
@click.option("--user", "username", default=None, help="Record the import as this user (default: the first admin).")
@with_appcontext
def import_boundaries_command(file: Path, crisis_slug: str, level: int, username: str | None) -> None:
    """Import admin boundaries (OCHA COD GeoJSON) and place every report of the crisis in them."""
    from ..crises.services import get_crisis_or_404
    from .boundaries import import_boundaries, read_boundary_file

    query = (
        select(User).where(User.username == username)
        if username
        else select(User).where(User.role == "admin").order_by(User.id)
    )
    user = db.session.scalars(query).first()
    if user is None:
        click.echo(
            "Error: no such user" if username else "Error: create an admin user first (crisiswiki create-user).",
            err=True,
        )
        sys.exit(1)
    try:
        crisis = get_crisis_or_404(crisis_slug)
        document = read_boundary_file(file.read_bytes())
        reports = db.session.scalar(select(func.count()).select_from(Report).where(Report.crisis_id == crisis.id))
        # A progress bar (on stderr) while every report of the crisis is placed again: the slow part.
        with tqdm(total=reports, unit="report", desc="Placing reports", file=sys.stderr) as bar:
            result = import_boundaries(crisis, level, document, user, progress=bar.update)
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(
        f"Imported {result.areas} admin-{result.level} areas into {crisis.slug}; "
        f"{result.reports_placed} reports changed admin area."
    )

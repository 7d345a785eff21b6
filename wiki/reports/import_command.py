"""`crisiswiki import-reports FILE --crisis SLUG`: the command-line door to the importer."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from tqdm import tqdm

from ..errors import DomainError
from ..extensions import db
from ..models import Crisis, User
from .import_files import FIELDS, apply_overrides, detect_mapping, open_table
from .importer import ImportResult, import_reports


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not FIELD=COLUMN", param_hint="--map")
        found[name.strip()] = column.strip()
    return found


def print_result(result: ImportResult, kind: str) -> None:
    echo = functools.partial(click.echo, err=True)
    echo(f"Imported {result.imported}, already imported {result.already_imported}, failed {result.failed}.")
    where = "feature" if kind == "geojson" else "line"
    for failure in result.failures:
        field = f" [{failure.field}]" if failure.field else ""
        echo(f"{where} {failure.line}: {failure.reason}{field}")
    if result.unlisted_failures:
        echo(f"... and {result.unlisted_failures} more failures.")
    if result.error:
        echo(f"Error: the file could not be read to its end: {result.error}")


@click.command("import-reports")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--crisis", "crisis_slug", required=True, help="The crisis the reports belong to (its short name).")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Take FIELD from COLUMN (a header or an HXL hashtag); FIELD= alone leaves it out. "
    f"Fields: {', '.join(FIELDS)}.",
)
@click.option(
    "--organisation", default="", help="Organisation of the source shared by rows without a source of their own."
)
@click.option("--user", "username", help="Record this user as the one who submitted the imported reports.")
@click.option(
    "--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10000), help="Rows per transaction."
)
@with_appcontext
def import_reports_command(
    file: Path, crisis_slug: str, pairs: tuple[str, ...], organisation: str, username: str | None, batch_size: int
) -> None:
    """Import field reports from a CSV (optionally with an HXL hashtag row) or GeoJSON file.

    Exits with 0 when a report was imported (or all had been imported before), 1 when every
    row failed or the file cannot be read."""
    crisis = db.session.scalar(select(Crisis).where(Crisis.slug == crisis_slug))
    if crisis is None:
        _fail(f"there is no crisis {crisis_slug!r}.")
    user = None
    if username:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            _fail(f"there is no user {username!r}.")
    overrides = _overrides(pairs)
    try:
        table = open_table(file)
        mapping = apply_overrides(detect_mapping(table.columns), table.columns, overrides)
        total = table.count_rows()
        result = import_reports(
            table,
            crisis,
            mapping,
            filename=file.name,
            organisation=organisation,
            user=user,
            batch_size=batch_size,
            listed_failures=None,
            progress=lambda rows: tqdm(rows, total=total, unit="row", file=sys.stderr, desc=file.name, mininterval=0.5),
        )
    except DomainError as exc:
        _fail(f"{exc.message}" + (f" [{exc.field}]" if exc.field else ""))
    print_result(result, table.kind)
    if not result.succeeded:
        sys.exit(1)

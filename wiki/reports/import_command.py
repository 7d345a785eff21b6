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
from .import_values import DAY_FIRST_CHOICES
from .importer import ImportOptions, ImportResult, import_reports


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


def print_result(result: ImportResult, kind: str, partial: bool) -> None:
    """The counts, then one line per kind of failure (with its first rows), never one per row."""
    echo = functools.partial(click.echo, err=True)
    if result.failed and not partial:
        echo(
            f"Nothing imported: {result.failed} rows failed and {result.held_back} good rows were held back "
            "(fix the file, or import the good rows with --partial)."
        )
    else:
        echo(
            f"Imported {result.imported}, updated {result.updated}, "
            f"already imported {result.already_imported + result.unchanged}, failed {result.failed}."
        )
    where = "features" if kind == "geojson" else "lines"
    for title, groups in (("", result.groups), ("remark: ", result.notes)):
        for group in groups.largest_first():
            field = f" [{group.field}]" if group.field else ""
            rows = "row" if group.count == 1 else "rows"
            more = ", ..." if group.count > len(group.lines) else ""
            lines = ", ".join(str(line) for line in group.lines)
            echo(f"{title}{group.count} {rows}: {group.example}{field} ({where} {lines}{more})")
    if result.rejected_rows:
        echo(f"The {result.rejected_rows} rejected rows are in the rejected-rows file, with a reason column.")
    if result.day_first != "auto":
        echo(f"Dates were read {result.day_first}-first.")
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
@click.option("--encoding", help="The CSV file's encoding (default: detected), e.g. cp1252.")
@click.option(
    "--dates",
    "day_first",
    type=click.Choice(DAY_FIRST_CHOICES),
    default="auto",
    show_default=True,
    help="Day/month order of dates such as 03/04/2026: day (DD/MM), month (MM/DD), or auto (as the file shows).",
)
@click.option("--timezone", default="UTC", show_default=True, help="Time zone of times written without one.")
@click.option("--partial", is_flag=True, help="Import the good rows even if some fail (default: all or nothing).")
@click.option(
    "--rejected",
    "rejected_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rows that failed to this CSV file, with a reason column.",
)
@with_appcontext
def import_reports_command(
    file: Path,
    crisis_slug: str,
    pairs: tuple[str, ...],
    organisation: str,
    username: str | None,
    batch_size: int,
    encoding: str | None,
    day_first: str,
    timezone: str,
    partial: bool,
    rejected_path: Path | None,
) -> None:
    """Import field reports from a CSV (any encoding, optionally with an HXL hashtag row), an
    Excel or OpenDocument workbook, or a GeoJSON file; exports of KoboToolbox, ODK Central and
    Ushahidi are recognised. Without --partial, a file with a failing row imports nothing.

    Exits with 0 when a report was imported or updated (or all had been imported before), 1
    when a row failed without --partial, when every row failed, or when the file cannot be read."""
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
        table = open_table(file, encoding=encoding)
        mapping = apply_overrides(detect_mapping(table.columns, table.layout), table.columns, overrides)
        total = table.count_rows()
        result = import_reports(
            table,
            crisis,
            mapping,
            filename=file.name,
            organisation=organisation,
            user=user,
            batch_size=batch_size,
            listed_failures=100,
            progress=lambda rows: tqdm(rows, total=total, unit="row", file=sys.stderr, desc=file.name, mininterval=0.5),
            options=ImportOptions(day_first=day_first, timezone=timezone, partial=partial, rejected_path=rejected_path),
        )
    except DomainError as exc:
        _fail(f"{exc.message}" + (f" [{exc.field}]" if exc.field else ""))
    print_result(result, table.kind, partial)
    if not result.succeeded or (result.failed and not partial):
        sys.exit(1)

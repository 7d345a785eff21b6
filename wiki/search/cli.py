"""`crisiswiki reindex`: rebuild the search index from the database."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from .configured_backend import backend_for
from .indexer import rebuild, total_objects


@click.command("reindex")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--if-missing", is_flag=True, help="Only build the index if there is none yet.")
@with_appcontext
def reindex_command(quiet: bool, if_missing: bool) -> None:
    """Rebuild the search index from the database. Searches keep using the old index until
    the new one is complete; changes made meanwhile are not lost."""
    backend = backend_for()
    if if_missing and backend.exists():
        click.echo("The search index exists; nothing to do.")
        return
    total = total_objects()
    with tqdm(total=total, unit="doc", desc="Indexing", disable=quiet, file=sys.stderr) as bar:
        try:
            rebuild(progress=bar.update)
        except RuntimeError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)
    click.echo(f"Search index rebuilt ({backend.name}) from {total} pages, reports and layers.")

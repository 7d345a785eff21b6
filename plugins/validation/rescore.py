"""`crisiswiki rescore`: every score again (batch.rescore_all), or only those waiting for one."""

from __future__ import annotations

import math
from collections.abc import Iterable

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from tqdm import tqdm

from wiki.extensions import db
from wiki.models import Crisis

from .batch import BATCH_MAX, next_batch, rescore_all


@click.command("rescore")
@click.option("--crisis", "crisis_slug", help="Only this crisis (its short name).")
@click.option("--stale", is_flag=True, help="Only refresh the scores marked stale, and score reports left unscored.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@with_appcontext
def rescore_command(crisis_slug: str | None, stale: bool, quiet: bool) -> None:
    """Recompute the validation scores of every report (and every source's reliability)."""
    if stale:
        total = 0
        while (batch := next_batch(math.inf, stale_limit=BATCH_MAX)).scored:
            total += batch.scored
        click.echo(f"Refreshed {total} stale or missing scores.")
        return
    crisis_id = None
    if crisis_slug:
        crisis_id = db.session.scalar(select(Crisis.id).where(Crisis.slug == crisis_slug))
        if crisis_id is None:
            raise click.ClickException(f"There is no crisis {crisis_slug}.")

    def bar(records: list) -> Iterable:
        return tqdm(records, desc="Scoring reports", unit="report", disable=quiet)

    count = rescore_all(crisis_id, bar)
    click.echo(f"Rescored {count} reports.")

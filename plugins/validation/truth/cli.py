"""`crisiswiki discover-truth --crisis SLUG`: re-run truth discovery over a crisis's claims."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from wiki.database import write_transaction
from wiki.extensions import db
from wiki.models import Crisis

from .models import ClaimSubject
from .proposals import discover_crisis


@click.command("discover-truth")
@click.option("--crisis", "slug", required=True, help="The crisis's short name.")
@with_appcontext
def discover_truth_command(slug: str) -> None:
    """Propose the most likely value of every claim subject in a crisis and re-estimate the
    reliability of its sources."""
    crisis = db.session.scalar(select(Crisis).where(Crisis.slug == slug))
    if crisis is None:
        raise click.ClickException(f"There is no crisis {slug}.")
    with write_transaction():
        run = discover_crisis(crisis)
    found = run.discovery
    state = "converged" if found.converged else "stopped without converging"
    click.echo(
        f"{run.claims} claims about {run.subjects} subjects from {len(found.reliability)} sources; "
        f"{state} after {found.iterations} iterations in {run.seconds:.2f} s."
    )
    for subject in db.session.scalars(
        select(ClaimSubject)
        .where(ClaimSubject.crisis_id == crisis.id)
        .order_by(ClaimSubject.attribute, ClaimSubject.subject_key, ClaimSubject.as_of)
    ):
        if subject.proposed is None:
            shown = "no proposal (the evidence is evenly split)" if subject.distribution else "no claims that count"
        else:
            unit = f" {subject.unit}" if subject.unit else ""
            shown = f"{subject.proposed['value']}{unit} (confidence {subject.confidence:.2f})"
        click.echo(f"  {subject.attribute} of {subject.subject} on {subject.as_of.isoformat()}: {shown}")

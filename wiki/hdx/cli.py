"""`crisiswiki publish-hdx --crisis SLUG [--url URL]`: a crisis's public reports and layers as an
HDX dataset, written to files and published to a CKAN site."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..command_policy import own_transactions
from ..errors import DomainError
from ..extensions import db
from ..models import Crisis
from .dataset import HdxOptions, build_dataset
from .publish import PublishFailed, publish


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _options(config, **given) -> HdxOptions:
    def chosen(option: str, setting: str) -> str:
        return given[option] if given[option] is not None else config[setting]

    return HdxOptions(
        organisation=chosen("organisation", "HDX_ORGANISATION"),
        name=given["name"],
        countries=tuple(given["country"]),
        license_id=chosen("license_id", "HDX_LICENSE_ID"),
        source=chosen("source", "HDX_DATASET_SOURCE"),
        maintainer=chosen("maintainer", "HDX_MAINTAINER"),
        tags=tuple(given["tag"]) or tuple(config["HDX_TAGS"]),
        private=given["private"],
    )


@own_transactions("it only reads, in plain transactions: the slow upload to the CKAN site must not hold the write lock")
@click.command("publish-hdx")
@click.option("--crisis", "crisis_slug", required=True, help="The crisis whose public reports and layers to publish.")
@click.option("--url", default=None, help="The CKAN site (default: HDX_URL), e.g. https://data.humdata.org.")
@click.option("--organisation", default=None, help="Its organisation on the site (default: HDX_ORGANISATION).")
@click.option("--name", default=None, help="The dataset's name on the site (default: <crisis>-field-reports).")
@click.option("--country", multiple=True, help="ISO3 code of a country covered (default: from the GLIDE number).")
@click.option("--tag", multiple=True, help="A tag (repeat for several; default: HDX_TAGS).")
@click.option("--license", "license_id", default=None, help="CKAN licence id (default: HDX_LICENSE_ID).")
@click.option("--source", default=None, help="dataset_source (default: HDX_DATASET_SOURCE).")
@click.option("--maintainer", default=None, help="The site's user who maintains it (default: HDX_MAINTAINER).")
@click.option("--private", is_flag=True, help="Publish as a private dataset (visible to the organisation only).")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also keep the files and dataset.json (the metadata) here; without a URL, only write them.",
)
@with_appcontext
def publish_hdx_command(crisis_slug: str, url: str | None, output_dir: Path | None, **given) -> None:
    """Publish a crisis's public reports (HXL CSV, GeoJSON) and map layers as an HDX dataset on a
    CKAN site; publishing again updates the same dataset. Only what the public may see leaves."""
    config = current_app.config
    url = url or config["HDX_URL"]
    if not url and output_dir is None:
        _fail("Give the CKAN site with --url (or set HDX_URL), or --output-dir to only write the files.")
    crisis = db.session.scalar(select(Crisis).where(Crisis.slug == crisis_slug))
    if crisis is None:
        _fail(f"There is no crisis {crisis_slug!r}; give the slug of its address (/c/<slug>).")
    if not config["BASE_URL"]:
        click.echo("Note: BASE_URL is not set, so the report links in the files point at http://localhost.", err=True)
    options = _options(config, **given)
    with tempfile.TemporaryDirectory(prefix="crisiswiki-hdx-") as scratch:
        directory = output_dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            with current_app.test_request_context("/", base_url=config["BASE_URL"] or "http://localhost"):
                dataset = build_dataset(crisis, directory, options)
            db.session.rollback()  # end the read before the upload
            (directory / "dataset.json").write_text(json.dumps(dataset.metadata, indent=2, ensure_ascii=False))
            click.echo(f"Wrote {len(dataset.files)} files for dataset {dataset.name} into {directory}.", err=True)
            if not url:
                return
            done = publish(dataset, url, config["HDX_API_TOKEN"], float(config["HDX_TIMEOUT"]))
        except (DomainError, PublishFailed) as error:
            _fail(str(error))
    verb = "Created" if done.created else "Updated"
    click.echo(
        f"{verb} dataset {done.name}: {done.url} (resources created {len(done.resources_created)}, "
        f"updated {len(done.resources_updated)}, deleted {len(done.resources_deleted)})."
    )

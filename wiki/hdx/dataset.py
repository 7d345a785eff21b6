"""A crisis as an HDX dataset: its files (the reports as HXL-tagged CSV and as GeoJSON, each map
layer as GeoJSON) and its metadata in the fields of HDX's CKAN schema (title, notes,
dataset_source, owner_org, license_id, methodology, caveats, groups = countries by ISO3 code,
tags, dataset_date). Everything is written as the anonymous viewer sees it (wiki.visibility)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_login import AnonymousUserMixin
from sqlalchemy import func, select

from ..errors import InvalidInput
from ..extensions import db
from ..maps.boundaries import boundaries_collection, boundary_summary
from ..maps.layers import list_layers
from ..models import Crisis, Report
from ..reports.exports import csv_chunks, geojson_chunks
from ..reports.queries import ReportFilters
from ..visibility import layer_visible

# HDX's own choice for data reported by people on the ground.
METHODOLOGY = "Direct Observational Data/Anecdotal Data"
UPDATE_AS_NEEDED = "-2"  # HDX's data_update_frequency "As needed"
NAME = re.compile(r"^[a-z0-9_-]{2,100}$")
ISO3 = re.compile(r"^[A-Za-z]{3}$")


@dataclass
class HdxOptions:
    """What the publisher chooses (the command's options over the HDX_* settings)."""

    organisation: str
    name: str | None = None  # default: <crisis>-field-reports
    countries: tuple[str, ...] = ()  # ISO3; default: the country of the crisis's GLIDE number
    license_id: str = "cc-by"
    source: str = ""
    maintainer: str = ""
    tags: tuple[str, ...] = ("hxl", "geodata")
    private: bool = False


@dataclass
class HdxFile:
    """One resource of the dataset: a file written to disk, with what HDX shows of it."""

    name: str
    description: str
    format: str
    path: Path


@dataclass
class HdxDataset:
    metadata: dict[str, Any]
    files: list[HdxFile] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.metadata["name"]


def public_viewer() -> AnonymousUserMixin:
    """Who an HDX dataset is written for: anyone, as a visitor who is not logged in."""
    return AnonymousUserMixin()


def dataset_name(crisis: Crisis, given: str | None) -> str:
    """The dataset's name on the CKAN site (its URL, and how a re-publication finds it)."""
    name = given if given is not None else f"{crisis.slug}-field-reports".lower()
    if not NAME.match(name):
        raise InvalidInput(
            f"The dataset name {name[:120]!r} is not 2 to 100 lowercase letters, digits, - or _; "
            "choose another with --name.",
            field="name",
        )
    return name


def country_codes(crisis: Crisis, given: tuple[str, ...]) -> list[str]:
    """The countries (ISO 3166-1 alpha-3, lowercase as HDX's group names) the dataset covers:
    those given, else the one at the end of the crisis's GLIDE number (EQ-2010-000009-HTI)."""
    codes = list(given)
    if not codes and crisis.glide:
        codes = [crisis.glide.rsplit("-", 1)[-1]]
    if not codes:
        raise InvalidInput(
            f"HDX files every dataset under its countries, and crisis {crisis.slug!r} has no GLIDE number "
            "to take one from: give --country with the ISO3 code (e.g. --country HTI).",
            field="country",
        )
    wrong = [code for code in codes if not ISO3.match(code)]
    if wrong:
        raise InvalidInput(
            f"{wrong[0][:40]!r} is not an ISO 3166-1 alpha-3 country code; give three letters, e.g. HTI.",
            field="country",
        )
    return [code.lower() for code in codes]


def _report_period(crisis: Crisis, viewer) -> tuple[date, date]:
    """The first and last day of the public reports (when they happened, else when they came),
    or the crisis's own dates when it has none."""
    when = func.coalesce(Report.occurred_at, Report.received_at)
    query = ReportFilters(crisis=crisis.slug).apply(select(func.min(when), func.max(when)).select_from(Report), viewer)
    first, last = db.session.execute(query).one()
    if first is not None and last is not None:
        return _day(first), _day(last)
    start = crisis.start_date or date.today()
    return start, crisis.end_date or max(start, date.today())


def _day(value: datetime | date | str) -> date:
    if isinstance(value, str):  # SQLite gives an aggregate of a date-time column back as text
        value = datetime.fromisoformat(value)
    return value.date() if isinstance(value, datetime) else value


def hdx_date_range(first: date, last: date) -> str:
    """HDX's dataset_date: [start TO end], to the second."""
    return f"[{first.isoformat()}T00:00:00 TO {last.isoformat()}T23:59:59]"


def caveats() -> str:
    grid = current_app.config["SENSITIVE_GRID_KM"]
    return (
        "Field reports sent by the public and by field teams (web, SMS, e-mail, ODK Collect and KoboCollect, "
        "imported files). A report's #status says whether verifiers have checked it: new and under_review "
        "reports are not verified. Reports marked sensitive (#meta+x_sensitive) are placed at the centre of a "
        f"grid cell of about {grid:g} km, without their place name or district (#meta+x_coarsened). Unpublished "
        "and withdrawn reports, photos, and who sent each report are left out."
    )


def _notes(crisis: Crisis) -> str:
    intro = crisis.description.strip()
    about = (
        f'Public field reports of the crisis "{crisis.name}" from crisiswiki: one row per report, '
        "with HXL hashtags (#description, #sector, #status, #date+occurred, #geo+lat, #geo+lon, "
        "#adm1+code ...), as CSV and as GeoJSON, the crisis's map layers as GeoJSON, and the admin "
        "boundaries the reports are placed in (P-codes and names) as GeoJSON."
    )
    if crisis.glide:
        about += f" GLIDE number: {crisis.glide}."
    return f"{intro}\n\n{about}" if intro else about


def _write(path: Path, chunks) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        for chunk in chunks:
            out.write(chunk)


def write_files(crisis: Crisis, directory: Path, viewer) -> list[HdxFile]:
    """The dataset's files, written into `directory` as `viewer` sees the crisis."""
    filters = ReportFilters(crisis=crisis.slug)
    files = [
        HdxFile(
            f"{crisis.slug}-reports.csv",
            "Field reports as CSV with an HXL hashtag row (one row per report).",
            "CSV",
            directory / f"{crisis.slug}-reports.csv",
        ),
        HdxFile(
            f"{crisis.slug}-reports.geojson",
            "Field reports as a GeoJSON FeatureCollection (WGS 84).",
            "GeoJSON",
            directory / f"{crisis.slug}-reports.geojson",
        ),
    ]
    _write(files[0].path, csv_chunks(filters, viewer))
    _write(files[1].path, geojson_chunks(filters, viewer))
    for layer in list_layers(crisis):
        revision = layer.current_revision
        if revision is None or not layer_visible(layer, viewer):
            continue
        name = f"{crisis.slug}-layer-{layer.id}.geojson"
        description = f"Map layer: {revision.title}." + (f" {revision.description}" if revision.description else "")
        files.append(HdxFile(name, description, "GeoJSON", directory / name))
        files[-1].path.write_text(revision.geojson, encoding="utf-8")
    for level in sorted(boundary_summary(crisis)):
        name = f"{crisis.slug}-adm{level}.geojson"
        description = (
            f"Admin level {level} boundaries the reports' #adm{level} codes refer to: P-code, name and "
            "parent, as imported into the crisis (WGS 84)."
        )
        files.append(HdxFile(name, description, "GeoJSON", directory / name))
        collection = boundaries_collection(crisis, level)
        files[-1].path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return files


def build_dataset(crisis: Crisis, directory: Path, options: HdxOptions) -> HdxDataset:
    """The crisis's HDX dataset: its files written into `directory`, and its metadata."""
    if not options.organisation:
        raise InvalidInput(
            "HDX needs the organisation that publishes the dataset: set HDX_ORGANISATION "
            "(CRISISWIKI_HDX_ORGANISATION) or give --organisation with its name on the CKAN site.",
            field="organisation",
        )
    viewer = public_viewer()
    name = dataset_name(crisis, options.name)
    countries = country_codes(crisis, options.countries)
    first, last = _report_period(crisis, viewer)
    metadata: dict[str, Any] = {
        "name": name,
        "title": f"{crisis.name}: field reports",
        "notes": _notes(crisis),
        "dataset_source": options.source or "crisiswiki field reports",
        "owner_org": options.organisation,
        "license_id": options.license_id,
        "methodology": METHODOLOGY,
        "caveats": caveats(),
        "groups": [{"name": code} for code in countries],
        "tags": [{"name": tag} for tag in options.tags],
        "dataset_date": hdx_date_range(first, last),
        "data_update_frequency": UPDATE_AS_NEEDED,
        "subnational": "1",
        "private": options.private,
    }
    if options.maintainer:
        metadata["maintainer"] = options.maintainer
    return HdxDataset(metadata, write_files(crisis, directory, viewer))

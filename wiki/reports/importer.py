"""Importing field reports in bulk from a CSV, spreadsheet or GeoJSON file (the command line, the
coordinators' upload page and the background import job call the same `import_reports`).

Every row goes through the validation a report sent to the API goes through
(`report_input_from_feature`, channel "import"), with the cells read as people fill them in
(wiki.reports.import_values: day-first dates, several categories in a cell, "lat, lon" in one
cell). Failures are counted by kind with their first rows (wiki.reports.import_failures) and
the rejected rows can be written to a file with a reason column. Unless the caller asks to
import the good rows (`partial`), a file with any failing row imports nothing: every row is
checked before the first is stored. A row without coordinates is placed by its admin area
(P-code or name) or place name through the crisis's gazetteer, or filed with its location
unknown; a row without a title gets one from its description (or its sector and place). A row
that names a crisiswiki report (`report_id`: the #meta+id of the crisis's own export) updates
that report's fields instead of adding one. Rows are written in batches, one transaction and one
commit per batch, never one commit per row: 100,000 rows take seconds and memory stays flat,
and a run that stops half-way keeps its finished batches. A row with an identifier is stored
under the client id "import:<crisis>:<id>", so importing a file again (or finishing a run
that crashed) stores each report once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .. import metrics, plugins
from ..database import write_transaction
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..models import Crisis, Report, Source, User
from ..models.base import utcnow
from ..models.reports import SECTORS, STATUSES
from ..places import resolve_place
from ..visibility import public_radius
from .import_failures import FailureGroups, RejectedRows
from .import_files import Row, Table, UnreadableFile
from .import_values import DateReader, day_first_evidence, read_lat_lon, read_sector, time_zone
from .input import SourceInput, report_input_from_feature
from .sources import contact_hash, find_or_create_source

BATCH_SIZE = 1000
LISTED_FAILURES = 1000  # the upload page lists this many failures and counts the rest
MAX_ID_LENGTH = 200  # Report.client_id
DATE_SCAN_ROWS = 200_000  # rows read to infer the day/month order of a file's dates
TITLE_LENGTH = 80  # a title made from a description
# Where a row without coordinates is looked for in the gazetteer, most precise first.
PLACE_FIELDS = ("adm2_pcode", "adm1_pcode", "place_name", "adm2_name", "adm1_name")
EDITABLE_BY_IMPORT = ("title", "description", "sector", "status", "occurred_at", "place_name", "sensitive")
_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


@dataclass(frozen=True)
class Failure:
    line: int  # CSV: physical line in the file (header = 1); GeoJSON: the feature's index
    field: str
    reason: str


@dataclass
class ImportOptions:
    """How to read the file: the day/month order of its dates ("auto": from the file), the time
    zone of times written without one, whether to import the good rows when some fail, where
    to write the rejected rows (CSV with a reason column)."""

    day_first: str = "auto"
    timezone: str = "UTC"
    partial: bool = False
    rejected_path: Path | None = None


@dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0  # reports of the crisis a row named (report_id) whose fields changed
    unchanged: int = 0  # rows naming a report that already had their values
    already_imported: int = 0  # rows whose id was imported before
    failed: int = 0
    held_back: int = 0  # good rows not imported because others failed (and partial was not asked)
    failures: list[Failure] = field(default_factory=list)  # the first ones, up to the listing limit
    groups: FailureGroups = field(default_factory=FailureGroups)  # failures counted by kind
    notes: FailureGroups = field(default_factory=FailureGroups)  # rows imported with a remark
    error: str | None = None  # the file could not be read to its end (the rows before it count)
    day_first: str = "auto"  # the order the dates were read in
    rejected_rows: int = 0  # rows written to the rejected-rows file

    @property
    def unlisted_failures(self) -> int:
        return self.failed - len(self.failures)

    @property
    def succeeded(self) -> bool:
        """Something was imported or updated, or everything had been imported already."""
        if self.error is not None:
            return False
        if self.imported > 0 or self.updated > 0:
            return True
        return (self.already_imported > 0 or self.unchanged > 0) and self.failed == 0


@dataclass
class _Valid:
    """A row that passed validation: the report's column values, waiting for its batch."""

    line: int
    values: dict[str, Any]
    source: SourceInput


def check_mapping(table: Table, mapping: Mapping[str, int]) -> None:
    """A report needs a title or something to make one from (a description); its place may come
    from coordinates, a place or admin area, or be unknown."""
    if not {"title", "description", "report_id"} & mapping.keys():
        raise InvalidInput(_("Say which column holds the title or the description."), field="title")
    if ("lat" in mapping) != ("lon" in mapping):
        missing = "lon" if "lat" in mapping else "lat"
        raise InvalidInput(_("Say which column holds the %(field)s.", field=missing), field=missing)
    for name, index in mapping.items():
        if not 0 <= index < len(table.columns):
            raise InvalidInput(_("The file has no column number %(n)d.", n=index + 1), field=name)


def import_reports(
    table: Table,
    crisis: Crisis,
    mapping: Mapping[str, int],
    *,
    filename: str,
    organisation: str = "",
    user: User | None = None,
    progress: Callable[[Iterator[Row]], Iterable[Row]] | None = None,
    batch_size: int = BATCH_SIZE,
    listed_failures: int | None = LISTED_FAILURES,
    options: ImportOptions | None = None,
) -> ImportResult:
    """Import the rows of `table` into `crisis`, with `mapping` (field -> column index).

    Rows without a source of their own share one source per import, named after the file
    (with `organisation`); rows with a contact get that contact's source, as submissions do.
    `progress` may wrap the row iterator (the command line's progress bar; with all-or-nothing
    imports it wraps the storing pass). After the last batch, plugins hear of each batch through
    the `reports_imported` hook."""
    options = options or ImportOptions()
    check_mapping(table, mapping)
    organisation = organisation.strip()
    if len(organisation) > 200:
        raise InvalidInput(_("The organisation is longer than 200 characters."), field="organisation")
    dates = DateReader(_day_first(table, mapping, options.day_first), time_zone(options.timezone))
    if not options.partial:
        check = _ImportRun(table, crisis, dict(mapping), filename, organisation, user, batch_size, listed_failures)
        check.dates = dates
        result = check.run(table.rows(), store=False, rejected=options.rejected_path)
        if result.failed or result.error:
            result.held_back, result.imported = result.imported, 0
            result.updated = result.unchanged = 0
            return result
    run = _ImportRun(table, crisis, dict(mapping), filename, organisation, user, batch_size, listed_failures)
    run.dates = dates
    rows: Iterable[Row] = table.rows()
    if progress is not None:
        rows = progress(rows)  # type: ignore[arg-type]
    return run.run(rows, rejected=options.rejected_path if options.partial else None)


def _day_first(table: Table, mapping: Mapping[str, int], chosen: str) -> str:
    """The day/month order to read the file's dates in: the one chosen, or the one its dates
    show (a 13/11/2026 anywhere in the date columns makes the file day-first)."""
    if chosen in ("day", "month"):
        return chosen
    if chosen != "auto":
        raise InvalidInput(_("Choose day-first, month-first or auto for the dates."), field="day_first")
    columns = [mapping[name] for name in ("occurred_at", "received_at") if name in mapping]
    if not columns or table.kind == "geojson":
        return "auto"
    stream = table.rows()
    try:
        for count, row in enumerate(stream):
            found = day_first_evidence(row.cells[index] for index in columns)
            if found is not None or count >= DATE_SCAN_ROWS:
                return found or "auto"
    except UnreadableFile:
        return "auto"  # the import itself says where the file breaks
    finally:
        stream.close()
    return "auto"


class _ImportRun:
    def __init__(
        self,
        table: Table,
        crisis: Crisis,
        mapping: dict[str, int],
        filename: str,
        organisation: str,
        user: User | None,
        batch_size: int,
        listed_failures: int | None,
    ) -> None:
        self.table = table
        self.kind = table.kind
        self.crisis = crisis
        self.crisis_id = crisis.id
        self.prefix = f"import:{crisis.slug}:"
        self.mapping = mapping
        self.organisation = organisation
        self.user = user
        self.user_id = user.id if user is not None else None
        self.batch_size = batch_size
        self.listed_failures = listed_failures
        self.published = current_app.config["REPORTS_PUBLISH"] == "on_submit"
        self.sources = _Sources(f"import: {filename}"[:120])
        self.seen: dict[str, int] = {}  # client id -> line, to catch an id used twice in one file
        self.batches: list[list[int]] = []
        self.result = ImportResult()
        self.dates = DateReader()
        self.places: dict[str, Any] = {}  # what the gazetteer said of each name (names repeat)
        self.rejected: RejectedRows | None = None
        self.consumed = 0  # rows handled (checked, stored or queued for their batch)
        self.pending: list[_Valid] = []
        self.updates: list[tuple[int, int, dict[str, Any]]] = []
        # Called inside each batch's write transaction with (ids stored, rows already there):
        # a background import records how far it has got in the same commit (wiki.reports.import_jobs).
        self.checkpoint: Callable[[list[int], int], None] | None = None

    def run(self, rows: Iterable[Row], store: bool = True, rejected: Path | None = None) -> ImportResult:
        self.open_rejected(rejected)
        try:
            for row in rows:
                self.consume(row, store)
        except UnreadableFile as exc:
            self.result.error = exc.message  # the good rows read before it are still stored
        finally:
            self.close_rejected()
        self.flush()
        self.announce()
        return self.result

    def open_rejected(self, path: Path | None, offset: int | None = None) -> None:
        self.result.day_first = self.dates.day_first
        if path is not None:
            self.rejected = RejectedRows(path, self.table.columns, offset)

    def close_rejected(self) -> None:
        if self.rejected is not None:
            self.result.rejected_rows += self.rejected.close()

    def consume(self, row: Row, store: bool = True) -> None:
        """Check one row; with `store`, queue it for its batch (stored when the batch is full)."""
        self.consumed += 1
        try:
            valid = self.validate(row)
        except DomainError as exc:
            self.fail(row, exc)
            return
        if isinstance(valid, tuple):
            if not store:
                self.result.updated += 1
                return
            self.updates.append(valid)
            if len(self.updates) >= self.batch_size:
                self.update(self.updates)
                self.updates = []
            return
        if not store:
            self.result.imported += 1
            return
        self.pending.append(valid)
        if len(self.pending) >= self.batch_size:
            self.store(self.pending)
            self.pending = []

    def flush(self) -> None:
        """Store what waits for a full batch."""
        if self.pending:
            self.store(self.pending)
            self.pending = []
        if self.updates:
            self.update(self.updates)
            self.updates = []

    def announce(self) -> None:
        """Tell plugins of the batches stored (after their commits), once."""
        for report_ids in self.batches:
            metrics.inc("reports_received", len(report_ids), channel="import")
            plugins.call("reports_imported", crisis=self.crisis, report_ids=report_ids)
        self.batches = []

    def fail(self, row: Row, exc: DomainError) -> None:
        self.result.failed += 1
        field_name = exc.field or ""
        if self.listed_failures is None or len(self.result.failures) < self.listed_failures:
            self.result.failures.append(Failure(row.line, field_name, exc.message))
        self.result.groups.add(exc.extra.get("group") or exc.message, field_name, exc.message, row.line)
        if self.rejected is not None:
            self.rejected.write(row, exc.message)

    def note(self, kind: str, field_name: str, message: str, line: int) -> None:
        self.result.notes.add(kind, field_name, message, line)

    def cell(self, row: Row, name: str) -> Any:
        index = self.mapping.get(name)
        if index is None:
            return None
        value = row.cells[index]
        if isinstance(value, str):
            value = value.strip()
            return value or None
        if isinstance(value, float) and math.isnan(value):
            return None
        return value

    def text_cell(self, row: Row, name: str) -> str | None:
        """A cell as text: spreadsheets give numbers for numeric ids and P-codes (12.0 -> "12")."""
        value = self.cell(row, name)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def validate(self, row: Row) -> _Valid | tuple[int, int, dict[str, Any]]:
        """The row as a GeoJSON Feature through the API's validation, plus what only imports carry
        (or, for a row naming a report of the crisis, the changes to make to it)."""
        if row.problem is not None:
            raise row.problem
        if "report_id" in self.mapping and self.cell(row, "report_id") is not None:
            return self.changes(row)
        cell, text = self.cell, self.text_cell
        client_id = self.client_id(cell(row, "id"), row.line)
        source = {
            "name": text(row, "source_name"),
            "contact": text(row, "source_contact"),
            "organisation": text(row, "source_organisation") or self.organisation or None,
        }
        sector, unknown = read_sector(cell(row, "sector"))
        if unknown is not None:
            self.note(
                "sector_other",
                "sector",
                _("category %(value)r names no cluster: filed under Other.", value=unknown[:80]),
                row.line,
            )
        occurred_at = self.dates.read(cell(row, "occurred_at"), "occurred_at")
        properties: dict[str, Any] = {
            "title": text(row, "title") or self.made_title(row, sector),
            "description": text(row, "description"),
            "place_name": text(row, "place_name"),
            "sector": sector,
            "sensitive": _flag(cell(row, "sensitive")),
            "source": {key: value for key, value in source.items() if value is not None},
        }
        geometry = self.geometry(row)
        feature = {"type": "Feature", "geometry": geometry, "properties": properties}
        given = report_input_from_feature(feature, default_channel="import", client_id=client_id)
        given.occurred_at = occurred_at
        location = self.location(row) if given.lon is None else None
        now = utcnow()
        values = {
            "crisis_id": self.crisis_id,
            "title": given.title,
            "description": given.description,
            "lon": given.lon if location is None else location.lon,
            "lat": given.lat if location is None else location.lat,
            "location_kind": "point" if given.lon is not None else (location.kind if location else "unknown"),
            "location_radius_m": location.radius_m if location else None,
            "location_ref": location.ref if location else None,
            "public_radius_m": public_radius(location.radius_m if location else None, given.sensitive),
            "place_name": given.place_name or (location.name if location else ""),
            "occurred_at": occurred_at,
            "received_at": self.dates.read(cell(row, "received_at"), "received_at") or now,
            "updated_at": now,
            "sector": given.sector,
            "status": parse_status(cell(row, "status")),
            "published": self.published,
            "sensitive": given.sensitive,
            "channel": "import",
            "submitted_by_id": self.user_id,
            "duplicate_of_id": None,
            "client_id": given.client_id,
            "payload_hash": given.fingerprint() if given.client_id else None,
            "adm1_pcode": _code(text(row, "adm1_pcode"), "adm1_pcode", 40),
            "adm1_name": _code(text(row, "adm1_name"), "adm1_name", 200),
            "adm2_pcode": _code(text(row, "adm2_pcode"), "adm2_pcode", 40),
            "adm2_name": _code(text(row, "adm2_name"), "adm2_name", 200),
        }
        if client_id is not None:
            self.seen[client_id] = row.line
        return _Valid(row.line, values, given.source)

    def made_title(self, row: Row, sector: str) -> str | None:
        """A title for a row without one: its description's first line (cut at a word), else its
        sector and place ("Health: Ouest"), else nothing (the row then fails for want of a title)."""
        description = self.text_cell(row, "description") or ""
        first = description.strip().splitlines()[0].strip() if description.strip() else ""
        if first:
            if len(first) <= TITLE_LENGTH:
                return first
            cut = first[: TITLE_LENGTH - 1].rsplit(" ", 1)[0]
            return cut + "…"
        place = next((self.text_cell(row, name) for name in PLACE_FIELDS if self.text_cell(row, name)), None)
        if place and "sector" in self.mapping:
            return f"{_(SECTORS[sector])}: {place}"[:200]
        return None

    def location(self, row: Row):
        """Where a row without coordinates is: the first of its admin areas (P-codes, names) or
        place name the crisis's gazetteer knows, or None (filed with its location unknown)."""
        from .location import at_place

        asked = [(name, self.text_cell(row, name)) for name in PLACE_FIELDS]
        asked = [(name, value) for name, value in asked if value]
        if not asked:
            return None
        for _name, value in asked:
            if value not in self.places:
                self.places[value] = resolve_place(value, self.crisis)
            found = self.places[value]
            if found.place is not None:
                return at_place(found.place)
        name, value = asked[0]
        self.note(
            "place_unknown",
            name,
            _("the crisis's gazetteer does not know %(place)r: filed with its location unknown.", place=value),
            row.line,
        )
        return None

    def changes(self, row: Row) -> tuple[int, int, dict[str, Any]]:
        """(line, report id, new values) for a row of the crisis's own export."""
        raw = self.text_cell(row, "report_id") or ""
        report_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
        report = db.session.get(Report, report_id) if report_id is not None else None
        if report is None or report.crisis_id != self.crisis_id:
            raise InvalidInput(
                _("There is no report %(id)s in this crisis to update.", id=raw), field="report_id", group="report_id"
            )
        values: dict[str, Any] = {}
        given = {name: self.text_cell(row, name) for name in EDITABLE_BY_IMPORT if name in self.mapping}
        if "title" in given:
            values["title"] = given["title"] or report.title
        if "description" in given:
            values["description"] = given["description"] or ""
        if "place_name" in given and _flag(self.cell(row, "coarsened")) is False:
            values["place_name"] = given["place_name"] or ""  # the export hides a coarsened report's place
        if "sector" in given:
            values["sector"] = read_sector(given["sector"])[0]
        if "status" in given:
            status = parse_status(given["status"])
            if status != "duplicate" or report.duplicate_of_id is not None:
                values["status"] = status
        if "occurred_at" in given:
            values["occurred_at"] = self.dates.read(given["occurred_at"], "occurred_at")
        if "sensitive" in given:
            values["sensitive"] = _flag(given["sensitive"])
        if {"lat", "lon"} <= self.mapping.keys() and _flag(self.cell(row, "coarsened")) is False:
            lat, lon = self.cell(row, "lat"), self.cell(row, "lon")
            if lat is not None and lon is not None:
                lon_value, lat_value = _degrees(lon, "lon"), _degrees(lat, "lat")
                if report.lon is None or abs(report.lon - lon_value) > 1e-9 or abs(report.lat - lat_value) > 1e-9:
                    values.update(lon=lon_value, lat=lat_value, location_kind="point")
                    values.update(location_radius_m=None, location_ref=None)
        # Compared here, so that a re-import of an unchanged export writes nothing.
        if "title" in values:
            values["title"] = values["title"][:200]
        changed = {name: value for name, value in values.items() if _differs(getattr(report, name), value)}
        db.session.expunge(report)
        return row.line, report.id, changed

    def update(self, updates: list[tuple[int, int, dict[str, Any]]]) -> None:
        """Apply the changes rows make to reports of the crisis: each change in the report's
        history, as an edit on the report page would record it (never publishing a withdrawn one)."""
        from .triage import _lock, apply_changes

        for _line, report_id, values in updates:
            if not values:
                self.result.unchanged += 1
                continue
            with write_transaction():
                report = _lock(db.session.get(Report, report_id))
                apply_changes(report, values, self.user, comment=_("import"))
            self.result.updated += 1

    def client_id(self, value: Any, line: int) -> str | None:
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidInput(_("id must be text or a whole number."), field="id")
        client_id = self.prefix + str(value).strip()
        if len(client_id) > MAX_ID_LENGTH:
            raise InvalidInput(_("id is longer than %(n)d characters.", n=MAX_ID_LENGTH - len(self.prefix)), field="id")
        first = self.seen.get(client_id)
        if first is not None:
            where = _("feature %(n)d", n=first) if self.kind == "geojson" else _("line %(n)d", n=first)
            raise InvalidInput(
                _("The id %(id)s is used twice in this file (first on %(where)s).", id=value, where=where),
                field="id",
                group="id_twice",
            )
        return client_id

    def geometry(self, row: Row) -> Any:
        """A Point from the latitude and longitude columns (or, where they are empty, one "lat, lon"
        column such as Kobo's _geolocation), or else the feature's own geometry."""
        lat, lon = self.cell(row, "lat"), self.cell(row, "lon")
        if lat is None and lon is None and "geolocation" in self.mapping:
            pair = read_lat_lon(self.cell(row, "geolocation"))
            return None if pair is None else {"type": "Point", "coordinates": [pair[1], pair[0]]}
        if "lat" not in self.mapping and "lon" not in self.mapping:
            return row.geometry
        if lat is None and lon is None:
            return None  # placed by its area or place, or filed with its location unknown
        if lat is None or lon is None:
            raise InvalidInput(
                _("Give both latitude and longitude."), field="lat" if lat is None else "lon", group="half_point"
            )
        return {"type": "Point", "coordinates": [_degrees(lon, "lon"), _degrees(lat, "lat")]}

    def store(self, batch: list[_Valid]) -> None:
        if self.checkpoint is not None and self.updates:
            # The rows before this batch's last are committed with it: their updates too.
            self.update(self.updates)
            self.updates = []
        for attempt in range(3):
            try:
                with write_transaction():
                    report_ids, skipped = self.insert(batch)
                    if self.checkpoint is not None:
                        self.checkpoint(report_ids, skipped)
                break
            except IntegrityError:
                # Someone imported the same ids (or created the same source) at this moment;
                # the batch was rolled back, so look again at what now exists.
                self.sources.forget()
                if attempt == 2:
                    raise
        self.result.imported += len(report_ids)
        self.result.already_imported += skipped
        if report_ids:
            self.batches.append(report_ids)

    def insert(self, batch: list[_Valid]) -> tuple[list[int], int]:
        keys = [item.values["client_id"] for item in batch if item.values["client_id"]]
        existing = (
            set(db.session.scalars(select(Report.client_id).where(Report.client_id.in_(keys)))) if keys else set()
        )
        fresh = [item for item in batch if item.values["client_id"] not in existing]
        if not fresh:
            return [], len(batch)
        source_ids = self.sources.ids_for([item.source for item in fresh])
        rows = [{**item.values, "source_id": source_id} for item, source_id in zip(fresh, source_ids, strict=True)]
        table = Report.__table__
        # Multi-row INSERT ... RETURNING ("insertmanyvalues"); the ids are for the hook, whose
        # order does not matter (asking for row order makes SQLite insert row by row).
        report_ids = sorted(db.session.scalars(insert(table).returning(table.c.id), rows))
        plugins.call("reports_before_commit", crisis=self.crisis, report_ids=report_ids)
        return report_ids, len(batch) - len(fresh)


class _Sources:
    """Source ids for a run's rows, remembered so each source is looked up once per import."""

    def __init__(self, shared_name: str) -> None:
        self.shared_name = shared_name
        self.by_contact: dict[str, int] = {}
        self.by_name: dict[tuple[str, str], int] = {}

    def forget(self) -> None:
        self.by_contact.clear()
        self.by_name.clear()

    def ids_for(self, given: list[SourceInput]) -> list[int]:
        digests = [contact_hash(source.contact) if source.contact else None for source in given]
        wanted: dict[str, str] = {}
        for digest, source in zip(digests, given, strict=True):
            if digest is not None and digest not in self.by_contact and not wanted.get(digest):
                wanted[digest] = source.name  # the first name given for the contact in this batch
        self._prefetch(wanted)
        picked: list[int | Source] = []
        new_by_contact: dict[str, Source] = {}
        new_by_name: dict[tuple[str, str], Source] = {}
        for digest, source in zip(digests, given, strict=True):
            if digest is not None:
                known = self.by_contact.get(digest) or new_by_contact.get(digest)
                if known is None:
                    known = new_by_contact[digest] = find_or_create_source(source, None)
                picked.append(known)
                continue
            # Without a contact: one source per name (and organisation) in this import; rows
            # without a name share the import's own source, named after the file.
            key = (source.name or self.shared_name, source.organisation)
            named = self.by_name.get(key) or new_by_name.get(key)
            if named is None:
                named = new_by_name[key] = find_or_create_source(
                    SourceInput(name=key[0], organisation=key[1], channel=source.channel), None
                )
            picked.append(named)
        db.session.flush()  # gives the new sources their ids
        self.by_contact.update({digest: source.id for digest, source in new_by_contact.items()})
        self.by_name.update({key: source.id for key, source in new_by_name.items()})
        return [item if isinstance(item, int) else item.id for item in picked]

    def _prefetch(self, wanted: dict[str, str]) -> None:
        """Known contacts of a whole batch in one query, rather than one query per row."""
        if not wanted:
            return
        for source in db.session.scalars(select(Source).where(Source.contact_hash.in_(list(wanted)))):
            name = wanted[source.contact_hash]
            if name and not source.name:
                source.name = name  # as find_or_create_source does for a returning contact
            self.by_contact[source.contact_hash] = source.id


def parse_status(value: Any) -> str:
    if value is None:
        return "new"
    if not isinstance(value, str):
        raise InvalidInput(_("status must be text."), field="status")
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    if key not in STATUSES:
        raise InvalidInput(
            _("Unknown status %(value)r; use one of: %(list)s.", value=value, list=", ".join(STATUSES)),
            field="status",
            group="status",
        )
    return key


def _degrees(value: Any, name: str) -> float:
    """A coordinate cell as a number; a decimal comma is fine (semicolon CSVs use it)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            return float(text)
        except ValueError:
            pass
    label = _("latitude") if name == "lat" else _("longitude")
    raise InvalidInput(
        _("%(field)s %(value)r is not a number in decimal degrees.", field=label, value=value),
        field=name,
        group=f"{name}_not_a_number",
    )


def _differs(current: Any, new: Any) -> bool:
    if current is None and new in ("", None):
        return False
    if isinstance(current, datetime) and isinstance(new, datetime):
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)  # SQLite gives back naive UTC
        return current.replace(microsecond=0) != new.replace(microsecond=0)  # exports are to the second
    return current != new


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(
        _("sensitive must be true or false, not %(value)r.", value=value), field="sensitive", group="sensitive"
    )


def _code(value: Any, name: str, limit: int) -> str | None:
    """A P-code or area name, always as text (P-codes keep their leading zeros)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInput(_("%(field)s must be text.", field=name), field=name)
    text = str(value).strip()
    if len(text) > limit:
        raise InvalidInput(_("%(field)s is longer than %(n)d characters.", field=name, n=limit), field=name)
    return text or None

"""Importing field reports in bulk from a CSV or GeoJSON file (the command line and the
coordinators' upload page call the same `import_reports`).

Every row goes through the validation a report sent to the API goes through
(`report_input_from_feature`, channel "import"); a row that fails is listed with its line and
the reason, the others are stored. Rows are written in batches, one transaction and one
commit per batch, never one commit per row: 100,000 rows take seconds and memory stays flat,
and a run that stops half-way keeps its finished batches. A row with an identifier is stored
under the client id "import:<crisis>:<id>", so importing a file again (or finishing a run
that crashed) stores each report once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
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
from ..models.reports import STATUSES
from .import_files import Row, Table, UnreadableFile
from .input import SourceInput, parse_datetime, report_input_from_feature
from .sources import contact_hash, find_or_create_source

BATCH_SIZE = 1000
LISTED_FAILURES = 1000  # the upload page lists this many failures and counts the rest
MAX_ID_LENGTH = 200  # Report.client_id
_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


@dataclass(frozen=True)
class Failure:
    line: int  # CSV: physical line in the file (header = 1); GeoJSON: the feature's index
    field: str
    reason: str


@dataclass
class ImportResult:
    imported: int = 0
    already_imported: int = 0  # rows whose id was imported before
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)  # the first ones, up to the listing limit
    error: str | None = None  # the file could not be read to its end (the rows before it count)

    @property
    def unlisted_failures(self) -> int:
        return self.failed - len(self.failures)

    @property
    def succeeded(self) -> bool:
        """Something was imported, or everything had been imported already."""
        if self.error is not None:
            return False
        return self.imported > 0 or (self.already_imported > 0 and self.failed == 0)


@dataclass
class _Valid:
    """A row that passed validation: the report's column values, waiting for its batch."""

    line: int
    values: dict[str, Any]
    source: SourceInput


def required_fields(table: Table) -> tuple[str, ...]:
    # GeoJSON features carry their location in the geometry.
    return ("title",) if table.kind == "geojson" else ("title", "lat", "lon")


def check_mapping(table: Table, mapping: Mapping[str, int]) -> None:
    for name in required_fields(table):
        if name not in mapping:
            raise InvalidInput(_("Say which column holds the %(field)s.", field=name), field=name)
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
) -> ImportResult:
    """Import the rows of `table` into `crisis`, with `mapping` (field -> column index).

    Rows without a source of their own share one source per import, named after the file
    (with `organisation`); rows with a contact get that contact's source, as submissions do.
    `progress` may wrap the row iterator (the command line's progress bar). After the last
    batch, plugins hear of each batch through the `reports_imported` hook."""
    check_mapping(table, mapping)
    organisation = organisation.strip()
    if len(organisation) > 200:
        raise InvalidInput(_("The organisation is longer than 200 characters."), field="organisation")
    run = _ImportRun(table, crisis, dict(mapping), filename, organisation, user, batch_size, listed_failures)
    rows: Iterable[Row] = table.rows()
    if progress is not None:
        rows = progress(rows)  # type: ignore[arg-type]
    return run.run(rows)


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
        self.kind = table.kind
        self.crisis = crisis
        self.crisis_id = crisis.id
        self.prefix = f"import:{crisis.slug}:"
        self.mapping = mapping
        self.organisation = organisation
        self.user_id = user.id if user is not None else None
        self.batch_size = batch_size
        self.listed_failures = listed_failures
        self.published = current_app.config["REPORTS_PUBLISH"] == "on_submit"
        self.sources = _Sources(f"import: {filename}"[:120])
        self.seen: dict[str, int] = {}  # client id -> line, to catch an id used twice in one file
        self.batches: list[list[int]] = []
        self.result = ImportResult()

    def run(self, rows: Iterable[Row]) -> ImportResult:
        pending: list[_Valid] = []
        try:
            for row in rows:
                try:
                    valid = self.validate(row)
                except DomainError as exc:
                    self.fail(row.line, exc.field or "", exc.message)
                    continue
                pending.append(valid)
                if len(pending) >= self.batch_size:
                    self.store(pending)
                    pending = []
        except UnreadableFile as exc:
            self.result.error = exc.message  # the good rows read before it are still stored
        if pending:
            self.store(pending)
        for report_ids in self.batches:
            metrics.inc("reports_received", len(report_ids), channel="import")
            plugins.call("reports_imported", crisis=self.crisis, report_ids=report_ids)
        return self.result

    def fail(self, line: int, field_name: str, reason: str) -> None:
        self.result.failed += 1
        if self.listed_failures is None or len(self.result.failures) < self.listed_failures:
            self.result.failures.append(Failure(line, field_name, reason))

    def cell(self, row: Row, name: str) -> Any:
        index = self.mapping.get(name)
        if index is None:
            return None
        value = row.cells[index]
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def validate(self, row: Row) -> _Valid:
        """The row as a GeoJSON Feature through the API's validation, plus what only imports carry."""
        if row.problem is not None:
            raise row.problem
        cell = self.cell
        client_id = self.client_id(cell(row, "id"), row.line)
        source = {
            "name": cell(row, "source_name"),
            "contact": cell(row, "source_contact"),
            "organisation": cell(row, "source_organisation") or self.organisation or None,
        }
        properties: dict[str, Any] = {
            "title": cell(row, "title"),
            "description": cell(row, "description"),
            "place_name": cell(row, "place_name"),
            "occurred_at": cell(row, "occurred_at"),
            "sector": cell(row, "sector"),
            "sensitive": _flag(cell(row, "sensitive")),
            "source": {key: value for key, value in source.items() if value is not None},
        }
        feature = {"type": "Feature", "geometry": self.geometry(row), "properties": properties}
        given = report_input_from_feature(feature, default_channel="import", client_id=client_id)
        now = utcnow()
        values = {
            "crisis_id": self.crisis_id,
            "title": given.title,
            "description": given.description,
            "lon": given.lon,
            "lat": given.lat,
            "location_kind": "point" if given.lon is not None else "unknown",
            "place_name": given.place_name,
            "occurred_at": given.occurred_at,
            "received_at": parse_datetime(cell(row, "received_at"), "received_at") or now,
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
            "adm1_pcode": _code(cell(row, "adm1_pcode"), "adm1_pcode", 40),
            "adm1_name": _code(cell(row, "adm1_name"), "adm1_name", 200),
            "adm2_pcode": _code(cell(row, "adm2_pcode"), "adm2_pcode", 40),
            "adm2_name": _code(cell(row, "adm2_name"), "adm2_name", 200),
        }
        if client_id is not None:
            self.seen[client_id] = row.line
        return _Valid(row.line, values, given.source)

    def client_id(self, value: Any, line: int) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidInput(_("id must be text or a whole number."), field="id")
        client_id = self.prefix + str(value).strip()
        if len(client_id) > MAX_ID_LENGTH:
            raise InvalidInput(_("id is longer than %(n)d characters.", n=MAX_ID_LENGTH - len(self.prefix)), field="id")
        first = self.seen.get(client_id)
        if first is not None:
            where = _("feature %(n)d", n=first) if self.kind == "geojson" else _("line %(n)d", n=first)
            raise InvalidInput(
                _("The id %(id)s is used twice in this file (first on %(where)s).", id=value, where=where), field="id"
            )
        return client_id

    def geometry(self, row: Row) -> Any:
        """A Point from the latitude and longitude columns, or else the feature's own geometry."""
        if "lat" not in self.mapping and "lon" not in self.mapping:
            return row.geometry
        lat, lon = self.cell(row, "lat"), self.cell(row, "lon")
        if lat is None and lon is None:
            return None  # the validation's own "a report needs a location"
        if lat is None or lon is None:
            raise InvalidInput(_("Give both latitude and longitude."), field="lat" if lat is None else "lon")
        return {"type": "Point", "coordinates": [_degrees(lon, "lon"), _degrees(lat, "lat")]}

    def store(self, batch: list[_Valid]) -> None:
        for attempt in range(3):
            try:
                with write_transaction():
                    report_ids, skipped = self.insert(batch)
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
            _("Unknown status %(value)r; use one of: %(list)s.", value=value, list=", ".join(STATUSES)), field="status"
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
        _("%(field)s %(value)r is not a number in decimal degrees.", field=label, value=value), field=name
    )


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(_("sensitive must be true or false, not %(value)r.", value=value), field="sensitive")


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

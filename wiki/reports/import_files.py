"""Reading files of field reports for import, and guessing which column holds which field.

Two kinds of file: CSV (UTF-8, an optional byte-order mark, comma, semicolon or tab between
cells, an optional HXL hashtag row under the header) and GeoJSON (a FeatureCollection). Both
are read as a stream of rows, so a 100,000-row file never sits in memory whole; each row keeps
the line number a person would look for in the file (for GeoJSON: the feature's index).
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from ..errors import BadRequest, InvalidInput

# The fields a row can fill, in the order the mapping form shows them.
FIELDS: dict[str, Any] = {
    "title": lazy_gettext("Title"),
    "description": lazy_gettext("Description"),
    "lat": lazy_gettext("Latitude"),
    "lon": lazy_gettext("Longitude"),
    "occurred_at": lazy_gettext("When it happened"),
    "received_at": lazy_gettext("When it was reported"),
    "place_name": lazy_gettext("Place name"),
    "sector": lazy_gettext("Sector"),
    "status": lazy_gettext("Status"),
    "sensitive": lazy_gettext("Sensitive"),
    "id": lazy_gettext("Identifier (makes re-imports safe)"),
    "adm1_pcode": lazy_gettext("Admin 1 P-code"),
    "adm1_name": lazy_gettext("Admin 1 name"),
    "adm2_pcode": lazy_gettext("Admin 2 P-code"),
    "adm2_name": lazy_gettext("Admin 2 name"),
    "source_name": lazy_gettext("Source name"),
    "source_contact": lazy_gettext("Source phone or e-mail"),
    "source_organisation": lazy_gettext("Source organisation"),
}

# (hashtag, attributes it must have, field). A column takes the field whose pattern matches
# the most of its attributes, so #description+title is a title and #description a description.
HXL_PATTERNS: tuple[tuple[str, frozenset[str], str], ...] = (
    ("#description", frozenset({"title"}), "title"),
    ("#description", frozenset(), "description"),
    ("#geo", frozenset({"lat"}), "lat"),
    ("#geo", frozenset({"lon"}), "lon"),
    ("#date", frozenset({"occurred"}), "occurred_at"),
    ("#date", frozenset({"reported"}), "received_at"),
    ("#date", frozenset(), "occurred_at"),
    ("#loc", frozenset({"name"}), "place_name"),
    ("#loc", frozenset(), "place_name"),
    ("#sector", frozenset(), "sector"),
    ("#status", frozenset(), "status"),
    ("#meta", frozenset({"id"}), "id"),
    ("#meta", frozenset({"x_sensitive"}), "sensitive"),
    ("#adm1", frozenset({"code"}), "adm1_pcode"),
    ("#adm1", frozenset({"name"}), "adm1_name"),
    ("#adm2", frozenset({"code"}), "adm2_pcode"),
    ("#adm2", frozenset({"name"}), "adm2_name"),
    ("#contact", frozenset({"name"}), "source_name"),
    ("#contact", frozenset({"phone"}), "source_contact"),
    ("#contact", frozenset({"email"}), "source_contact"),
    ("#contact", frozenset(), "source_contact"),
    ("#org", frozenset(), "source_organisation"),
)

# Header names (folded: lower case, no accents, "_" between words) understood without HXL.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "subject", "incident_title", "summary"),
    "description": ("description", "details", "message", "text", "body", "incident_description"),
    "lat": ("lat", "latitude", "y"),
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "occurred_at": ("occurred_at", "date", "occurred", "incident_date", "datetime"),
    "received_at": ("received_at", "reported_at", "date_reported", "received"),
    "place_name": ("place_name", "place", "location", "location_name"),
    "sector": ("sector", "cluster", "category"),
    "status": ("status",),
    "sensitive": ("sensitive",),
    "id": ("id", "report_id", "identifier"),
    "adm1_pcode": ("adm1_pcode", "adm1_code"),
    "adm1_name": ("adm1_name", "adm1_en"),
    "adm2_pcode": ("adm2_pcode", "adm2_code"),
    "adm2_name": ("adm2_name", "adm2_en"),
    "source_name": ("source_name", "reporter", "reporter_name", "contact_name"),
    "source_contact": ("source_contact", "contact", "phone", "email", "contact_phone", "contact_email"),
    "source_organisation": ("source_organisation", "source_organization", "organisation", "organization", "org"),
}

# Properties a GeoJSON report may carry (the API's), offered even when the first features lack them.
GEOJSON_PROPERTIES = (
    "id",
    "title",
    "description",
    "sector",
    "status",
    "occurred_at",
    "received_at",
    "place_name",
    "sensitive",
    "source.name",
    "source.contact",
    "source.organisation",
    "adm1_pcode",
    "adm1_name",
    "adm2_pcode",
    "adm2_name",
)
GEOJSON_SCAN = 1000  # features read to find the property names offered in the mapping form
DELIMITERS = (",", ";", "\t")


class UnreadableFile(BadRequest):
    """The file is not a CSV or GeoJSON file we can read (as a whole, not one bad row)."""


@dataclass(frozen=True)
class Column:
    header: str
    tag: str = ""  # the HXL hashtag, normalised: "#geo+lat"

    @property
    def label(self) -> str:
        if self.header and self.tag and self.header != self.tag:
            return f"{self.header} ({self.tag})"
        return self.header or self.tag


@dataclass
class Row:
    line: int  # CSV: the physical line the row starts on (header = 1); GeoJSON: the feature's index
    cells: list[Any]
    geometry: Any = None  # GeoJSON only
    problem: InvalidInput | None = None  # GeoJSON: the item is not a Feature at all


def fold(text: str) -> str:
    """A header name reduced for comparison: "Place Name" == "place_name" == "placé-name"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def parse_tag(text: str) -> tuple[str, frozenset[str]] | None:
    """'#Geo +Lat' -> ('#geo', {'lat'}); None when the text is not a hashtag."""
    compact = re.sub(r"\s+", "", text or "").lower()
    if not re.fullmatch(r"#[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*", compact):
        return None
    hashtag, *attributes = compact.split("+")
    return hashtag, frozenset(attributes)


def normalise_tag(text: str) -> str:
    parsed = parse_tag(text)
    if parsed is None:
        return ""
    hashtag, attributes = parsed
    return hashtag + "".join(f"+{a}" for a in sorted(attributes))


def _is_hashtag_row(cells: list[str]) -> bool:
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and all(c.startswith("#") for c in filled)


def _hxl_field(tag: str) -> tuple[str, int] | None:
    """The field a hashtag fills and how many attributes matched (higher is more specific)."""
    parsed = parse_tag(tag)
    if parsed is None:
        return None
    hashtag, attributes = parsed
    best: tuple[str, int] | None = None
    for pattern, required, name in HXL_PATTERNS:
        if pattern == hashtag and required <= attributes and (best is None or len(required) > best[1]):
            best = (name, len(required))
    return best


def detect_mapping(columns: list[Column]) -> dict[str, int]:
    """field -> column index: by HXL hashtag first, then by header name."""
    mapping: dict[str, int] = {}
    candidates: dict[str, list[tuple[int, int]]] = {}
    for index, column in enumerate(columns):
        found = _hxl_field(column.tag) if column.tag else None
        if found:
            candidates.setdefault(found[0], []).append((-found[1], index))
    for name, options in candidates.items():
        mapping[name] = min(options)[1]
    used = set(mapping.values())
    aliases = {alias: name for name, names in HEADER_NAMES.items() for alias in names}
    for index, column in enumerate(columns):
        name = aliases.get(fold(column.header))
        if name and name not in mapping and index not in used:
            mapping[name] = index
            used.add(index)
    return mapping


def find_column(columns: list[Column], name: str) -> int:
    """The column a person means by `name`: its header, its hashtag, or its header folded."""
    for index, column in enumerate(columns):
        if column.header == name:
            return index
    tag = normalise_tag(name)
    if tag:
        for index, column in enumerate(columns):
            if column.tag == tag:
                return index
    for index, column in enumerate(columns):
        if fold(column.header) == fold(name):
            return index
    raise InvalidInput(
        _(
            "There is no column %(name)r in the file; it has: %(list)s.",
            name=name,
            list=", ".join(c.label for c in columns),
        ),
        field="map",
    )


def apply_overrides(mapping: dict[str, int], columns: list[Column], overrides: Mapping[str, str]) -> dict[str, int]:
    """The detected mapping with a person's choices on top (field -> column name, "" for none).
    A column chosen for one field is taken away from any field it was guessed for."""
    result = dict(mapping)
    chosen: dict[str, int | None] = {}
    for name, column in overrides.items():
        if name not in FIELDS:
            raise InvalidInput(
                _("Unknown field %(name)r; the fields are: %(list)s.", name=name, list=", ".join(FIELDS)), field="map"
            )
        chosen[name] = find_column(columns, column) if column else None
    taken = {index for index in chosen.values() if index is not None}
    result = {name: index for name, index in result.items() if index not in taken}
    for name, index in chosen.items():
        if index is None:
            result.pop(name, None)
        else:
            result[name] = index
    return result


# --- CSV ---------------------------------------------------------------------------------


@dataclass
class CsvTable:
    """A CSV file: its columns, whether it carries HXL hashtags, and its rows on demand."""

    path: Path
    kind: str = "csv"
    delimiter: str = ","
    columns: list[Column] = field(default_factory=list)
    has_hxl: bool = False
    _skip: int = 1  # rows before the data: the header, and the hashtag row when there is one

    def __post_init__(self) -> None:
        self.delimiter = _sniff_delimiter(self.path)
        with self._open() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            header = _next(reader)
            if header is None:
                raise UnreadableFile(_("The file is empty."), field="file")
            tags: list[str] = []
            if _is_hashtag_row(header):
                tags, self.has_hxl = header, True  # hashtags without a header row above them
            else:
                second = _next(reader)
                if second is not None and _is_hashtag_row(second):
                    tags, self.has_hxl, self._skip = second, True, 2
        width = max(len(header), len(tags))
        header = header + [""] * (width - len(header))
        tags = tags + [""] * (width - len(tags))
        # Without a hashtag row, a header cell that is itself a hashtag still counts as one.
        self.columns = [Column(h.strip(), normalise_tag(t or h)) for h, t in zip(header, tags, strict=True)]

    def _open(self):
        return open(self.path, encoding="utf-8-sig", newline="")

    def rows(self) -> Iterator[Row]:
        width = len(self.columns)
        with self._open() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            for _skipped in range(self._skip):
                _next(reader)
            while True:
                line = reader.line_num + 1
                cells = _next(reader)
                if cells is None:
                    return
                if not any(c.strip() for c in cells):
                    continue  # blank lines and rows of empty cells are not reports
                yield Row(line, (cells + [""] * (width - len(cells)))[:width])

    def count_rows(self) -> int:
        """Rows below the header (a quick pass, for a progress bar)."""
        with self._open() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            total = 0
            while _next(reader) is not None:
                total += 1
        return max(total - self._skip, 0)


def _next(reader) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except UnicodeDecodeError:
        raise UnreadableFile(
            _("Line %(line)d is not UTF-8 text; save the file as CSV UTF-8.", line=reader.line_num + 1), field="file"
        )
    except csv.Error as exc:
        raise UnreadableFile(
            _("Line %(line)d cannot be read as CSV: %(reason)s.", line=reader.line_num, reason=str(exc)), field="file"
        )


def _sniff_delimiter(path: Path) -> str:
    """The delimiter that splits the header line into the most cells."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        raise UnreadableFile(_("The file is not UTF-8 text; save it as CSV UTF-8."), field="file")
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])  # ties go to the comma (first)


# --- GeoJSON -----------------------------------------------------------------------------


@dataclass
class GeoJsonTable:
    """A GeoJSON FeatureCollection, read feature by feature; properties become the columns
    ("source": {"name"} becomes "source.name"), the geometry travels with each row."""

    path: Path
    kind: str = "geojson"
    columns: list[Column] = field(default_factory=list)
    has_hxl: bool = False

    def __post_init__(self) -> None:
        names = dict.fromkeys(GEOJSON_PROPERTIES)
        features = self._features()
        try:
            for index, item in features:
                if index >= GEOJSON_SCAN:
                    break
                if isinstance(item, dict):
                    names.update(dict.fromkeys(_flatten(item)))
        finally:
            features.close()
        self.columns = [Column(name) for name in names]

    def _features(self) -> Iterator[tuple[int, Any]]:
        with open(self.path, encoding="utf-8-sig") as handle:
            yield from enumerate(stream_features(handle))

    def rows(self) -> Iterator[Row]:
        names = [c.header for c in self.columns]
        for index, item in self._features():
            if not isinstance(item, dict) or item.get("type") != "Feature":
                yield Row(
                    index,
                    [None] * len(names),
                    problem=InvalidInput(_("This item is not a GeoJSON Feature."), field="type"),
                )
                continue
            properties = item.get("properties")
            if properties is not None and not isinstance(properties, dict):
                yield Row(
                    index,
                    [None] * len(names),
                    problem=InvalidInput(_("properties must be an object."), field="properties"),
                )
                continue
            flat = _flatten(item)
            yield Row(index, [flat.get(name) for name in names], geometry=item.get("geometry"))

    def count_rows(self) -> int | None:
        return None  # would mean parsing the whole file twice


def _flatten(feature: dict) -> dict[str, Any]:
    properties = feature.get("properties")
    flat: dict[str, Any] = {}
    if isinstance(properties, dict):
        for key, value in properties.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{inner}": v for inner, v in value.items()})
            else:
                flat[key] = value
    if "id" not in flat and feature.get("id") is not None:
        flat["id"] = feature["id"]  # RFC 7946 puts a feature's identifier beside its properties
    return flat


_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = re.compile(r"[0-9eE+\-.]*")  # what could still belong to a number just decoded


def stream_features(handle, chunk: int = 1 << 16) -> Iterator[Any]:
    """The items of a FeatureCollection's "features" array, decoded one at a time from a text
    stream (the rest of the top-level object is read and checked, not kept)."""
    decoder = json.JSONDecoder()
    state = {"buffer": "", "pos": 0, "eof": False}

    def fill() -> None:
        # Read at least as much again as is buffered, so one huge value costs linear time.
        more = handle.read(max(chunk, len(state["buffer"]) - state["pos"]))
        state["buffer"] = state["buffer"][state["pos"] :] + more
        state["pos"] = 0
        state["eof"] = not more

    def peek() -> str:
        while True:
            state["pos"] = _SPACE.match(state["buffer"], state["pos"]).end()
            if state["pos"] < len(state["buffer"]):
                return state["buffer"][state["pos"]]
            if state["eof"]:
                return ""
            fill()

    def expect(chars: str) -> str:
        found = peek()
        if not found or found not in chars:
            raise UnreadableFile(
                _(
                    "The GeoJSON is not valid JSON: expected %(expected)s.",
                    expected=" or ".join(repr(c) for c in chars),
                ),
                field="file",
            )
        state["pos"] += 1
        return found

    def value() -> Any:
        peek()
        while True:
            try:
                item, end = decoder.raw_decode(state["buffer"], state["pos"])
            except json.JSONDecodeError as exc:
                if state["eof"]:
                    raise UnreadableFile(_("The GeoJSON is not valid JSON: %(reason)s.", reason=exc.msg), field="file")
                fill()
                continue
            if not state["eof"] and _NUMBER_TAIL.fullmatch(state["buffer"], end):
                # The value may go on in the next chunk: a number cut as "12" of "123" or
                # "-3" of "-3e10" decodes without complaint.
                fill()
                continue
            state["pos"] = end
            return item

    def not_a_collection() -> UnreadableFile:
        return UnreadableFile(_("The file must be a GeoJSON FeatureCollection."), field="file")

    try:
        if peek() != "{":
            raise not_a_collection()
        expect("{")
        seen_features = False
        if peek() == "}":
            raise not_a_collection()
        while True:
            key = value()
            if not isinstance(key, str):
                raise UnreadableFile(_("The GeoJSON is not valid JSON."), field="file")
            expect(":")
            if key == "features":
                seen_features = True
                expect("[")
                if peek() == "]":
                    state["pos"] += 1
                else:
                    while True:
                        yield value()
                        if expect(",]") == "]":
                            break
            else:
                item = value()
                if key == "type" and item != "FeatureCollection":
                    raise not_a_collection()
            if expect(",}") == "}":
                break
        if not seen_features:
            raise not_a_collection()
    except UnicodeDecodeError:
        raise UnreadableFile(_("The file is not UTF-8 text."), field="file")


# --- Either ------------------------------------------------------------------------------

Table = CsvTable | GeoJsonTable


def open_table(path: Path) -> Table:
    """A CSV or GeoJSON table, told apart by content: GeoJSON starts with "{"."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(4096)
    except OSError as exc:
        raise UnreadableFile(_("The file cannot be read: %(reason)s.", reason=exc.strerror or str(exc)), field="file")
    if b"\x00" in start:
        raise UnreadableFile(_("This is not a text file; import CSV (UTF-8) or GeoJSON."), field="file")
    if start.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
        return GeoJsonTable(path)
    return CsvTable(path)


def preview(table: Table, count: int = 5) -> list[Row]:
    rows: list[Row] = []
    stream = table.rows()
    try:
        for row in stream:
            rows.append(row)
            if len(rows) >= count:
                break
    finally:
        stream.close()  # closes the file now, not whenever the generator is collected
    return rows

"""Reading files of field reports for import, and guessing which column holds which field.

Kinds of file: CSV in any common encoding (UTF-8 with or without a byte-order mark, else what
charset-normalizer finds: Windows-1252 from Excel, Latin-1, UTF-16 ...; or the one chosen) with
the delimiter sniffed (comma, semicolon, tab, pipe), an optional HXL hashtag row under the header;
spreadsheets (.xlsx, .xls, .ods: the first sheet, through python-calamine); GeoJSON (a
FeatureCollection). CSV and GeoJSON are read as a stream of rows, so a 100,000-row file never
sits in memory whole; each row keeps the line number a person would look for in the file (for
GeoJSON: the feature's index; for a spreadsheet: its row number).

Columns are recognised by their HXL hashtag (matched with libhxl's tag patterns, attributes
included: #geo+lat, #adm1+code), by the known export layouts of KoboToolbox, ODK Central and
Ushahidi (wiki.reports.import_layouts), then by their header name.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hxl.model
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from ..errors import BadRequest, InvalidInput
from .import_layouts import Layout, detect_layout, field_name, fold

# The fields a row can fill, in the order the mapping form shows them.
FIELDS: dict[str, Any] = {
    "title": lazy_gettext("Title"),
    "description": lazy_gettext("Description"),
    "lat": lazy_gettext("Latitude"),
    "lon": lazy_gettext("Longitude"),
    "geolocation": lazy_gettext("Latitude and longitude in one cell"),
    "occurred_at": lazy_gettext("When it happened"),
    "received_at": lazy_gettext("When it was reported"),
    "place_name": lazy_gettext("Place name"),
    "sector": lazy_gettext("Sector"),
    "status": lazy_gettext("Status"),
    "sensitive": lazy_gettext("Sensitive"),
    "id": lazy_gettext("Identifier (makes re-imports safe)"),
    "report_id": lazy_gettext("crisiswiki report number (updates that report)"),
    "coarsened": lazy_gettext("Place is coarsened (crisiswiki export)"),
    "adm1_pcode": lazy_gettext("Admin 1 P-code"),
    "adm1_name": lazy_gettext("Admin 1 name"),
    "adm2_pcode": lazy_gettext("Admin 2 P-code"),
    "adm2_name": lazy_gettext("Admin 2 name"),
    "source_name": lazy_gettext("Source name"),
    "source_contact": lazy_gettext("Source phone or e-mail"),
    "source_organisation": lazy_gettext("Source organisation"),
}

# (HXL tag pattern, field). A column takes the field of the matching pattern with the most
# attributes, so #description+title is a title and #description a description.
HXL_PATTERNS: tuple[tuple[str, str], ...] = (
    ("#description+title", "title"),
    ("#description", "description"),
    ("#geo+lat", "lat"),
    ("#geo+lon", "lon"),
    ("#geo+coord", "geolocation"),
    ("#date+occurred", "occurred_at"),
    ("#date+reported", "received_at"),
    ("#date", "occurred_at"),
    ("#loc+name", "place_name"),
    ("#loc", "place_name"),
    ("#sector", "sector"),
    ("#status", "status"),
    ("#meta+id", "id"),
    ("#meta+x_sensitive", "sensitive"),
    ("#meta+x_coarsened", "coarsened"),
    ("#adm1+code", "adm1_pcode"),
    ("#adm1+name", "adm1_name"),
    ("#adm1", "adm1_name"),
    ("#adm2+code", "adm2_pcode"),
    ("#adm2+name", "adm2_name"),
    ("#adm2", "adm2_name"),
    ("#contact+name", "source_name"),
    ("#contact+phone", "source_contact"),
    ("#contact+email", "source_contact"),
    ("#contact", "source_contact"),
    ("#org", "source_organisation"),
)
_PATTERNS = tuple((hxl.model.TagPattern.parse(tag), name) for tag, name in HXL_PATTERNS)

# Header names (folded: lower case, no accents, "_" between words) understood without HXL.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "subject", "incident_title", "summary", "report_title", "titre", "titulo"),
    "description": (
        "description",
        "details",
        "message",
        "text",
        "body",
        "incident_description",
        "what_happened",
        "observations",
        "comments",
        "narrative",
        "descripcion",
    ),
    "lat": ("lat", "latitude", "y", "gps_latitude"),
    "lon": ("lon", "lng", "long", "longitude", "x", "gps_longitude"),
    "geolocation": ("geolocation", "gps", "geopoint", "coordinates"),
    "occurred_at": ("occurred_at", "date", "occurred", "incident_date", "datetime", "event_date", "today", "fecha"),
    "received_at": ("received_at", "reported_at", "date_reported", "received", "report_date"),
    "place_name": (
        "place_name",
        "place",
        "location",
        "location_name",
        "village",
        "locality",
        "community",
        "site",
        "lieu",
        "lugar",
    ),
    "sector": ("sector", "cluster", "category", "categories", "sectors", "clusters", "secteur"),
    "status": ("status",),
    "sensitive": ("sensitive",),
    "id": ("id", "report_id", "identifier", "uuid", "instance_id", "instanceid"),
    "adm1_pcode": ("adm1_pcode", "adm1_code", "admin1pcode", "admin1_pcode", "adm1pcode"),
    "adm1_name": ("adm1_name", "adm1_en", "admin1name", "admin1_name", "admin1", "province", "region"),
    "adm2_pcode": ("adm2_pcode", "adm2_code", "admin2pcode", "admin2_pcode", "adm2pcode"),
    "adm2_name": ("adm2_name", "adm2_en", "admin2name", "admin2_name", "admin2", "district", "commune"),
    "source_name": ("source_name", "reporter", "reporter_name", "contact_name"),
    "source_contact": ("source_contact", "contact", "phone", "email", "contact_phone", "contact_email"),
    "source_organisation": ("source_organisation", "source_organization", "organisation", "organization", "org"),
}
# Header endings that hold one half of a point: ODK's "location-Latitude", Kobo's
# "_location_latitude", Ushahidi's "Location.lat".
SUFFIXES = {"lat": ("_latitude", "_lat"), "lon": ("_longitude", "_lon", "_lng")}

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
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "cp1256", "cp1251", "mac_roman", "iso-8859-15")


class UnreadableFile(BadRequest):
    """The file is not a CSV, spreadsheet or GeoJSON file we can read (as a whole, not one bad row)."""


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


def _is_hashtag_row(cells: list[Any]) -> bool:
    filled = [str(c).strip() for c in cells if c is not None and str(c).strip()]
    return bool(filled) and all(c.startswith("#") and parse_tag(c) is not None for c in filled)


def _hxl_field(tag: str) -> tuple[str, int] | None:
    """The field a hashtag fills and how many attributes matched (higher is more specific),
    by libhxl's own tag-pattern matching."""
    if not tag:
        return None
    column = hxl.model.Column.parse(tag)
    best: tuple[str, int] | None = None
    for pattern, name in _PATTERNS:
        if pattern.match(column):
            weight = len(pattern.include_attributes)
            if best is None or weight > best[1]:
                best = (name, weight)
    return best


def detect_mapping(columns: list[Column], layout: Layout | None = None) -> dict[str, int]:
    """field -> column index: by HXL hashtag first, then the known layout's own column names,
    then by header name (a header's last XLSForm group), then by a header's ending (…_latitude)."""
    mapping: dict[str, int] = {}
    candidates: dict[str, list[tuple[int, int]]] = {}
    for index, column in enumerate(columns):
        found = _hxl_field(column.tag)
        if found:
            candidates.setdefault(found[0], []).append((-found[1], index))
    for name, options in candidates.items():
        mapping[name] = min(options)[1]
    if layout is not None and layout.name == "crisiswiki" and "id" in mapping:
        mapping.pop("id")  # the export's #meta+id is the report's own number: report_id below
    used = set(mapping.values())
    headers = [column.header for column in columns]
    if layout is not None:
        for name, wanted in layout.names.items():
            if name in mapping:
                continue
            for header in wanted:
                if header in headers and headers.index(header) not in used:
                    mapping[name] = headers.index(header)
                    used.add(mapping[name])
                    break
    ignored = layout.ignored if layout is not None else frozenset()
    aliases = {alias: name for name, names in HEADER_NAMES.items() for alias in names}
    for index, column in enumerate(columns):
        if index in used or column.header in ignored or column.header.startswith("_"):
            continue  # "_status" is Kobo's submission state, "_id" its row number: metadata
        name = aliases.get(field_name(column.header, layout))
        if name and name not in mapping:
            mapping[name] = index
            used.add(index)
    for index, column in enumerate(columns):
        if index in used or column.header in ignored:
            continue
        folded = field_name(column.header, layout) if not column.header.startswith("_") else fold(column.header)
        for name, endings in SUFFIXES.items():
            if name not in mapping and folded.endswith(endings):
                mapping[name] = index
                used.add(index)
                break
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


def _columns(header: list[Any], tags: list[Any]) -> list[Column]:
    width = max(len(header), len(tags))
    header = [("" if h is None else str(h)) for h in header] + [""] * (width - len(header))
    tags = [("" if t is None else str(t)) for t in tags] + [""] * (width - len(tags))
    # Without a hashtag row, a header cell that is itself a hashtag still counts as one.
    return [Column(h.strip(), normalise_tag(t or h)) for h, t in zip(header, tags, strict=True)]


# --- CSV ---------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 when the whole file decodes as UTF-8 (checked in chunks), else the encoding
    charset-normalizer finds most likely (Excel's Windows-1252, Latin-1, UTF-16 ...)."""
    with open(path, "rb") as handle:
        start = handle.read(4)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_path

    best = from_path(path).best()
    if best is None:
        raise UnreadableFile(_("The file is not text in any encoding we know; save it as CSV."), field="file")
    return best.encoding


def _encoding_label(name: str | None) -> str:
    return {"utf_8": "UTF-8", "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf_8_sig": "UTF-8"}.get(name or "", name or "")


def check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InvalidInput(_("Unknown encoding %(name)r.", name=name), field="encoding") from None


@dataclass
class CsvTable:
    """A CSV file: its columns, whether it carries HXL hashtags, and its rows on demand."""

    path: Path
    encoding: str | None = None  # None: detected
    kind: str = "csv"
    delimiter: str = ","
    columns: list[Column] = field(default_factory=list)
    has_hxl: bool = False
    layout: Layout | None = None
    _skip: int = 1  # rows before the data: the header, and the hashtag row when there is one

    def __post_init__(self) -> None:
        self.encoding = check_encoding(self.encoding) if self.encoding else detect_encoding(self.path)
        self.delimiter = self._sniff_delimiter()
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
        self.columns = _columns(header, tags)
        self.layout = detect_layout([c.header for c in self.columns], [c.tag for c in self.columns])

    def _open(self):
        encoding = "utf-8-sig" if self.encoding in ("utf-8", "utf_8") else self.encoding
        return open(self.path, encoding=encoding, newline="")

    def _sniff_delimiter(self) -> str:
        """The delimiter csv.Sniffer finds in the first lines, else the one that splits the
        header line into the most cells."""
        encoding = "utf-8-sig" if self.encoding in ("utf-8", "utf_8") else self.encoding
        with open(self.path, encoding=encoding, errors="replace", newline="") as handle:
            sample = handle.read(SNIFF_BYTES)  # a broken byte is reported with its line by rows()
        lines = sample.splitlines()
        if len(sample) == SNIFF_BYTES and len(lines) > 1:
            lines = lines[:-1]  # the last line may be cut
        first = lines[0] if lines else ""
        counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in DELIMITERS}
        try:
            sniffed = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters="".join(DELIMITERS)).delimiter
        except csv.Error:
            sniffed = None
        if sniffed in DELIMITERS and counts[sniffed] > 1 and counts[sniffed] >= max(counts.values()):
            return sniffed
        return max(DELIMITERS, key=lambda d: counts[d])  # ties go to the comma (first)

    def rows(self) -> Iterator[Row]:
        width = len(self.columns)
        with self._open() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            for _skipped in range(self._skip):
                _next(reader, self.encoding)
            while True:
                line = reader.line_num + 1
                cells = _next(reader, self.encoding)
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


def _next(reader, encoding: str = "utf-8") -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except UnicodeDecodeError:
        raise UnreadableFile(
            _(
                "Line %(line)d is not %(encoding)s text; choose the file's encoding.",
                line=reader.line_num + 1,
                encoding=_encoding_label(encoding),
            ),
            field="file",
        )
    except csv.Error as exc:
        raise UnreadableFile(
            _("Line %(line)d cannot be read as CSV: %(reason)s.", line=reader.line_num, reason=str(exc)), field="file"
        )


# --- Spreadsheets ------------------------------------------------------------------------


@dataclass
class SheetTable:
    """The first sheet of an .xlsx, .xls or .ods workbook (python-calamine), with the same
    header and hashtag-row rules as a CSV file; cells keep their types (numbers, dates)."""

    path: Path
    kind: str = "sheet"
    columns: list[Column] = field(default_factory=list)
    has_hxl: bool = False
    layout: Layout | None = None
    encoding: str | None = None
    _skip: int = 1

    def __post_init__(self) -> None:
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            self._cells = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except Exception as exc:  # calamine raises its own error types for every broken file
            raise UnreadableFile(_("The workbook cannot be read: %(reason)s.", reason=str(exc)[:200]), field="file")
        self._first = next((i for i, row in enumerate(self._cells) if any(_filled(c) for c in row)), None)
        if self._first is None:
            raise UnreadableFile(_("The file is empty."), field="file")
        header = self._cells[self._first]
        tags: list[Any] = []
        if _is_hashtag_row(header):
            tags, self.has_hxl, self._skip = header, True, 1
        elif self._first + 1 < len(self._cells) and _is_hashtag_row(self._cells[self._first + 1]):
            tags, self.has_hxl, self._skip = self._cells[self._first + 1], True, 2
        self.columns = _columns(header, tags)
        self.layout = detect_layout([c.header for c in self.columns], [c.tag for c in self.columns])

    def rows(self) -> Iterator[Row]:
        width = len(self.columns)
        for index in range(self._first + self._skip, len(self._cells)):
            cells = list(self._cells[index])
            if not any(_filled(c) for c in cells):
                continue
            cells = [("" if c is None else c) for c in cells]
            yield Row(index + 1, (cells + [""] * (width - len(cells)))[:width])

    def count_rows(self) -> int:
        return sum(1 for _row in self.rows())


def _filled(cell: Any) -> bool:
    return cell is not None and str(cell).strip() != ""


# --- GeoJSON -----------------------------------------------------------------------------


@dataclass
class GeoJsonTable:
    """A GeoJSON FeatureCollection, read feature by feature; properties become the columns
    ("source": {"name"} becomes "source.name"), the geometry travels with each row."""

    path: Path
    kind: str = "geojson"
    columns: list[Column] = field(default_factory=list)
    has_hxl: bool = False
    layout: Layout | None = None
    encoding: str | None = None

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

Table = CsvTable | SheetTable | GeoJsonTable
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls


def open_table(path: Path, encoding: str | None = None) -> Table:
    """A CSV, spreadsheet or GeoJSON table, told apart by content: a zip (.xlsx, .ods) or an
    OLE file (.xls) is a workbook, GeoJSON starts with "{", anything else is read as CSV in
    `encoding` (detected when None)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(4096)
    except OSError as exc:
        raise UnreadableFile(_("The file cannot be read: %(reason)s.", reason=exc.strerror or str(exc)), field="file")
    if start.startswith((_ZIP, _OLE)):
        return SheetTable(path)
    if start.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
        return GeoJsonTable(path)
    if b"\x00" in start and not start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(
            _("This is not a text file or a workbook: import CSV, Excel (.xlsx, .xls), OpenDocument or GeoJSON."),
            field="file",
        )
    return CsvTable(path, encoding=encoding)


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

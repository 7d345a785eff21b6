"""The export layouts of the tools our users run, recognised from a file's header row, so that
their files import without mapping a column by hand:

- KoboToolbox (CSV and XLSX exports): XLSForm group paths ("group_report/what_happened"),
  `_geolocation` ("[lat, lon]"), `_submission_time`, `_uuid` (the idempotency key), and its
  metadata columns (`_status` is the submission's state, not a report status).
- ODK Central (CSV): group paths with "-", `SubmissionDate`, `KEY` / `meta-instanceID`, geopoints
  split into `...-Latitude` and `...-Longitude`.
- Ushahidi v3 and later (platform CSV export): `Post ID`, `Title`, `Description`, `Post Date (UTC)`,
  `Created (UTC)`, `<location field>.lat` / `.lon`, categories.
- Ushahidi v2 (CSV): `#`, `INCIDENT TITLE`, `INCIDENT DATE`, `LOCATION`, `DESCRIPTION`, `CATEGORY`,
  `LATITUDE`, `LONGITUDE`.
- crisiswiki's own CSV/HXL export: `#meta+id` with `#crisis+code`; re-importing it (after fixing it
  in a spreadsheet) updates the reports it names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


def fold(text: str) -> str:
    """A header name reduced for comparison: "Place Name" == "place_name" == "placé-name"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


@dataclass(frozen=True)
class Layout:
    name: str  # kobo, odk, ushahidi3, ushahidi2, crisiswiki
    label: str  # shown on the mapping page
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> exact headers, first wins
    ignored: frozenset[str] = frozenset()  # exact headers never mapped by name
    separator: str = ""  # between XLSForm group names in a header


KOBO_METADATA = frozenset(
    {
        "_id",
        "_uuid",
        "_submission_time",
        "_validation_status",
        "_notes",
        "_status",
        "_submitted_by",
        "__version__",
        "_tags",
        "_index",
        "_parent_table_name",
        "_parent_index",
        "_geolocation",
        "_attachments",
        "_xform_id_string",
        "meta/instanceID",
        "meta/rootUuid",
        "meta/deprecatedID",
        "formhub/uuid",
        "start",
        "end",
        "deviceid",
    }
)

LAYOUTS = (
    Layout(
        "kobo",
        "KoboToolbox",
        names={
            "id": ("_uuid", "meta/instanceID", "_id"),
            "received_at": ("_submission_time",),
            "geolocation": ("_geolocation",),
        },
        ignored=KOBO_METADATA,
        separator="/",
    ),
    Layout(
        "odk",
        "ODK Central",
        names={
            "id": ("KEY", "meta-instanceID", "instanceID"),
            "received_at": ("SubmissionDate",),
        },
        ignored=frozenset(
            {
                "KEY",
                "SubmissionDate",
                "SubmitterID",
                "SubmitterName",
                "AttachmentsPresent",
                "AttachmentsExpected",
                "Status",
                "ReviewState",
                "DeviceID",
                "Edits",
                "FormVersion",
                "meta-instanceID",
                "instanceID",
                "start",
                "end",
                "deviceid",
            }
        ),
        separator="-",
    ),
    Layout(
        "ushahidi3",
        "Ushahidi",
        names={
            "id": ("Post ID",),
            "title": ("Title", "Post Title"),
            "description": ("Description", "Post Description", "Content"),
            "occurred_at": ("Post Date (UTC)", "Post Date"),
            "received_at": ("Created (UTC)", "Created"),
            "source_contact": ("Contact",),
        },
        ignored=frozenset({"Post Status", "Updated (UTC)", "Contact ID", "Survey", "Sets", "Author"}),
    ),
    Layout(
        "ushahidi2",
        "Ushahidi v2",
        names={
            "id": ("#",),
            "title": ("INCIDENT TITLE",),
            "occurred_at": ("INCIDENT DATE",),
            "place_name": ("LOCATION",),
            "description": ("DESCRIPTION",),
            "sector": ("CATEGORY",),
            "lat": ("LATITUDE",),
            "lon": ("LONGITUDE",),
        },
        ignored=frozenset({"APPROVED", "VERIFIED"}),
    ),
    Layout(
        "crisiswiki",
        "crisiswiki",
        names={"report_id": ("id",), "coarsened": ("location_coarsened",)},
        ignored=frozenset({"id", "crisis", "channel", "duplicate_of", "location_coarsened"}),
    ),
)


def detect_layout(headers: list[str], tags: list[str]) -> Layout | None:
    """The known export layout a file's header row (and hashtag row) has, or None."""
    names = set(headers)
    if names & {"_uuid", "_submission_time", "_geolocation"}:
        return _layout("kobo")
    if "SubmissionDate" in names and names & {"KEY", "meta-instanceID", "instanceID"}:
        return _layout("odk")
    if "Post ID" in names or {"Post Status", "Title"} <= names:
        return _layout("ushahidi3")
    if "INCIDENT TITLE" in names:
        return _layout("ushahidi2")
    if "#meta+id" in tags and "#crisis+code" in tags and "location_coarsened" in names:
        return _layout("crisiswiki")
    return None


def _layout(name: str) -> Layout:
    return next(layout for layout in LAYOUTS if layout.name == name)


def field_name(header: str, layout: Layout | None) -> str:
    """The folded name a header is matched by: the last group of an XLSForm path."""
    if layout is not None and layout.separator and layout.separator in header:
        header = header.rsplit(layout.separator, 1)[-1]
    return fold(header)

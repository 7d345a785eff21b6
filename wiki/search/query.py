"""Reading what a person typed into the search box, and the filters beside it.

The query language is small and forgiving: words (all must match), "quoted phrases",
`-word` to exclude, `a OR b`, and `field:value` for title:, body:, type:, crisis:, sector:,
status: and adm1:. Anything that does not parse as one of these is searched as plain words,
so a query is never an error. Both backends receive the same `ParsedQuery`, which is what
makes their answers agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from flask_babel import gettext as _

from ..errors import InvalidInput
from ..models.reports import SECTORS, STATUSES
from ..reports.input import parse_datetime
from ..reports.queries import parse_bbox
from .analysis import ANY_STOPWORD, words

MAX_QUERY = 500
MAX_CLAUSES = 32
TYPES = ("page", "report", "layer")
TEXT_FIELDS = {"title": "title", "body": "body", "text": "body"}
FACET_FIELDS = {
    "type": "type",
    "kind": "type",
    "crisis": "crisis",
    "sector": "sector",
    "status": "status",
    "adm1": "adm1",
    "adm": "adm1",
}
_TYPE_ALIASES = {"pages": "page", "reports": "report", "layers": "layer"}
_TOKEN = re.compile(
    r'(?P<neg>-)?(?:(?P<field>[A-Za-z_][A-Za-z0-9_]*):(?:"(?P<fphrase>[^"]*)"|(?P<fvalue>[^\s"]+))'
    r'|"(?P<phrase>[^"]*)"|(?P<word>[^\s"]+))'
)


@dataclass(frozen=True)
class Words:
    """A word, or a phrase when it has several, optionally only in the title or the body."""

    words: tuple[str, ...]  # folded (lower case, no accents)
    field: str | None = None  # None, "title" or "body"
    raw: str = ""  # as typed, so "did you mean" can rewrite the query

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class FieldValue:
    field: str  # type | crisis | sector | status | adm1
    value: str


@dataclass
class ParsedQuery:
    text: str = ""
    required: list[list[Words]] = field(default_factory=list)  # AND of groups, OR within a group
    excluded: list[Words] = field(default_factory=list)
    facets: list[FieldValue] = field(default_factory=list)
    excluded_facets: list[FieldValue] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # common words left out

    @property
    def has_text(self) -> bool:
        return bool(self.required)

    def positive_words(self) -> list[Words]:
        return [item for group in self.required for item in group]


def _facet(name: str, value: str) -> FieldValue | None:
    """A field query with a known value, or None (then it is searched as words)."""
    value = value.strip()
    if not value:
        return None
    if name == "type":
        value = _TYPE_ALIASES.get(value.lower(), value.lower())
        return FieldValue(name, value) if value in TYPES else None
    if name == "sector":
        return FieldValue(name, value.lower()) if value.lower() in SECTORS else None
    if name == "status":
        return FieldValue(name, value.lower()) if value.lower() in STATUSES else None
    return FieldValue(name, value)


def parse_query(text: str) -> ParsedQuery:
    """Parse `text`; never raises."""
    text = (text or "")[:MAX_QUERY]
    parsed = ParsedQuery(text=text)
    groups: list[list[Words]] = []
    join_next = False
    negate_next = False
    for match in _TOKEN.finditer(text):
        if len(groups) + len(parsed.excluded) >= MAX_CLAUSES:
            break
        negated = bool(match.group("neg")) or negate_next
        negate_next = False
        name = (match.group("field") or "").lower()
        if match.group("word") in ("OR", "|") and not negated:
            join_next = bool(groups)
            continue
        if match.group("word") in ("AND", "&&"):
            continue
        if match.group("word") == "NOT" and not negated:
            negate_next = True
            continue
        item: Words | FieldValue | None = None
        raw = match.group(0)[1:] if match.group("neg") else match.group(0)
        if name in FACET_FIELDS and match.group("fvalue") is not None:
            item = _facet(FACET_FIELDS[name], match.group("fvalue"))
        elif name in FACET_FIELDS and match.group("fphrase") is not None:
            item = _facet(FACET_FIELDS[name], match.group("fphrase"))
        elif name in TEXT_FIELDS:
            found = words(match.group("fphrase") if match.group("fphrase") is not None else match.group("fvalue"))
            item = Words(tuple(found), TEXT_FIELDS[name], raw) if found else None
        if item is None and name:
            # Looked like a field query but was not one: its words, each on its own.
            found = words(raw)
            items = [Words((word,), None, word) for word in found]
            if negated:
                parsed.excluded.extend(items)
            else:
                groups.extend([item] for item in items)
            join_next = False
            continue
        if item is None:
            # A phrase, or a word (one with a hyphen or an apostrophe is a phrase of its parts).
            source = match.group("phrase") if match.group("phrase") is not None else raw
            found = words(source)
            if not found:
                join_next = False
                continue
            item = Words(tuple(found), None, raw)
        if isinstance(item, FieldValue):
            (parsed.excluded_facets if negated else parsed.facets).append(item)
            join_next = False
            continue
        if negated:
            parsed.excluded.append(item)
        elif join_next and groups:
            groups[-1].append(item)
        else:
            groups.append([item])
        join_next = False
    parsed.required = _without_stopwords(groups, parsed)
    return parsed


def _without_stopwords(groups: list[list[Words]], parsed: ParsedQuery) -> list[list[Words]]:
    """Leave out single common words ("the", "de", "los"), as the index does; unless the query
    is made of nothing else, then they are searched as they are."""
    kept = []
    for group in groups:
        alternatives = [item for item in group if item.is_phrase or item.words[0] not in ANY_STOPWORD]
        if len(alternatives) == len(group):
            kept.append(group)
        else:
            parsed.ignored.extend(item.words[0] for item in group if item not in alternatives)
    if not kept and groups:
        parsed.ignored.clear()
        return groups
    return kept


def replace_word(query: str, raw: str, replacement: str) -> str:
    """`query` with the token `raw` (as typed) replaced, for "did you mean"."""
    return re.sub(r"(?<![^\s\"-])" + re.escape(raw) + r"(?![^\s\"])", replacement, query, count=1)


@dataclass
class SearchRequest:
    """A search as asked: the parsed query plus the filters from the form or the API."""

    q: str = ""
    parsed: ParsedQuery = field(default_factory=ParsedQuery)
    types: tuple[str, ...] = ()
    crises: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    adm1: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_score: float | None = None
    page: int = 1
    limit: int = 20

    @classmethod
    def from_args(cls, args: Mapping, default_limit: int = 20, max_limit: int = 100) -> SearchRequest:
        """Read the query string; a wrong filter value is InvalidInput (422), a wrong query never is."""
        q = (args.get("q") or "").strip()
        since = parse_datetime(args.get("since"), "since", allow_future=True)
        until = parse_datetime(args.get("until"), "until", allow_future=True)
        if since and until and since > until:
            raise InvalidInput(_("since is after until."), field="since")
        return cls(
            q=q,
            parsed=parse_query(q),
            types=_choices(args, "type", TYPES),
            crises=_choices(args, "crisis", None),
            sectors=_choices(args, "sector", tuple(SECTORS)),
            statuses=_choices(args, "status", STATUSES),
            adm1=_choices(args, "adm1", None),
            bbox=parse_bbox(args.get("bbox")),
            since=since,
            until=until,
            min_score=_number(args.get("min_score"), "min_score"),
            page=_whole(args.get("page"), "page", 1, 1, 10_000),
            limit=_whole(args.get("limit"), "limit", default_limit, 1, max_limit),
        )

    def with_query(self, q: str) -> SearchRequest:
        return replace(self, q=q, parsed=parse_query(q), page=1)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def filter_args(self) -> dict[str, list[str] | str]:
        """The filters as query-string parameters (for links that keep them)."""
        args: dict[str, list[str] | str] = {}
        for name, values in (
            ("type", self.types),
            ("crisis", self.crises),
            ("sector", self.sectors),
            ("status", self.statuses),
            ("adm1", self.adm1),
        ):
            if values:
                args[name] = list(values)
        if self.bbox:
            args["bbox"] = ",".join(f"{value:g}" for value in self.bbox)
        if self.since:
            args["since"] = self.since.isoformat()
        if self.until:
            args["until"] = self.until.isoformat()
        if self.min_score is not None:
            args["min_score"] = f"{self.min_score:g}"
        return args


def _getlist(args: Mapping, name: str) -> list[str]:
    values = args.getlist(name) if hasattr(args, "getlist") else ([args[name]] if args.get(name) else [])
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def _choices(args: Mapping, name: str, allowed) -> tuple[str, ...]:
    chosen = _getlist(args, name)
    if allowed is not None:
        chosen = [value.lower() for value in chosen]
        unknown = [value for value in chosen if value not in allowed]
        if unknown:
            raise InvalidInput(
                _("Unknown %(field)s %(value)r; use: %(list)s.", field=name, value=unknown[0], list=", ".join(allowed)),
                field=name,
            )
    return tuple(dict.fromkeys(chosen))


def _number(raw: str | None, name: str) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(_("%(field)s must be a number.", field=name), field=name) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput(_("%(field)s must be a number.", field=name), field=name)
    return value


def _whole(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(_("%(field)s must be a whole number.", field=name), field=name) from None
    if not low <= value <= high:
        raise InvalidInput(
            _("%(field)s must lie between %(low)d and %(high)d.", field=name, low=low, high=high), field=name
        )
    return value

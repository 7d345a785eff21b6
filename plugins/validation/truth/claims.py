"""Recording the structured claims a report carries: the checks, and the one function that stores
a claim (used by the API and by anything else that takes claims in)."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wiki.auth.permissions import can
from wiki.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from wiki.extensions import db
from wiki.models import Report
from wiki.models.base import utcnow

from .models import CATEGORICAL, NUMERIC, ClaimSubject, ReportClaim

_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_+\-]{0,99}$")
EARLIEST = date(1900, 1, 1)


@dataclass(frozen=True)
class ClaimInput:
    subject: str
    attribute: str
    value: float | str
    unit: str
    as_of: date | None

    @property
    def kind(self) -> str:
        return CATEGORICAL if isinstance(self.value, str) else NUMERIC


@dataclass(frozen=True)
class StoredClaim:
    claim: ReportClaim
    created: bool  # False when the report's earlier value for this subject was replaced


def fold(text: str) -> str:
    """The form two spellings are compared in: Unicode-normalised, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _text(data: dict[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be text.", field=name), field=name)
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(_("%(field)s is required.", field=name), field=name)
    if len(value) > limit:
        raise InvalidInput(_("%(field)s is longer than %(n)d characters.", field=name, n=limit), field=name)
    return value


def _value(raw: Any) -> float | str:
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput(
            _('value must be a number (a key figure) or a word or phrase such as "closed".'), field="value"
        )
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or abs(raw) > 1e15:
            raise InvalidInput(_("value must be a finite number."), field="value")
        return float(raw)
    if isinstance(raw, str):
        text = " ".join(raw.split())
        if not text:
            raise InvalidInput(_("value must not be empty."), field="value")
        if len(text) > 200:
            raise InvalidInput(_("value is longer than %(n)d characters.", n=200), field="value")
        return text
    raise InvalidInput(_('value must be a number (a key figure) or a word or phrase such as "closed".'), field="value")


def _as_of(raw: Any) -> date | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise InvalidInput(_("as_of must be a date like 2010-01-15."), field="as_of")
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(_("as_of must be a date like 2010-01-15."), field="as_of") from None
    if day < EARLIEST:
        raise InvalidInput(_("as_of is before 1900."), field="as_of")
    if day > date.today() + timedelta(days=1):  # a day's slack for time zones
        raise InvalidInput(_("as_of is in the future."), field="as_of")
    return day


def claim_input(data: dict[str, Any]) -> ClaimInput:
    """Validate {"subject", "attribute", "value", "unit", "as_of"}; every refusal names its field."""
    unknown = sorted(set(data) - {"subject", "attribute", "value", "unit", "as_of"})
    if unknown:
        raise InvalidInput(_("Unknown field %(name)s.", name=unknown[0]), field=unknown[0])
    subject = _text(data, "subject", 200, required=True)
    attribute = "_".join(_text(data, "attribute", 100, required=True).lower().split())
    if not _ATTRIBUTE.match(attribute):
        raise InvalidInput(
            _("attribute is a short name such as people_displaced or road_status: letters, digits, _, + and -."),
            field="attribute",
        )
    if "value" not in data:
        raise InvalidInput(_("value is required."), field="value")
    value = _value(data["value"])
    unit = _text(data, "unit", 40)
    if isinstance(value, str) and unit:
        raise InvalidInput(_("unit goes with numbers only."), field="unit")
    return ClaimInput(subject=subject, attribute=attribute, value=value, unit=unit, as_of=_as_of(data.get("as_of")))


def require_claim_editor(user) -> None:
    """Coordinators and verifiers (and admins) record claims; a report's submitter does not
    grade their own report."""
    if can("assess_report", user) or can("triage_report", user):
        return
    if not getattr(user, "is_authenticated", False):
        raise Unauthorized(_("Log in to do this."))
    raise Forbidden(_("Only coordinators and verifiers record claims."))


def _report_day(report: Report) -> date:
    return (report.occurred_at or report.received_at).date()


def _find_or_create_subject(report: Report, given: ClaimInput, as_of: date) -> ClaimSubject:
    key = fold(given.subject)
    condition = (
        ClaimSubject.crisis_id == report.crisis_id,
        ClaimSubject.subject_key == key,
        ClaimSubject.attribute == given.attribute,
        ClaimSubject.as_of == as_of,
    )
    subject = db.session.scalar(select(ClaimSubject).where(*condition))
    if subject is None:
        try:
            with db.session.begin_nested():
                subject = ClaimSubject(
                    crisis_id=report.crisis_id,
                    subject=given.subject,
                    subject_key=key,
                    attribute=given.attribute,
                    as_of=as_of,
                    kind=given.kind,
                    unit=given.unit,
                )
                db.session.add(subject)
        except IntegrityError:  # created by a concurrent request a moment ago
            subject = db.session.scalar(select(ClaimSubject).where(*condition))
    if subject.kind != given.kind:
        if subject.kind == NUMERIC:
            raise InvalidInput(
                _(
                    "%(attribute)s of %(subject)s is a number in the claims already made.",
                    attribute=given.attribute,
                    subject=subject.subject,
                ),
                field="value",
            )
        raise InvalidInput(
            _(
                "%(attribute)s of %(subject)s takes words such as %(example)r, not numbers.",
                attribute=given.attribute,
                subject=subject.subject,
                example=_any_text(subject) or "open",
            ),
            field="value",
        )
    if subject.kind == NUMERIC and fold(subject.unit) != fold(given.unit):
        raise InvalidInput(
            _(
                "Claims about %(attribute)s of %(subject)s are in %(unit)r; "
                "convert the value or name another attribute.",
                attribute=given.attribute,
                subject=subject.subject,
                unit=subject.unit or "no unit",
            ),
            field="unit",
        )
    return subject


def _any_text(subject: ClaimSubject) -> str | None:
    return db.session.scalar(select(ReportClaim.text).where(ReportClaim.subject_id == subject.id).limit(1))


def store_claim(report: Report, given: ClaimInput, author) -> StoredClaim:
    """Record (or replace) `report`'s claim about a subject and commit, its subject marked
    pending for truth discovery's next run (refresh.py). The subject is the entity, the
    attribute and `as_of`, which defaults to the day the report's event happened."""
    require_claim_editor(author)
    subject = _find_or_create_subject(report, given, given.as_of or _report_day(report))
    claim = db.session.scalar(
        select(ReportClaim).where(ReportClaim.report_id == report.id, ReportClaim.subject_id == subject.id)
    )
    created = claim is None
    if created:
        claim = ReportClaim(subject=subject, report_id=report.id, created_by_id=getattr(author, "id", None))
        db.session.add(claim)
    if isinstance(given.value, str):
        claim.text, claim.text_key, claim.number = given.value, fold(given.value), None
    else:
        claim.text, claim.text_key, claim.number = None, None, given.value
    claim.updated_at = utcnow()
    # The crisis's truth discovery waits for a re-run by the background worker (refresh.py).
    subject.computed_at = None
    try:
        db.session.commit()
    except IntegrityError:
        # The same report's claim about this subject was stored concurrently: keep the first.
        db.session.rollback()
        raise Conflict(
            _(
                "This report's claim about %(subject)s was being recorded at the same time; try again.",
                subject=given.subject,
            ),
            field="subject",
        ) from None
    return StoredClaim(claim, created)

"""The situation report template, in the OCHA structure (see ../shared/DOMAIN.md)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from ..extensions import db
from ..models import Crisis, Page, PageCategory

SITREP_CATEGORY = "Situation reports"
CLUSTERS = (
    "Camp Coordination and Camp Management",
    "Early Recovery",
    "Education",
    "Emergency Shelter",
    "Emergency Telecommunications",
    "Food Security",
    "Health",
    "Logistics",
    "Nutrition",
    "Protection",
    "Water, Sanitation and Hygiene",
)
_TEMPLATE = (Path(__file__).parent / "sitrep_template.md").read_text()


def next_sitrep_number(crisis: Crisis) -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(PageCategory)
        .join(Page, Page.id == PageCategory.page_id)
        .where(Page.crisis_id == crisis.id, Page.deleted_at.is_(None), PageCategory.name == SITREP_CATEGORY)
    )
    return (count or 0) + 1


def sitrep_draft(crisis: Crisis, office: str = "OCHA", today: date | None = None) -> tuple[str, str]:
    """Title and Markdown body of the crisis's next situation report."""
    today = today or date.today()
    number = next_sitrep_number(crisis)
    clusters = "".join(f"\n### {name}\n**Needs:**\n\n**Response:**\n\n**Gaps:**\n" for name in CLUSTERS)
    body = _TEMPLATE.format(
        number=number,
        office=office,
        period_start=(today - timedelta(days=1)).isoformat(),
        period_end=today.isoformat(),
        next_report=(today + timedelta(days=1)).isoformat(),
        clusters=clusters,
    )
    return f"Situation Report No. {number}", body

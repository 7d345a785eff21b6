"""The demo crisis `make run` loads into an empty database: a few pages and a sitrep."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..crises.services import create_crisis
from ..models import User
from ..pages.revisions import create_page
from ..pages.sitrep import SITREP_CATEGORY

HERE = Path(__file__).parent

DEMO_SLUGS = ("haiti-2010", "pakistan-floods-2010")
PAGES = (
    ("Main Page", "main_page.md", ["Overview"]),
    ("Situation Report No. 1", "sitrep_1.md", [SITREP_CATEGORY]),
    ("Key figures", "key_figures.md", ["Figures"]),
    ("Contacts", "contacts.md", ["Coordination"]),
    ("Useful links", "links.md", ["Coordination"]),
)


def load_demo(admin: User) -> None:
    crisis = create_crisis(
        {
            "name": "2010 Haiti earthquake",
            "slug": "haiti-2010",
            "glide": "EQ-2010-000009-HTI",
            "bbox": "-74.5,17.9,-71.6,20.1",
            "start_date": date(2010, 1, 12).isoformat(),
            "description": "Demo workspace: a magnitude 7.0 earthquake struck near Léogâne, 25 km west of "
            "Port-au-Prince, on 12 January 2010. The figures here are illustrative demo data.",
        },
        admin,
    )
    for title, filename, categories in PAGES:
        create_page(crisis, title, (HERE / filename).read_text(), admin, "Demo content", categories)
    create_crisis(
        {
            "name": "2010 Pakistan floods",
            "slug": "pakistan-floods-2010",
            "glide": "FL-2010-000141-PAK",
            "bbox": "60.9,23.6,77.8,37.1",
            "start_date": date(2010, 7, 26).isoformat(),
            "description": "Demo workspace: monsoon floods across the Indus basin.",
        },
        admin,
    )

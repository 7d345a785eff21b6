"""The demo's field reports and inbox messages, made from real crisis messages (CrisisLexT26's
Typhoon Yolanda and Bohol earthquake tweets, vendored in data/messages.csv.gz with their MIT
licence; data/extract_messages.py says how they were cleaned).

The messages carry no coordinates. Each report is PLACED BY THIS LOADER: a place the text names,
found in the crisis's gazetteer (wiki.places: its admin areas, its layers' named features and
the GeoNames towns in its area; exact names), or else a town of the hardest-hit areas drawn at random, with a
few kilometres of jitter and always on land. Its source is a pseudonymous account of the kind
the crowd labelled it with (a news desk, a government office, an NGO team, a resident, someone
far away), each with a reliability of its own that the verifiers' outcomes follow. Everything
random is drawn from one seeded generator, so every load is the same.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shapely import Point
from shapely.prepared import prep

from ..places import gazetteer_for
from ..places.detection import COMMON_WORDS
from ..places.names import spans

DATA = Path(__file__).resolve().parent / "data" / "messages.csv.gz"

# Words that say which cluster a message is for, checked in this order; then the crowd's label.
SECTOR_WORDS = (
    ("health", r"hospital|medical|medicine|doctor|nurse|injur|wounded|dead|death|bodies|casualt|clinic|sick"),
    ("wash", r"water|sanitation|hygiene|toilet|drinking"),
    ("food", r"\bfood|rice|relief goods|hungry|hunger|canned|noodles|meals?\b"),
    ("shelter", r"shelter|evacuat|homeless|tent|houses? (destroyed|damaged)|roofs?\b"),
    ("logistics", r"road|bridge|airport|port\b|flight|ferry|ship|truck|fuel|cargo"),
    ("telecoms", r"signal|network|power|electric|blackout|globe|smart|communication|phone lines?"),
    ("protection", r"missing|tracing|looking for|looting|violence|security|child(ren)? alone"),
    ("education", r"school|classes|students"),
)
TYPE_SECTORS = {
    "Infrastructure and utilities": "logistics",
    "Affected individuals": "health",
    "Donations and volunteering": "food",
    "Caution and advice": "protection",
}
SENSITIVE = re.compile(r"missing|tracing|looking for|hanap|nawawala|last seen", re.IGNORECASE)

# Where a message that names no place is put: towns of the hardest-hit areas, by weight.
AFFECTED = {
    "yolanda": {
        "Tacloban": 30,
        "Ormoc": 8,
        "Guiuan": 8,
        "Palo": 6,
        "Catbalogan": 5,
        "Borongan": 4,
        "Roxas": 5,
        "Estancia": 4,
        "Bogo": 4,
        "Coron": 3,
        "Carigara": 3,
        "Baybay": 3,
        "Kalibo": 3,
        "Iloilo": 3,
    },
    "bohol": {"Tagbilaran": 30, "Carmen": 8, "Loon": 8, "Tubigon": 6, "Talibon": 5, "Cebu City": 10, "Loboc": 5},
}

# Pseudonymous sources per crowd label: (how many, organisation, name, reliability low..high)
SOURCE_KINDS = {
    "Media": (10, "News media", "News desk {n}", (0.75, 0.95)),
    "Government": (3, "Government", "Government office {n}", (0.8, 0.95)),
    "NGOs": (8, "NGO", "NGO field team {n}", (0.7, 0.95)),
    "Eyewitness": (30, "", "Resident {n}", (0.45, 0.9)),
    "Business": (3, "Business", "Business account {n}", (0.5, 0.8)),
    "Outsiders": (40, "", "Social-media account {n}", (0.2, 0.7)),
}


@dataclass(frozen=True)
class Message:
    event: str
    posted: datetime
    text: str
    source_kind: str
    info_type: str
    informativeness: str

    @property
    def related(self) -> bool:
        return self.informativeness.startswith("Related")


@dataclass(frozen=True)
class DemoSource:
    name: str
    organisation: str
    contact: str  # a made-up number: only residents have one (only verifiers see it)
    reliability: float  # the truth behind the verifiers' outcomes; the app never sees it


def read_messages() -> list[Message]:
    with gzip.open(DATA, "rt", encoding="utf-8", newline="") as handle:
        return [
            Message(
                row["event"],
                datetime.fromisoformat(row["posted"].replace("Z", "+00:00")),
                row["text"],
                row["source"],
                row["type"],
                row["informativeness"],
            )
            for row in csv.DictReader(handle)
        ]


def sector_of(message: Message) -> str:
    text = message.text.lower()
    for sector, words in SECTOR_WORDS:
        if re.search(words, text):
            return sector
    return TYPE_SECTORS.get(message.info_type, "other")


def title_of(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first if len(first) <= 100 else first[:97].rsplit(" ", 1)[0] + "…"


def make_sources(rng: random.Random, event: str) -> dict[str, list[DemoSource]]:
    sources: dict[str, list[DemoSource]] = {}
    for kind, (count, organisation, name, (low, high)) in SOURCE_KINDS.items():
        sources[kind] = [
            DemoSource(
                name=f"{name.format(n=n + 1)} ({event})"
                if kind in ("Eyewitness", "Outsiders")
                else name.format(n=n + 1),
                organisation=organisation,
                contact=f"+63 917 555 {rng.randrange(1000, 9999)}" if kind == "Eyewitness" else "",
                reliability=round(rng.uniform(low, high), 2),
            )
            for n in range(count)
        ]
    return sources


class Placer:
    """Points for the demo's reports, inside the country and the crisis's area."""

    def __init__(self, crisis, land, rng: random.Random, event: str) -> None:
        self.rng = rng
        self.land = prep(land)
        self.gazetteer = gazetteer_for(crisis)
        west, south, east, north = crisis.bbox
        self.box = (west, south, east, north)
        towns = {}
        for place in self.gazetteer.places.values():
            if place.kind == "city" and place.name in AFFECTED[event] and place.name not in towns:
                towns[place.name] = place
        self.towns = [(towns[name], weight) for name, weight in AFFECTED[event].items() if name in towns]
        self.found = 0

    def inside(self, lon: float, lat: float) -> bool:
        west, south, east, north = self.box
        return west <= lon <= east and south <= lat <= north

    def named_place(self, text: str):
        """The most precise place of the crisis's area that the text names exactly, as the
        gazetteer indexes names (the inbox's detection also forgives misspellings, at about 20 ms a
        message: too slow for 2,000 of them here). Ordinary words count only when capitalised."""
        tokens = spans(text)
        words = [word for word, _start, _end in tokens]
        best = None
        for first in range(len(words)):
            for size in range(min(self.gazetteer.longest, len(words) - first), 0, -1):
                name_key = " ".join(words[first : first + size])
                start = tokens[first][1]
                if size == 1 and (name_key in COMMON_WORDS or not text[start : start + 1].isupper()):
                    continue
                for place in self.gazetteer.exact(name_key):
                    if self.inside(place.lon, place.lat) and (best is None or place.radius_m < best.radius_m):
                        best = place
        return best

    def place(self, text: str) -> tuple[float, float, str]:
        """(lon, lat, place name): the place the text names, if the gazetteer knows it in the
        crisis's area; else a town of the affected area. A few kilometres of jitter, on land."""
        found = self.named_place(text)
        if found is not None:
            point = self._near(found, min(found.radius_m, 4000.0) / 111_000)
            if point is not None:
                self.found += 1
                return (*point, found.name)
        towns, weights = zip(*self.towns, strict=True)
        while True:  # a town of the affected area (one whose jittered points fall on land)
            town = self.rng.choices(towns, weights=weights)[0]
            point = self._near(town, 0.05)
            if point is not None:
                return (*point, town.name)

    def _near(self, centre, spread: float) -> tuple[float, float] | None:
        """A point within `spread` degrees of `centre`, on land (as the regions draw it)."""
        for _attempt in range(30):
            lon = round(centre.lon + self.rng.uniform(-spread, spread), 5)
            lat = round(centre.lat + self.rng.uniform(-spread, spread), 5)
            if self.land.contains(Point(lon, lat)):
                return lon, lat
        return None


def csv_text(rows: list[dict]) -> str:
    """The rows as the CSV the report import reads (its own column names)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

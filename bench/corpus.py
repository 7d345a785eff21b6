"""The benchmark corpus, generated deterministically (fixed seed) so every run measures the same.

- 2,000 wiki pages of 4-6 KB shaped like situation reports (headings, lists, a key-figures
  table, wiki links), in Markdown for crisiswiki and in wikitext for MediaWiki;
- 100,000 field reports spread over the Haiti earthquake area, clustered around towns, their
  text drawn from the real multilingual crisis messages in ../shared/data/crisislex-t26
  (the data has no coordinates: points are placed around Haitian towns, and said to be);
- a few GeoJSON layers;
- the fixed query list for the search workload.

Usage: python bench/corpus.py [--out bench/work/corpus] [--pages 2000] [--reports 100000]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared/data next to the checkout, or CRISISWIKI_SHARED_DATA (as for the tests) for a checkout elsewhere.
CRISISLEX = Path(os.environ.get("CRISISWIKI_SHARED_DATA") or ROOT.parent / "shared" / "data") / "crisislex-t26"
DEFAULT_OUT = ROOT / "bench" / "work" / "corpus"
SEED = 20100112
BBOX = (-74.5, 17.9, -71.6, 20.1)
TOWNS = [  # (name, lat, lon, weight): where reports concentrate
    ("Port-au-Prince", 18.5944, -72.3074, 40),
    ("Carrefour", 18.5411, -72.3993, 10),
    ("Léogâne", 18.5111, -72.6339, 12),
    ("Petit-Goâve", 18.4314, -72.8669, 6),
    ("Grand-Goâve", 18.4297, -72.7686, 4),
    ("Jacmel", 18.2342, -72.5347, 8),
    ("Gonaïves", 19.4456, -72.6890, 4),
    ("Cap-Haïtien", 19.7578, -72.2040, 4),
    ("Les Cayes", 18.1933, -73.7461, 4),
    ("Hinche", 19.1500, -72.0167, 2),
    ("Saint-Marc", 19.1080, -72.6938, 3),
    ("Jérémie", 18.6500, -74.1167, 2),
]
SECTOR_BY_TYPE = {
    "Affected individuals": ["health", "shelter", "protection", "cccm"],
    "Infrastructure and utilities": ["logistics", "wash", "telecoms", "shelter"],
    "Donations and volunteering": ["food", "early_recovery", "other"],
    "Caution and advice": ["protection", "health", "other"],
    "Sympathy and support": ["other"],
    "Other Useful Information": ["food", "nutrition", "education", "wash", "other"],
}
CLUSTERS = [
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
]
QUERIES = [
    "earthquake",
    "water",
    "hospital",
    "bridge",
    "shelter",
    "food",
    "terremoto",
    "sismo",
    "inondation",
    "flood",
    "road blocked",
    "medical supplies",
    "clean water",
    "damaged houses",
    "search rescue",
    "power outage",
    '"water supply"',
    '"field hospital"',
    "typhoon",
    "evacuation",
    "Léogâne",
    "Leogane",
    "Jacmel",
    "fire",
    "injured",
    "volunteers needed",
    "cholera",
    "tents",
    "donations",
    "collapsed building",
]
FILTERED = ["sector=health", "sector=wash", "status=verified", "bbox=-72.8,18.3,-72.2,18.7", "since=2010-01-15"]


def crisislex_messages() -> list[tuple[str, str, str]]:
    """(event, text, information type) for every labelled message, in a stable order."""
    messages = []
    for path in sorted(CRISISLEX.glob("*/tweets_labeled.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            for row in reader:
                if len(row) >= 4:
                    text = re.sub(r"https?://\S+", "", row[1]).strip()
                    if len(text) > 15:
                        messages.append((path.parent.name, text, row[3].strip()))
    if not messages:
        raise SystemExit(f"No messages found under {CRISISLEX}")
    return messages


def _point(rng: random.Random) -> tuple[float, float, str]:
    towns, weights = TOWNS, [t[3] for t in TOWNS]
    name, lat, lon, _w = rng.choices(towns, weights)[0]
    spread = rng.choice([0.01, 0.03, 0.08])
    lat = min(max(rng.gauss(lat, spread), BBOX[1]), BBOX[3])
    lon = min(max(rng.gauss(lon, spread / math.cos(math.radians(lat))), BBOX[0]), BBOX[2])
    return round(lon, 5), round(lat, 5), name


def reports(count: int, seed: int = SEED) -> Iterator[dict]:
    rng = random.Random(seed)
    messages = crisislex_messages()
    start = datetime(2010, 1, 12, 21, 53, tzinfo=UTC)
    contacts = [f"+509 37{n:06d}" for n in range(count // 20)]
    for n in range(count):
        event, text, kind = messages[n % len(messages)] if n < len(messages) else rng.choice(messages)
        lon, lat, town = _point(rng)
        sector = rng.choice(SECTOR_BY_TYPE.get(kind, ["other"]))
        occurred = start + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        contact = rng.choice(contacts) if rng.random() < 0.6 else ""
        yield {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "title": text[:90],
                "description": text,
                "sector": sector,
                "place_name": town,
                "occurred_at": occurred.isoformat(),
                "client_id": f"bench-{n}",
                "status": rng.choices(["new", "under_review", "verified", "refuted"], [70, 15, 12, 3])[0],
                "source": {
                    "name": f"Reporter {contact[-4:]}" if contact else "",
                    "contact": contact,
                    "channel": rng.choice(["web", "sms", "api"]),
                },
                "x_event": event,
            },
        }


def _figures(rng: random.Random) -> list[tuple[str, int]]:
    base = rng.randint(20_000, 3_000_000)
    return [
        ("Affected", base),
        ("In need", int(base * 0.7)),
        ("Targeted", int(base * 0.5)),
        ("Reached", int(base * 0.3)),
        ("Displaced", int(base * 0.4)),
        ("Killed", rng.randint(10, 50_000)),
        ("Injured", rng.randint(50, 100_000)),
    ]


def page(n: int, total: int, rng: random.Random, messages: list[tuple[str, str, str]]) -> dict:
    """One sitrep-shaped page as Markdown and as wikitext (same content), 4-6 KB."""
    town = TOWNS[n % len(TOWNS)][0]
    title = f"Situation Report No. {n // len(TOWNS) + 1} {town}"
    links = [
        f"Situation Report No. {rng.randrange(1, total // len(TOWNS) + 1)} {rng.choice(TOWNS)[0]}" for _ in range(4)
    ]
    figures = _figures(rng)
    target = rng.randint(4400, 5800)
    md = [
        f"**{title}** · OCHA Haiti",
        f"**Period covered:** 2010-01-{12 + n % 18:02d} · **Next report:** in 48 hours",
        "",
        "## Highlights",
    ]
    wt = [
        f"'''{title}''' · OCHA Haiti",
        f"'''Period covered:''' 2010-01-{12 + n % 18:02d} · '''Next report:''' in 48 hours",
        "",
        "== Highlights ==",
    ]
    for _ in range(4):
        text = rng.choice(messages)[1][:160]
        md.append(f"- {text}")
        wt.append(f"* {text}")
    md += ["", "## Key figures", "| Figure | People |", "| --- | ---: |"]
    wt += ["", "== Key figures ==", '{| class="wikitable"', "! Figure !! People"]
    for label, value in figures:
        md.append(f"| {label} | {value:,} |")
        wt += ["|-", f"| {label} || {value:,}"]
    wt.append("|}")
    md += ["", "## Situation overview"]
    wt += ["", "== Situation overview =="]
    cluster_index = 0
    while len("\n".join(md).encode()) < target - 300:
        if rng.random() < 0.35 and cluster_index < len(CLUSTERS):
            name = CLUSTERS[cluster_index]
            cluster_index += 1
            md += ["", f"### {name}"]
            wt += ["", f"=== {name} ==="]
            for part in ("Needs", "Response", "Gaps"):
                text = rng.choice(messages)[1]
                md.append(f"**{part}:** {text}")
                wt.append(f"'''{part}:''' {text}")
            continue
        text = " ".join(m[1] for m in rng.sample(messages, 3))
        md += ["", text]
        wt += ["", text]
    see = ", ".join(f"[[{link}]]" for link in links)
    md += ["", "## Contacts", f"See also {see}."]
    wt += ["", "== Contacts ==", f"See also {see}."]
    return {"title": title, "markdown": "\n".join(md) + "\n", "wikitext": "\n".join(wt) + "\n"}


def pages(count: int, seed: int = SEED) -> Iterator[dict]:
    rng = random.Random(seed + 1)
    messages = crisislex_messages()
    for n in range(count):
        yield page(n, count, rng, messages)


def layers() -> list[dict]:
    """A few layers: affected area polygons, camps (points), road status (lines)."""
    rng = random.Random(SEED + 2)
    area = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": f"Affected zone {i}", "fill": "#d73027", "fill-opacity": 0.3},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [lon - 0.1, lat - 0.1],
                            [lon + 0.1, lat - 0.1],
                            [lon + 0.1, lat + 0.1],
                            [lon - 0.1, lat + 0.1],
                            [lon - 0.1, lat - 0.1],
                        ]
                    ],
                },
            }
            for i, (_n, lat, lon, _w) in enumerate(TOWNS[:6])
        ],
    }
    camps = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": f"Camp {i}", "people": rng.randint(200, 20000), "marker-color": "#1a9850"},
                "geometry": {"type": "Point", "coordinates": list(_point(rng)[:2])},
            }
            for i in range(300)
        ],
    }
    roads = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "name": f"Road {i}",
                    "status": rng.choice(["open", "closed", "damaged"]),
                    "stroke": "#4575b4",
                },
                "geometry": {"type": "LineString", "coordinates": [list(_point(rng)[:2]) for _ in range(5)]},
            }
            for i in range(40)
        ],
    }
    return [("Affected areas", area), ("Camps", camps), ("Road status", roads)]


def write(out: Path, page_count: int, report_count: int) -> dict:
    """Write the corpus; manifest.json last, so that a corpus with a manifest is complete."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    with (out / "pages.jsonl").open("w", encoding="utf-8") as handle:
        for item in pages(page_count):
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    with (out / "reports.jsonl").open("w", encoding="utf-8") as handle:
        for item in reports(report_count):
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    for name, collection in layers():
        (out / f"layer-{name.lower().replace(' ', '-')}.geojson").write_text(json.dumps(collection))
    queries = QUERIES + [f"{q}\t{f}" for q, f in zip(QUERIES * 2, FILTERED * 12, strict=False)][: len(QUERIES)]
    (out / "queries.txt").write_text("\n".join(queries) + "\n")
    manifest = {"seed": SEED, "pages": page_count, "reports": report_count, "bbox": BBOX}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--reports", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(write(args.out, args.pages, args.reports)))


if __name__ == "__main__":
    main()

"""Relevance on real crisis messages: CrisisLexT26 (../shared/data/crisislex-t26), 26 events in
English, Spanish, Italian, French and more, loaded as field reports of one test crisis. Each
report remembers its event (as its client id), so a test can say where its results came from."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from tests.fixtures import SHARED_DATA
from wiki.extensions import db

DATA = SHARED_DATA / "crisislex-t26"
PER_EVENT = 100
SECTORS = {
    "Infrastructure and utilities": "logistics",
    "Donations and volunteering": "food",
    "Caution and advice": "protection",
    "Affected individuals": "health",
}
SPANISH = {"2012_Costa_Rica_earthquake", "2012_Guatemala_earthquake"}
FLOODS = {
    "2013_Alberta_floods",
    "2013_Colorado_floods",
    "2013_Queensland_floods",
    "2012_Philipinnes_floods",
    "2013_Manila_floods",
    "2013_Sardinia_floods",
}

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"the CrisisLexT26 data is not at {DATA}")


@pytest.fixture
def app_config(app_config: dict, search_backend: str) -> dict:
    return {**app_config, "SEARCH_BACKEND": search_backend}


def start_day(folder: Path) -> datetime:
    """The event's first day (the file says 2013-06-17, or once 17/06/2013), at noon UTC."""
    time = json.loads((folder / "event_description.json").read_text())["time"]
    raw = str(time.get("start_day") or f"{time['year']}-01-01")
    for layout in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw, layout).replace(hour=12, tzinfo=UTC)
        except ValueError:
            continue
    return datetime(int(time["year"]), 1, 1, 12, tzinfo=UTC)


def messages() -> list[tuple[str, datetime, str, str]]:
    """(event, start day, text, information type) of a seeded sample of informative messages."""
    sample = []
    for folder in sorted(path for path in DATA.iterdir() if path.is_dir()):
        start = start_day(folder)
        with open(folder / "tweets_labeled.csv", newline="", encoding="utf-8") as handle:
            rows = [row for row in list(csv.reader(handle))[1:] if row[4] == "Related and informative"]
        random.Random(folder.name).shuffle(rows)
        sample += [(folder.name, start, row[1], row[3]) for row in rows[:PER_EVENT]]
    return sample


@pytest.fixture
def corpus(app: Flask, crisis: str) -> dict[int, tuple[str, str]]:
    """The sample as reports (inserted in bulk, as the importer does, then announced with
    reports_imported) and indexed; returns {report id: (event, text)}."""
    from wiki.models import Crisis, Report, Source
    from wiki.plugins import call
    from wiki.search import flush
    from wiki.search.indexer import build_if_missing

    rng = random.Random(26)
    with app.app_context():
        build_if_missing()
        quake = db.session.scalar(db.select(Crisis).where(Crisis.slug == "quake"))
        source = Source(name="CrisisLexT26", channel="import")
        db.session.add(source)
        reports = []
        for number, (event, day, text, kind) in enumerate(messages()):
            reports.append(
                Report(
                    crisis_id=quake.id,
                    title=" ".join(text.split()[:8])[:200],
                    description=text,
                    source=source,
                    lon=rng.uniform(-74.4, -71.7),
                    lat=rng.uniform(18.0, 20.0),
                    occurred_at=day,
                    received_at=day,
                    updated_at=day,
                    sector=SECTORS.get(kind, "other"),
                    status="new",
                    channel="import",
                    client_id=f"{event}/{number}",
                )
            )
        db.session.add_all(reports)
        db.session.commit()
        ids = [report.id for report in reports]
        call("reports_imported", crisis=quake, report_ids=ids)
        flush()
        return {report.id: (report.client_id.split("/")[0], report.description) for report in reports}


def search(client, **params) -> dict:
    response = client.get("/api/v1/search", query_string={"limit": 100, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def events(found: dict, corpus) -> list[str]:
    return [corpus[result["id"]][0] for result in found["results"]]


def test_queries_in_each_language_find_their_own_events(client, corpus):
    # Spanish: the Costa Rica and Guatemala earthquakes.
    sismo = search(client, q="sismo")
    found = events(sismo, corpus)
    assert len(found) >= 20 and set(found[:10]) <= SPANISH and set(found) >= SPANISH
    assert sum(event in SPANISH for event in found) >= 0.9 * len(found)
    plural = search(client, q="sismos")  # no message says "sismos": the Spanish stemmer finds "sismo"
    assert {result["id"] for result in plural["results"]} >= {result["id"] for result in sismo["results"][:10]}

    # Italian: the Italy earthquakes (northern Italy, May 2012); civil protection is also in Sardinia.
    for query in ("scossa OR scosse", "terremoto Emilia"):
        found = events(search(client, q=query), corpus)
        assert found and set(found) == {"2012_Italy_earthquakes"}, query
    found = events(search(client, q='"protezione civile"'), corpus)
    assert "2012_Italy_earthquakes" in found and set(found) <= {"2012_Italy_earthquakes", "2013_Sardinia_floods"}

    # English, with word forms: "flooding" also finds messages that only say "floods" or "flooded".
    flooding = search(client, q="flooding")
    found = events(flooding, corpus)
    assert len(found) >= 30 and sum(event in FLOODS for event in found) >= 0.9 * len(found)
    texts = [corpus[result["id"]][1].lower() for result in flooding["results"]]
    assert any("flooding" not in text and ("floods" in text or "flooded" in text) for text in texts)

    # French place names with accents, typed with or without them.
    accented, plain = search(client, q="Mégantic"), search(client, q="megantic")
    assert accented["total"] == plain["total"] >= 20
    assert set(events(plain, corpus)) == {"2013_Lac_Megantic_train_crash"}
    assert any("mégantic" in corpus[result["id"]][1].lower() for result in plain["results"])


def test_phrases_filters_facets_and_suggestions_on_real_messages(client, corpus):
    costa_rica = search(client, q='"costa rica"')
    assert costa_rica["total"] >= 20 and set(events(costa_rica, corpus)) <= SPANISH

    in_2013 = events(search(client, q="earthquake", since="2013-01-01"), corpus)
    assert "2013_Bohol_earthquake" in in_2013 and not any(event.startswith("2012") for event in in_2013)
    until_2012 = events(search(client, q="earthquake", until="2012-12-31"), corpus)
    assert set(until_2012) >= SPANISH and not any(event.startswith("2013") for event in until_2012)

    everything = search(client, q="terremoto")
    sectors = {item["value"]: item["count"] for item in everything["facets"]["sector"]}
    assert sum(sectors.values()) == everything["total"]
    busiest = max(sectors, key=sectors.get)
    narrowed = search(client, q="terremoto", sector=busiest)
    assert narrowed["total"] == sectors[busiest]
    assert {result["feature"]["properties"]["sector"] for result in narrowed["results"]} == {busiest}
    assert search(client, q=f"terremoto sector:{busiest}")["total"] == sectors[busiest]

    misspelt = search(client, q="earthqake")
    assert misspelt["total"] == 0 and misspelt["suggestion"] == "earthquake"

    tagged = Counter(events(search(client, q="meteor"), corpus))
    assert tagged.most_common(1)[0][0] == "2013_Russia_meteor"

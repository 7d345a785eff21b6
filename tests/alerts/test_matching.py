"""The pure parts of alerts, without a database: which subscriptions a report answers (areas,
filters, keywords in the search query language) and when waiting alerts go out."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from wiki.alerts.areas import Area
from wiki.alerts.keywords import Document, matches, parsed
from wiki.alerts.matching import Fact, Rule, RuleIndex
from wiki.alerts.schedule import after_quiet_hours, due_at, parse_clock


def square(west, south, east, north) -> Area:
    geometry = {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }
    return Area("polygon", json.dumps(geometry), (west, south, east, north))


def circle(lon, lat, km) -> Area:
    degrees = km / 100
    return Area(
        "radius",
        json.dumps({"type": "Point", "coordinates": [lon, lat]}),
        (lon - degrees, lat - degrees, lon + degrees, lat + degrees),
        lon=lon,
        lat=lat,
        radius_km=km,
    )


def fact(id, lon, lat, **values) -> Fact:
    defaults = {
        "crisis_id": 1,
        "sector": "health",
        "status": "new",
        "published": True,
        "withdrawn": False,
        "submitted_by_id": None,
    }
    return Fact(id=id, lon=lon, lat=lat, **{**defaults, **values})


NO_SCORES = lambda group, report_id: None  # noqa: E731


def matched(rules, facts, scores=NO_SCORES) -> set[tuple[int, int]]:
    return set(RuleIndex(rules).match(facts, scores))


def test_a_polygon_holds_what_is_inside_and_on_its_edge_and_nothing_else():
    rule = Rule(1, 1, area=square(-72.36, 18.50, -72.28, 18.58))
    inside, edge, outside = fact(1, -72.30, 18.55), fact(2, -72.28, 18.55), fact(3, -72.27, 18.55)
    assert matched([rule], [inside, edge, outside]) == {(1, 1), (1, 2)}


def test_a_concave_polygon_is_decided_by_its_exact_shape_not_its_box():
    # An L: its bounding box holds the point (1.5, 1.5), the shape does not.
    geometry = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]]}
    rule = Rule(1, 1, area=Area("polygon", json.dumps(geometry), (0, 0, 2, 2)))
    assert matched([rule], [fact(1, 1.5, 1.5), fact(2, 0.5, 1.5)]) == {(1, 2)}


def test_a_circle_is_decided_by_the_great_circle_distance():
    rule = Rule(1, 1, area=circle(-72.3, 18.5, 5))
    near = fact(1, -72.3, 18.5 + 4.9 / 111.2)  # 4.9 km north
    far = fact(2, -72.3, 18.5 + 5.1 / 111.2)  # 5.1 km north: inside the bounding box, outside the circle
    assert matched([rule], [near, far]) == {(1, 1)}


def test_filters_crisis_sector_status_visibility_and_withdrawal():
    rules = [
        Rule(1, 1),
        Rule(2, 1, sectors=frozenset({"wash"})),
        Rule(3, 1, statuses=frozenset({"verified"})),
        Rule(4, 2),
        Rule(5, 1, sees_unpublished=True),
        Rule(6, 1, owner_id=77),
    ]
    facts = [
        fact(1, 0, 0),
        fact(2, 0, 0, sector="wash", status="verified"),
        fact(3, 0, 0, published=False),
        fact(4, 0, 0, published=False, submitted_by_id=77),
        fact(5, 0, 0, withdrawn=True, status="verified"),
    ]
    assert matched(rules, facts) == {
        (1, 1), (1, 2),
        (2, 2),
        (3, 2),
        (5, 1), (5, 2), (5, 3), (5, 4),
        (6, 1), (6, 2), (6, 4),
    }  # fmt: skip


def test_score_and_verdict_are_read_for_the_owners_role():
    rules = [
        Rule(1, 1, min_score=0.7, score_group="volunteer"),
        Rule(2, 1, verdicts=frozenset({"accept"}), score_group="volunteer"),
        Rule(3, 1, min_score=0.7, score_group="anonymous"),
    ]
    scores = {("volunteer", 1): {"score": 0.8, "verdict": "accept"}, ("volunteer", 2): {"score": 0.6, "verdict": None}}
    found = matched(rules, [fact(1, 0, 0), fact(2, 0, 0), fact(3, 0, 0)], lambda group, rid: scores.get((group, rid)))
    assert found == {(1, 1), (2, 1)}  # no score is no match; the public may not see these scores


@pytest.mark.parametrize(
    ("keywords", "title", "body", "expected"),
    [
        ("floods", "Flooding in the lower town", "", True),  # stemmed as search stems it
        ("Leogane", "Route de Léogâne coupée", "", True),  # accents folded
        ('"water point"', "The water point is dry", "", True),
        ('"point water"', "The water point is dry", "", False),
        ("cholera -rumour", "Cholera cases", "a rumour says", False),
        ("cholera OR measles", "Measles outbreak", "", True),
        ("cholera measles", "Measles outbreak", "", False),
        ("title:clinic", "Road blocked", "near the clinic", False),
        ("body:clinic", "Road blocked", "near the clinic", True),
        ("sector:health clinic", "Clinic closed", "", True),
        ("sector:wash clinic", "Clinic closed", "", False),
        ("adm1:ouest", "Clinic closed", "", True),
        ("", "Anything", "", True),
    ],
)
def test_keywords_use_the_search_query_language(keywords, title, body, expected):
    document = Document(title, body, crisis="quake", sector="health", status="new", adm1="HT01", adm1_name="Ouest")
    assert matches(parsed(keywords), document) is expected


def test_the_bounding_box_prefilter_keeps_matching_fast_with_many_subscriptions():
    """10,000 subscriptions (admin areas, circles, the whole crisis) against 2,000 reports: the
    trees narrow each report to the few areas around it. A generous bound, not a benchmark
    (bench/alerts.py measures)."""
    rng = random.Random(16)
    rules = []
    for n in range(10_000):
        lon, lat = rng.uniform(-74, -72), rng.uniform(18, 20)
        if n % 3 == 0:
            rules.append(Rule(n, 1, area=square(lon, lat, lon + 0.1, lat + 0.1), sectors=frozenset({"health"})))
        elif n % 3 == 1:
            rules.append(Rule(n, 1, area=circle(lon, lat, 5), statuses=frozenset({"verified"})))
        else:
            rules.append(Rule(n, 1, area=square(lon, lat, lon + 0.2, lat + 0.2)))
    facts = [
        fact(n, rng.uniform(-74, -72), rng.uniform(18, 20), status=rng.choice(["new", "verified"])) for n in range(2000)
    ]
    index = RuleIndex(rules)
    started = time.perf_counter()
    found = index.match(facts, NO_SCORES)
    elapsed = time.perf_counter() - started
    assert found and elapsed < 5.0, elapsed
    # The same answer as checking every pair.
    slow = {
        (rule.id, f.id)
        for f in facts[:100]
        for rule in rules
        if (rule.area.kind == "radius" and f.status == "verified" and _km(f, rule.area) <= rule.area.radius_km)
        or (
            rule.area.kind == "polygon"
            and (not rule.sectors or f.sector in rule.sectors)
            and rule.area.bbox[0] <= f.lon <= rule.area.bbox[2]
            and rule.area.bbox[1] <= f.lat <= rule.area.bbox[3]
        )
    }
    assert {pair for pair in found if pair[1] < 100} == slow


def _km(f: Fact, area: Area) -> float:
    from wiki.geo import haversine_km

    return haversine_km(f.lat, f.lon, area.lat, area.lon)


UTC_NOON = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


def test_immediate_alerts_go_at_once_but_at_most_one_message_a_minute():
    assert due_at("immediate", UTC_NOON, None) == UTC_NOON
    assert due_at("immediate", UTC_NOON, UTC_NOON - timedelta(seconds=20)) == UTC_NOON + timedelta(seconds=40)
    assert due_at("immediate", UTC_NOON, UTC_NOON - timedelta(minutes=5)) == UTC_NOON


def test_digests_wait_for_the_hour_or_the_morning():
    assert due_at("hourly", UTC_NOON, None) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert due_at("daily", UTC_NOON, None) == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    # 07:00 in Port-au-Prince (UTC-5 in March before daylight saving) is 12:00 UTC.
    assert due_at("daily", UTC_NOON, None, zone="America/Port-au-Prince") == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def test_quiet_hours_move_what_falls_inside_them_to_their_end():
    night, morning = parse_clock("22:00"), parse_clock("07:00")
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert after_quiet_hours(late, night, morning, "UTC") == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    early = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
    assert after_quiet_hours(early, night, morning, "UTC") == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert after_quiet_hours(UTC_NOON, night, morning, "UTC") == UTC_NOON
    lunch = parse_clock("12:00"), parse_clock("13:00")
    assert due_at("immediate", UTC_NOON, None, *lunch) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert parse_clock("25:00") is None and parse_clock("7") is None

"""Which report subscriptions a report answers: the pure core of the matching, over plain data.

Many subscriptions against many reports: the subscriptions' areas are kept in STRtrees (one of
the drawn and admin-area polygons, one of the circles' bounding boxes), and a batch of reports
is put to them as one array of points. The tree finds the areas whose bounding box holds a point
(the cheap filter); then the exact geometry decides (shapely's predicate for polygons, the
great-circle distance for circles). Only the pairs left are checked for crisis, visibility,
sector, status, score and keywords.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree

from ..geo import EARTH_RADIUS_KM
from ..search.query import ParsedQuery
from .areas import Area
from .keywords import Document, matches


@dataclass(frozen=True)
class Rule:
    """What a report subscription asks for, as plain data."""

    id: int
    crisis_id: int
    owner_id: int | None = None
    sees_unpublished: bool = False  # its owner may see unpublished reports (wiki.visibility)
    score_group: str = "anonymous"  # whose view of scores applies (its owner's role)
    area: Area | None = None
    sectors: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    min_score: float | None = None
    verdicts: frozenset[str] = frozenset()
    query: ParsedQuery | None = None

    @property
    def needs_scores(self) -> bool:
        return self.min_score is not None or bool(self.verdicts)


@dataclass(frozen=True)
class Fact:
    """A report as alerts see it: its place is where the public sees it (wiki.visibility.alert_place)."""

    id: int
    crisis_id: int
    lon: float
    lat: float
    sector: str
    status: str
    published: bool
    withdrawn: bool
    submitted_by_id: int | None
    title: str = ""
    body: str = ""
    crisis: str = ""
    adm1: str = ""
    adm1_name: str = ""

    def document(self) -> Document:
        return Document(self.title, self.body, self.crisis, self.sector, self.status, self.adm1, self.adm1_name)


Scores = Callable[[str, int], dict | None]  # (score group, report id) -> {"score", "verdict"} or None


@dataclass
class RuleIndex:
    rules: Sequence[Rule]
    everywhere: dict[int, list[int]] = field(default_factory=dict)  # crisis -> rules without an area

    def __post_init__(self) -> None:
        polygons, circles = [], []
        for number, rule in enumerate(self.rules):
            if rule.area is None:
                self.everywhere.setdefault(rule.crisis_id, []).append(number)
            elif rule.area.kind == "radius":
                circles.append(number)
            else:
                polygons.append(number)
        self.polygon_rules = np.asarray(polygons, dtype=np.int64)
        geometries = [shape(json.loads(self.rules[number].area.geometry)) for number in polygons]
        self.polygon_tree = STRtree(geometries) if geometries else None
        self.circle_rules = np.asarray(circles, dtype=np.int64)
        if circles:
            areas = [self.rules[number].area for number in circles]
            self.circle_tree = STRtree(shapely.box(*np.asarray([area.bbox for area in areas]).T))
            self.circle_lon = np.radians([area.lon for area in areas])
            self.circle_lat = np.radians([area.lat for area in areas])
            self.circle_radius = np.asarray([area.radius_km for area in areas])
        else:
            self.circle_tree = None

    def in_area(self, facts: Sequence[Fact]) -> list[tuple[int, int]]:
        """(fact number, rule number) for every rule whose area holds the fact's point, or that
        has no area and belongs to the fact's crisis."""
        pairs: list[tuple[int, int]] = []
        if not facts:
            return pairs
        lons = np.asarray([fact.lon for fact in facts], dtype=float)
        lats = np.asarray([fact.lat for fact in facts], dtype=float)
        points = shapely.points(lons, lats)
        if self.polygon_tree is not None:
            # The tree's bounding boxes first, then the exact polygon (boundaries included).
            fact_numbers, tree_numbers = self.polygon_tree.query(points, predicate="intersects")
            pairs += zip(fact_numbers.tolist(), self.polygon_rules[tree_numbers].tolist(), strict=True)
        if self.circle_tree is not None:
            fact_numbers, tree_numbers = self.circle_tree.query(points)
            if len(fact_numbers):
                inside = (
                    _haversine_km(
                        np.radians(lats[fact_numbers]),
                        np.radians(lons[fact_numbers]),
                        self.circle_lat[tree_numbers],
                        self.circle_lon[tree_numbers],
                    )
                    <= self.circle_radius[tree_numbers]
                )
                pairs += zip(
                    fact_numbers[inside].tolist(), self.circle_rules[tree_numbers[inside]].tolist(), strict=True
                )
        for number, fact in enumerate(facts):
            pairs += ((number, rule) for rule in self.everywhere.get(fact.crisis_id, ()))
        return pairs

    def match(self, facts: Sequence[Fact], scores: Scores) -> list[tuple[int, int]]:
        """(rule id, report id) for every subscription each report answers."""
        found = []
        for fact_number, rule_number in self.in_area(facts):
            fact, rule = facts[fact_number], self.rules[rule_number]
            if answers(rule, fact, scores):
                found.append((rule.id, fact.id))
        return found


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def answers(rule: Rule, fact: Fact, scores: Scores) -> bool:
    """Everything but the area: crisis, visibility to the owner, sector, status, score, keywords."""
    if fact.crisis_id != rule.crisis_id or fact.withdrawn:
        return False
    if not (
        fact.published or rule.sees_unpublished or (rule.owner_id is not None and rule.owner_id == fact.submitted_by_id)
    ):
        return False
    if rule.sectors and fact.sector not in rule.sectors:
        return False
    if rule.statuses and fact.status not in rule.statuses:
        return False
    if rule.needs_scores:
        found = scores(rule.score_group, fact.id) or {}
        score = found.get("score")
        if rule.min_score is not None and (score is None or score < rule.min_score):
            return False
        if rule.verdicts and found.get("verdict") not in rule.verdicts:
            return False
    return rule.query is None or matches(rule.query, fact.document())

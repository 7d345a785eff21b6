"""The reports near many reports at once, read from the database in a few queries: each one's
nearest neighbours (the evidence its score counts), and the reports that may count it among
theirs (those its new score may change).

Each query ORs the boxes of up to 50 reports (statements of a few fixed shapes, each compiled
once, their values bound), so a batch of hundreds of reports costs a handful of indexed queries,
not hundreds."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from sqlalchemy import Select, and_, bindparam, or_, select

from wiki.geo import KM_PER_DEGREE, bounding_box

from .database import connection
from .evidence import ReportRecord
from .models import ReportScore
from .neighbours import nearest_all
from .records import load_records
from .settings import Settings

SHAPES = (2, 10, 50)  # how many boxes one query ORs together
APPROX_SLACK, APPROX_MARGIN_KM = 1.02, 0.05  # the equirectangular distance lies within this of the true one


@dataclass(frozen=True)
class Spot:
    """A report's crisis, sector, place and event time: as it is, or as its score row last saw it."""

    crisis_id: int
    sector: str
    lat: float | None  # None: location unknown
    lon: float | None
    t: float


@dataclass(frozen=True)
class Candidate:
    """A report found near a record, placed for the neighbour search (neighbours.Located)."""

    id: int
    crisis_id: int
    sector: str
    lat: float
    lon: float
    t: float


def spot_of(record: ReportRecord) -> Spot:
    return Spot(record.crisis_id, record.sector, record.lat, record.lon, record.t)


def _boxes(lat: float, lon: float, radius_km: float) -> list[tuple[float, float, float, float]]:
    """(south, north, west, east) boxes that hold every point within `radius_km`: one, or two
    where the circle crosses the antimeridian."""
    south, north, west, east = bounding_box(lat, lon, radius_km)
    if west <= east:
        return [(south, north, west, east)]
    return [(south, north, west, 180.0), (south, north, -180.0, east)]


def _padded(terms: list[dict], empty: dict) -> Iterator[list[dict]]:
    """The terms in groups of one of the SHAPES sizes (the last one padded with terms that match
    nothing), so that the queries take few shapes, each compiled once; a single report (a click)
    gets a small one."""
    for start in range(0, len(terms), SHAPES[-1]):
        group = terms[start : start + SHAPES[-1]]
        size = next(size for size in SHAPES if size >= len(group))
        yield group + [empty] * (size - len(group))


def _parameters(group: list[dict]) -> dict:
    return {f"{name}{i}": value for i, term in enumerate(group) for name, value in term.items()}


@cache
def _scored_in_boxes(size: int) -> Select:
    """The place and time of the scored reports in any of `size` boxes of a crisis, sector,
    place and time, from the plugin's own index of them (ix_validation_scores_nearby: crisis and
    sector, then a range of latitudes; the rest is read from the index too)."""
    return select(
        ReportScore.report_id,
        ReportScore.crisis_id,
        ReportScore.sector,
        ReportScore.lat,
        ReportScore.lon,
        ReportScore.t.label("moment"),
    ).where(
        or_(
            *(
                and_(
                    ReportScore.crisis_id == bindparam(f"crisis{i}"),
                    ReportScore.sector == bindparam(f"sector{i}"),
                    ReportScore.lat.between(bindparam(f"south{i}"), bindparam(f"north{i}")),
                    ReportScore.lon.between(bindparam(f"west{i}"), bindparam(f"east{i}")),
                    ReportScore.t.between(bindparam(f"since{i}"), bindparam(f"until{i}")),
                )
                for i in range(size)
            )
        )
    )


NO_BOX = {"crisis": -1, "sector": "", "south": 0.0, "north": 0.0, "west": 0.0, "east": 0.0, "since": 0.0, "until": 0.0}


def _candidates(records: Sequence[ReportRecord], step_km: float, settings: Settings) -> list[Candidate]:
    """Every scored report in the box of half-width `step_km` (and the time window) around any
    of `records`, and the records themselves (scored or not)."""
    terms = [
        {
            "crisis": r.crisis_id,
            "sector": r.sector,
            "south": south,
            "north": north,
            "west": west,
            "east": east,
            "since": r.t - settings.window_s - 1,
            "until": r.t + settings.window_s + 1,
        }
        for r in records
        if r.lat is not None and r.lon is not None  # a report whose location is unknown has no neighbours
        for south, north, west, east in _boxes(r.lat, r.lon, step_km)
    ]
    found = {r.id: Candidate(r.id, r.crisis_id, r.sector, r.lat, r.lon, r.t) for r in records}
    for group in _padded(terms, NO_BOX):
        for row in connection().execute(_scored_in_boxes(len(group)), _parameters(group)):
            if row.report_id not in found:
                found[row.report_id] = Candidate(row.report_id, row.crisis_id, row.sector, row.lat, row.lon, row.moment)
    return list(found.values())


def neighbourhoods(records: Sequence[ReportRecord], settings: Settings) -> dict[int, list[tuple[float, ReportRecord]]]:
    """Each record's nearest VALIDATION_MAX_NEIGHBOURS neighbours (distance km, record), nearest
    first, among the scored reports and the records themselves. A report not scored yet is left
    out until it is: then it offers its evidence to the reports that count it (propagation.py),
    so the scores end where a rescore puts them. The boxes start at a sixteenth of the radius and
    grow only for the records whose nearest could still lie outside them, so a crowded place
    costs about as much as a quiet one; they give places only, and the neighbours chosen are
    then read whole, in one query."""
    chosen: dict[int, list[tuple[float, Candidate]]] = {}
    pending = list(records)
    for step in (settings.radius_km / 16, settings.radius_km / 4, settings.radius_km):
        if not pending:
            break
        nearest = nearest_all(pending, _candidates(pending, step, settings), settings)
        for record in pending:
            found = nearest[record.id]
            # Every neighbour within `step` is in this box: done once the nearest ones all are.
            if step >= settings.radius_km or (len(found) == settings.max_neighbours and found[-1][0] <= step):
                chosen[record.id] = found
        pending = [record for record in pending if record.id not in chosen]
    built = {record.id: record for record in records}
    built.update(load_records({candidate.id for found in chosen.values() for _d, candidate in found} - built.keys()))
    return {
        report_id: [(distance, built[candidate.id]) for distance, candidate in found]
        for report_id, found in chosen.items()
    }


@cache
def _scores_near_spots(size: int) -> Select:
    """The score rows whose stored evidence may take a report at any of `size` spots:
    same crisis and sector, within the radius and window, and not full or reaching at least as
    far (reach_km, by an equirectangular estimate), from the plugin's own index of scored
    reports (ix_validation_scores_nearby)."""
    terms = []
    for i in range(size):
        dy = (ReportScore.lat - bindparam(f"lat{i}")) * KM_PER_DEGREE
        dx = (ReportScore.lon - bindparam(f"lon{i}")) * bindparam(f"km_per_lon{i}")
        reach = ReportScore.reach_km * APPROX_SLACK + APPROX_MARGIN_KM
        terms.append(
            and_(
                ReportScore.crisis_id == bindparam(f"crisis{i}"),
                ReportScore.sector == bindparam(f"sector{i}"),
                ReportScore.lat.between(bindparam(f"south{i}"), bindparam(f"north{i}")),
                ReportScore.lon.between(bindparam(f"west{i}"), bindparam(f"east{i}")),
                ReportScore.t.between(bindparam(f"since{i}"), bindparam(f"until{i}")),
                dy * dy + dx * dx <= reach * reach,
            )
        )
    return select(
        ReportScore.report_id,
        ReportScore.crisis_id,
        ReportScore.sector,
        ReportScore.lat,
        ReportScore.lon,
        ReportScore.t.label("moment"),
        ReportScore.reach_km,
    ).where(or_(*terms))


NO_SPOT = {
    "crisis": -1,
    "sector": "",
    "south": 0.0,
    "north": 0.0,
    "west": 0.0,
    "east": 0.0,
    "since": 0.0,
    "until": 0.0,
    "lat": 0.0,
    "lon": 0.0,
    "km_per_lon": 0.0,
}


def holders(offers: dict[int, Iterable[Spot]], settings: Settings) -> dict[int, set[int]]:
    """{report id: the scored reports that may count it among their neighbours}, for reports at
    the given spots (where each is now, and where its score row last placed it). Generous: the
    exact decision is propagation.settle's."""
    terms = [
        (report_id, spot)
        for report_id, spots in offers.items()
        for spot in dict.fromkeys(spots)
        if spot.lat is not None and spot.lon is not None  # no place, no neighbour to hold it
    ]
    boxes = []
    for _report_id, spot in terms:
        parts = _boxes(spot.lat, spot.lon, settings.radius_km)
        # Across the antimeridian the estimate does not hold: the box alone, then exactly in Python.
        km_per_lon = KM_PER_DEGREE * math.cos(math.radians(spot.lat)) if len(parts) == 1 else 0.0
        boxes += [
            {
                "crisis": spot.crisis_id,
                "sector": spot.sector,
                "south": south,
                "north": north,
                "west": west,
                "east": east,
                "since": spot.t - settings.window_s - 1,
                "until": spot.t + settings.window_s + 1,
                "lat": spot.lat,
                "lon": spot.lon,
                "km_per_lon": km_per_lon,
            }
            for south, north, west, east in parts
        ]
    rows = {}
    for group in _padded(boxes, NO_SPOT):
        for row in connection().execute(_scores_near_spots(len(group)), _parameters(group)):
            rows[row.report_id] = row
    # The query says only that a row answers one of the spots: sort them out, a group at a time.
    by_group: dict[tuple[int, str], list] = defaultdict(list)
    for row in rows.values():
        by_group[(row.crisis_id, row.sector)].append(row)
    arrays = {
        key: tuple(
            np.array(values, dtype=float)
            for values in zip(*[(r.report_id, r.lat, r.lon, r.moment, r.reach_km) for r in members], strict=True)
        )
        for key, members in by_group.items()
    }
    found: dict[int, set[int]] = {report_id: set() for report_id in offers}
    for report_id, spot in terms:
        group = arrays.get((spot.crisis_id, spot.sector))
        if group is None:
            continue
        ids, lat, lon, t, reach = group
        dy = (lat - spot.lat) * KM_PER_DEGREE
        dx = ((lon - spot.lon + 180.0) % 360.0 - 180.0) * (KM_PER_DEGREE * math.cos(math.radians(spot.lat)))
        near = (
            dy * dy + dx * dx <= (reach * APPROX_SLACK + APPROX_MARGIN_KM) ** 2
        )  # as the query, across the antimeridian too
        match = near & (np.abs(t - spot.t) <= settings.window_s + 1) & (ids != report_id)
        found[report_id].update(int(i) for i in ids[match])
    return found

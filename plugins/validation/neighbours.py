"""Which reports are a report's neighbours: of the same crisis and sector, within
VALIDATION_RADIUS_KM and VALIDATION_WINDOW_HOURS, and of those only the nearest
VALIDATION_MAX_NEIGHBOURS (by distance, then id) count.

Pure: it works on anything with id, crisis_id, sector, lat, lon and t (epoch seconds), held in
memory; nearby.py reads them from the database, the full rescore passes every report."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np

from wiki.geo import EARTH_RADIUS_KM, KM_PER_DEGREE, haversine_km

from .settings import Settings


class Located(Protocol):
    id: int
    crisis_id: int
    sector: str
    lat: float
    lon: float
    t: float


L = TypeVar("L", bound=Located)


def is_neighbour(a: Located, b: Located, settings: Settings) -> float | None:
    """The distance in km when b counts as a's neighbour (same crisis and sector, within the
    radius and the time window), else None. Symmetric."""
    if a.id == b.id or a.crisis_id != b.crisis_id or a.sector != b.sector or abs(a.t - b.t) > settings.window_s:
        return None
    if a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return None  # a report whose location is unknown has no neighbours
    distance = haversine_km(a.lat, a.lon, b.lat, b.lon)
    return distance if distance <= settings.radius_km else None


def nearest(candidates: list[tuple[float, L]], settings: Settings) -> list[tuple[float, L]]:
    """The neighbours that count: the nearest VALIDATION_MAX_NEIGHBOURS (distance, then id)."""
    return sorted(candidates, key=lambda pair: (pair[0], pair[1].id))[: settings.max_neighbours]


def nearest_all(
    targets: Sequence[Located], candidates: Sequence[L], settings: Settings
) -> dict[int, list[tuple[float, L]]]:
    """Each target's nearest neighbours among `candidates` (which may include the targets),
    nearest first. Candidates are put on a grid of cells one radius wide and one time window
    long, and each target looks only at the 27 cells around its own."""
    found: dict[int, list[tuple[float, L]]] = {t.id: [] for t in targets}
    by_group: dict[tuple[int, str], list[L]] = defaultdict(list)
    for candidate in candidates:
        if candidate.lat is not None and candidate.lon is not None:  # location unknown: no neighbours
            by_group[(candidate.crisis_id, candidate.sector)].append(candidate)
    targets_by_group: dict[tuple[int, str], list[Located]] = defaultdict(list)
    for target in targets:
        if target.lat is None or target.lon is None:
            continue
        targets_by_group[(target.crisis_id, target.sector)].append(target)
    window = max(settings.window_s, 1.0)
    for group, here_targets in targets_by_group.items():
        members = by_group.get(group)
        if not members:
            continue
        dlat = settings.radius_km / KM_PER_DEGREE * 1.01
        widest = max(abs(r.lat) for r in [*members, *here_targets]) + dlat
        if widest >= 89.0:
            dlon, columns = 360.0, 1
        else:
            dlon = min(360.0, settings.radius_km / (KM_PER_DEGREE * math.cos(math.radians(widest))) * 1.01)
            columns = max(1, int(360.0 // dlon))
            dlon = 360.0 / columns  # whole cells around the globe, each at least one radius wide

        def cell(r: Located, dlat=dlat, dlon=dlon, columns=columns) -> tuple[int, int, int]:
            return math.floor(r.lat / dlat), int((r.lon + 180.0) // dlon) % columns, math.floor(r.t / window)

        cells: dict[tuple[int, int, int], list[L]] = defaultdict(list)
        for member in members:
            cells[cell(member)].append(member)
        asking: dict[tuple[int, int, int], list[Located]] = defaultdict(list)
        for target in here_targets:
            asking[cell(target)].append(target)
        for (i, j, k), here in asking.items():
            # Every candidate of the 27 cells around this one (once each, even where columns wrap).
            around = [
                other
                for jj in {(j + dj) % columns for dj in (-1, 0, 1)}
                for di in (-1, 0, 1)
                for dk in (-1, 0, 1)
                for other in cells.get((i + di, jj, k + dk), ())
            ]
            if around:
                _nearest_in(here, around, settings, found)
    return found


def _nearest_in(
    here: list[Located], around: list[L], settings: Settings, found: dict[int, list[tuple[float, L]]]
) -> None:
    """Each report of `here`: its nearest neighbours among `around`. A crowded place has
    thousands of reports within the radius and window, so the distances to all of them are
    estimated at once with NumPy, and only those that may be among the nearest are measured
    exactly (haversine_km: the same numbers however the neighbours were found)."""
    lat = np.radians(np.fromiter((o.lat for o in around), float, len(around)))
    lon = np.radians(np.fromiter((o.lon for o in around), float, len(around)))
    t = np.fromiter((o.t for o in around), float, len(around))
    ids = np.fromiter((o.id for o in around), np.int64, len(around))
    cos_lat = np.cos(lat)
    slack = 1e-6  # km: far above the estimate's rounding error, far below any real difference
    for record in here:
        phi, lmb = math.radians(record.lat), math.radians(record.lon)
        a = np.sin((lat - phi) / 2) ** 2 + math.cos(phi) * cos_lat * np.sin((lon - lmb) / 2) ** 2
        estimate = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))
        candidates = np.nonzero(
            (ids != record.id) & (np.abs(t - record.t) <= settings.window_s) & (estimate <= settings.radius_km + slack)
        )[0]
        if len(candidates) > settings.max_neighbours:
            kth = np.partition(estimate[candidates], settings.max_neighbours - 1)[settings.max_neighbours - 1]
            candidates = candidates[estimate[candidates] <= kth + slack]
        exact = []
        for index in candidates:
            other = around[index]
            distance = is_neighbour(record, other, settings)
            if distance is not None:
                exact.append((distance, other))
        found[record.id] = nearest(exact, settings)

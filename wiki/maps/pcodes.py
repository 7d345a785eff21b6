"""Which admin areas a report lies in: point-in-polygon with shapely, through an STRtree.

Each process keeps the polygons of a crisis in an STRtree, built once and rebuilt when the
crisis's boundaries change (a cheap query tells it so), so placing a new report costs a tree
query, not a scan of every polygon. Re-importing boundaries recomputes every report of the
crisis in batches, each a short transaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree
from sqlalchemy import bindparam, func, select, update

from ..database import chunked, write_transaction
from ..extensions import db
from ..models import AdminArea, Report

BATCH = 2000
ADM_FIELDS = ("adm1_pcode", "adm1_name", "adm2_pcode", "adm2_name")


@dataclass(frozen=True)
class Area:
    pcode: str
    name: str
    parent_pcode: str | None
    parent_name: str | None


@dataclass(frozen=True)
class Placement:
    adm1_pcode: str | None = None
    adm1_name: str | None = None
    adm2_pcode: str | None = None
    adm2_name: str | None = None

    def as_tuple(self) -> tuple[str | None, ...]:
        return (self.adm1_pcode, self.adm1_name, self.adm2_pcode, self.adm2_name)


class LevelIndex:
    """The polygons of one admin level of one crisis, in an STRtree."""

    def __init__(self, areas: Sequence[Area], geometries: Sequence) -> None:
        self.areas = list(areas)
        self.tree = STRtree(list(geometries)) if geometries else None

    def locate(self, lons: Sequence[float], lats: Sequence[float]) -> list[Area | None]:
        """The area holding each point; on a shared border, the area listed first (by P-code)."""
        found: list[Area | None] = [None] * len(lons)
        if self.tree is None or not len(lons):
            return found
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        point_index, area_index = self.tree.query(points, predicate="intersects")
        for p, a in sorted(zip(point_index.tolist(), area_index.tolist(), strict=True), reverse=True):
            found[p] = self.areas[a]  # sorted descending, so the lowest area index is written last
        return found


class CrisisAreas:
    def __init__(self, levels: dict[int, LevelIndex]) -> None:
        self.levels = levels

    @property
    def empty(self) -> bool:
        return not any(index.tree is not None for index in self.levels.values())

    def place(
        self, lons: Sequence[float], lats: Sequence[float], current: Sequence[tuple] | None = None
    ) -> list[Placement]:
        """Admin-1 and admin-2 of each point. An admin-2 area names its admin-1 parent, and the
        parent wins over the admin-1 polygons so a report's two levels always agree. A level
        the crisis has no boundaries for keeps the codes the report has (`current`, as
        (adm1_pcode, adm1_name, adm2_pcode, adm2_name)): an import may have brought them."""
        has1 = 1 in self.levels and self.levels[1].tree is not None
        has2 = 2 in self.levels and self.levels[2].tree is not None
        level1 = self.levels[1].locate(lons, lats) if has1 else [None] * len(lons)
        level2 = self.levels[2].locate(lons, lats) if has2 else [None] * len(lons)
        names1 = {area.pcode: area.name for area in self.levels[1].areas} if has1 else {}
        current = current or [(None, None, None, None)] * len(lons)
        placements = []
        for area1, area2, (code1, name1, code2, name2) in zip(level1, level2, current, strict=True):
            if has2:
                code2, name2 = (area2.pcode, area2.name) if area2 else (None, None)
            if area2 is not None and area2.parent_pcode:
                code1 = area2.parent_pcode
                name1 = (
                    names1.get(code1) or area2.parent_name or (area1.name if area1 and area1.pcode == code1 else None)
                )
            elif has1:
                code1, name1 = (area1.pcode, area1.name) if area1 else (None, None)
            placements.append(Placement(code1, name1, code2, name2))
        return placements


_cache: dict[tuple[str, int], tuple[tuple, CrisisAreas]] = {}
_cache_lock = threading.Lock()


def _version_columns(crisis_id: Any) -> tuple:
    """Changes whenever the crisis's boundaries are imported again (rows are replaced)."""
    where = AdminArea.crisis_id == crisis_id
    return (
        select(func.count(AdminArea.id)).where(where).scalar_subquery(),
        select(func.max(AdminArea.id)).where(where).scalar_subquery(),
        select(func.max(AdminArea.imported_at)).where(where).scalar_subquery(),
    )


def _version(crisis_id: int) -> tuple:
    return tuple(db.session.execute(select(*_version_columns(crisis_id))).one())


def crisis_areas(crisis_id: int, version: tuple | None = None) -> CrisisAreas:
    """The crisis's admin areas as STRtrees, from this process's cache when still current."""
    key = (str(db.engine.url), crisis_id)
    version = _version(crisis_id) if version is None else version
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
    rows = db.session.execute(
        select(
            AdminArea.level,
            AdminArea.pcode,
            AdminArea.name,
            AdminArea.parent_pcode,
            AdminArea.parent_name,
            AdminArea.geometry,
        )
        .where(AdminArea.crisis_id == crisis_id)
        .order_by(AdminArea.level, AdminArea.pcode)
    ).all()
    grouped: dict[int, tuple[list[Area], list]] = {}
    for level, pcode, name, parent_pcode, parent_name, geometry in rows:
        areas, geometries = grouped.setdefault(level, ([], []))
        areas.append(Area(pcode, name, parent_pcode, parent_name))
        geometries.append(shape(json.loads(geometry)))
    built = CrisisAreas({level: LevelIndex(areas, geometries) for level, (areas, geometries) in grouped.items()})
    with _cache_lock:
        _cache[key] = (version, built)
    return built


_reports = Report.__table__
_PLACE_REPORT = select(
    _reports.c.crisis_id,
    _reports.c.lon,
    _reports.c.lat,
    *(_reports.c[name] for name in ADM_FIELDS),
    *_version_columns(_reports.c.crisis_id),
    _reports.c.location_kind,
    _reports.c.location_ref,
).where(_reports.c.id == bindparam("report_id"))


def _as_precise_as_located(placement: Placement, kind: str | None, ref: str | None) -> Placement:
    """A report located at an admin-1 area is in that province, not in the district that holds
    the province's centre."""
    if kind == "area" and ref and ref.removeprefix("pcode:") == placement.adm1_pcode:
        return Placement(placement.adm1_pcode, placement.adm1_name, None, None)
    return placement


def place_report(report_id: int) -> Placement | None:
    """The admin areas of one stored report, or None when they are already right. One query
    reads the report's point and the version of its crisis's boundaries, so a report of a
    crisis without boundaries (most of them) costs no more than that."""
    row = db.session.execute(_PLACE_REPORT, {"report_id": report_id}).one_or_none()
    if row is None:
        return None
    current = tuple(row[3:7])
    version = tuple(row[7:10])
    if version[0] == 0:
        return None  # no boundaries: the report keeps what it came with
    if row.lon is None or row.lat is None:
        return None  # location unknown: no area either
    placement = crisis_areas(row.crisis_id, version).place([row.lon], [row.lat], [current])[0]
    placement = _as_precise_as_located(placement, row.location_kind, row.location_ref)
    return None if placement.as_tuple() == current else placement


def write_placement(report_id: int, placement: Placement) -> None:
    _write([(report_id, placement)])


_update = (
    update(Report.__table__)
    .where(Report.__table__.c.id == bindparam("rid"))
    .values({name: bindparam(f"new_{name}") for name in ADM_FIELDS})
)


def _write(changes: Iterable[tuple[int, Placement]]) -> int:
    rows = [
        {
            "rid": report_id,
            **{f"new_{name}": value for name, value in zip(ADM_FIELDS, placement.as_tuple(), strict=True)},
        }
        for report_id, placement in changes
    ]
    if rows:
        db.session.execute(_update, rows)
    return len(rows)


def assign_reports(report_ids: Sequence[int]) -> int:
    """Set the admin areas of these reports (any crises); returns how many changed. Each batch
    is its own short write transaction."""
    changed = 0
    for chunk in chunked(list(report_ids), BATCH):
        rows = db.session.execute(select(*_COLUMNS).where(Report.id.in_(chunk))).all()
        changes = _changes(rows)
        db.session.commit()  # end the read before the write transaction begins
        with write_transaction():
            changed += _write(changes)
    return changed


_COLUMNS = (
    Report.id,
    Report.crisis_id,
    Report.lon,
    Report.lat,
    *(getattr(Report, name) for name in ADM_FIELDS),
    Report.location_kind,
    Report.location_ref,
)


def _changes(rows: Sequence) -> list[tuple[int, Placement]]:
    by_crisis: dict[int, list] = {}
    for row in rows:
        if row.lon is None or row.lat is None:
            continue  # location unknown
        by_crisis.setdefault(row.crisis_id, []).append(row)
    changes = []
    for crisis_id, group in by_crisis.items():
        areas = crisis_areas(crisis_id)
        if areas.empty:
            continue  # no boundaries: reports keep what they came with
        current = [tuple(getattr(row, name) for name in ADM_FIELDS) for row in group]
        placements = areas.place([r.lon for r in group], [r.lat for r in group], current)
        placements = [
            _as_precise_as_located(placement, row.location_kind, row.location_ref)
            for row, placement in zip(group, placements, strict=True)
        ]
        for row, placement, before in zip(group, placements, current, strict=True):
            if placement.as_tuple() != before:
                changes.append((row.id, placement))
    return changes


def recompute_crisis(crisis_id: int, progress: Callable[[int], None] | None = None) -> int:
    """Place every report of the crisis again (after its boundaries changed), in batches by
    id; returns how many reports changed. The search index is told about the changed ones
    (its admin-area facets), as no report_updated hook is called for derived fields: that
    would make every plugin redo its work for every report of the crisis. `progress` hears how
    many reports each batch looked at (the command line's progress bar)."""
    from ..search import reindex_later

    changed, after = 0, 0
    while True:
        rows = db.session.execute(
            select(*_COLUMNS).where(Report.crisis_id == crisis_id, Report.id > after).order_by(Report.id).limit(BATCH)
        ).all()
        if not rows:
            db.session.commit()
            return changed
        after = rows[-1].id
        changes = _changes(rows)
        db.session.commit()
        with write_transaction():
            changed += _write(changes)
        if changes:
            reindex_later("report", [report_id for report_id, _placement in changes])
        if progress is not None:
            progress(len(rows))

"""Which other scores an event changes, decided without scoring them.

A score depends on its report's source (its track record and grades) and on its nearest
neighbours (what each one says about it). So:

- when a source's state changes (an outcome or a grade of one of its reports), every other
  report of that source depends on it (`source_dependents`);
- when a report is scored anew because it is new or something of it changed (its place, time,
  sector, words, status, or its source's state), the reports that count it among their
  nearest neighbours may change. Each keeps the evidence of its neighbours in its score row
  (ReportScore.neighbours), so `settle` can tell for each one, exactly, whether the new
  evidence changes nothing, changes its stored evidence (and how), or may change which reports
  are its nearest, which only a new search can settle (then it is stale).

The batch path (batch.py) applies what this decides; the events (events.py) mark the rest stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .evidence import ReportRecord, evidence_entry
from .neighbours import is_neighbour
from .records import source_reports
from .settings import Settings
from .track_record import OUTCOMES, SourceState

SCORING_FIELDS = frozenset({"status", "lat", "lon", "sector", "occurred_at", "title", "description"})
STALE = "stale"


def changes_scores(changes: Mapping) -> bool:
    """Does a change to a report (field -> (old, new)) change any score?"""
    return bool(SCORING_FIELDS & changes.keys())


def changes_source(status: str, changes: Mapping) -> bool:
    """Does it change the report's source's track record: an outcome (verified, refuted) given or
    taken away, or the time of one moved?"""
    old, new = changes.get("status", (None, None))
    return old in OUTCOMES or new in OUTCOMES or (status in OUTCOMES and "occurred_at" in changes)


def source_dependents(source_id: int, leave_out: Iterable[int] = ()) -> list[int]:
    """The reports whose scores depend on the state of this source: all of its reports (but
    `leave_out`), in id order."""
    left_out = set(leave_out)
    return sorted(report_id for report_id in source_reports(source_id) if report_id not in left_out)


def settle(
    evidence: Mapping[str, list], key: str, entry: list | None, max_neighbours: int
) -> dict[str, list] | str | None:
    """What a report's stored evidence becomes when its neighbour `key` now offers `entry`
    ([group, kind, weight, distance km]; None: it is no longer a neighbour). None when nothing
    changes; STALE when only a new search can tell (which reports are its nearest may change);
    else the new evidence. Only the nearest `max_neighbours` are kept (distance, then id)."""
    stored = evidence.get(key)
    if stored == entry:
        return None
    full = len(evidence) >= max_neighbours
    new = dict(evidence)
    if entry is None:
        if full:
            return STALE  # a search must find the report that takes its place
        del new[key]
        return new
    if stored is None:
        if full:
            farthest = max((e[3], int(k)) for k, e in evidence.items())
            if (entry[3], int(key)) > farthest:
                return None  # not among the nearest
            del new[str(farthest[1])]
    elif full and entry[3] > stored[3]:
        return STALE  # it moved away: another report may now be among the nearest
    new[key] = entry
    return new


def settle_holders(
    offers: Iterable[ReportRecord],
    holders: Mapping[int, Iterable[int]],
    records: Mapping[int, ReportRecord],
    evidence: Mapping[int, Mapping[str, list]],
    states: Mapping[int, SourceState],
    settings: Settings,
) -> tuple[dict[int, dict[str, list]], set[int]]:
    """What the reports that may count `offers` (freshly scored reports) among their
    neighbours become: ({report id: its evidence brought up to date}, {reports now stale}).
    `holders` maps each offer to them; `records` and `evidence` (their stored evidence) hold
    those to consider (others are skipped: stale, or scored in the same batch). Offers are
    applied in id order, as if one after another."""
    updated: dict[int, dict[str, list]] = {}
    stale: set[int] = set()
    for offer in sorted(offers, key=lambda r: r.id):
        key = str(offer.id)
        for holder_id in sorted(holders.get(offer.id, ())):
            holder = records.get(holder_id)
            if holder is None or holder_id in stale:
                continue
            distance = is_neighbour(holder, offer, settings)
            entry = (
                None
                if distance is None
                else evidence_entry(
                    holder, states[holder.source_id], offer, states[offer.source_id], distance, settings
                )
            )
            outcome = settle(updated.get(holder_id, evidence[holder_id]), key, entry, settings.max_neighbours)
            if outcome == STALE:
                stale.add(holder_id)
                updated.pop(holder_id, None)
            elif outcome is not None:
                updated[holder_id] = outcome
    return updated, stale

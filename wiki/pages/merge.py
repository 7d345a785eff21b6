"""Three-way merge of page text, as MediaWiki does for edits that started from an old revision.

Changes to different lines merge on their own; changes to the same (or adjacent) lines are a
conflict, returned with diff3-style markers so the person saving can resolve it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from merge3 import Merge3

CONFLICT_START = "<<<<<<< current revision"
CONFLICT_MIDDLE = "======="
CONFLICT_END = ">>>>>>> your edit"


@dataclass(frozen=True)
class MergeResult:
    text: str  # merged text, with conflict markers where `conflicts` > 0
    conflicts: int


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _lines(text: str) -> list[str]:
    text = normalise_newlines(text)
    if text and not text.endswith("\n"):
        text += "\n"
    return text.splitlines(keepends=True)


def merge_three_way(base: str, current: str, mine: str) -> MergeResult:
    """Merge `mine` (an edit of `base`) into `current` (what the page became meanwhile)."""
    merger = Merge3(_lines(base), _lines(current), _lines(mine))
    conflicts = sum(1 for region in merger.merge_regions() if region[0] == "conflict")
    merged = "".join(
        merger.merge_lines(
            start_marker=CONFLICT_START.split(" ", 1)[0],
            name_a=CONFLICT_START.split(" ", 1)[1],
            mid_marker=CONFLICT_MIDDLE,
            end_marker=CONFLICT_END.split(" ", 1)[0],
            name_b=CONFLICT_END.split(" ", 1)[1],
        )
    )
    return MergeResult(text=merged, conflicts=conflicts)


def has_conflict_markers(text: str) -> bool:
    lines = normalise_newlines(text).split("\n")
    return CONFLICT_START in lines and CONFLICT_END in lines

"""An import's failures counted by kind, not listed row by row ("312 rows: date 31/12/2026 is
day-first; choose day-first", with the first few row numbers), and the rejected rows written
to a file of their own with a reason column, to fix in a spreadsheet and import again."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

FIRST_LINES = 5  # row numbers kept per kind


@dataclass
class FailureGroup:
    kind: str
    field: str
    example: str  # the first row's own message, with its value
    count: int = 0
    lines: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "field": self.field,
            "example": self.example,
            "count": self.count,
            "lines": self.lines,
        }


@dataclass
class FailureGroups:
    groups: dict[tuple[str, str], FailureGroup] = field(default_factory=dict)

    def add(self, kind: str, field_name: str, message: str, line: int) -> None:
        group = self.groups.get((kind, field_name))
        if group is None:
            group = self.groups[(kind, field_name)] = FailureGroup(kind, field_name, message)
        group.count += 1
        if len(group.lines) < FIRST_LINES:
            group.lines.append(line)

    def largest_first(self) -> list[FailureGroup]:
        return sorted(self.groups.values(), key=lambda group: (-group.count, group.lines[:1]))

    def __bool__(self) -> bool:
        return bool(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def as_list(self) -> list[dict]:
        return [group.as_dict() for group in self.largest_first()]


class RejectedRows:
    """The rows an import refused, as CSV (UTF-8 with a byte-order mark, which Excel opens
    correctly): the file's own columns, then `line` and `reason`."""

    def __init__(self, path: Path, columns, offset: int | None = None) -> None:
        """`offset`: go on with a file written up to there (an import resumed after a crash)."""
        self.path = path
        self.count = 0
        if offset is not None and path.is_file():
            os.truncate(path, offset)  # what was written after the last checkpoint is written again
            self.handle = open(path, "a", encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed by close())
            self.writer = csv.writer(self.handle)
            return
        self.handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed by close())
        self.writer = csv.writer(self.handle)
        self.writer.writerow([column.header for column in columns] + ["line", "reason"])
        if any(column.tag for column in columns):
            self.writer.writerow([column.tag for column in columns] + ["#meta+x_line", "#meta+x_reason"])

    def offset(self) -> int:
        """How far the file is written (to go on from after a crash)."""
        self.handle.flush()
        return self.path.stat().st_size

    def write(self, row, reason: str) -> None:
        cells = ["" if cell is None else cell for cell in row.cells]
        self.writer.writerow([*cells, row.line, reason])
        self.count += 1

    def close(self) -> int:
        if not self.handle.closed:
            self.handle.close()
        return self.count

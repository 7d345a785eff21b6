"""Differences between two revisions, line by line with the changed words highlighted.

Produces rows for the templates (inline and side by side) rather than HTML, so escaping stays
in Jinja's hands; only the word-level highlights are built here, from escaped pieces.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from itertools import zip_longest

from markupsafe import Markup, escape

_WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Row:
    kind: str  # "same" | "changed" | "added" | "removed" | "skip"
    old_number: int | None
    new_number: int | None
    old: Markup | None
    new: Markup | None


def _highlight_words(old: str, new: str) -> tuple[Markup, Markup]:
    old_words, new_words = _WORDS.findall(old), _WORDS.findall(new)
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    old_out, new_out = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old_part, new_part = escape("".join(old_words[i1:i2])), escape("".join(new_words[j1:j2]))
        if tag == "equal":
            old_out.append(old_part)
            new_out.append(new_part)
            continue
        if old_part:
            old_out.append(Markup("<del>%s</del>") % old_part)
        if new_part:
            new_out.append(Markup("<ins>%s</ins>") % new_part)
    return Markup("").join(old_out), Markup("").join(new_out)


def diff_rows(old_text: str, new_text: str, context: int = 3) -> list[Row]:
    """Rows of a line diff with `context` unchanged lines around each change ("skip" rows
    stand for the unchanged lines left out)."""
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows: list[Row] = []
    for group_index, group in enumerate(matcher.get_grouped_opcodes(context)):
        if group_index or group[0][1] > 0:
            rows.append(Row("skip", None, None, None, None))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset in range(i2 - i1):
                    line = escape(old_lines[i1 + offset])
                    rows.append(Row("same", i1 + offset + 1, j1 + offset + 1, line, line))
                continue
            pairs = zip_longest(range(i1, i2), range(j1, j2))
            for old_index, new_index in pairs:
                if old_index is not None and new_index is not None:
                    old, new = _highlight_words(old_lines[old_index], new_lines[new_index])
                    rows.append(Row("changed", old_index + 1, new_index + 1, old, new))
                elif old_index is not None:
                    rows.append(Row("removed", old_index + 1, None, escape(old_lines[old_index]), None))
                else:
                    rows.append(Row("added", None, new_index + 1, None, escape(new_lines[new_index])))
    return rows

"""The Admiralty grading and The Matrix's 6x6 grid of verdicts (see ../shared/DOMAIN.md).

A report's grading is a pair: the source's reliability (A-F) and the information's
credibility (1-6), written "B2". The Matrix (ICT4Peace with Ushahidi, 2010) turned each pair
into one of four verdicts; its table is kept here exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

RELIABILITY = ("A", "B", "C", "D", "E", "F")
CREDIBILITY = (1, 2, 3, 4, 5, 6)
RELIABILITY_NAMES = {
    "A": _l("Completely reliable"),
    "B": _l("Usually reliable"),
    "C": _l("Fairly reliable"),
    "D": _l("Not usually reliable"),
    "E": _l("Unreliable"),
    "F": _l("Reliability cannot be judged"),
}
CREDIBILITY_NAMES = {
    1: _l("Confirmed"),
    2: _l("Probably true"),
    3: _l("Possibly true"),
    4: _l("Doubtful"),
    5: _l("Improbable"),
    6: _l("Truth cannot be judged"),
}

# G = accept, Y = tend to accept, O = tend to reject, R = reject (The Matrix's own table).
GRID: dict[str, str] = {
    "A": "GGYYOY",
    "B": "GGYOOY",
    "C": "GYYORO",
    "D": "YYOORR",
    "E": "OOORRR",
    "F": "YYORRR",
}
VERDICTS = {"G": "accept", "Y": "tend_to_accept", "O": "tend_to_reject", "R": "reject"}
VERDICT_NAMES = {
    "accept": _l("Accept"),
    "tend_to_accept": _l("Tend to accept"),
    "tend_to_reject": _l("Tend to reject"),
    "reject": _l("Reject"),
}
# A mark that says the verdict without colour (for people who cannot tell the colours apart).
VERDICT_MARKS = {"accept": "++", "tend_to_accept": "+", "tend_to_reject": "−", "reject": "−−"}


def verdict(code: str) -> str:
    """'B2' -> 'accept'."""
    reliability, credibility = parse_code(code)
    return VERDICTS[GRID[reliability][credibility - 1]]


def parse_code(code: str) -> tuple[str, int]:
    if len(code) != 2 or code[0] not in GRID or code[1] not in "123456":
        raise ValueError(f"not an Admiralty code: {code!r}")
    return code[0], int(code[1])


@dataclass(frozen=True)
class Cell:
    reliability: str
    credibility: int
    verdict: str
    selected: bool
    marks: int  # how many verifiers chose this cell

    @property
    def code(self) -> str:
        return f"{self.reliability}{self.credibility}"

    @property
    def mark(self) -> str:
        return VERDICT_MARKS[self.verdict]


def grid(selected: str | None, verifier_codes: list[str] = ()) -> list[list[Cell]]:
    """The 36 cells, rows A-F, columns 1-6, with `selected` (e.g. the derived code) marked and
    each cell counting the verifiers who chose it."""
    counts: dict[str, int] = {}
    for code in verifier_codes:
        counts[code] = counts.get(code, 0) + 1
    return [
        [Cell(r, c, VERDICTS[GRID[r][c - 1]], f"{r}{c}" == selected, counts.get(f"{r}{c}", 0)) for c in CREDIBILITY]
        for r in RELIABILITY
    ]


UNKNOWN = "–"  # a part of the grading with no basis yet: never written as F or 6, which are verifiers' statements


def display_code(reliability: str | None, credibility: int | None) -> str:
    """'B2', or with a part not known yet 'B–' / '–2' / '––'."""
    return f"{reliability or UNKNOWN}{credibility if credibility is not None else UNKNOWN}"

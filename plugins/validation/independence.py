"""Which sources are not independent of each other, from how they report: accounts that keep
reporting the same things at the same places and times (collusion, or one person behind several
accounts) are one voice, however many keys they have.

Two sources are tied when at least MIN_TOGETHER of the reports of the less active one have a
report of the other among their neighbours, and that is at least SHARE_TOGETHER of its reports;
ties are transitive (a ring of five accounts is one group). Independent witnesses of a busy
place meet now and then; colluders meet nearly every time.

Pure: reports as (report id, source key) and their neighbourhoods; batch.rescore_all and the
benchmark pass every report of a crisis.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

MIN_TOGETHER = 5
SHARE_TOGETHER = 0.8


def tied_groups(keys: Mapping[int, str], neighbourhoods: Mapping[int, Iterable[int]]) -> dict[str, str]:
    """{source key: group key} for the keys tied to others ("g:" and the smallest key of the
    group); keys with no tie are left out. `keys`: report id -> its source's key;
    `neighbourhoods`: report id -> its neighbours' report ids."""
    reports_of: dict[str, int] = defaultdict(int)
    for key in keys.values():
        reports_of[key] += 1
    together: dict[tuple[str, str], int] = defaultdict(int)
    for report_id, neighbours in neighbourhoods.items():
        own = keys.get(report_id)
        if own is None:
            continue
        for other in {keys[n] for n in neighbours if n in keys and keys[n] != own}:
            together[(own, other)] += 1  # reports of `own` that have a report of `other` nearby
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    for (a, b), count in together.items():
        if a > b:
            continue
        both = min(count, together.get((b, a), 0))
        fewer = min(reports_of[a], reports_of[b])
        if both >= MIN_TOGETHER and both >= SHARE_TOGETHER * fewer:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    members = {key for key in parent} | set(parent.values())
    return {key: "g:" + find(key).removeprefix("g:") for key in sorted(members)}

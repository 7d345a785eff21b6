"""The validation plugin's answer to a dashboard view filtered by score (`dashboard_tallies`): the
score bands (twentieths: every step of the minimum-score control of the dashboard, the map and the
search) that hold exactly the reports a min_score/max_score in twentieths keeps, read from
validation_band_tallies (the core's counts per band, by day), validation_band_hour_tallies (by the
hour) and, for the score and verdict charts, validation_score_tallies. Any other threshold (0.63
typed into a URL) is left to the reports' own filter."""

from __future__ import annotations

import math
from collections.abc import Mapping

from sqlalchemy import case

from wiki.toolkit import TallySource

from .access import can_see_scores
from .models import BandHourTally, BandTally, ScoreTally

BANDS = 20  # a band is a twentieth of the score (migration v0009_band_twentieths)


def band_of(score, bands: int = BANDS):
    """SQL: a score's band, -1 without a score: how many of the edges k / `bands` (k = 1 ...
    `bands`) it reaches, each edge the floating-point number k / bands, the very number a
    min_score of k / bands compares with (not floor(score * bands), whose product rounds the
    largest score below 0.9 up to 18 twentieths). The triggers write it the same way, in twentieths."""
    ladder = [(score >= k / bands, k) for k in range(bands, 0, -1)]
    return case((score.is_(None), -1), *ladder, else_=0)


def exact_band(raw: str | None) -> int | None:
    """k when `raw` is the number k/20 (0 ... 20): a score's band is then k or more exactly when the
    score is at least that number; None otherwise (not a number, not a twentieth)."""
    try:
        value = float(raw or "")
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    k = round(value * BANDS)
    return k if 0 <= k <= BANDS and k / BANDS == value else None


def band_range(args: Mapping[str, str]) -> tuple[int, int] | None:
    """(lowest, highest) band of the reports that a view's min_score and max_score keep (a report
    without a score never), when the bands answer it exactly; None when they cannot (or the values
    are not valid: the reports' filter then says what is wrong)."""
    if set(args) - {"min_score", "max_score"}:
        return None
    low, high = 0, BANDS
    if args.get("min_score"):
        low = exact_band(args["min_score"])
    if args.get("max_score"):
        below = exact_band(args["max_score"])
        # max_score keeps scores below it, or at most 1 (the score filter's rule)
        high = None if below is None else (below - 1 if below < BANDS else BANDS)
    if low is None or high is None:
        return None
    return low, high


def dashboard_tallies(args: Mapping[str, str], viewer) -> TallySource | None:
    found = band_range(args)
    if found is None or not can_see_scores(viewer):
        return None
    bands = list(range(found[0], found[1] + 1))  # a seek per band in the tallies' keys
    return TallySource(
        table=BandTally,
        where=BandTally.band.in_(bands),
        hour_table=BandHourTally,
        hour_where=BandHourTally.band.in_(bands),
        others=((ScoreTally, ScoreTally.band.in_(bands)),),
    )

"""The validation plugin's answer to a dashboard view filtered by score (`dashboard_tallies`): the
score bands (tenths) that hold exactly the reports a min_score/max_score in tenths keeps, read from
validation_band_tallies (the core's counts per band) and, for the score and verdict charts, from
validation_score_tallies. Any other threshold is left to the reports' own filter."""

from __future__ import annotations

import math
from collections.abc import Mapping

from wiki.toolkit import TallySource

from .access import can_see_scores
from .models import BandTally

BANDS = 10  # a band is a tenth of the score: floor(score * 10), 10 for a score of 1


def exact_tenth(raw: str | None) -> int | None:
    """k when `raw` is the number k/10 and a score's band (floor(score * 10), in floating point as
    the triggers compute it) is k or more exactly when the score is k/10 or more; None otherwise
    (0.9: the largest score below 0.9 makes 9.0 when multiplied by 10)."""
    try:
        value = float(raw or "")
    except ValueError:
        return None
    k = round(value * BANDS)
    if not 0 <= k <= BANDS or k / BANDS != value:
        return None
    return k if value * BANDS >= k and math.nextafter(value, -math.inf) * BANDS < k else None


def band_range(args: Mapping[str, str]) -> tuple[int, int] | None:
    """(lowest, highest) band of the reports that a view's min_score and max_score keep (a report
    without a score never), when the bands answer it exactly; None when they cannot (or the values
    are not valid: the reports' filter then says what is wrong)."""
    if set(args) - {"min_score", "max_score"}:
        return None
    low, high = 0, BANDS
    if args.get("min_score"):
        low = exact_tenth(args["min_score"])
    if args.get("max_score"):
        below = exact_tenth(args["max_score"])
        # max_score keeps scores below it, or at most 1 (the score filter's rule)
        high = None if below is None else (below - 1 if below < BANDS else BANDS)
    if low is None or high is None:
        return None
    return low, high


def dashboard_tallies(args: Mapping[str, str], viewer) -> TallySource | None:
    found = band_range(args)
    if found is None or not can_see_scores(viewer):
        return None
    return TallySource(table=BandTally, where=BandTally.band.between(*found))

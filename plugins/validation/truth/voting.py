"""Majority voting: the baseline every truth-discovery method must beat."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from .discovery import Claim


def majority_vote(claims: Iterable[Claim]) -> dict[Hashable, dict[Any, float]]:
    """Each subject's values with their (weighted) share of the votes; every source counts alike."""
    votes: dict[Hashable, dict[Any, float]] = {}
    for claim in claims:
        tally = votes.setdefault(claim.subject, {})
        tally[claim.value] = tally.get(claim.value, 0.0) + claim.weight
    for tally in votes.values():
        total = sum(tally.values())
        for value in tally:
            tally[value] /= total
    return votes

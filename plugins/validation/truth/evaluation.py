"""Scoring estimated values against a ground truth, the way the published figures are counted."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

TIE = 1e-9


def accuracy(estimates: Mapping[Hashable, Mapping[Any, float]], truth: Mapping[Hashable, Any]) -> float:
    """The share of `truth`'s subjects whose highest-scored value is the true one.

    A tie between n values, the true one among them, counts 1/n (majority voting's ties are
    "split evenly" in the published tables); a subject with no estimate counts as wrong."""
    if not truth:
        raise ValueError("accuracy needs at least one subject with a known truth")
    right = 0.0
    for subject, true_value in truth.items():
        scores = estimates.get(subject)
        if not scores:
            continue
        top = max(scores.values())
        best = [value for value, score in scores.items() if score >= top - TIE]
        if true_value in best:
            right += 1 / len(best)
    return right / len(truth)


def error_rate(estimates: Mapping[Hashable, Mapping[Any, float]], truth: Mapping[Hashable, Any]) -> float:
    return 1 - accuracy(estimates, truth)

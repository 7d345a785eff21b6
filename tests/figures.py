"""Figures some tests count (the security suite's requests checked, payloads placed, pages
loaded...), printed at the end of the run. Under pytest-xdist each worker counts its own and the
controller adds them up (numbers are summed, anything else is the last worker's)."""

from __future__ import annotations

import json

import pytest

FIGURES = pytest.StashKey[dict]()


def figures_of(config: pytest.Config) -> dict:
    return config.stash.setdefault(FIGURES, {})


def send_to_controller(config: pytest.Config) -> None:
    """In an xdist worker, at its end: hand the figures to the controller."""
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output["figures"] = json.dumps(config.stash.get(FIGURES, {}))


def add_from_worker(config: pytest.Config, worker_output: dict) -> None:
    merged = figures_of(config)
    for name, value in json.loads(worker_output.get("figures", "{}")).items():
        if isinstance(value, int | float) and isinstance(merged.get(name), int | float):
            merged[name] += value
        else:
            merged[name] = value


def print_summary(terminalreporter, config: pytest.Config) -> None:
    if config.stash.get(FIGURES, None):
        terminalreporter.section("security suite figures")
        for name, value in config.stash[FIGURES].items():
            terminalreporter.write_line(f"{name}: {value}")

"""The plugin's settings, with their defaults. Each can be set in instance/config.py, as a
CRISISWIKI_<NAME> environment variable, or in the config passed to create_app()."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from wiki.toolkit import add_settings

from .settings import Settings

DEFAULTS: dict[str, Any] = {
    # Track record: an outcome this many days away from a report counts half as much.
    "VALIDATION_HALF_LIFE_DAYS": 30.0,
    # Corroboration: reports of the same sector within this distance and time of each other.
    "VALIDATION_RADIUS_KM": 10.0,
    "VALIDATION_WINDOW_HOURS": 48.0,
    # Only the nearest this many count: corroboration has long saturated by then, and it keeps a
    # burst of thousands of reports at one place from costing thousands of updates each.
    "VALIDATION_MAX_NEIGHBOURS": 20,
    # Reliability before any outcome: the weight of the prior in pseudo-outcomes, and the priors.
    "VALIDATION_PRIOR_STRENGTH": 2.0,
    "VALIDATION_ANONYMOUS_PRIOR": 0.35,  # no account, no contact: cannot be asked again
    "VALIDATION_CHANNEL_PRIORS": {"web": 0.5, "api": 0.5, "sms": 0.5, "email": 0.5, "import": 0.55},
    "VALIDATION_ROLE_PRIORS": {"admin": 0.75, "coordinator": 0.75, "verifier": 0.75, "volunteer": 0.6},
    # Organisations known to the deployment (name in lower case -> prior), e.g. {"ifrc": 0.85}.
    "VALIDATION_ORGANISATION_PRIORS": {},
    "VALIDATION_BASE_RATE": 0.5,  # the score of a report about which nothing is known
    # How far corroboration can move the score (log-odds), all of it and from all new sources together.
    "VALIDATION_CORROBORATION_CAP": 3.0,
    "VALIDATION_NEW_SOURCE_POOL_CAP": 0.7,
    # A rescore ties accounts that keep reporting the same things at the same places and times
    # into one voice (independence.py); kept until the next rescore (new reports in between are
    # scored with the groups it found).
    "VALIDATION_GROUP_CO_REPORTERS": True,
    # A grading or a status change rescores its own report at once; the other scores it changes
    # (its source's other reports, its neighbours) are marked stale and refreshed by the scoring
    # batches (batch.py), at most this many in one batch (0: only by `crisiswiki rescore --stale`).
    "VALIDATION_STALE_BATCH": 500,
    # Where no background worker runs (tests), the batches run after a response has been sent,
    # spending at most this long ...
    "VALIDATION_CATCH_UP_MS": 200,
    # ... at most once per this many milliseconds in each server process: in a surge, a pass
    # after every response would spend on scanning what the next pass scans again.
    "VALIDATION_MAINTAIN_EVERY_MS": 1000,
    # New reports and stale scores are scored by a job of the background worker (background.py):
    "VALIDATION_BACKGROUND_POLL_MS": 500,  # how often it looks for unscored reports when not woken
    "VALIDATION_BACKGROUND_SLICE_MS": 50,  # the longest it holds the write lock at a time (one batch)
    # While reports keep arriving or people click (grade, change statuses), the share of the time it may hold
    # the write lock.
    "VALIDATION_BACKGROUND_SHARE": 0.25,
    # The calibration (calibration.py) is refitted by a job of the background worker
    # (recalibration.py) once this many verdicts were given or withdrawn in a crisis since its
    # last fit; each refit recombines every score of the crisis ...
    "VALIDATION_RECALIBRATION_REFIT_AFTER": 10,
    # ... and the job looks for a crisis that is behind this often when no verdict woke it.
    "VALIDATION_RECALIBRATION_POLL_SECONDS": 10.0,
    # A bulk import larger than this rescores its crisis in one batch instead of report by report.
    "VALIDATION_IMPORT_BATCH": 500,
    # Who sees scores and explanations: "everyone", "logged_in" or "verifiers".
    "VALIDATION_SCORES_VISIBLE_TO": "everyone",
    "VALIDATION_FINDER_RADIUS_KM": 20.0,  # the related-reports finder's default radius (1-100 km)
}


def init_config(app: Flask) -> None:
    """The plugin's settings, layered as the core's: the default, instance/config.py, the
    CRISISWIKI_<NAME> environment variable, the config passed to create_app()."""
    add_settings(app, DEFAULTS)


def settings_from(config: Mapping[str, Any]) -> Settings:
    """The scoring arithmetic's settings (settings.py) from the plugin's config values."""
    return Settings(
        half_life_s=float(config["VALIDATION_HALF_LIFE_DAYS"]) * 86400.0,
        radius_km=float(config["VALIDATION_RADIUS_KM"]),
        window_s=float(config["VALIDATION_WINDOW_HOURS"]) * 3600.0,
        max_neighbours=int(config["VALIDATION_MAX_NEIGHBOURS"]),
        prior_strength=float(config["VALIDATION_PRIOR_STRENGTH"]),
        anonymous_prior=float(config["VALIDATION_ANONYMOUS_PRIOR"]),
        channel_priors=dict(config["VALIDATION_CHANNEL_PRIORS"]),
        role_priors=dict(config["VALIDATION_ROLE_PRIORS"]),
        organisation_priors={k.lower(): v for k, v in dict(config["VALIDATION_ORGANISATION_PRIORS"]).items()},
        base_rate=float(config["VALIDATION_BASE_RATE"]),
        corroboration_cap=float(config["VALIDATION_CORROBORATION_CAP"]),
        pool_cap=float(config["VALIDATION_NEW_SOURCE_POOL_CAP"]),
        group_co_reporters=bool(config["VALIDATION_GROUP_CO_REPORTERS"]),
    )


def current_settings() -> Settings:
    """The scoring settings of the app in context, read once per operation."""
    return settings_from(current_app.config)

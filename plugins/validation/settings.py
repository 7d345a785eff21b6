"""The numbers the scoring arithmetic is made with, as one plain object.

Built from the app's config once per operation (config.current_settings(); the defaults and
what each means are in config.py) and passed down, so that the arithmetic never looks anything
up and can be run, and tested, on plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    half_life_s: float  # an outcome this far in time from a report counts half
    radius_km: float  # corroboration: reports of the same sector within this distance ...
    window_s: float  # ... and this time of each other
    max_neighbours: int  # only the nearest this many count
    prior_strength: float  # the weight of a source's prior, in pseudo-outcomes
    anonymous_prior: float
    channel_priors: dict
    role_priors: dict
    organisation_priors: dict  # lower-case name -> prior
    base_rate: float  # the score of a report about which nothing is known
    corroboration_cap: float  # how far corroboration can move the score (log-odds) ...
    pool_cap: float  # ... and all new sources together
    # `crisiswiki rescore` ties accounts that keep reporting together into one voice (independence.py)
    group_co_reporters: bool = True

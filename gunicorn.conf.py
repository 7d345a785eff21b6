"""gunicorn settings for `make run`, the benchmarks and the tests: the package's own
(wiki/gunicorn_config.py, which `crisiswiki serve` uses when installed from a wheel)."""

from wiki.gunicorn_config import *  # noqa: F403

"""Where the static files and the database migrations are. In a checkout (and an editable
install) they are the repository's top-level static/ and migrations/; a wheel carries them
inside the package as wiki/_data/static and wiki/_data/migrations (setup.py puts them there)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def data_dir(name: str) -> Path:
    """The folder `name` ("static" or "migrations"): the wheel's copy when there is one, else
    the checkout's."""
    carried = PACKAGE / "_data" / name
    return carried if carried.is_dir() else CHECKOUT / name

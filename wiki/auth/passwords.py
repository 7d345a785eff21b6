"""The password policy (NIST SP 800-63B): a minimum length, no upper limit worth meeting, no
composition rules, and no password from a list of commonly used ones or equal to the username.

Minimum length: 8 characters by default (PASSWORD_MIN_LENGTH). SP 800-63B sets 8 as the floor
for any password (revision 4: for passwords used with a second factor; 15 for passwords that are
the only factor). crisiswiki keeps 8 because its volunteers sign in on phones in the field, and
because length rules matter less than the blocklist against the passwords attackers try first;
deployments that want revision 4's single-factor figure set PASSWORD_MIN_LENGTH=15.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from ..errors import InvalidInput

COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
# Long enough for any passphrase; short enough that nobody makes the server hash megabytes.
MAX_PASSWORD = 1024


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list (lowercase, one a line): read once per process, about 1 MB in memory."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def min_length() -> int:
    return max(8, int(current_app.config["PASSWORD_MIN_LENGTH"]))


def validate_password(password: str | None, username: str | None = None, field: str = "password") -> None:
    """Raise InvalidInput (422) saying what is wrong with a new password."""
    password = password or ""
    shortest = min_length()
    if len(password) < shortest:
        raise InvalidInput(_("A password needs at least %(n)d characters.", n=shortest), field=field)
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(_("A password can have at most %(n)d characters.", n=MAX_PASSWORD), field=field)
    if username and password.strip().lower() == username.strip().lower():
        raise InvalidInput(_("The password must not be the username."), field=field)
    if password.strip().lower() in common_passwords():
        raise InvalidInput(
            _(
                "This password is one of the most commonly used passwords, which attackers try first; "
                "choose another (a few unrelated words make a good one)."
            ),
            field=field,
        )

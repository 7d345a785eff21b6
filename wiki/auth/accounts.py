"""Account services shared by the CLI, the admin page and the tests."""

from __future__ import annotations

import hmac
import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, InvalidInput, Unauthorized
from ..extensions import db, login_manager
from ..models import User
from ..models.users import ROLES
from .passwords import validate_password
from .tokens import bearer

# fullmatch: with match() and `$`, "alice\n" would pass (`$` also matches before a final newline).
_USERNAME = re.compile(r"[\w.-]{2,80}")
# Deliberately loose: one @, something on each side, no spaces. The only real check of an
# address is a mail that arrives.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


def validate_role(role: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput(
            _("Unknown role %(role)r; choose one of %(list)s.", role=role, list=", ".join(ROLES)), field="role"
        )


def validate_email(email: str | None) -> str | None:
    """The address cleaned up, or None for none; InvalidInput (422) if it cannot be one."""
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidInput(_("%(email)r is not an e-mail address.", email=email), field="email")
    return email


def create_user(
    username: str, password: str, role: str = "volunteer", display_name: str = "", email: str | None = None
) -> User:
    """Create a user; raises InvalidInput or Conflict without writing anything."""
    if not _USERNAME.fullmatch(username or ""):
        raise InvalidInput(_("A username is 2-80 letters, digits, '.', '_' or '-'."), field="username")
    validate_role(role)
    validate_password(password, username)
    email = validate_email(email)
    # Usernames differing only in case ("Admin" next to "admin") would let one person pass for another.
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise Conflict(_("The username %(name)r is taken.", name=username), field="username")
    user = User(username=username, role=role, display_name=display_name or username, email=email)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # created by someone else at the same moment
        db.session.rollback()
        raise Conflict(_("The username %(name)r is taken.", name=username), field="username") from exc
    return user


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True), User.id != user.id)
    )


def update_user(user: User, role: str | None = None, active: bool | None = None, password: str | None = None) -> User:
    """Change a user's role, state or password; validates everything before changing anything.

    The last active administrator can be neither demoted nor disabled: nobody could manage
    users any more."""
    if role:
        validate_role(role)
    if password:
        validate_password(password, user.username)
    loses_admin = user.role == "admin" and user.active and ((role and role != "admin") or active is False)
    if loses_admin and not _other_active_admins(user):
        raise Conflict(
            _("This is the last active administrator; make someone else an administrator first."), field="role"
        )
    if role:
        user.role = role
    if active is not None:
        user.active = active
    if password:
        user.set_password(password)
    db.session.commit()
    return user


_dummy_hash: dict[str, str] = {}


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None.

    An unknown username costs the same password check as a known one, so response times do
    not tell which usernames exist."""
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        if method not in _dummy_hash:
            _dummy_hash[method] = generate_password_hash("not a password", method=method)
        check_password_hash(_dummy_hash[method], password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # A request that presents an Authorization header is authenticated by it alone
    # (wiki/auth/tokens.py): a session or remember-me cookie riding along must not stand in for
    # a revoked or wrong token (the CSRF check is skipped for bearer requests to the API).
    found = bearer()
    if found is not None:
        return found.user
    raw_id, _sep, fingerprint = (user_id or "").partition(":")
    try:
        user = db.session.get(User, int(raw_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or not hmac.compare_digest(fingerprint, user.session_fingerprint):
        return None  # a changed password ends every session and remember-me cookie made before
    return user


@login_manager.request_loader
def _load_user_from_bearer(req) -> User | None:
    """`Authorization: Bearer <token>` for scripts and the API."""
    found = bearer()
    return found.user if found is not None else None


@login_manager.unauthorized_handler
def _unauthorized():
    """@login_required answers like require(): 401 (the error page links to the login form),
    not a redirect, so that scripts and the API see the real status."""
    raise Unauthorized(_("Log in to do this."))

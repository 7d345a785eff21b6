"""Account services shared by the CLI, the admin page and the tests."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import g
from sqlalchemy import select

from ..errors import Conflict, InvalidInput
from ..extensions import db, login_manager
from ..models import ApiToken, User
from ..models.users import ROLES

_USERNAME = re.compile(r"^[\w.-]{2,80}$")
MIN_PASSWORD = 8


def create_user(username: str, password: str, role: str = "volunteer", display_name: str = "", email: str | None = None) -> User:
    """Create a user; raises InvalidInput or Conflict without writing anything."""
    if not _USERNAME.match(username or ""):
        raise InvalidInput("A username is 2-80 letters, digits, '.', '_' or '-'.", field="username")
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", field="role")
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.", field="password")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"The username {username!r} is taken.", field="username")
    user = User(username=username, role=role, display_name=display_name or username, email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


@login_manager.request_loader
def _load_user_from_bearer(request) -> User | None:  # noqa: ANN001
    """`Authorization: Bearer <token>` for scripts and the API."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    plain = header[7:].strip()
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(plain), ApiToken.revoked.is_(False)))
    if token is None or not token.user.active:
        return None
    g.auth_via_token = True
    if request.method in ("GET", "HEAD"):
        # Recording last use on reads would turn every GET into a write; do it on writes only.
        return token.user
    token.last_used_at = datetime.now(timezone.utc)
    return token.user

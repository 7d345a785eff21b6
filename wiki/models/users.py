"""Users, roles, personal API tokens, second factors and login throttling."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import UTCDateTime, utcnow

ROLES = ("admin", "coordinator", "verifier", "volunteer")
TOKEN_SCOPES = ("full", "read", "submit")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="volunteer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # TOTP (RFC 6238): the shared secret (base32), set when enrolment starts and in force once
    # confirmed with a first code; the last time step a code was accepted for, so that no code
    # is accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @staticmethod
    def hash_password(password: str) -> str:
        from flask import current_app

        return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])

    def set_password(self, password: str) -> None:
        self.password_hash = self.hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def session_fingerprint(self) -> str:
        """Part of the session id: derived from the password hash, so it changes with the password."""
        return hashlib.sha256(("session:" + self.password_hash).encode()).hexdigest()[:16]

    def get_id(self) -> str:  # Flask-Login stores this in the session and remember-me cookie
        return f"{self.id}:{self.session_fingerprint}"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None and self.totp_confirmed_at is not None

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class ApiToken(db.Model):
    """A personal token for `Authorization: Bearer`. Only its SHA-256 is stored, so a leaked
    database does not leak working tokens; the token itself is shown once, on creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[str] = mapped_column(String(20), default="full", server_default="full")  # TOKEN_SCOPES
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: never

    user: Mapped[User] = relationship(back_populates="tokens")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(
        cls, user: User, name: str = "", scope: str = "full", expires_at: datetime | None = None
    ) -> tuple[ApiToken, str]:
        """Create a token for `user`; returns the row and the plain token (shown once)."""
        plain = "cw_" + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, token_hash=cls.hash(plain), scope=scope, expires_at=expires_at)
        db.session.add(token)
        return token, plain


class RecoveryCode(db.Model):
    """A single-use code that stands in for a TOTP code (a lost phone). Only its SHA-256 is
    stored: the codes are random (80 bits), so a plain hash cannot be reversed by guessing."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(db.Model):
    """Failed attempts per key ("login-account:<name>", "login-address:<ip>", "totp-account:<id>",
    ...), shared by every worker and server through the database (wiki/auth/throttle.py)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

"""TOTP two-factor authentication (RFC 6238, 30-second steps, 6 digits) with recovery codes.

A code is accepted for the current step and one step either side (clocks drift), and only for
a step later than the last one accepted: the check-and-record is one conditional UPDATE, so
the same code cannot be used twice, not even by two requests at once. Recovery codes are used
up the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time

import pyotp
import segno
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update

from ..database import write_transaction
from ..errors import Forbidden, InvalidInput
from ..extensions import db
from ..models import RecoveryCode, User
from ..models.base import utcnow

STEP_SECONDS = 30
RECOVERY_CODES = 10
ROLES = frozenset({"admin", "coordinator", "verifier"})  # who may enrol
_DIGITS = re.compile(r"\d{6}")
_RECOVERY = re.compile(r"[A-Z2-7]{16}")


def offered_to(user: User) -> bool:
    required = set(current_app.config["TWO_FACTOR_REQUIRED_ROLES"])
    return user.role in ROLES or user.role in required or user.two_factor_enabled


def required_for(user: User) -> bool:
    """Must this user enrol before logging in (TWO_FACTOR_REQUIRED_ROLES)?"""
    return user.role in set(current_app.config["TWO_FACTOR_REQUIRED_ROLES"]) and not user.two_factor_enabled


def matching_step(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step within ±1 of `now` whose code is `code` and that is later than `last_step`."""
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.username, issuer_name=current_app.config["SITE_NAME"]
    )


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (drawn on the server: no script needed)."""
    return segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for your authenticator app"))


def _hash_recovery(normalised: str) -> str:
    return hashlib.sha256(("recovery:" + normalised).encode()).hexdigest()


def _normalise_recovery(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def start_enrolment(user: User) -> None:
    """Give the user a new secret, not yet in force (confirm_enrolment puts it in force)."""
    if not offered_to(user):
        raise Forbidden(_("Two-factor authentication is for verifiers, coordinators and administrators."))
    if user.two_factor_enabled:
        raise InvalidInput(
            _("Two-factor authentication is already on; turn it off first to set up a new app."), field="code"
        )
    with write_transaction():
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = None
        user.totp_last_step = None


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Put the pending secret in force if `code` is right; returns the new recovery codes
    (shown once: only their hashes are kept). Raises InvalidInput for a wrong code."""
    code = (code or "").replace(" ", "")
    if user.totp_secret is None or user.two_factor_enabled:
        raise InvalidInput(_("Start the set-up first."), field="code")
    step = matching_step(user.totp_secret, code, time.time(), None) if _DIGITS.fullmatch(code) else None
    if step is None:
        raise InvalidInput(
            _("That code is not right. Check the time on your phone and type the 6 digits the app shows now."),
            field="code",
        )
    plain = [_new_recovery_code() for _n in range(RECOVERY_CODES)]
    with write_transaction():
        done = db.session.execute(
            update(User)
            .where(User.id == user.id, User.totp_confirmed_at.is_(None), User.totp_secret == user.totp_secret)
            .values(totp_confirmed_at=utcnow(), totp_last_step=step)
        )
        if done.rowcount != 1:
            raise InvalidInput(_("Start the set-up first."), field="code")
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        db.session.add_all(
            RecoveryCode(user_id=user.id, code_hash=_hash_recovery(_normalise_recovery(code))) for code in plain
        )
    db.session.refresh(user)
    return plain


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 random bits, 16 characters
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def use_code(user: User, code: str) -> bool:
    """Accept a TOTP code or an unused recovery code for `user`, once; False if it is wrong,
    already used, or the user has no second factor."""
    if not user.two_factor_enabled:
        return False
    code = (code or "").strip()
    if _DIGITS.fullmatch(code.replace(" ", "")):
        step = matching_step(user.totp_secret, code.replace(" ", ""), time.time(), user.totp_last_step)
        if step is None:
            return False
        with write_transaction():
            taken = db.session.execute(
                update(User)
                .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                .values(totp_last_step=step)
            )
        return taken.rowcount == 1
    normalised = _normalise_recovery(code)
    if not _RECOVERY.fullmatch(normalised):
        return False
    with write_transaction():
        taken = db.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash_recovery(normalised),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
    return taken.rowcount == 1


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def remove(user: User) -> None:
    """Turn two-factor authentication off (the user, or an administrator's reset)."""
    with write_transaction():
        db.session.execute(
            update(User).where(User.id == user.id).values(totp_secret=None, totp_confirmed_at=None, totp_last_step=None)
        )
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.refresh(user)

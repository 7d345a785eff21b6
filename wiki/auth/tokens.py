"""Personal API tokens: `Authorization: Bearer <token>` (RFC 6750), their scopes and expiry.

A request without an Authorization header is anonymous (or rides on its session). A request
with one is authenticated by that token alone, on every route, API and HTML: a malformed
header, or a token that is unknown, revoked, expired or belongs to a disabled account, is
refused with 401 and `WWW-Authenticate: Bearer ... error="invalid_token"` before the view runs,
never treated as anonymous. A valid token outside its scope gets 403 with
`error="insufficient_scope"`.

Clients that speak only HTTP Basic (ODK Collect, KoboCollect: wiki/openrosa) may send a token as
the Basic password, with any user name, on the views marked `@basic_token`; elsewhere a Basic
header is refused like any other malformed one.

Scopes: `full` (whatever the owner's role allows), `read` (safe methods only) and `submit`
(only the views that take in field reports). Views declare the extra scopes they accept with
`@token_scope(...)`; a view that declares nothing accepts `read` tokens for GET/HEAD/OPTIONS
and only `full` ones otherwise, so a new route is closed to limited tokens by default.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import Flask, current_app, g, request
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..database import write_transaction
from ..errors import Forbidden, InvalidInput, Unauthorized
from ..extensions import db
from ..models import ApiToken, User
from ..models.base import utcnow
from ..models.users import TOKEN_SCOPES

REALM = "crisiswiki"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
MAX_TOKEN_DAYS = 3650
# RFC 6750's b64token.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def token_scope(*scopes: str) -> Callable:
    """Let tokens of these scopes (besides `full`) use a view, whatever its method:
    `@token_scope("submit")` under the route decorator."""
    unknown = set(scopes) - set(TOKEN_SCOPES)
    if unknown:
        raise ValueError(f"unknown token scopes {sorted(unknown)}")

    def mark(view: Callable) -> Callable:
        view.token_scopes = frozenset(scopes)
        return view

    return mark


def basic_token(view: Callable) -> Callable:
    """Let a view take the token as the password of HTTP Basic, for clients that speak nothing else
    (ODK Collect and KoboCollect, which prompt for a user name and password on a Basic challenge)."""
    view.basic_token = True
    return view


def accepts_basic() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "basic_token", False)


def accepted_scopes(view: Callable | None, method: str) -> frozenset[str]:
    """The token scopes that may make a `method` request to `view`."""
    declared = getattr(view, "token_scopes", frozenset())
    return frozenset({"full", *declared, *(["read"] if method in SAFE_METHODS else [])})


def challenge(**params: str) -> str:
    """A WWW-Authenticate value for the Bearer scheme."""
    return "Bearer " + ", ".join([f'realm="{REALM}"', *(f'{name}="{value}"' for name, value in params.items())])


class InvalidToken(Unauthorized):
    """401 for a bad Authorization header or token; `description` goes into the header (ASCII,
    RFC 6750 forbids anything else there), the translated message into the body."""

    def __init__(self, message: str, description: str, code: str = "invalid_token", basic: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.description = description
        self.basic = basic

    def headers(self) -> dict[str, str]:
        if self.basic:  # the client asked with Basic: a Bearer challenge would mean nothing to it
            return {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
        return {"WWW-Authenticate": challenge(error=self.code, error_description=self.description)}


class InsufficientScope(Forbidden):
    code = "insufficient_scope"

    def __init__(self, message: str, needed: frozenset[str]) -> None:
        super().__init__(message)
        self.needed = needed

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": challenge(error="insufficient_scope", scope=" ".join(sorted(self.needed)))}


@dataclass(frozen=True)
class Bearer:
    """What a request's Authorization header amounts to."""

    token: ApiToken | None = None
    error: InvalidToken | None = None

    @property
    def user(self) -> User | None:
        return self.token.user if self.token is not None and self.error is None else None


def _read_header() -> Bearer:
    header = request.headers.get("Authorization")
    how = _("Send a token from your API tokens page as “Authorization: Bearer <token>”.")
    scheme, _sep, credentials = (header or "").strip().partition(" ")
    credentials = credentials.strip()
    basic = scheme.lower() == "basic" and accepts_basic()
    if basic:
        how = _("Give your user name and, as the password, a token from your API tokens page.")
        credentials = _basic_password(credentials)
    if (scheme.lower() != "bearer" and not basic) or not _B64TOKEN.fullmatch(credentials):
        return Bearer(
            error=InvalidToken(
                _("The Authorization header is not a bearer token.") + " " + how,
                "Malformed Authorization header: send Authorization: Bearer <token>",
                code="invalid_request",
                basic=basic,
            )
        )
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(credentials)))
    if token is None:
        return Bearer(
            error=InvalidToken(_("This API token is not valid.") + " " + how, "The token is not valid", basic=basic)
        )
    if token.revoked:
        return Bearer(token, InvalidToken(_("This API token was revoked."), "The token was revoked", basic=basic))
    if token.expires_at is not None and token.expires_at <= utcnow():
        return Bearer(token, InvalidToken(_("This API token has expired."), "The token has expired", basic=basic))
    if not token.user.active:
        return Bearer(
            token,
            InvalidToken(
                _("The account this API token belongs to is disabled."), "The token's owner is disabled", basic=basic
            ),
        )
    return Bearer(token)


def _basic_password(credentials: str) -> str:
    """The password of HTTP Basic credentials (RFC 7617), "" when they cannot be read."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""
    _user, sep, password = decoded.partition(":")
    return password if sep else ""


def bearer() -> Bearer | None:
    """The request's bearer credentials (None without an Authorization header), read once."""
    if "Authorization" not in request.headers:
        return None
    if "bearer" not in g:
        g.bearer = _read_header()
    return g.bearer


def authenticate_bearer() -> None:
    """before_request: refuse bad tokens and requests outside the token's scope."""
    found = bearer()
    if found is None:
        return
    if found.error is not None:
        raise found.error
    token = found.token
    needed = accepted_scopes(current_app.view_functions.get(request.endpoint), request.method)
    if token.scope not in needed:
        wanted = ", ".join(f"“{name}”" for name in [*sorted(needed - {"full"}), "full"])
        if len(needed) == 1:
            message = _(
                "This token's scope is “%(scope)s”, which does not allow this request; it needs the scope %(needed)s.",
                scope=token.scope,
                needed=wanted,
            )
        else:
            message = _(
                "This token's scope is “%(scope)s”, which does not allow this request; it needs one of the "
                "scopes %(needed)s.",
                scope=token.scope,
                needed=wanted,
            )
        raise InsufficientScope(message, needed)
    last = token.last_used_at
    if last is None or utcnow() - last > TOKEN_USE_RESOLUTION:
        # Stamped after the request's own work (record_token_use), in a transaction of its
        # own: an update here would write inside the read-only part of a @reads_first view. A
        # minute's resolution keeps a surge of API calls from doubling the write transactions.
        g.token_used_id = token.id


def record_token_use(response):
    """after_request: stamp the bearer token's last use."""
    token_id = g.pop("token_used_id", None)
    if token_id is None:
        return response
    try:
        db.session.rollback()  # the request's own work is committed (or was refused): start clean
        with write_transaction():
            db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
    except Exception:
        current_app.logger.warning("could not record the use of API token %s", token_id, exc_info=True)
    return response


def expiry(days: str, on: str, today: date | None = None) -> datetime | None:
    """When a new token stops working: after `days` days, or at the end (UTC) of the date `on`
    (YYYY-MM-DD); None (never) when both are empty."""
    days, on = (days or "").strip(), (on or "").strip()
    today = today or utcnow().date()
    if days and on:
        raise InvalidInput(_("Give the expiry either in days or as a date, not both."), field="expires_days")
    if days:
        try:
            count = int(days)
        except ValueError:
            raise InvalidInput(_("The number of days must be a whole number."), field="expires_days") from None
        if not 1 <= count <= MAX_TOKEN_DAYS:
            raise InvalidInput(_("A token can last from 1 to %(n)d days.", n=MAX_TOKEN_DAYS), field="expires_days")
        return utcnow() + timedelta(days=count)
    if on:
        try:
            last_day = date.fromisoformat(on)
        except ValueError:
            raise InvalidInput(_("The expiry date must be a date (YYYY-MM-DD)."), field="expires_on") from None
        if last_day < today:
            raise InvalidInput(_("The expiry date is in the past."), field="expires_on")
        if last_day > today + timedelta(days=MAX_TOKEN_DAYS):
            raise InvalidInput(_("A token can last from 1 to %(n)d days.", n=MAX_TOKEN_DAYS), field="expires_on")
        return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=UTC)
    return None


def issue_token(user: User, name: str, scope: str = "full", expires_days: str = "", expires_on: str = "") -> str:
    """Create a token for `user` from the tokens page's fields; returns the plain token. Raises
    InvalidInput (422) without writing anything."""
    scope = (scope or "full").strip()
    if scope not in TOKEN_SCOPES:
        raise InvalidInput(
            _("Unknown scope %(scope)r; choose one of %(list)s.", scope=scope, list=", ".join(TOKEN_SCOPES)),
            field="scope",
        )
    expires_at = expiry(expires_days, expires_on)
    _token, plain = ApiToken.issue(user, (name or "").strip()[:120], scope=scope, expires_at=expires_at)
    db.session.commit()
    return plain


def init_tokens(app: Flask) -> None:
    """Check bearer tokens before any other request hook (before CSRF, which skips API calls
    that carry one), and record their use after the request."""
    app.before_request_funcs.setdefault(None, []).insert(0, authenticate_bearer)
    app.after_request(record_token_use)

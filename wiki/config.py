"""Configuration: defaults, then the instance folder's config.py, then CRISISWIKI_* environment
variables (and DATABASE_URL), then the test overrides passed to create_app()."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Config, Flask

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,  # generated into instance/secret_key when not configured
    "SQLALCHEMY_DATABASE_URI": None,  # default: sqlite:///<instance>/crisiswiki.db
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # SQLite durability: FULL syncs the WAL on every commit, so an accepted save survives
    # a power cut, not only a crashed process.
    "SQLITE_SYNCHRONOUS": "FULL",
    "SQLITE_BUSY_TIMEOUT_MS": 30000,
    # WAL checkpoints: the background job's every this many seconds (wiki/checkpoints.py), off the
    # requests' path; a commit checkpoints by itself only when the log is this many pages long.
    "SQLITE_CHECKPOINT_SECONDS": 1.0,
    "SQLITE_AUTOCHECKPOINT_PAGES": 10000,
    # A write in a SQLite transaction that did not take the write lock up front (wiki/database.py):
    # "log" a warning, "raise" at once (load tests, benchmarks), "off"; "auto": log, off in tests.
    "WRITE_CHECK": "auto",
    "MAX_CONTENT_LENGTH": None,  # whole requests; default: room for the largest upload allowed below
    "ATTACHMENT_MAX_BYTES": 25 * 1024 * 1024,
    "UPLOAD_FOLDER": None,  # default: <instance>/uploads
    "ANONYMOUS_EDIT": False,  # may anonymous users edit pages?
    "ANONYMOUS_SUBMIT": True,  # may anonymous users submit field reports?
    "DISABLED_PLUGINS": [],  # entry-point names of plugins not to load
    "LOAD_ENTRYPOINT_PLUGINS": True,
    "SITE_NAME": "crisiswiki",
    "WTF_CSRF_TIME_LIMIT": None,  # a coordinator may keep an edit form open for hours
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    # "auto": cookies are Secure when the request came over HTTPS (after ProxyFix); or true/false.
    "SESSION_COOKIE_SECURE": "auto",
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "HSTS_SECONDS": 365 * 24 * 3600,  # Strict-Transport-Security on HTTPS responses (0: none)
    # Accounts (wiki/auth): password policy, login throttling, password reset, two-factor.
    "PASSWORD_MIN_LENGTH": 8,  # NIST SP 800-63B's floor; see wiki/auth/passwords.py
    "LOGIN_FREE_ATTEMPTS": 5,  # failures per account before each further attempt must wait
    "LOGIN_ADDRESS_FREE_ATTEMPTS": 20,  # ... per client address (many people may share one)
    "LOGIN_MAX_DELAY_SECONDS": 900,  # the wait doubles from 1 s up to this
    "LOGIN_FORGET_SECONDS": 24 * 3600,  # failures older than this are forgotten
    "PASSWORD_RESET_SECONDS": 3600,  # how long a reset link works
    "PASSWORD_RESET_ADDRESS_LIMIT": 10,  # reset requests per client address per hour (then 429)
    "PASSWORD_RESET_ACCOUNT_LIMIT": 3,  # reset mails per account per hour (then silently none)
    "BASE_URL": "",  # e.g. https://wiki.example.org: links in mails; default: the request's host
    "TWO_FACTOR_REQUIRED_ROLES": [],  # e.g. ["admin", "coordinator"]: must set up TOTP at next login
    # Mail (wiki/mail), with Flask-Mail's names. No MAIL_SERVER: mail waits in the outbox (/admin/mail).
    "MAIL_SERVER": "",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,  # STARTTLS
    "MAIL_USE_SSL": False,  # TLS from the start (port 465)
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_DEFAULT_SENDER": "crisiswiki@localhost",
    "MAIL_TIMEOUT": 10,  # seconds to wait for the SMTP server
    # Channels (wiki/channels): gateways' secrets, where replies go, mail taken in.
    "CHANNEL_MAX_BYTES": 64 * 1024,  # largest gateway request (an SMS webhook post is a few KB)
    "CHANNEL_SEND_TIMEOUT": 10,  # seconds to wait for a gateway's API when sending
    "CHANNEL_SMS_DEFAULT": "",  # channel for send_sms() to a number that never wrote in: twilio, smssync ...
    "CHANNEL_MEDIA_RETRY_SECONDS": 30,  # a gateway's photo that could not be fetched: first retry after this, doubling
    "CHANNEL_MEDIA_ATTEMPTS": 8,  # ... and recorded as not fetched after this many tries
    "TWILIO_ACCOUNT_SID": "",  # with the auth token: sends replies, fetches MMS photos (HTTP Basic)
    "TWILIO_AUTH_TOKEN": "",  # checks X-Twilio-Signature; the channel is off without it
    "TWILIO_FROM": "",  # the Twilio number replies are sent from
    "TWILIO_API_URL": "https://api.twilio.com",
    "SMSSYNC_SECRET": "",  # the secret set in the SMSSync app; the channel is off without it
    "SMSSYNC_RESEND_SECONDS": 600,  # a message handed to the phone and not confirmed is handed out again
    "RAPIDPRO_SECRET": "",  # sent by RapidPro in X-Crisiswiki-Secret; the channel is off without it
    "RAPIDPRO_API_URL": "",  # e.g. https://rapidpro.example.org, for replies (broadcasts)
    "RAPIDPRO_API_TOKEN": "",
    "WEBHOOK_SECRET": "",  # the generic webhook's X-Crisiswiki-Secret; off without it
    "WEBHOOK_SEND_URL": "",  # where replies through the webhook channel are posted
    "MAIL_INBOUND_ADDRESSES": [],  # addresses that take reports, e.g. reports@wiki.example.org (+crisis tags too)
    "MAIL_INBOUND_MAX_BYTES": 25 * 1024 * 1024,
    "MAIL_INBOUND_MAX_PARTS": 50,  # a mail with more parts is refused (a mail bomb)
    "IMAP_HOST": "",  # `crisiswiki fetch-mail` polls this mailbox
    "IMAP_PORT": 993,
    "IMAP_SECURITY": "ssl",  # ssl, starttls or none
    "IMAP_USER": "",
    "IMAP_PASSWORD": "",
    "IMAP_FOLDER": "INBOX",
    "IMAP_ADDRESS": "",  # the mailbox's address, for routing rules (default: IMAP_USER)
    # A sender's claim on a message lasts this long: a sender that died (kill -9) leaves a claim
    # that another takes over after it, and the message is sent then (wiki/mail/sender.py).
    "MAIL_CLAIM_SECONDS": 60,
    "MAIL_POLL_SECONDS": 5.0,  # how often the worker's mail job looks for mail nobody woke it for
    # Alerts (wiki/alerts): subscriptions by area, sector and trust; e-mail, webhooks, feeds, SMS.
    "ALERT_POLL_SECONDS": 1.0,  # how often the worker's alert jobs look for work nobody woke them for
    "ALERT_MATCH_BATCH": 1000,  # events matched at once
    "ALERT_MAX_RADIUS_KM": 500.0,  # the largest circle a subscription may draw
    "ALERT_SUBSCRIBE_LIMIT": 20,  # subscriptions per client address per hour without an account
    "ALERT_WEBHOOK_TIMEOUT": 10.0,  # seconds to wait for a webhook's receiver
    "ALERT_RETRY_SECONDS": 30.0,  # the first wait after a failed webhook or SMS; it doubles each time (at most 1 h)
    "ALERT_MAX_ATTEMPTS": 8,  # then the message is dead (the subscriber can replay it)
    "ALERT_CLAIM_SECONDS": 120,  # a sender's hold on a webhook or SMS message (a dead sender's is taken over after it)
    # Webhook hosts or networks allowed although internal (loopback, private ranges, this site),
    # e.g. ["alerts.internal.example", "10.1.2.0/24"]; empty: only public addresses.
    "ALERT_WEBHOOK_ALLOWED_HOSTS": [],
    "API_PAGE_SIZE": 100,
    "API_MAX_PAGE_SIZE": 1000,
    "PAGE_MAX_BYTES": 512 * 1024,  # Markdown source of one revision
    "STATIC_BUILD_DIR": None,  # hashed, compressed static files; default instance/static-build
    "STATIC_FOLDER": None,  # the static files' source; default the checkout's (or the wheel's) static/
    "PAGE_CACHE": True,  # serve anonymous page views from instance/page-cache (wiki/pages/cache.py)
    "LANGUAGES": ["en", "fr", "es", "ar"],
    "BABEL_DEFAULT_LOCALE": "en",
    "TRACE_HOOKS": False,
    # The background worker (wiki/workers.py): "auto" runs it in every server process (not in
    # tests); set false where a `crisiswiki worker` process does the background work instead.
    "WORKER_IN_SERVERS": "auto",
    # Operations (wiki/operations, wiki/metrics.py): readiness limits, who may read /metrics, where
    # the processes of a host keep their metrics, and the log format.
    "READY_MIN_FREE_BYTES": 100 * 1024 * 1024,  # /readyz fails below this much free disk
    "READY_MAX_LAG_SECONDS": 300,  # ... or when background work waited longer than this
    "METRICS_ALLOWED_ADDRESSES": ["127.0.0.1/8", "::1"],  # client addresses or networks
    "METRICS_DIR": None,  # default: <instance>/metrics (prometheus-client's multiprocess files)
    "LOG_FORMAT": "text",  # or "json": one JSON object a line, with the request id
    "LOG_LEVEL": "INFO",
    # Field reports
    "REPORTS_PUBLISH": "on_submit",  # or "after_review": public only once a coordinator publishes
    "REPORT_MAX_TEXT": 10000,  # characters of description
    "REPORT_FUTURE_SLACK_HOURS": 24,  # occurred_at may be this far ahead (phones with wrong clocks)
    "REPORT_PHOTO_MAX_BYTES": 10 * 1024 * 1024,
    "REPORT_MAX_PHOTOS": 5,
    # The offline report app (wiki/offline): photos are resized on the phone to this many pixels on
    # their long side before they are queued or sent (0: sent as taken); what one crisis's offline
    # copy may download at most (static files, the form, boundaries, gazetteer; the basemap aside).
    "REPORT_PHOTO_MAX_SIDE": 1600,
    "OFFLINE_BUDGET_BYTES": 400 * 1024,
    "IMPORT_MAX_BYTES": 50 * 1024 * 1024,  # largest CSV or GeoJSON file on the report import page
    "IMPORT_BATCH_SIZE": 1000,  # rows per transaction of a background import (its resume points)
    "IMPORT_POLL_SECONDS": 5.0,  # how often the worker's imports job looks for an import nobody woke it for
    # HDX datasets (wiki/hdx, `crisiswiki publish-hdx`): the CKAN site, its API token, and the
    # metadata HDX asks for that the crisis itself does not give.
    "HDX_URL": "",  # e.g. https://data.humdata.org (or a CKAN of your own)
    "HDX_API_TOKEN": "",  # an API token of a user who may edit the organisation's datasets
    "HDX_ORGANISATION": "",  # the organisation's name on the site (owner_org)
    "HDX_MAINTAINER": "",  # the site's user who maintains the datasets (HDX asks for one)
    "HDX_LICENSE_ID": "cc-by",  # a licence id of the site
    "HDX_DATASET_SOURCE": "",  # dataset_source; default: "crisiswiki field reports"
    "HDX_TAGS": ["hxl", "geodata"],  # tags of HDX's approved vocabulary
    "HDX_TIMEOUT": 60.0,  # seconds to wait for each call to the site (uploads included)
    "SENSITIVE_GRID_KM": 10.0,  # public location of a sensitive report: a cell of this size
    "ANONYMOUS_SUBMIT_LIMIT": 60,  # anonymous reports per client address ...
    "ANONYMOUS_SUBMIT_WINDOW": 3600,  # ... per this many seconds
    # Trusted proxies in front of the app: the client address comes from X-Forwarded-For (rate
    # limits, login throttling), the scheme from X-Forwarded-Proto (HTTPS: HSTS, Secure cookies).
    "PROXY_FIX_X_FOR": 0,
    # ... and only when the request comes from one of these addresses or networks (the proxies;
    # empty: from any address, as before). A client that reaches an app server directly, past
    # the proxy, then cannot choose its address with a forged X-Forwarded-For.
    "TRUSTED_PROXIES": [],
    "PASSWORD_HASH_METHOD": "scrypt",  # werkzeug's default; the tests use a cheaper pbkdf2
    # Map tile hosts etc. that pages may load images from (Content-Security-Policy img-src).
    "CSP_EXTRA_IMG_SOURCES": [],
    # Maps: the tile server, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png (its host is added
    # to img-src automatically); "" (the default) draws the offline basemap, Natural Earth's land and
    # borders shipped in static/vendor, with no request leaving the site. Then the most points one
    # map view gets before the server sends clusters instead, and the largest GeoJSON layer and
    # boundaries file.
    "MAP_TILE_URL": "",
    "MAP_TILE_ATTRIBUTION": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    # (the credit shown with the tiles; the offline basemap credits Natural Earth itself)
    "MAP_MAX_POINTS": 2000,
    "MAP_CLUSTER_PIXELS": 80,  # side of a cluster cell on screen
    "LAYER_MAX_BYTES": 20 * 1024 * 1024,
    "BOUNDARIES_MAX_BYTES": 50 * 1024 * 1024,
    # Search (wiki/search): "whoosh" (an index on local disk) or "postgresql" (full-text search in
    # the shared database, for several app servers).
    # Flask-Compress: data responses (map points, report lists, search results, exports) are
    # brotli/gzip-compressed for clients that accept it; they are most of what a phone downloads
    # on the map (a thousand points: ~800 KB raw). HTML pages are left alone: they are small,
    # and compressing pages that carry a CSRF token next to reflected input invites BREACH.
    "COMPRESS_MIMETYPES": ["application/json", "application/geo+json", "text/csv"],
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_ALGORITHM_STREAMING": ["br"],
    "COMPRESS_BR_LEVEL": 4,
    "COMPRESS_MIN_SIZE": 1024,
    "SEARCH_BACKEND": "whoosh",
    "SEARCH_INDEX_DIR": None,  # default: <instance>/search-index
    "SEARCH_POLL_SECONDS": 0.5,  # how often a worker's writer looks at the queue
    "SEARCH_COMMIT_INTERVAL_SECONDS": 1.0,  # at least this long between index commits (bigger batches in a surge)
    "SEARCH_CATCHUP_SECONDS": 300,  # how often it looks for changes the queue missed
    "SEARCH_QUEUE_RETENTION_HOURS": 24,  # processed queue rows kept (for reindex to replay)
    "SEARCH_RESULT_CACHE": 2000,  # anonymous answers remembered per worker (0: none; wiki/search/result_cache.py)
    "SEARCH_RESULT_CACHE_SECONDS": 60,  # ... for at most this long, and only while the index is unchanged
    "SEARCH_PAGE_SIZE": 20,
    "SEARCH_TITLE_BOOST": 3.0,  # a word in the title counts this many times a word in the body
}

_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _coerce(raw: str, default: Any) -> Any:
    """Turn an environment string into the type of the default it overrides."""
    if isinstance(default, bool):
        if raw.lower() not in _BOOL:
            raise ValueError(f"expected a boolean, got {raw!r}")
        return _BOOL[raw.lower()]
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (list, dict)):
        if raw.strip().startswith(("[", "{")):
            return json.loads(raw)
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def from_environment(config: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Values from CRISISWIKI_<NAME> variables for every known setting, and DATABASE_URL."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for name, current in config.items():
        raw = environ.get(f"CRISISWIKI_{name}")
        if raw is not None:
            found[name] = _coerce(raw, current)
    if environ.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(environ["DATABASE_URL"])
    return found


def layer(app: Flask, defaults: dict[str, Any], test_config: dict[str, Any] | None = None) -> None:
    """Set settings on app.config, each from the last layer that gives it: the default, then
    `instance/config.py`, then the CRISISWIKI_<NAME> environment variable, then the config
    passed to create_app(). The core's settings (with Flask's own) go through here in
    create_app(), which passes `test_config`; a plugin's own settings in its init_app
    (`add_settings`), so that both are layered the same way."""
    core = test_config is not None
    if core:
        app.extensions["crisiswiki_test_config"] = dict(test_config)
    given = app.extensions.get("crisiswiki_test_config", {})
    instance = Config(app.instance_path)
    instance.from_pyfile("config.py", silent=True)
    values = {**app.config, **defaults} if core else dict(defaults)
    values.update({name: value for name, value in instance.items() if core or name in defaults})
    values.update(from_environment(values))
    values.update({name: value for name, value in given.items() if core or name in defaults})
    app.config.update(values)


def add_settings(app: Flask, defaults: dict[str, Any]) -> None:
    """A plugin's settings, layered as the core's (see `layer`)."""
    layer(app, defaults)


def normalise_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def finalise(app: Flask) -> None:
    """Fill in the settings that depend on the instance folder, creating it if needed."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        # The embedded default: a SQLite file in the instance folder, next to the search index.
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'crisiswiki.db'}"
    else:
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config["MAX_CONTENT_LENGTH"]:
        largest = max(
            app.config["ATTACHMENT_MAX_BYTES"],
            app.config["REPORT_PHOTO_MAX_BYTES"] * app.config["REPORT_MAX_PHOTOS"],
            app.config["IMPORT_MAX_BYTES"],
        )
        app.config["MAX_CONTENT_LENGTH"] = largest + 1024 * 1024  # plus the form fields around it
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = str(instance / "uploads")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    roles = app.config["TWO_FACTOR_REQUIRED_ROLES"]
    roles = [part.strip() for part in roles.split(",") if part.strip()] if isinstance(roles, str) else list(roles)
    from .models.users import ROLES

    if set(roles) - set(ROLES):
        raise ValueError(f"TWO_FACTOR_REQUIRED_ROLES: unknown roles {sorted(set(roles) - set(ROLES))}")
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = roles


def _instance_secret(path: Path) -> str:
    """A secret key kept in the instance folder, so sessions survive restarts and every
    gunicorn worker signs with the same key. Created atomically: of several workers starting
    at once, one writes it and the others read it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)  # the creating worker has not finished writing yet
        raise RuntimeError(f"{path} is empty; delete it and restart")
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value

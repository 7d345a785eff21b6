"""Serving cached anonymous page views before Flask.

A page-cache hit (pages/cache.py) still went through Flask: the session, the login manager,
Babel and the request hooks cost about 0.7 ms of the 0.9 ms a hit took, which capped a
2-core server at about 1,000 page views a second. This WSGI middleware answers the same hits
with a single indexed read of the crisis's generation and a file read, and hands everything it
is not sure about to Flask unchanged: anything but GET, requests carrying credentials or
cookies other than the language choice, URLs of views that are not cached, and misses.

It builds the cache path with the same function as the Flask side (`cache_path`) and the
language with the same rule (`i18n.language_for`), so both sides agree on every key, and it
sends the same headers, so a reader cannot tell which side answered.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, text
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date, parse_date, parse_etags
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request

from ..cache_generations import cache_path, etag_for
from ..extensions import db
from ..i18n import COOKIE, language_for
from ..metrics import ENDPOINT_KEY
from .cache import CACHE_CONTROL, VARY

ROUTE_KEY = (
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_COOKIE",
    "HTTP_ACCEPT_LANGUAGE",
)
ROUTES_REMEMBERED = 10_000
UNKNOWN = object()
GENERATION = "SELECT generation FROM crises WHERE slug = :slug"


class GenerationReader:
    """Reads a crisis's page-cache generation: on SQLite through a read-only connection per
    thread (about 10 µs; a pooled SQLAlchemy connection and its BEGIN cost about 100 µs, more
    than the rest of a hit), elsewhere through the engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.sqlite_uri = (
            Path(database).resolve().as_uri() + "?mode=ro" if database and database != ":memory:" else None
        )
        self.local = threading.local()

    def __call__(self, slug: str) -> int | None:
        if self.sqlite_uri is None:
            with self.engine.connect() as connection:
                return connection.execute(text(GENERATION), {"slug": slug}).scalar()
        connection = getattr(self.local, "connection", None)
        if connection is None:
            # Autocommit: every read sees the last committed generation.
            connection = self.local.connection = sqlite3.connect(self.sqlite_uri, uri=True, isolation_level=None)
        row = connection.execute(GENERATION, {"slug": slug}).fetchone()
        return None if row is None else row[0]


class CachedPageServer:
    """WSGI middleware in front of `app.wsgi_app` (see the module docstring)."""

    def __init__(self, app: Flask, wrapped):
        self.app = app
        self.wrapped = wrapped
        self.root = Path(app.instance_path) / "page-cache"
        self.endpoints = {name for name, view in app.view_functions.items() if getattr(view, "anonymous_cache", False)}
        # The security headers are added around both sides (wiki/security.py: SecurityHeaders).
        self.headers = [
            ("Cache-Control", CACHE_CONTROL),
            ("Vary", ", ".join((*VARY, "Accept-Encoding"))),  # as Flask's (Flask-Compress adds the last)
        ]
        self.routes: dict[tuple, tuple | None] = {}
        with app.app_context():
            self.generation = GenerationReader(db.engine)

    def _route(self, environ) -> tuple[str, str, str] | None:
        """(crisis slug, path with query, language) if the request is for a cached view and
        may be answered from the cache at all, else None."""
        request = Request(environ)
        if any(name != COOKIE for name in request.cookies):
            return None  # a session (perhaps logged in, perhaps with a message to show)
        try:
            endpoint, arguments = self.app.url_map.bind_to_environ(
                environ, server_name=self.app.config["SERVER_NAME"]
            ).match()
        except (HTTPException, RequestRedirect):
            return None
        if endpoint not in self.endpoints:
            return None
        return arguments["crisis_slug"], request.full_path, language_for(request, self.app.config)

    def __call__(self, environ, start_response):
        try:
            answer = self._answer(environ, start_response)
        except Exception:  # whatever goes wrong here, Flask can still answer
            self.app.logger.warning("the cached-page server failed; Flask answers instead", exc_info=True)
            answer = None
        return self.wrapped(environ, start_response) if answer is None else answer

    def _answer(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "GET" or "HTTP_AUTHORIZATION" in environ or not self.app.config["PAGE_CACHE"]:
            return None
        # Which cached view, crisis, path and language a request is about depends only on these
        # parts of it: remember the answer rather than parse cookies and match URLs every time.
        key = tuple(environ.get(name, "") for name in ROUTE_KEY)
        route = self.routes.get(key, UNKNOWN)
        if route is UNKNOWN:
            route = self._route(environ)
            if len(self.routes) >= ROUTES_REMEMBERED:
                self.routes.clear()
            self.routes[key] = route
        if route is None:
            return None
        slug, full_path, language = route
        generation = self.generation(slug)
        if generation is None:
            return None
        environ[ENDPOINT_KEY] = "page_cache"
        path = cache_path(self.root, slug, generation, full_path, language, self.app.config)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        etag = etag_for(stat)
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("X-Page-Cache", "hit"),
            ("ETag", f'"{etag}"'),
            ("Last-Modified", http_date(int(stat.st_mtime))),
            *self.headers,
        ]
        if "HTTP_IF_NONE_MATCH" in environ:
            fresh = parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains(etag)
        else:
            since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
            fresh = since is not None and int(stat.st_mtime) <= since.timestamp()
        if fresh:
            start_response("304 NOT MODIFIED", headers)
            return []
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return None
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]


def init_cache_server(app: Flask) -> None:
    """Put the cached-page server in front of the app (after every blueprint and plugin is in)."""
    app.wsgi_app = CachedPageServer(app, app.wsgi_app)

"""The Atom feeds' common parts: a feedgen feed with its id, title, links, language and time, and
the HTTP answer that readers poll (ETag and Last-Modified, 304 when nothing changed).

Every feed (page edits, verified reports, layers, alert subscriptions) is written by feedgen
through `new_feed`; what goes into a feed that shows reports is decided by wiki.visibility."""

from __future__ import annotations

import hashlib
from datetime import datetime

from feedgen.feed import FeedGenerator
from flask import Response, request
from flask_babel import get_locale

EPOCH = "1970-01-01T00:00:00Z"  # the time of a feed with no entries yet
ENTRIES = 50


def new_feed(title: str, self_url: str, site_url: str, updated: datetime | None, language: str | None = None):
    """A feed with no entries yet. Add entries oldest first: feedgen prepends each one."""
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(title)
    feed.link(href=site_url, rel="alternate")
    feed.link(href=self_url, rel="self")
    if language is None:
        locale = get_locale()
        language = locale.language if locale else "en"
    feed.language(language)
    feed.updated(updated or EPOCH)
    return feed


def atom_response(feed: FeedGenerator, updated: datetime | None, shared: bool = True) -> Response:
    """The feed as a conditional answer: readers that send back its ETag or Last-Modified get a
    304 with no body. `shared`: the same for everyone (caches may keep it), else for this viewer."""
    body = feed.atom_str(pretty=True)
    response = Response(body, mimetype="application/atom+xml")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    if updated is not None:
        response.last_modified = updated
    response.cache_control.max_age = 60
    if shared:
        response.cache_control.public = True
    else:
        response.cache_control.private = True
    response.vary.add("Cookie")
    return response.make_conditional(request)

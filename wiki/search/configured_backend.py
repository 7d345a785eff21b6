"""The search backend an app is configured with (SEARCH_BACKEND): one object per app, made on
first use. Apart from the contract (wiki.search.backend) so that the backends, which import the
contract, are imported by nothing that they import."""

from __future__ import annotations

from flask import Flask, current_app

from .backend import Backend


def backend_for(app: Flask | None = None) -> Backend:
    """The configured backend of `app` (one object per app)."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get("crisiswiki_search")
    if backend is None:
        name = app.config["SEARCH_BACKEND"]
        if name == "postgresql":
            from .postgres import PostgresBackend

            backend = PostgresBackend(app)
        else:
            from .whoosh_index import WhooshBackend

            backend = WhooshBackend(app)
        app.extensions["crisiswiki_search"] = backend
    return backend

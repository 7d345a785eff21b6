"""The app served on a loopback port in a thread (werkzeug's server), for clients that read it by
URL as they would read a deployed site: libhxl, GDAL's OGC API driver, a generated API client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at a free port; yields the base URL. The app must have no
    SERVER_NAME (or one that matches the URL), as URLs are built from the request's host."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)

"""Answers to anonymous searches, remembered per index version.

In a crisis many responders ask the same few things ("cholera", a town's name), and anonymous
readers all get the same answer. A search costs about 10 ms of CPU; a remembered answer a
fraction of a millisecond. An answer is kept in the worker's memory with the index version it
was computed against (`Backend.version()`, which changes at every index commit and rebuild), and
served only while that version is current and for at most SEARCH_RESULT_CACHE_SECONDS: a change
to a report or page reaches its remembered answers when it reaches the index, within a second
or so, as it reaches fresh searches. Logged-in users and API tokens are never served from it
(what they may see differs); nor is the PostgreSQL backend, which has no version to go by.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from flask import Flask


class ResultCache:
    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        self.seconds = seconds
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple, tuple[object, float, bytes]] = OrderedDict()

    def get(self, key: tuple, version: object) -> bytes | None:
        with self._lock:
            found = self._answers.get(key)
            if found is None:
                return None
            answered_for, at, body = found
            if answered_for != version or time.monotonic() - at > self.seconds:
                del self._answers[key]
                return None
            self._answers.move_to_end(key)
            return body

    def put(self, key: tuple, version: object, body: bytes) -> None:
        with self._lock:
            self._answers[key] = (version, time.monotonic(), body)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)


def result_cache(app: Flask) -> ResultCache | None:
    """This app's cache in this process, or None when SEARCH_RESULT_CACHE is 0."""
    size = int(app.config["SEARCH_RESULT_CACHE"])
    if size <= 0:
        return None
    cache = app.extensions.get("crisiswiki_search_results")
    if cache is None:
        cache = app.extensions["crisiswiki_search_results"] = ResultCache(
            size, float(app.config["SEARCH_RESULT_CACHE_SECONDS"])
        )
    return cache

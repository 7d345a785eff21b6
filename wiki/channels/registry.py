"""The channels this app has: those every plugin returns from the `register_channels` hook
(the core's own included, wiki.channels.plugin), by name."""

from __future__ import annotations

from flask import current_app

from .. import plugins
from .base import Channel

EXTENSION = "crisiswiki_channels"


def all_channels() -> list[Channel]:
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        found = {}
        for channels in plugins.call("register_channels"):
            for channel in channels:
                found.setdefault(channel.name, channel)
        current_app.extensions[EXTENSION] = found
    return list(found.values())


def channel_named(name: str) -> Channel | None:
    all_channels()
    return current_app.extensions[EXTENSION].get(name)

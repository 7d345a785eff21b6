"""Calling the plugins: one pluggy PluginManager per app (wiki.plugin_setup builds it), whose
hooks the core calls through pluggy's own call path (`call`), so pluggy's tracing
(CRISISWIKI_TRACE_HOOKS), wrappers and firstresult behave as pluggy documents them.

One difference from a plain PluginManager: an implementation of a hook in hooks.ISOLATED that
fails is logged and skipped, so it neither breaks the request (the change it was told about is
committed already) nor keeps the other plugins from being told. It wraps each such
implementation when the plugin is registered. The core never imports a plugin by name.
"""

from __future__ import annotations

import functools
import inspect
import logging
import types

import pluggy
from flask import current_app

from . import hooks

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "crisiswiki.plugins"
MARKER = "crisiswiki_impl"  # the attribute pluggy's HookimplMarker("crisiswiki") sets


class PluginManager(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__("crisiswiki")
        self.add_hookspecs(hooks)

    def register(self, plugin, name: str | None = None) -> str | None:
        return super().register(_isolated(plugin), name or self.get_canonical_name(plugin))


def _guarded(function, plugin_name: str, hook_name: str):
    @functools.wraps(function)  # keeps the hookimpl marker and (through __wrapped__) the argument names
    def guarded(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception:
            log.exception("plugin %s failed in hook %s", plugin_name, hook_name)
            return None

    return guarded


def _isolated(plugin):
    """`plugin` with its implementations of isolated hooks guarded (see the module docstring)."""
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    implementations = {}
    for attr in dir(plugin):
        function = getattr(plugin, attr, None)
        # isroutine() first, as pluggy does: a module's names include Flask's context proxies.
        if inspect.isroutine(function) and getattr(function, MARKER, None) is not None:
            implementations[attr] = function
    if not any(attr in hooks.ISOLATED for attr in implementations):
        return plugin
    proxy = types.SimpleNamespace(__name__=name, __wrapped_plugin__=plugin)
    for attr, function in implementations.items():
        setattr(proxy, attr, _guarded(function, name, attr) if attr in hooks.ISOLATED else function)
    return proxy


def plugin_manager() -> PluginManager:
    return current_app.extensions["crisiswiki_plugins"]


def call(hook_name: str, **kwargs) -> list:
    """Call a hook on every plugin (pluggy's order: last registered first); their non-None results."""
    return getattr(plugin_manager().hook, hook_name)(**kwargs)


def implemented(hook_name: str) -> bool:
    """Does any plugin implement `hook_name`?"""
    return bool(getattr(plugin_manager().hook, hook_name).get_hookimpls())


def loaded_plugin_names() -> list[str]:
    pm = plugin_manager()
    return sorted(
        name for name, plugin in pm.list_name_plugin() if plugin is not None and name and not name.startswith("wiki.")
    )

"""The plugin manager: one pluggy PluginManager per app, plugins found through the
`crisiswiki.plugins` entry-point group. The core never imports a plugin by name."""
from __future__ import annotations

import logging

import pluggy
from flask import Flask, current_app

from . import hooks

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "crisiswiki.plugins"


def make_plugin_manager(app: Flask, extra_plugins: list | None = None) -> pluggy.PluginManager:
    """Build the manager for `app`: core hook implementations, installed plugins unless
    disabled by DISABLED_PLUGINS (or LOAD_ENTRYPOINT_PLUGINS=False), and `extra_plugins`."""
    pm = pluggy.PluginManager("crisiswiki")
    pm.add_hookspecs(hooks)
    from .maps import plugin as maps_plugin

    pm.register(maps_plugin, name="wiki.maps")  # admin areas of reports, R*Tree bbox filter, map links
    from .search import hooks as search_hooks

    pm.register(search_hooks, name="wiki.search")  # queues every change for the search index
    if app.config["LOAD_ENTRYPOINT_PLUGINS"]:
        for name in app.config["DISABLED_PLUGINS"]:
            pm.set_blocked(name)
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins or []:
        pm.register(plugin)
    if app.config["TRACE_HOOKS"]:  # CRISISWIKI_TRACE_HOOKS=1 logs every hook call
        pm.trace.root.setwriter(log.info)
        pm.enable_tracing()
    return pm


def plugin_manager() -> pluggy.PluginManager:
    return current_app.extensions["crisiswiki_plugins"]


def call(hook_name: str, **kwargs) -> list:
    """Call a hook on every plugin and return their non-None results.

    Each implementation runs on its own: one that fails is logged and skipped, so it can neither
    break the request (the data it was told about is already committed) nor starve the others."""
    hook = getattr(plugin_manager().hook, hook_name)
    results = []
    for impl in reversed(hook.get_hookimpls()):  # pluggy's own order: last registered first
        try:
            result = impl.function(**{name: kwargs[name] for name in impl.argnames})
        except Exception:
            log.exception("plugin %s failed in hook %s", impl.plugin_name, hook_name)
            continue
        if result is not None:
            results.append(result)
    return results


def loaded_plugin_names() -> list[str]:
    pm = plugin_manager()
    return sorted(name for name, plugin in pm.list_name_plugin()
                  if plugin is not None and name and not name.startswith("wiki."))


def chain(hook_name: str, value, **kwargs):
    """Pass `value` through every plugin's implementation in turn; each may return a new value
    (or None to keep it). Used for hooks that refine something, such as a query."""
    hook = getattr(plugin_manager().hook, hook_name)
    first_arg = next(iter(hook.spec.argnames))
    for impl in reversed(hook.get_hookimpls()):
        arguments = {first_arg: value, **kwargs}
        result = impl.function(**{name: arguments[name] for name in impl.argnames})
        if result is not None:
            value = result
    return value

"""Which plugins an app has: the core's own features registered as plugins (maps, search, mail, alerts: the
core uses its own hooks, so the contract is proven by the core's tests), the installed plugins
of the `crisiswiki.plugins` entry-point group unless DISABLED_PLUGINS names them, and the extra
plugin objects a test passes to create_app()."""

from __future__ import annotations

import logging

from flask import Flask

from .plugins import ENTRY_POINT_GROUP, PluginManager

log = logging.getLogger(__name__)


def make_plugin_manager(app: Flask, extra_plugins: list | None = None) -> PluginManager:
    pm = PluginManager()
    from . import checkpoints
    from .alerts import plugin as alerts_plugin
    from .channels import plugin as channels_plugin
    from .channels import sms_delivery
    from .hdx import jobs as hdx_jobs
    from .mail import worker as mail_worker
    from .maps import plugin as maps_plugin
    from .reports import import_jobs
    from .search import hooks as search_hooks

    pm.register(maps_plugin, name="wiki.maps")  # admin areas of reports, R*Tree bbox filter, map links
    pm.register(search_hooks, name="wiki.search")  # queues every change for the search index
    pm.register(channels_plugin, name="wiki.channels")  # the built-in gateways, inbox jobs and links
    if sms_delivery.configured(app.config):
        pm.register(sms_delivery, name="wiki.channels.sms")  # alerts by SMS through the channels' outbox
    pm.register(mail_worker, name="wiki.mail")  # sends the mail outbox in the background worker
    pm.register(checkpoints, name="wiki.checkpoints")  # SQLite's WAL checkpoints, off the requests' path
    pm.register(alerts_plugin, name="wiki.alerts")  # the alerts' event outbox, matching and delivery
    pm.register(import_jobs, name="wiki.imports")  # report imports in the background worker
    pm.register(hdx_jobs, name="wiki.hdx")  # publications to HDX (a CKAN site) in the background worker
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

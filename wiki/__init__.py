"""crisiswiki: a crisis-information wiki with field reports, maps, search and validation plugins.

`create_app()` builds the Flask application. Nothing happens at import time: configuration,
extensions, blueprints and plugins are all set up inside the factory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

from . import config as config_module
from .extensions import babel, compress, csrf, db, login_manager, migrate
from .package_data import data_dir

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None, plugins: list | None = None) -> Flask:
    """Build the application.

    Configuration is layered: defaults, then `instance/config.py`, then CRISISWIKI_* environment
    variables (and DATABASE_URL), then `test_config`. `plugins` registers extra plugin objects
    (tests use it to load exactly the plugins they test).
    """
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("CRISISWIKI_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        static_folder=str(data_dir("static")),
    )
    from .command_policy import PolicyGroup

    # Every command of the app (the core's, the plugins', the blueprints') runs under the write
    # policy of wiki/command_policy.py; replaced before anything adds a command.
    app.cli = PolicyGroup(app.name)
    config_module.layer(app, config_module.DEFAULTS, test_config or {})
    config_module.finalise(app)

    from .database import (
        IdConverter,
        close_sessions_quietly_when_the_database_is_gone,
        configure_engine,
        sqlite_engine_options,
    )

    app.url_map.converters["int"] = IdConverter  # before any route is added

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite_engine_options(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    else:
        # A connection the server closed (PostgreSQL restarted, a failover) is found out when it is
        # taken from the pool, not by the request that would use it.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    db.init_app(app)
    close_sessions_quietly_when_the_database_is_gone(app)
    with app.app_context():
        configure_engine(app, db.engine)
    migrate.init_app(app, db, directory=str(data_dir("migrations")))
    from . import migrations  # noqa: F401  (adds the plugins' migration branches to Alembic)

    csrf.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    from .i18n import init_i18n

    init_i18n(app, babel)

    from . import models  # noqa: F401  (registers the core tables)
    from .auth import init_auth  # (wiki.auth.accounts registers the login loaders)
    from .errors import register_error_handlers
    from .mail import init_mail
    from .security import configure_cookies, init_security

    register_error_handlers(app)
    from .operations import init_operations

    init_operations(app)  # first: every request gets its id and is counted
    init_auth(app)  # bearer tokens are checked first, before the CSRF check
    init_security(app)
    configure_cookies(app)
    init_mail(app)

    from .api import bp as api_bp
    from .api.docs import bp as api_docs_bp
    from .auth import bp as auth_bp
    from .channels import api as _message_api  # noqa: F401  (adds /api/v1/messages to api_bp, so before registering it)
    from .channels.inbox_views import bp as inbox_bp
    from .channels.views import bp as channels_bp
    from .crises import bp as crises_bp
    from .desk import bp as desk_bp  # also adds the dashboard's JSON to api_bp, so before registering it
    from .hdx.views import bp as hdx_bp
    from .mail.views import bp as mail_bp
    from .maps import bp as maps_bp  # also adds the maps API to api_bp, so before registering it
    from .media import bp as media_bp
    from .offline.views import bp as offline_bp
    from .ogcapi import bp as ogc_bp
    from .openrosa import bp as openrosa_bp
    from .pages import bp as pages_bp
    from .reports import exports_bp, imports_bp, reports_bp

    for blueprint in (
        auth_bp,
        crises_bp,
        desk_bp,
        pages_bp,
        media_bp,
        reports_bp,
        exports_bp,
        imports_bp,
        maps_bp,
        api_bp,
        api_docs_bp,
        mail_bp,
        channels_bp,
        inbox_bp,
        ogc_bp,
        hdx_bp,
        openrosa_bp,
        offline_bp,
    ):
        app.register_blueprint(blueprint)

    from .contact_log import init_contact_log

    init_contact_log(app)

    from .templating import init_templating

    init_templating(app)

    from .assets import init_assets

    init_assets(app)

    from .cli import register_commands

    register_commands(app)

    from .plugin_setup import make_plugin_manager

    pm = make_plugin_manager(app, plugins)
    app.extensions["crisiswiki_plugins"] = pm
    pm.hook.register_blueprints(app=app)
    pm.hook.init_app(app=app)
    from .database import retry_views

    retry_views(app)  # after every route: PostgreSQL deadlocks are retried in one place
    from .workers import init_workers

    init_workers(app)
    from .pages.cache_server import init_cache_server

    init_cache_server(app)
    from .metrics import RequestMetrics
    from .operations.logs import RequestId
    from .security import SecurityHeaders

    app.wsgi_app = RequestId(RequestMetrics(app.wsgi_app))  # cached pages and static files too
    app.wsgi_app = SecurityHeaders(app, app.wsgi_app)
    if app.config["PROXY_FIX_X_FOR"]:
        from .network import TrustedProxyFix

        # Outermost, so that everything inside (security headers, the page cache, static files,
        # Flask) sees the client's address and scheme as the trusted proxy reported them.
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["PROXY_FIX_X_FOR"], app.config["TRUSTED_PROXIES"])
    return app

"""Parts of the validation plugin that live in sub-packages of their own (truth discovery, in
plugins/validation/truth/), switched on and off with the plugin.

A part's package (`plugins.validation.<name>`, listed in PARTS) defines any of the plugin's
hooks as plain functions at its top level, with the hook's name and arguments; the plugin's
own implementation of that hook calls them:

    register_blueprints(app)                  the part's blueprints
    init_app(app)                             settings, CLI commands (app.cli.add_command)
    migration_directories() -> [path]         only if its revisions live outside plugins/validation/migrations/
    openapi_paths() -> {"paths", "schemas"}   the part's API in /api/v1/openapi.json
    navigation_links(crisis, viewer) -> [(label, url)]
    report_properties(report, viewer) -> dict
    report_panels(report, viewer) -> Markup | None
    report_submitted(report), report_updated(report, changes), reports_imported(crisis, report_ids)

So a part needs no entry point of its own and is disabled with the plugin
(DISABLED_PLUGINS=["validation"]). Its Alembic revisions continue the plugin's "validation"
branch (down_revision "v0001_validation" or a later one of the branch), in
plugins/validation/migrations/ or in a directory its `migration_directories()` names.

A part that is missing is skipped; a part that fails to import is logged and skipped, so it
cannot take the rest of the plugin down with it.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from functools import cache
from types import ModuleType

log = logging.getLogger(__name__)
PARTS = ("truth",)


@cache
def loaded() -> tuple[ModuleType, ...]:
    modules = []
    for name in PARTS:
        qualified = f"{__package__}.{name}"
        try:
            if importlib.util.find_spec(qualified) is None:
                continue
            modules.append(importlib.import_module(qualified))
        except Exception:
            log.exception("validation: the part %s could not be loaded", qualified)
    return tuple(modules)


SETUP_HOOKS = ("register_blueprints", "init_app", "migration_directories")


def call(hook: str, **kwargs) -> list:
    """Call `hook` on every part that defines it; the non-None results. A failing part is logged
    and skipped (as the core does for plugins), except while the app is being set up."""
    results = []
    for module in loaded():
        function = getattr(module, hook, None)
        if function is None:
            continue
        try:
            result = function(**kwargs)
        except Exception:
            if hook in SETUP_HOOKS:
                raise  # a part half set up is worse than a clear failure at start-up
            log.exception("validation: the part %s failed in %s", module.__name__, hook)
            continue
        if result is not None:
            results.append(result)
    return results

"""The plugin contract: hooks called after commit, discovery by entry point, isolation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Blueprint
from sqlalchemy import create_engine, text

from wiki import create_app
from wiki.extensions import db
from wiki.hooks import hookimpl

WIKI = Path(__file__).resolve().parent.parent / "wiki"


class Recorder:
    """A test plugin that checks, inside the hook, that the revision is already committed."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql://", "postgresql+psycopg://")
        self.seen: list[tuple[str, int, bool]] = []

    @hookimpl
    def page_saved(self, page, revision):
        engine = create_engine(self.url)  # another connection sees only committed data
        with engine.connect() as conn:
            visible = (
                conn.execute(text("SELECT count(*) FROM revisions WHERE id = :id"), {"id": revision.id}).scalar() == 1
            )
        engine.dispose()
        self.seen.append((page.slug, revision.number, visible))

    @hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("recorder", __name__)
        bp.add_url_rule("/recorder", "index", lambda: "recorder plugin here")
        app.register_blueprint(bp)

    @hookimpl
    def navigation_links(self, crisis, viewer):
        return [("Recorder", "/recorder")]


class Broken:
    @hookimpl
    def page_saved(self, page, revision):
        raise RuntimeError("plugin bug")


@pytest.fixture
def plugin_app(app_config, database_url):
    recorder = Recorder(database_url)
    app = create_app(app_config, plugins=[Broken(), recorder])
    yield app, recorder
    with app.app_context():
        db.engine.dispose()


def test_page_saved_is_called_after_the_commit_for_every_kind_of_save(plugin_app, make_user, token_for):
    app, recorder = plugin_app
    from wiki.auth.accounts import create_user

    with app.app_context():
        create_user("coord", "correct horse battery", role="coordinator")
    client = app.test_client()
    client.post("/login", data={"username": "coord", "password": "correct horse battery"})
    client.post("/crises/new", data={"name": "Quake", "slug": "quake"})
    client.post("/c/quake/new", data={"title": "Page", "body": "one"})
    page = client.get("/api/v1/pages/quake/Page").get_json()
    client.post("/c/quake/wiki/Page/edit", data={"body": "two", "base_revision": page["base_revision"]})
    client.post("/c/quake/wiki/Page/revert/1")
    client.post("/c/quake/wiki/Page/rename", data={"title": "Renamed"})
    assert recorder.seen == [("Page", 1, True), ("Page", 2, True), ("Page", 3, True), ("Renamed", 4, True)]


def test_a_failing_plugin_does_not_break_the_save(plugin_app):
    app, recorder = plugin_app
    from wiki.auth.accounts import create_user

    with app.app_context():
        create_user("coord", "correct horse battery", role="coordinator")
    client = app.test_client()
    client.post("/login", data={"username": "coord", "password": "correct horse battery"})
    client.post("/crises/new", data={"name": "Quake", "slug": "quake"})
    assert client.post("/c/quake/new", data={"title": "Page", "body": "one"}).status_code == 302
    assert client.get("/c/quake/wiki/Page").status_code == 200
    assert recorder.seen  # the healthy plugin still ran after the broken one failed


def test_plugins_add_blueprints_and_navigation(plugin_app):
    app, _recorder = plugin_app
    client = app.test_client()
    assert client.get("/recorder").data == b"recorder plugin here"


def test_installed_plugins_load_from_the_entry_point_group_and_can_be_disabled(app_config):
    enabled = create_app({**app_config, "LOAD_ENTRYPOINT_PLUGINS": True})
    with enabled.app_context():
        from wiki.plugins import loaded_plugin_names

        assert "validation" in loaded_plugin_names()
    disabled = create_app({**app_config, "LOAD_ENTRYPOINT_PLUGINS": True, "DISABLED_PLUGINS": ["validation"]})
    with disabled.app_context():
        assert "validation" not in loaded_plugin_names()


def test_the_core_never_imports_a_plugin():
    for path in WIKI.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert not (node.module or "").startswith("plugins"), f"{path} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("plugins"), f"{path} imports {alias.name}"


def test_every_hook_has_a_docstring_saying_when_it_is_called():
    import wiki.hooks as hooks

    specs = [getattr(hooks, name) for name in dir(hooks) if hasattr(getattr(hooks, name), "crisiswiki_spec")]
    assert {spec.__name__ for spec in specs} >= {
        "page_saved",
        "report_submitted",
        "report_updated",
        "register_blueprints",
    }
    assert all(spec.__doc__ for spec in specs)


class Strict:
    """A filter that refuses its parameter: a failing filter must fail the request, not be skipped."""

    @hookimpl
    def filter_reports(self, params, viewer):
        if params.get("strict"):
            from wiki.errors import InvalidInput

            raise InvalidInput("strict must not be given", field="strict")
        return None


def test_hooks_go_through_pluggys_own_call_with_tracing(app_config):
    """CRISISWIKI_TRACE_HOOKS turns pluggy's tracing on, and it sees the core's calls: the core
    calls hooks through pluggy's hook caller, not the implementations one by one."""
    app = create_app({**app_config, "TRACE_HOOKS": True}, plugins=[Broken()])
    pm = app.extensions["crisiswiki_plugins"]
    lines: list[str] = []
    pm.trace.root.setwriter(lines.append)  # where the setting sends them to the log
    with app.app_context():
        from wiki.plugins import call

        call("page_saved", page=None, revision=None)  # Broken fails: logged, skipped
    traced = "".join(lines)
    assert "page_saved" in traced and "finish page_saved" in traced
    quiet = create_app(app_config)
    silent: list[str] = []
    quiet.extensions["crisiswiki_plugins"].trace.root.setwriter(silent.append)
    with quiet.app_context():
        call("page_saved", page=None, revision=None)
    assert silent == []  # off unless asked
    for each in (app, quiet):
        with each.app_context():
            db.engine.dispose()


def test_a_failing_filter_fails_the_request_and_isolated_hooks_are_listed(app_config):
    import wiki.hooks as hooks

    app = create_app(app_config, plugins=[Strict()])
    client = app.test_client()
    assert client.get("/api/v1/reports").status_code == 200
    refused = client.get("/api/v1/reports?strict=1")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "strict"
    specs = {name for name in dir(hooks) if hasattr(getattr(hooks, name), "crisiswiki_spec")}
    assert specs >= hooks.ISOLATED
    assert {"filter_reports", "register_blueprints", "init_app", "background_jobs"}.isdisjoint(hooks.ISOLATED)
    with app.app_context():
        db.engine.dispose()

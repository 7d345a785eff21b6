"""The schema comes from the migrations, and the command line sets up a working site."""

from __future__ import annotations

from importlib.metadata import entry_points

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from wiki import create_app
from wiki.extensions import db
from wiki.models import Crisis, Page, User
from wiki.plugins import ENTRY_POINT_GROUP, loaded_plugin_names

# Plugins keep their tables under their own prefix ("validation_..."), in their own migration branch.
PLUGIN_TABLE_PREFIXES = tuple(f"{entry.name}_" for entry in entry_points(group=ENTRY_POINT_GROUP))


def _differences(app, plugins: bool) -> list:
    """Differences between the migrated database and the models, for the core's tables only or
    for the plugins' only."""
    # With the filter `flask db migrate` uses: the maps R*Tree (SQLite) is made by hand, modelless.
    include_name = app.extensions["migrate"].configure_args.get("include_name")

    def ours(table_name: str | None) -> bool:
        return table_name is None or table_name.startswith(PLUGIN_TABLE_PREFIXES) == plugins

    def name_filter(name, type_, parent_names):
        table = name if type_ == "table" else parent_names.get("table_name")
        return ours(table) and (include_name is None or include_name(name, type_, parent_names))

    def object_filter(obj, name, type_, reflected, compare_to):
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return ours(table)

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": name_filter, "include_object": object_filter}
        )
        return compare_metadata(context, db.metadata)


def test_migrations_create_exactly_the_schema_the_models_describe(app):
    # The test database is migrated with the installed plugins' branches too; this app has no plugin.
    assert _differences(app, plugins=False) == []


def test_plugin_migrations_create_exactly_the_schema_the_plugin_models_describe(app_config):
    app = create_app({**app_config, "LOAD_ENTRYPOINT_PLUGINS": True})
    with app.app_context():
        assert "validation" in loaded_plugin_names()
    assert _differences(app, plugins=True) == []
    with app.app_context():
        db.engine.dispose()


def test_init_db_loads_the_demo_once_into_an_empty_database(app, runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Loaded the demo crisis" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Crisis)) == 2
        pages = db.session.scalar(select(func.count()).select_from(Page))
        assert pages >= 5
        assert db.session.scalar(select(User.role).where(User.username == "admin")) == "admin"
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "was not loaded" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Page)) == pages
    login = runner.invoke(args=["demo-login"])
    username, password = login.output.splitlines()[0].split("username ")[1].split(", password ")
    client = app.test_client()
    assert client.post("/login", data={"username": username.strip(), "password": password.strip()}).status_code == 302
    demo = client.get("/c/yolanda-2013/wiki/Situation_Report_No._1")
    assert demo.status_code == 200 and b"Highlights" in demo.data


def test_init_db_without_demo_leaves_the_database_empty(app, runner):
    assert runner.invoke(args=["init-db", "--no-demo"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Crisis)) == 0


def test_demo_reset_empties_the_database_and_loads_the_demo_again(app, runner, make_user):
    from wiki.models import Report  # noqa: F401  (the wipe reaches every table)

    make_user("coordinator", "someone")
    assert runner.invoke(args=["demo"]).exit_code == 0
    refused = runner.invoke(args=["demo"])
    assert refused.exit_code == 1 and "--reset" in refused.output
    not_confirmed = runner.invoke(args=["demo", "--reset"], input="n\n")
    assert not_confirmed.exit_code != 0
    result = runner.invoke(args=["demo", "--reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Demo administrator: username admin" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Crisis)) == 2
        assert "someone" not in set(db.session.scalars(select(User.username)))  # gone with the reset
        assert "admin" in set(db.session.scalars(select(User.username)))
        assert db.session.scalar(select(func.count()).select_from(Page)) >= 5

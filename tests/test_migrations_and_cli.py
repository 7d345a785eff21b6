"""The schema comes from the migrations, and the command line sets up a working site."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from wiki.extensions import db
from wiki.models import Crisis, Page, User


def test_migrations_create_exactly_the_schema_the_models_describe(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


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
    username, password = login.output.split("username ")[1].split(", password ")
    client = app.test_client()
    assert client.post("/login", data={"username": username.strip(), "password": password.strip()}).status_code == 302
    demo = client.get("/c/haiti-2010/wiki/Situation_Report_No._1")
    assert demo.status_code == 200 and b"Highlights" in demo.data


def test_init_db_without_demo_leaves_the_database_empty(app, runner):
    assert runner.invoke(args=["init-db", "--no-demo"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Crisis)) == 0

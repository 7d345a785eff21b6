"""`crisiswiki db upgrade` from every earlier schema, with data in it, on SQLite and PostgreSQL.

For each revision a deployed database may have recorded: migrate a new database to exactly that
revision, put a row into every table it has (values made from the reflected columns, foreign keys
pointing at the rows made before), run `crisiswiki db upgrade` as an operator would, and check
that every row is still there, that the ORM reads them with the columns added since (their
defaults filled in), that the database is at every head, and that the models and the migrations
agree (an autogenerate comparison finds nothing).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    create_engine,
    func,
    select,
)
from sqlalchemy import text as sa_text

from tests.postgres_cluster import create_database
from tests.test_migrations_and_cli import _differences
from wiki import create_app
from wiki.console import main
from wiki.extensions import db
from wiki.migrations import current_revisions, upgrade_all

CORE = ["0001_core", "0002_reports", "0003_maps", "0004_search", "0005_page_cache", "0006_accounts", "0006_privacy"]
CORE += ["0007_mail_outbox", "0008_one_head", "0009_channels", "0010_alerts", "0011_desk", "0012_channel_media"]
CORE += ["0013_import_jobs", "0014_desk_hours"]
# The validation plugin's branch starts after 0002_reports: (core revision, plugin revision).
PLUGIN = [
    ("0007_mail_outbox", "v0001_validation"),
    ("0007_mail_outbox", "v0002_claims"),
    ("0008_one_head", "v0003_assessment_state"),
    ("0010_alerts", "v0004_point_optional"),
    ("0013_import_jobs", "v0007_desk_tallies"),
    ("0014_desk_hours", "v0008_band_tallies"),
    ("0014_desk_hours", "v0009_band_twentieths"),
    ("0014_desk_hours", "v0010_stale_sources"),
]
# What the database records at the heads (and `crisiswiki db upgrade` prints): the core's newest
# revision and the plugin's (v0005_desk follows v0004_point_optional, which depends on 0009_channels;
# v0007_desk_tallies follows v0005_desk; v0008_band_tallies follows it and depends on 0011_desk;
# v0009_band_twentieths follows it; v0010_stale_sources follows that; v0011_pending_subjects that).
RECORDED = {"0015_map_pyramid", "v0011_pending_subjects"}
AT_HEADS = ", ".join(sorted(RECORDED))


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return create_database(request.getfixturevalue("postgres_server"), name)


def _config(url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "LOAD_ENTRYPOINT_PLUGINS": True,
        "SECRET_KEY": "test",
    }


def _value(column, referred: dict[str, tuple], n: int):
    """A value for a NOT NULL column without a default."""
    for key in column.foreign_keys:
        return referred[key.column.table.name][0]
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, (Integer, Numeric, Float)):
        return n
    if isinstance(kind, DateTime):
        return dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    if isinstance(kind, Date):
        return dt.date(2026, 1, 2)
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, LargeBinary):
        return b"x"
    if isinstance(kind, (String, Text)):
        length = getattr(kind, "length", None) or 40
        return f"v{n}-{column.name}"[:length]
    raise AssertionError(f"no test value for {column.table.name}.{column.name} ({kind!r})")


def _in_dependency_order(metadata: MetaData) -> list:
    """Tables with each after those its NOT NULL foreign keys point at (nullable ones stay empty,
    which breaks the pages/revisions cycle)."""
    tables = {
        name: table for name, table in metadata.tables.items() if name != "alembic_version" and "rtree" not in name
    }
    needs = {
        name: {
            key.column.table.name
            for column in table.columns
            if not column.nullable
            for key in column.foreign_keys
            if key.column.table.name != name
        }
        for name, table in tables.items()
    }
    ordered: list = []
    while needs:
        ready = sorted(name for name, wanted in needs.items() if not wanted - {t.name for t in ordered})
        assert ready, f"a cycle of NOT NULL foreign keys among {sorted(needs)}"
        for name in ready:
            ordered.append(tables[name])
            del needs[name]
    return ordered


def _fill_every_table(url: str) -> dict[str, tuple]:
    """One row in every table (but Alembic's and SQLite's R*Tree shadows); their ids."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    metadata = MetaData()
    metadata.reflect(engine)
    made: dict[str, tuple] = {}
    with engine.begin() as connection:
        for n, table in enumerate(_in_dependency_order(metadata), start=1):
            values = {
                column.name: _value(column, made, n)
                for column in table.columns
                if not column.nullable
                and column.server_default is None
                and not (
                    column.primary_key
                    and len(table.primary_key.columns) == 1
                    and isinstance(column.type, Integer)
                    and not column.foreign_keys
                )
            }
            result = connection.execute(table.insert().values(values))
            made[table.name] = tuple(result.inserted_primary_key)
    engine.dispose()
    return made


def _count(url: str, table: str, key: tuple) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    metadata = MetaData()
    metadata.reflect(engine, only=[table])
    primary = metadata.tables[table].primary_key.columns
    with engine.connect() as connection:
        found = connection.scalar(
            select(func.count()).where(*(column == value for column, value in zip(primary, key, strict=True)))
        )
    engine.dispose()
    return found


def _migrate_to(url: str, tmp_path: Path, *revisions: str) -> None:
    app = create_app(_config(url, tmp_path))
    with app.app_context():
        for revision in revisions:
            upgrade_all(revision)
        assert set(current_revisions()) >= {revisions[-1]}
        db.engine.dispose()


def _upgrade_with_the_command(url: str, tmp_path: Path) -> str:
    # TESTING: an app made in the test process must not switch it to multiprocess metrics.
    environment = {
        "DATABASE_URL": url,
        "CRISISWIKI_INSTANCE_PATH": str(tmp_path / "instance"),
        "CRISISWIKI_TESTING": "true",
    }
    result = CliRunner().invoke(main, ["db", "upgrade"], env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _check_upgraded(url: str, tmp_path: Path, made: dict[str, tuple], dropped: tuple[str, ...] = ()) -> None:
    """Every row made is still there, but in `dropped`: tables whose rows a migration deletes on
    purpose (v0003_assessment_state drops the stored scores; the scorer makes them again)."""
    expected = {table: 0 if table in dropped else 1 for table in made}
    assert {table: _count(url, table, key) for table, key in made.items()} == expected
    app = create_app(_config(url, tmp_path))
    with app.app_context():
        assert set(current_revisions()) == RECORDED
        # Every model reads its rows with every column the migrations added since.
        for mapper in db.Model.registry.mappers:
            table = mapper.local_table.name
            if table in made and table not in dropped:
                rows = db.session.scalars(select(mapper.class_)).all()
                # One row made, or more where triggers add rows (0011_desk's report tallies).
                assert len(rows) == db.session.scalar(select(func.count()).select_from(mapper.local_table)) >= 1, table
        from wiki.models import Crisis

        if "crises" in made:
            assert db.session.scalar(select(Crisis.generation)) == 0  # added by 0005_page_cache
        db.session.remove()
    assert _differences(app, plugins=False) == []
    assert _differences(app, plugins=True) == []
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("revision", CORE)
def test_db_upgrade_from_each_earlier_core_schema_keeps_the_data(backend, revision, request, tmp_path):
    url = _url(backend, request, tmp_path, f"upgrade_{revision}")
    _migrate_to(url, tmp_path, revision)
    made = _fill_every_table(url)
    assert "users" in made and "crises" in made
    output = _upgrade_with_the_command(url, tmp_path)
    assert f"-> {AT_HEADS}" in output
    _check_upgraded(url, tmp_path, made)


@pytest.mark.parametrize(("core", "plugin"), PLUGIN)
def test_db_upgrade_from_each_earlier_plugin_schema_keeps_the_data(backend, core, plugin, request, tmp_path):
    url = _url(backend, request, tmp_path, f"upgrade_{plugin}")
    _migrate_to(url, tmp_path, core, plugin)
    made = _fill_every_table(url)
    assert any(table.startswith("validation_") for table in made)
    _upgrade_with_the_command(url, tmp_path)
    # v0003_assessment_state drops the stored scores (the scorer makes them again); v0009_band_twentieths
    # counts the score and band tallies again from the reports (a row made up here is no report's),
    # when the upgrade goes through it.
    dropped = ("validation_scores",) if plugin in ("v0001_validation", "v0002_claims") else ()
    if plugin not in ("v0009_band_twentieths", "v0010_stale_sources"):
        dropped += ("validation_score_tallies", "validation_band_tallies")
    _check_upgraded(url, tmp_path, made, dropped=dropped)


def test_db_upgrade_of_a_new_database_and_again_changes_nothing(backend, request, tmp_path):
    url = _url(backend, request, tmp_path, "upgrade_new")
    assert f"(new database) -> {AT_HEADS}" in _upgrade_with_the_command(url, tmp_path)
    again = _upgrade_with_the_command(url, tmp_path)
    assert f"{AT_HEADS} -> {AT_HEADS}" in again


def test_the_core_has_one_head(tmp_path):
    app = create_app(_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path))
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        real_heads = set(script.revision_map._real_heads)  # heads that no other revision names, even as a dependency
        db.engine.dispose()
    assert real_heads == RECORDED  # one for the core, one for the plugin's branch


def test_v0009_band_twentieths_counts_the_tallies_again_in_twentieths_with_exact_edges(backend, request, tmp_path):
    import math

    url = _url(backend, request, tmp_path, "upgrade_twentieths")
    _migrate_to(url, tmp_path, "0014_desk_hours", "v0008_band_tallies")
    made = _fill_every_table(url)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    below = math.nextafter(0.9, 0)  # in tenths, CAST(score * 10 AS INTEGER) put it in 0.9's band
    with engine.begin() as connection:
        connection.execute(sa_text("UPDATE validation_scores SET score = :score"), {"score": below})
    _upgrade_with_the_command(url, tmp_path)
    with engine.connect() as connection:
        found = {
            table: connection.execute(
                sa_text(f"SELECT band, SUM(n) FROM {table} WHERE {condition} GROUP BY band")
            ).all()
            for table, condition in (
                ("validation_score_tallies", "1 = 1"),
                ("validation_band_tallies", "kind = 'in'"),
                ("validation_band_hour_tallies", "kind = 'in'"),
            )
        }
    engine.dispose()
    assert made["reports"] and made["validation_scores"]
    assert found == {table: [(17, 1)] for table in found}  # 0.85 <= score < 0.9: the 18th twentieth

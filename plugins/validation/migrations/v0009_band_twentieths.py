"""band twentieths: the score tallies (validation_score_tallies) and the band tallies
(validation_band_tallies) count scores by twentieths (0.05: every step of the dashboard's, the
map's and the search's minimum-score control) instead of tenths, with exact band edges (a score's
band is how many of the edges 1/20 ... 20/20, as floating-point numbers, it reaches: a minimum
score k/20 keeps exactly the bands k and above); the band tallies by the hour
(validation_band_hour_tallies) for the hourly charts of a view with a minimum score. One set of
triggers on validation_scores and reports keeps the three current; rebuilt from the reports.

Revision ID: v0009_band_twentieths
Revises: v0008_band_tallies
Create Date: 2026-12-05 10:10:00.000000
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "v0009_band_twentieths"
down_revision = "v0008_band_tallies"
branch_labels = None
depends_on = None

BANDS = 20  # plugins/validation/desk_tallies.py
SCORE_KEY = "crisis_id, day, sector, adm1, band, admiralty"
BAND_KEY = "crisis_id, kind, band, day, sector, adm1, value"
HOUR_KEY = "crisis_id, kind, band, hour, sector, adm1, value"
# The report's columns a tally row depends on (the core's report_tallies triggers').
REPORT_COLUMNS = (
    "crisis_id, occurred_at, received_at, sector, status, channel, adm1_pcode, adm2_pcode, withdrawn_at, triaged_at"
)
TRIGGERS = {  # name: (table, when, event)
    "score_insert": ("validation_scores", "AFTER", "INSERT"),
    "score_delete": ("validation_scores", "AFTER", "DELETE"),
    "score_update": ("validation_scores", "AFTER", "UPDATE OF score, admiralty"),
    "report_update": ("reports", "AFTER", f"UPDATE OF {REPORT_COLUMNS}"),
    # A removed report takes its rows before its score goes: the cascade that removes the score
    # then finds no report and takes nothing.
    "report_delete": ("reports", "BEFORE", "DELETE"),
}
OLD_TRIGGERS = ("validation_score_tallies", "validation_band_tallies")  # v0007's and v0008's, by prefix


def _earlier(name: str):
    """An earlier migration of this folder, as a module: its SQL (the kinds of v0008's rows; the
    triggers and tallies of the downgrade), as it was written then."""
    spec = importlib.util.spec_from_file_location(f"_validation_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def band(score: str, postgresql: bool) -> str:
    """SQL: the band of a score, -1 without one: the number of edges k/20 (k = 1 ... 20) it reaches,
    each edge the floating-point quotient k / 20 (correctly rounded: the same number as the
    float(f"{k / 20:g}") that a min_score filter compares with), never floor(score * 20), whose
    product rounds the largest score below 0.9 up to 18."""
    twenty = "CAST(20 AS DOUBLE PRECISION)" if postgresql else "20.0"
    ladder = " ".join(f"WHEN {score} >= {k} / {twenty} THEN {k}" for k in range(BANDS, 0, -1))
    return f"CASE WHEN {score} IS NULL THEN -1 {ladder} ELSE 0 END"


def _moment(column: str, unit: str, postgresql: bool) -> str:
    if postgresql:
        return f"to_char(({column}) AT TIME ZONE 'UTC', '{'YYYY-MM-DD' if unit == 'day' else 'YYYY-MM-DD HH24'}')"
    return f"substr({column}, 1, {10 if unit == 'day' else 13})"  # SQLite keeps UTC datetimes as text


HOURLY = ("status", "in", "out", "wait")  # the kinds the hourly charts read (0014_desk_hours)


def _selects(r: str, s: str, sign: int, source: str, postgresql: bool) -> dict[str, list[str]]:
    """{table: SELECTs of the rows report `r` with score `s` adds to (1) or takes from (-1)};
    `source`: their FROM and the join of the two ("FROM reports r WHERE r.id = NEW.report_id")."""
    scored = f"{source} AND {r}.withdrawn_at IS NULL"
    event = _moment(f"COALESCE({r}.occurred_at, {r}.received_at)", "day", postgresql)
    scored_band = band(f"{s}.score", postgresql)
    found = {
        "validation_score_tallies": [
            f"SELECT {r}.crisis_id AS crisis_id, {event} AS day, {r}.sector AS sector, "
            f"COALESCE({r}.adm1_pcode, '') AS adm1, {scored_band} AS band, "
            f"COALESCE({s}.admiralty, '') AS admiralty, {sign} AS n {scored}"
        ],
        "validation_band_tallies": [],
        "validation_band_hour_tallies": [],
    }
    # What report `r` adds to, as the core's report_tallies count it: v0008's kinds.
    for kind, moment, value, verified, condition in _earlier("v0008_band_tallies")._rows(r, s, postgresql):
        for table, unit in (("validation_band_tallies", "day"), ("validation_band_hour_tallies", "hour")):
            if unit == "hour" and kind not in HOURLY:
                continue
            found[table].append(
                f"SELECT {r}.crisis_id AS crisis_id, '{kind}' AS kind, {scored_band} AS band, "
                f"{_moment(moment, unit, postgresql)} AS {unit}, {r}.sector AS sector, "
                f"COALESCE({r}.adm1_pcode, '') AS adm1, {value} AS value, {sign} AS n, {sign} * ({verified}) AS v "
                f"{scored} AND {s}.score IS NOT NULL{condition}"
            )
    return found


def _keys(table: str) -> tuple[str, str]:
    """(key, its sums) of a table."""
    if table == "validation_score_tallies":
        return SCORE_KEY, "n"
    return (BAND_KEY if table == "validation_band_tallies" else HOUR_KEY), "n, v"


def _upserts(r: str, s: str, sign: int, source: str, postgresql: bool) -> str:
    statements = []
    for table, selects in _selects(r, s, sign, source, postgresql).items():
        key, sums = _keys(table)
        prefix = f"{table}." if postgresql else ""
        update = ", ".join(f"{column} = {prefix}{column} + excluded.{column}" for column in sums.split(", "))
        statements += [
            f"INSERT INTO {table} ({key}, {sums}) {select} ON CONFLICT ({key}) DO UPDATE SET {update};"
            for select in selects
        ]
    return "\n".join(statements)


def _bodies(postgresql: bool) -> dict[str, str]:
    score_new = _upserts("r", "NEW", 1, "FROM reports r WHERE r.id = NEW.report_id", postgresql)
    score_old = _upserts("r", "OLD", -1, "FROM reports r WHERE r.id = OLD.report_id", postgresql)
    report_old = _upserts("OLD", "s", -1, "FROM validation_scores s WHERE s.report_id = OLD.id", postgresql)
    report_new = _upserts("NEW", "s", 1, "FROM validation_scores s WHERE s.report_id = NEW.id", postgresql)
    return {
        "score_insert": score_new,
        "score_delete": score_old,
        "score_update": score_old + "\n" + score_new,
        "report_update": report_old + "\n" + report_new,
        "report_delete": report_old,
    }


def _drop_triggers(prefix: str, postgresql: bool) -> None:
    for name, (table, _when, _event) in TRIGGERS.items():
        trigger = f"{prefix}_{name}"
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {trigger}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def _unchanged_rows(postgresql: bool) -> dict[str, str]:
    """{trigger: its WHEN}: a score written again in the same band with the same verdict (a
    calibration refit moves most scores a little) changes no tally, and fires nothing."""
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"
    return {
        "score_update": f"{band('OLD.score', postgresql)} <> {band('NEW.score', postgresql)} "
        f"OR OLD.admiralty {differs} NEW.admiralty"
    }


def _create_triggers(
    prefix: str, bodies: dict[str, str], postgresql: bool, events: dict | None = None, conditions: dict | None = None
) -> None:
    """The triggers TRIGGERS names, with `bodies`; `events`: other events for some of them;
    `conditions`: the WHEN of some."""
    for name, (table, when, event) in TRIGGERS.items():
        event = (events or {}).get(name, event)
        condition = (conditions or {}).get(name)
        trigger = f"{prefix}_{name}"
        if postgresql:
            result = "OLD" if when == "BEFORE" else "NULL"
            op.execute(
                f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                f"{bodies[name]}\nRETURN {result};\nEND\n$$"
            )
            only = f" WHEN ({condition})" if condition else ""
            op.execute(
                f"CREATE TRIGGER {trigger} {when} {event} ON {table} FOR EACH ROW{only} EXECUTE FUNCTION {trigger}()"
            )
        else:
            only = f" WHEN {condition}" if condition else ""
            op.execute(f"CREATE TRIGGER {trigger} {when} {event} ON {table}{only} BEGIN\n{bodies[name]}\nEND")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for prefix in OLD_TRIGGERS:
        _drop_triggers(prefix, postgresql)
    op.create_table(
        "validation_band_hour_tallies",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("hour", sa.String(length=13), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("adm1", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("v", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_validation_band_hour_tallies_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "crisis_id", "kind", "band", "hour", "sector", "adm1", "value", name=op.f("pk_validation_band_hour_tallies")
        ),
        # On SQLite the rows live in the order of their key: a view reads a range of it.
        sqlite_with_rowid=False,
    )
    _create_triggers("validation_tallies", _bodies(postgresql), postgresql, conditions=_unchanged_rows(postgresql))
    # Rebuilt from the reports, in twentieths.
    op.execute("DELETE FROM validation_score_tallies")
    op.execute("DELETE FROM validation_band_tallies")
    joined = "FROM reports r JOIN validation_scores s ON s.report_id = r.id WHERE 1 = 1"
    for table, selects in _selects("r", "s", 1, joined, postgresql).items():
        key, sums = _keys(table)
        totals = ", ".join(f"SUM({column})" for column in sums.split(", "))
        union = " UNION ALL ".join(selects)
        op.execute(f"INSERT INTO {table} ({key}, {sums}) SELECT {key}, {totals} FROM ({union}) t GROUP BY {key}")


def downgrade():
    """Back to tenths: v0007's and v0008's triggers, their tallies counted again."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    _drop_triggers("validation_tallies", postgresql)
    op.drop_table("validation_band_hour_tallies")
    v0007, v0008 = _earlier("v0007_desk_tallies"), _earlier("v0008_band_tallies")
    events = {
        "validation_score_tallies": (v0007._statements(postgresql), "UPDATE OF score, admiralty"),
        "validation_band_tallies": (v0008._bodies(postgresql), "UPDATE OF score"),
    }
    for prefix, (bodies, score_update) in events.items():
        columns = v0007.REPORT_COLUMNS if prefix == "validation_score_tallies" else v0008.REPORT_COLUMNS
        own = {"score_update": score_update, "report_update": f"UPDATE OF {columns}"}
        _create_triggers(prefix, bodies, postgresql, own)
    op.execute("DELETE FROM validation_score_tallies")
    op.execute("DELETE FROM validation_band_tallies")
    op.execute(
        f"INSERT INTO validation_score_tallies ({v0007.COLUMNS}) SELECT {v0007.KEY}, SUM(n) FROM ("
        f"{v0007._contribution('r', 's', 1, postgresql)} FROM reports r JOIN validation_scores s "
        f"ON s.report_id = r.id WHERE r.withdrawn_at IS NULL) t GROUP BY {v0007.KEY}"
    )
    union = " UNION ALL ".join(
        v0008._selects(
            "r", "s", 1, "FROM reports r JOIN validation_scores s ON s.report_id = r.id WHERE 1 = 1", postgresql
        )
    )
    op.execute(
        f"INSERT INTO validation_band_tallies ({v0008.COLUMNS}) SELECT {v0008.KEY}, SUM(n), SUM(v) "
        f"FROM ({union}) t GROUP BY {v0008.KEY}"
    )

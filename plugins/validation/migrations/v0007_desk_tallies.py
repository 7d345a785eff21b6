"""desk tallies: how many reports have each score band and Admiralty verdict, per crisis, day of
the event, sector and province (validation_score_tallies), kept current by triggers on
validation_scores and reports, for the dashboard's score and verdict charts

Revision ID: v0007_desk_tallies
Revises: v0005_desk
Create Date: 2026-12-07 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "v0007_desk_tallies"
down_revision = "v0005_desk"
branch_labels = None
depends_on = None

COLUMNS = "crisis_id, day, sector, adm1, band, admiralty, n"
KEY = "crisis_id, day, sector, adm1, band, admiralty"
# The report's columns a tally row depends on (a change of any moves its score between rows).
REPORT_COLUMNS = "crisis_id, occurred_at, received_at, sector, adm1_pcode, withdrawn_at"


def _day(column: str, postgresql: bool) -> str:
    if postgresql:
        return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"  # SQLite keeps UTC datetimes as text


def _band(score: str, postgresql: bool) -> str:
    # wiki's band of a score (plugins/validation/desk_charts.py: band_of): its tenth, rounded down
    tenth = f"CAST(FLOOR({score} * 10) AS INTEGER)" if postgresql else f"CAST({score} * 10 AS INTEGER)"
    return f"CASE WHEN {score} IS NULL THEN -1 ELSE {tenth} END"


def _contribution(r: str, s: str, sign: int, postgresql: bool) -> str:
    """SELECT of the tally row that report `r` with score `s` adds to (1) or takes from (-1)."""
    return (
        f"SELECT {r}.crisis_id AS crisis_id, "
        f"{_day(f'COALESCE({r}.occurred_at, {r}.received_at)', postgresql)} AS day, {r}.sector AS sector, "
        f"COALESCE({r}.adm1_pcode, '') AS adm1, {_band(f'{s}.score', postgresql)} AS band, "
        f"COALESCE({s}.admiralty, '') AS admiralty, {sign} AS n"
    )


def _upsert(select: str, postgresql: bool) -> str:
    n = "validation_score_tallies.n" if postgresql else "n"
    return (
        f"INSERT INTO validation_score_tallies ({COLUMNS}) {select} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = {n} + excluded.n;"
    )


def _statements(postgresql: bool) -> dict[str, str]:
    """The body of each trigger: a score written, a score removed, a report changed or removed.
    A removed report takes its score's contribution before its score goes (BEFORE DELETE): the
    cascade that removes the score then finds no report and takes nothing."""
    score_new = _upsert(
        f"{_contribution('r', 'NEW', 1, postgresql)} FROM reports r WHERE r.id = NEW.report_id "
        "AND r.withdrawn_at IS NULL",
        postgresql,
    )
    score_old = _upsert(
        f"{_contribution('r', 'OLD', -1, postgresql)} FROM reports r WHERE r.id = OLD.report_id "
        "AND r.withdrawn_at IS NULL",
        postgresql,
    )
    report_old = _upsert(
        f"{_contribution('OLD', 's', -1, postgresql)} FROM validation_scores s WHERE s.report_id = OLD.id "
        "AND OLD.withdrawn_at IS NULL",
        postgresql,
    )
    report_new = _upsert(
        f"{_contribution('NEW', 's', 1, postgresql)} FROM validation_scores s WHERE s.report_id = NEW.id "
        "AND NEW.withdrawn_at IS NULL",
        postgresql,
    )
    return {
        "score_insert": score_new,
        "score_delete": score_old,
        "score_update": score_old + "\n" + score_new,
        "report_update": report_old + "\n" + report_new,
        "report_delete": report_old,
    }


def upgrade():
    op.create_table(
        "validation_score_tallies",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("adm1", sa.String(length=40), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("admiralty", sa.String(length=2), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_validation_score_tallies_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "crisis_id", "day", "sector", "adm1", "band", "admiralty", name=op.f("pk_validation_score_tallies")
        ),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    bodies = _statements(postgresql)
    score_events = {"score_insert": "INSERT", "score_delete": "DELETE", "score_update": "UPDATE OF score, admiralty"}
    report_events = {"report_update": f"UPDATE OF {REPORT_COLUMNS}", "report_delete": "DELETE"}
    for name, event in {**score_events, **report_events}.items():
        table = "validation_scores" if name in score_events else "reports"
        when = "BEFORE" if name == "report_delete" else "AFTER"
        trigger = f"validation_score_tallies_{name}"
        if postgresql:
            result = "OLD" if when == "BEFORE" else "NULL"
            op.execute(
                f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                f"{bodies[name]}\nRETURN {result};\nEND\n$$"
            )
            op.execute(f"CREATE TRIGGER {trigger} {when} {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {trigger}()")
        else:
            op.execute(f"CREATE TRIGGER {trigger} {when} {event} ON {table} BEGIN\n{bodies[name]}\nEND")
    op.execute(
        f"INSERT INTO validation_score_tallies ({COLUMNS}) SELECT {KEY}, SUM(n) FROM ("
        f"{_contribution('r', 's', 1, postgresql)} FROM reports r JOIN validation_scores s ON s.report_id = r.id "
        f"WHERE r.withdrawn_at IS NULL) t GROUP BY {KEY}"
    )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table in (
        ("score_insert", "validation_scores"),
        ("score_delete", "validation_scores"),
        ("score_update", "validation_scores"),
        ("report_update", "reports"),
        ("report_delete", "reports"),
    ):
        trigger = f"validation_score_tallies_{name}"
        if postgresql:
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
            op.execute(f"DROP FUNCTION {trigger}()")
        else:
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("validation_score_tallies")

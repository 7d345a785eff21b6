"""band tallies: the counts of the core's report_tallies (by status, channel, district, received,
left the backlog, wait) for each score band (validation_band_tallies), kept current by triggers on
validation_scores and reports, so that a dashboard view with a minimum score in tenths sums the
bands at or above it; an index of the score tallies by band

Revision ID: v0008_band_tallies
Revises: v0007_desk_tallies
Create Date: 2026-12-05 07:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "v0008_band_tallies"
down_revision = "v0007_desk_tallies"
branch_labels = None
depends_on = "0011_desk"  # reports.triaged_at

# The bins of a report's wait from receipt to decision, in hours: the core's (0011_desk).
WAIT_BINS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 144, 192, 336)
KEY = "crisis_id, kind, band, day, sector, adm1, value"
COLUMNS = KEY + ", n, v"
# The report's columns a tally row depends on (the core's report_tallies triggers').
REPORT_COLUMNS = (
    "crisis_id, occurred_at, received_at, sector, status, channel, adm1_pcode, adm2_pcode, withdrawn_at, triaged_at"
)


def _rows(r, s, postgresql):
    """[(kind, the moment it is counted at, its value, verified (1 or 0), a further condition)]:
    what report `r` with score `s` adds to, as the core's report_tallies count it."""
    if postgresql:
        wait = f"(extract(epoch from {r}.triaged_at - {r}.received_at) / 3600.0)"
    else:
        wait = f"((julianday({r}.triaged_at) - julianday({r}.received_at)) * 24.0)"
    bins = " ".join(f"WHEN {wait} <= {edge + 1e-6} THEN '{index:02d}'" for index, edge in enumerate(WAIT_BINS))
    left = (
        f"CASE WHEN {r}.triaged_at IS NOT NULL THEN {r}.triaged_at "
        f"WHEN {r}.status IN ('new', 'under_review') THEN NULL ELSE {r}.received_at END"
    )
    event, verified = (
        f"COALESCE({r}.occurred_at, {r}.received_at)",
        f"CASE WHEN {r}.status = 'verified' THEN 1 ELSE 0 END",
    )
    return [
        ("status", event, f"{r}.status", verified, ""),
        ("channel", event, f"{r}.channel", "0", ""),
        ("district", event, f"COALESCE({r}.adm2_pcode, '')", verified, ""),
        ("in", f"{r}.received_at", "''", "0", ""),
        ("out", left, "''", "0", f" AND ({left}) IS NOT NULL"),
        (
            "wait",
            f"{r}.triaged_at",
            f"CASE {bins} ELSE '{len(WAIT_BINS):02d}' END",
            "0",
            f" AND {r}.triaged_at IS NOT NULL AND {r}.status IN ('verified', 'refuted')",
        ),
    ]


def _selects(r, s, sign, source, postgresql):
    """SELECTs of the rows report `r` with score `s` adds to (1) or takes from (-1); `source`:
    their FROM and the join of the two ("FROM reports r WHERE r.id = NEW.report_id")."""
    # The band as v0007_desk_tallies writes it (plugins/validation/desk_charts.py: band_of).
    band = f"CAST(FLOOR({s}.score * 10) AS INTEGER)" if postgresql else f"CAST({s}.score * 10 AS INTEGER)"
    selects = []
    for kind, moment, value, verified, condition in _rows(r, s, postgresql):
        day = f"to_char(({moment}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')" if postgresql else f"substr({moment}, 1, 10)"
        selects.append(
            f"SELECT {r}.crisis_id AS crisis_id, '{kind}' AS kind, {band} AS band, {day} AS day, "
            f"{r}.sector AS sector, COALESCE({r}.adm1_pcode, '') AS adm1, {value} AS value, {sign} AS n, "
            f"{sign} * ({verified}) AS v {source} AND {r}.withdrawn_at IS NULL AND {s}.score IS NOT NULL{condition}"
        )
    return selects


def _upserts(r, s, sign, source, postgresql):
    table = "validation_band_tallies." if postgresql else ""
    return "\n".join(
        f"INSERT INTO validation_band_tallies ({COLUMNS}) {select} ON CONFLICT ({KEY}) "
        f"DO UPDATE SET n = {table}n + excluded.n, v = {table}v + excluded.v;"
        for select in _selects(r, s, sign, source, postgresql)
    )


def _bodies(postgresql):
    """The body of each trigger. A removed report takes its rows before its score goes (BEFORE
    DELETE): the cascade that removes the score then finds no report and takes nothing."""
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


def upgrade():
    op.create_table(
        "validation_band_tallies",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("adm1", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("v", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_validation_band_tallies_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "crisis_id", "kind", "band", "day", "sector", "adm1", "value", name=op.f("pk_validation_band_tallies")
        ),
        # On SQLite the rows live in the order of their key: a view reads a range of it, where rows
        # that triggers add one by one would otherwise lie scattered in the order they came.
        sqlite_with_rowid=False,
    )
    # A view with a minimum score reads the score tallies of its bands only.
    with op.batch_alter_table("validation_score_tallies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_validation_score_tallies_band",
            ["crisis_id", "band", "admiralty", "day", "sector", "adm1", "n"],
            unique=False,
        )
    postgresql = op.get_bind().dialect.name == "postgresql"
    bodies = _bodies(postgresql)
    score_events = {"score_insert": "INSERT", "score_delete": "DELETE", "score_update": "UPDATE OF score"}
    report_events = {"report_update": f"UPDATE OF {REPORT_COLUMNS}", "report_delete": "DELETE"}
    for name, event in {**score_events, **report_events}.items():
        table = "validation_scores" if name in score_events else "reports"
        when = "BEFORE" if name == "report_delete" else "AFTER"
        trigger = f"validation_band_tallies_{name}"
        if postgresql:
            result = "OLD" if when == "BEFORE" else "NULL"
            op.execute(
                f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                f"{bodies[name]}\nRETURN {result};\nEND\n$$"
            )
            op.execute(f"CREATE TRIGGER {trigger} {when} {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {trigger}()")
        else:
            op.execute(f"CREATE TRIGGER {trigger} {when} {event} ON {table} BEGIN\n{bodies[name]}\nEND")
    union = " UNION ALL ".join(
        _selects("r", "s", 1, "FROM reports r JOIN validation_scores s ON s.report_id = r.id WHERE 1 = 1", postgresql)
    )
    op.execute(
        f"INSERT INTO validation_band_tallies ({COLUMNS}) SELECT {KEY}, SUM(n), SUM(v) FROM ({union}) t GROUP BY {KEY}"
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
        trigger = f"validation_band_tallies_{name}"
        if postgresql:
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
            op.execute(f"DROP FUNCTION {trigger}()")
        else:
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("validation_band_tallies")
    with op.batch_alter_table("validation_score_tallies", schema=None) as batch_op:
        batch_op.drop_index("ix_validation_score_tallies_band")

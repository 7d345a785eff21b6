"""desk hours: the dashboard's counts over time by the hour (report_hour_tallies), kept current
by triggers on reports as report_tallies is by the day

Revision ID: 0014_desk_hours
Revises: 0013_import_jobs
Create Date: 2026-12-05 07:10:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0014_desk_hours"
down_revision = "0013_import_jobs"
branch_labels = None
depends_on = None


# The bins of a report's wait from receipt to decision, in hours (upper edges; the last is open):
# the same list as 0011_desk's and wiki/desk/aggregates.py's.
WAIT_BINS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 144, 192, 336)
COLUMNS = "crisis_id, kind, hour, sector, adm1, value, n, v"
KEY = "crisis_id, kind, hour, sector, adm1, value"
TRIGGER_COLUMNS = "crisis_id, occurred_at, received_at, sector, status, adm1_pcode, withdrawn_at, triaged_at"


def _kinds(r, postgresql):
    """{kind: (the moment it is counted at, its value, its verified count, a further condition)}
    for report `r` (NEW, OLD or a table alias): what wiki.desk.aggregates counts by the hour."""
    if postgresql:
        wait = f"(extract(epoch from {r}.triaged_at - {r}.received_at) / 3600.0)"
    else:
        wait = f"((julianday({r}.triaged_at) - julianday({r}.received_at)) * 24.0)"
    # (a millionth of an hour of slack: julianday's floating point puts 4 hours at 4.0000001)
    bins = " ".join(f"WHEN {wait} <= {edge + 1e-6} THEN '{index:02d}'" for index, edge in enumerate(WAIT_BINS))
    left = (
        f"CASE WHEN {r}.triaged_at IS NOT NULL THEN {r}.triaged_at "
        f"WHEN {r}.status IN ('new', 'under_review') THEN NULL ELSE {r}.received_at END"
    )
    return {
        "status": (
            f"COALESCE({r}.occurred_at, {r}.received_at)",
            f"{r}.status",
            f"CASE WHEN {r}.status = 'verified' THEN 1 ELSE 0 END",
            "",
        ),
        "in": (f"{r}.received_at", "''", "0", ""),
        "out": (left, "''", "0", f" AND ({left}) IS NOT NULL"),
        "wait": (
            f"{r}.triaged_at",
            f"CASE {bins} ELSE '{len(WAIT_BINS):02d}' END",
            "0",
            f" AND {r}.triaged_at IS NOT NULL AND {r}.status IN ('verified', 'refuted')",
        ),
    }


def _selects(r, sign, postgresql, source=""):
    """The SELECTs of the rows report `r` adds to (sign 1) or takes from (-1)."""
    selects = []
    for kind, (moment, value, verified, condition) in _kinds(r, postgresql).items():
        hour = (
            f"to_char(({moment}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')" if postgresql else f"substr({moment}, 1, 13)"
        )
        selects.append(
            f"SELECT {r}.crisis_id AS crisis_id, '{kind}' AS kind, {hour} AS hour, {r}.sector AS sector, "
            f"COALESCE({r}.adm1_pcode, '') AS adm1, {value} AS value, {sign} AS n, {sign} * ({verified}) AS v"
            f"{source} WHERE {r}.withdrawn_at IS NULL{condition}"
        )
    return selects


def _upserts(r, sign, postgresql):
    table = "report_hour_tallies." if postgresql else ""
    return "\n".join(
        f"INSERT INTO report_hour_tallies ({COLUMNS}) {select} ON CONFLICT ({KEY}) "
        f"DO UPDATE SET n = {table}n + excluded.n, v = {table}v + excluded.v;"
        for select in _selects(r, sign, postgresql)
    )


def upgrade():
    op.create_table(
        "report_hour_tallies",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("hour", sa.String(length=13), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("adm1", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("v", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_report_hour_tallies_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "crisis_id", "kind", "hour", "sector", "adm1", "value", name=op.f("pk_report_hour_tallies")
        ),
        # On SQLite the rows live in the order of their key: a view reads a range of it, where rows
        # that triggers add one by one would otherwise lie scattered in the order they came.
        sqlite_with_rowid=False,
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    new, old = _upserts("NEW", 1, postgresql), _upserts("OLD", -1, postgresql)
    if postgresql:
        op.execute(
            "CREATE FUNCTION report_hour_tallies_count() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN\n{old}\nEND IF;\n"
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN\n{new}\nEND IF;\nRETURN NULL;\nEND\n$$"
        )
        op.execute(
            f"CREATE TRIGGER report_hour_tallies_count AFTER INSERT OR DELETE OR UPDATE OF {TRIGGER_COLUMNS} "
            "ON reports FOR EACH ROW EXECUTE FUNCTION report_hour_tallies_count()"
        )
    else:
        op.execute(f"CREATE TRIGGER report_hour_tallies_insert AFTER INSERT ON reports BEGIN\n{new}\nEND")
        op.execute(f"CREATE TRIGGER report_hour_tallies_delete AFTER DELETE ON reports BEGIN\n{old}\nEND")
        op.execute(
            f"CREATE TRIGGER report_hour_tallies_update AFTER UPDATE OF {TRIGGER_COLUMNS} ON reports "
            f"BEGIN\n{old}\n{new}\nEND"
        )
    union = " UNION ALL ".join(_selects("r", 1, postgresql, source=" FROM reports r"))
    op.execute(
        f"INSERT INTO report_hour_tallies ({COLUMNS}) SELECT {KEY}, SUM(n), SUM(v) FROM ({union}) t GROUP BY {KEY}"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER report_hour_tallies_count ON reports")
        op.execute("DROP FUNCTION report_hour_tallies_count()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER report_hour_tallies_{name}")
    op.drop_table("report_hour_tallies")

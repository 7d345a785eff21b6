"""desk: the language a crisis's situation reports are drafted in; when a report left the
verification backlog (reports.triaged_at, filled in from the reports' history); an index the
crisis dashboard's aggregates read


Revision ID: 0011_desk
Revises: 0010_alerts
Create Date: 2026-12-06 09:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0011_desk"
down_revision = "0010_alerts"
branch_labels = None
depends_on = None


# The bins of a report's wait from receipt to decision, in hours (upper edges; the last is open):
# wiki/desk/aggregates.py keeps the same list.
WAIT_BINS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 144, 192, 336)
COLUMNS = "crisis_id, kind, day, sector, adm1, value, n, v"
KEY = "crisis_id, kind, day, sector, adm1, value"
TRIGGER_COLUMNS = (
    "crisis_id, occurred_at, received_at, sector, status, channel, adm1_pcode, adm2_pcode, withdrawn_at, triaged_at"
)


def _contributions(r, day, hours, sign):
    """SELECTs of the tally rows report `r` (NEW or OLD) adds to (sign 1) or takes from (-1)."""
    event, adm1 = day(f"COALESCE({r}.occurred_at, {r}.received_at)"), f"COALESCE({r}.adm1_pcode, '')"
    verified = f"CASE WHEN {r}.status = 'verified' THEN {sign} ELSE 0 END"
    left = (
        f"CASE WHEN {r}.triaged_at IS NOT NULL THEN {r}.triaged_at "
        f"WHEN {r}.status IN ('new', 'under_review') THEN NULL ELSE {r}.received_at END"
    )
    wait = hours(f"{r}.received_at", f"{r}.triaged_at")
    # (a millionth of an hour of slack: julianday's floating point puts 4 hours at 4.0000001)
    bins = " ".join(f"WHEN {wait} <= {edge + 1e-6} THEN '{index:02d}'" for index, edge in enumerate(WAIT_BINS))
    bin_ = f"CASE {bins} ELSE '{len(WAIT_BINS):02d}' END"
    base = (
        f"{r}.crisis_id AS crisis_id, {{kind}} AS kind, {{day}} AS day, {r}.sector AS sector, {adm1} AS adm1, "
        f"{{value}} AS value, {sign} AS n, {{v}} AS v"
    )
    rows = [
        base.format(kind="'status'", day=event, value=f"{r}.status", v=verified),
        base.format(kind="'channel'", day=event, value=f"{r}.channel", v="0"),
        base.format(kind="'district'", day=event, value=f"COALESCE({r}.adm2_pcode, '')", v=verified),
        base.format(kind="'in'", day=day(f"{r}.received_at"), value="''", v="0"),
    ]
    selects = [f"SELECT {row} WHERE {r}.withdrawn_at IS NULL" for row in rows]
    out = base.format(kind="'out'", day=day(left), value="''", v="0")
    selects.append(f"SELECT {out} WHERE {r}.withdrawn_at IS NULL AND ({left}) IS NOT NULL")
    decided = base.format(kind="'wait'", day=day(f"{r}.triaged_at"), value=bin_, v="0")
    selects.append(
        f"SELECT {decided} WHERE {r}.withdrawn_at IS NULL AND {r}.triaged_at IS NOT NULL "
        f"AND {r}.status IN ('verified', 'refuted')"
    )
    return selects


def _sqlite_day(column):
    return f"substr({column}, 1, 10)"


def _sqlite_hours(start, end):
    return f"((julianday({end}) - julianday({start})) * 24.0)"


def _pg_day(column):
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _pg_hours(start, end):
    return f"(extract(epoch from ({end}) - ({start})) / 3600.0)"


def _upsert_sqlite(select):
    return (
        f"INSERT INTO report_tallies ({COLUMNS}) {select} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = n + excluded.n, v = v + excluded.v;"
    )


def _create_tally_triggers():
    if op.get_bind().dialect.name == "postgresql":
        new = "\n".join(
            f"INSERT INTO report_tallies ({COLUMNS}) {s} ON CONFLICT ({KEY}) DO UPDATE "
            "SET n = report_tallies.n + excluded.n, v = report_tallies.v + excluded.v;"
            for s in _contributions("NEW", _pg_day, _pg_hours, 1)
        )
        old = "\n".join(
            f"INSERT INTO report_tallies ({COLUMNS}) {s} ON CONFLICT ({KEY}) DO UPDATE "
            "SET n = report_tallies.n + excluded.n, v = report_tallies.v + excluded.v;"
            for s in _contributions("OLD", _pg_day, _pg_hours, -1)
        )
        op.execute(
            "CREATE FUNCTION report_tallies_count() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN\n{old}\nEND IF;\n"
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN\n{new}\nEND IF;\nRETURN NULL;\nEND\n$$"
        )
        op.execute(
            f"CREATE TRIGGER report_tallies_count AFTER INSERT OR DELETE OR UPDATE OF {TRIGGER_COLUMNS} "
            "ON reports FOR EACH ROW EXECUTE FUNCTION report_tallies_count()"
        )
        backfill = _contributions("r", _pg_day, _pg_hours, 1)
    else:
        new = "\n".join(_upsert_sqlite(s) for s in _contributions("NEW", _sqlite_day, _sqlite_hours, 1))
        old = "\n".join(_upsert_sqlite(s) for s in _contributions("OLD", _sqlite_day, _sqlite_hours, -1))
        op.execute(f"CREATE TRIGGER report_tallies_insert AFTER INSERT ON reports BEGIN\n{new}\nEND")
        op.execute(f"CREATE TRIGGER report_tallies_delete AFTER DELETE ON reports BEGIN\n{old}\nEND")
        op.execute(
            f"CREATE TRIGGER report_tallies_update AFTER UPDATE OF {TRIGGER_COLUMNS} ON reports BEGIN\n{old}\n{new}\nEND"
        )
        backfill = _contributions("r", _sqlite_day, _sqlite_hours, 1)
    union = " UNION ALL ".join(s.replace(" WHERE ", " FROM reports r WHERE ", 1) for s in backfill)
    op.execute(f"INSERT INTO report_tallies ({COLUMNS}) SELECT {KEY}, SUM(n), SUM(v) FROM ({union}) t GROUP BY {KEY}")


def upgrade():
    with op.batch_alter_table("crises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=10), server_default="en", nullable=False))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True))
    # A report decided before this revision left the backlog at its first recorded status change
    # (or, without one, when it was last changed).
    op.execute(
        "UPDATE reports SET triaged_at = COALESCE("
        "(SELECT MIN(c.created_at) FROM report_changes c WHERE c.report_id = reports.id "
        "AND CAST(c.changes AS TEXT) LIKE '%\"status\"%'), updated_at) "
        "WHERE status NOT IN ('new', 'under_review')"
    )
    op.create_table(
        "report_tallies",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("adm1", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("v", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_report_tallies_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("crisis_id", "kind", "day", "sector", "adm1", "value", name=op.f("pk_report_tallies")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_desk",
            [
                "crisis_id",
                "occurred_at",
                "received_at",
                "sector",
                "status",
                "channel",
                "published",
                "withdrawn_at",
                "triaged_at",
                "adm1_pcode",
                "adm2_pcode",
                "sensitive",
            ],
            unique=False,
        )

    _create_tally_triggers()
    op.create_table(
        "sitrep_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("cited", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_sitrep_drafts_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_sitrep_drafts_page_id_pages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_sitrep_drafts_revision_id_revisions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["sitrep_drafts.id"],
            name=op.f("fk_sitrep_drafts_previous_id_sitrep_drafts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_sitrep_drafts_author_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sitrep_drafts")),
        sa.UniqueConstraint("page_id", name=op.f("uq_sitrep_drafts_page_id")),
    )
    with op.batch_alter_table("sitrep_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sitrep_drafts_crisis_id"), ["crisis_id"], unique=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER report_tallies_count ON reports")
        op.execute("DROP FUNCTION report_tallies_count()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER report_tallies_{name}")
    op.drop_table("report_tallies")
    op.drop_table("sitrep_drafts")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_desk")
        batch_op.drop_column("triaged_at")
    with op.batch_alter_table("crises", schema=None) as batch_op:
        batch_op.drop_column("language")

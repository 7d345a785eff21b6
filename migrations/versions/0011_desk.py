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
    op.drop_table("sitrep_drafts")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_desk")
        batch_op.drop_column("triaged_at")
    with op.batch_alter_table("crises", schema=None) as batch_op:
        batch_op.drop_column("language")

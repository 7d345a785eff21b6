"""the verifiers' desk: assignments (appended; the latest per report holds), internal notes on
reports, and in-app notices (mentions, assignments)

Revision ID: v0005_desk
Revises: v0004_point_optional
Create Date: 2026-12-06 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "v0005_desk"
down_revision = "v0004_point_optional"
branch_labels = None
# Its tables refer only to reports and users (there since v0004's dependency, 0009_channels): the
# plugin's branch keeps a head of its own beside the core's (0011_desk), as tests/test_upgrade.py expects.
depends_on = None


def upgrade():
    op.create_table(
        "validation_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_validation_assignments_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_validation_assignments_assignee_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["users.id"],
            name=op.f("fk_validation_assignments_assigned_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_assignments")),
    )
    with op.batch_alter_table("validation_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_validation_assignments_report", ["report_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_validation_assignments_assignee_id"), ["assignee_id"], unique=False)
    op.create_table(
        "validation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_validation_notes_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_validation_notes_author_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_notes")),
    )
    with op.batch_alter_table("validation_notes", schema=None) as batch_op:
        batch_op.create_index("ix_validation_notes_report_created", ["report_id", "created_at"], unique=False)
    op.create_table(
        "validation_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_validation_notices_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_validation_notices_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["validation_notes.id"],
            name=op.f("fk_validation_notices_note_id_validation_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_validation_notices_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_notices")),
    )
    with op.batch_alter_table("validation_notices", schema=None) as batch_op:
        batch_op.create_index("ix_validation_notices_user_read", ["user_id", "read_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_validation_notices_report_id"), ["report_id"], unique=False)


def downgrade():
    op.drop_table("validation_notices")
    op.drop_table("validation_notes")
    op.drop_table("validation_assignments")

"""import_jobs: report imports that run in the background worker, with their progress

Revision ID: 0013_import_jobs
Revises: 0012_channel_media
Create Date: 2026-12-05 04:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0013_import_jobs"
down_revision = "0012_channel_media"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_import_jobs_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_import_jobs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_jobs_crisis_id"), ["crisis_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_jobs_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_jobs_token"), ["token"], unique=False)


def downgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_token"))
        batch_op.drop_index(batch_op.f("ix_import_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_import_jobs_crisis_id"))
    op.drop_table("import_jobs")

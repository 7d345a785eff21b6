"""crises.generation: the key of the anonymous page cache

Revision ID: 0005_page_cache
Revises: 0002_reports
Create Date: 2026-11-25 15:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0005_page_cache"
down_revision = "0002_reports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("crises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generation", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("crises", schema=None) as batch_op:
        batch_op.drop_column("generation")

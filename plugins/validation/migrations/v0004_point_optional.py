"""a score row of a report without a point (location unknown) has no place

Reports may now be located by a place, an area, or not at all (core migration 0009_channels):
a report with no point has no spatial neighbours, and its score row keeps lat and lon NULL.

Revision ID: v0004_point_optional
Revises: v0003_assessment_state
Create Date: 2026-12-05 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "v0004_point_optional"
down_revision = "v0003_assessment_state"
branch_labels = None
depends_on = "0009_channels"


def upgrade():
    # validation_scores has no triggers and nothing points at it: SQLite's move and copy is safe.
    with op.batch_alter_table("validation_scores", schema=None) as batch_op:
        batch_op.alter_column("lat", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("lon", existing_type=sa.Float(), nullable=True)


def downgrade():
    op.execute("DELETE FROM validation_scores WHERE lat IS NULL OR lon IS NULL")
    with op.batch_alter_table("validation_scores", schema=None) as batch_op:
        batch_op.alter_column("lat", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("lon", existing_type=sa.Float(), nullable=False)

"""pending subjects: a partial index on the claim subjects that wait for a re-run of truth
discovery (computed_at IS NULL), which the background job looks for every few seconds; before,
each look read every claim subject of every crisis

Revision ID: v0011_pending_subjects
Revises: v0010_stale_sources
Create Date: 2026-12-05 13:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "v0011_pending_subjects"
down_revision = "v0010_stale_sources"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_validation_claim_subjects_pending",
        "validation_claim_subjects",
        ["crisis_id"],
        sqlite_where=sa.text("computed_at IS NULL"),
        postgresql_where=sa.text("computed_at IS NULL"),
    )


def downgrade():
    op.drop_index("ix_validation_claim_subjects_pending", table_name="validation_claim_subjects")

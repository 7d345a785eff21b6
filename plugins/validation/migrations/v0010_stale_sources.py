"""stale sources: a source whose reports' scores are out of date after its state changed is one
narrow row (validation_stale_sources) instead of a rewrite of every score row of the source;
each score row keeps the generation it was scored at (validation_scores.source_generation)

Revision ID: v0010_stale_sources
Revises: v0009_band_twentieths
Create Date: 2026-12-05 10:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "v0010_stale_sources"
down_revision = "v0009_band_twentieths"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "validation_stale_sources",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_validation_stale_sources_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_validation_stale_sources")),
    )
    # A plain ADD COLUMN (no table copy): the score tables' triggers (v0009_band_twentieths) stay in place,
    # and a database with many scores upgrades at once. Every existing score counts as current.
    op.add_column("validation_scores", sa.Column("source_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    op.drop_column("validation_scores", "source_generation")  # SQLite 3.35+: no table copy, triggers kept
    op.drop_table("validation_stale_sources")

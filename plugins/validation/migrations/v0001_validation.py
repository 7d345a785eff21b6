"""validation plugin: assessments, scores, source reliability, combined assessments

Revision ID: v0001_validation
Revises:
Create Date: 2026-11-25 16:00:00.000000

The first revision of the validation plugin's own branch ("validation"); it needs the core's
reports and sources tables (0002_reports).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "v0001_validation"
down_revision = None
branch_labels = ("validation",)
depends_on = "0002_reports"


def upgrade():
    op.create_table(
        "validation_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("verifier_id", sa.Integer(), nullable=True),
        sa.Column("reliability", sa.String(length=1), nullable=False),
        sa.Column("credibility", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_validation_assessments_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"], ["users.id"], name=op.f("fk_validation_assessments_verifier_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_assessments")),
    )
    with op.batch_alter_table("validation_assessments", schema=None) as batch_op:
        batch_op.create_index("ix_validation_assessments_report_created", ["report_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_validation_assessments_verifier_id"), ["verifier_id"], unique=False)

    op.create_table(
        "validation_scores",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("log_odds", sa.Float(), nullable=False),
        sa.Column("admiralty", sa.String(length=2), nullable=False),
        sa.Column("source_reliability", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("neighbours", sa.JSON(), nullable=False),
        sa.Column("reach_km", sa.Float(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_validation_scores_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_validation_scores")),
    )
    with op.batch_alter_table("validation_scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_validation_scores_nearby", ["crisis_id", "sector", "lat", "lon", "reach_km", "t"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_validation_scores_score"), ["score"], unique=False)
        batch_op.create_index(batch_op.f("ix_validation_scores_stale"), ["stale"], unique=False)

    op.create_table(
        "validation_progress",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_validation_progress")),
    )

    op.create_table(
        "validation_source_reliability",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("established", sa.Boolean(), nullable=False),
        sa.Column("prior", sa.Float(), nullable=False),
        sa.Column("prior_basis", sa.String(length=20), nullable=False),
        sa.Column("grades", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Integer(), nullable=False),
        sa.Column("refuted", sa.Integer(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("beta", sa.Float(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_validation_source_reliability_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_validation_source_reliability")),
    )

    op.create_table(
        "validation_combined_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("verifier_id", sa.Integer(), nullable=True),
        sa.Column("withdrew_originals", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_validation_combined_assessments_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["users.id"],
            name=op.f("fk_validation_combined_assessments_verifier_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_combined_assessments")),
        sa.UniqueConstraint("report_id", name=op.f("uq_validation_combined_assessments_report_id")),
    )

    op.create_table(
        "validation_combined_sources",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["validation_combined_assessments.id"],
            name=op.f("fk_validation_combined_sources_assessment_id_validation_combined_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_validation_combined_sources_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", "report_id", name=op.f("pk_validation_combined_sources")),
    )
    with op.batch_alter_table("validation_combined_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validation_combined_sources_report_id"), ["report_id"], unique=False)


def downgrade():
    with op.batch_alter_table("validation_combined_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_combined_sources_report_id"))

    op.drop_table("validation_combined_sources")
    op.drop_table("validation_combined_assessments")
    op.drop_table("validation_source_reliability")
    op.drop_table("validation_progress")
    with op.batch_alter_table("validation_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_scores_stale"))
        batch_op.drop_index(batch_op.f("ix_validation_scores_score"))
        batch_op.drop_index("ix_validation_scores_nearby")

    op.drop_table("validation_scores")
    with op.batch_alter_table("validation_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_assessments_verifier_id"))
        batch_op.drop_index("ix_validation_assessments_report_created")

    op.drop_table("validation_assessments")

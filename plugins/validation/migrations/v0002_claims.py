"""structured claims and truth discovery: claim subjects, report claims, per-crisis source reliability

Revision ID: v0002_claims
Revises: v0001_validation
Create Date: 2026-11-25 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "v0002_claims"
down_revision = "v0001_validation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "validation_claim_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("attribute", sa.String(length=100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("proposed", sa.JSON(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("distribution", sa.JSON(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_validation_claim_subjects_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_claim_subjects")),
        sa.UniqueConstraint(
            "crisis_id", "subject_key", "attribute", "as_of", name="uq_validation_claim_subjects_identity"
        ),
    )
    with op.batch_alter_table("validation_claim_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validation_claim_subjects_crisis_id"), ["crisis_id"], unique=False)

    op.create_table(
        "validation_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.Column("text_key", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_validation_claims_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_validation_claims_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["validation_claim_subjects.id"],
            name=op.f("fk_validation_claims_subject_id_validation_claim_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_claims")),
        sa.UniqueConstraint("report_id", "subject_id", name="uq_validation_claims_report_subject"),
    )
    with op.batch_alter_table("validation_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validation_claims_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_validation_claims_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "validation_claim_reliability",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("reliability", sa.Float(), nullable=False),
        sa.Column("claims", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"],
            ["crises.id"],
            name=op.f("fk_validation_claim_reliability_crisis_id_crises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_validation_claim_reliability_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("crisis_id", "source_id", name=op.f("pk_validation_claim_reliability")),
    )
    with op.batch_alter_table("validation_claim_reliability", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validation_claim_reliability_source_id"), ["source_id"], unique=False)


def downgrade():
    with op.batch_alter_table("validation_claim_reliability", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_claim_reliability_source_id"))

    op.drop_table("validation_claim_reliability")
    with op.batch_alter_table("validation_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_claims_subject_id"))
        batch_op.drop_index(batch_op.f("ix_validation_claims_report_id"))

    op.drop_table("validation_claims")
    with op.batch_alter_table("validation_claim_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_claim_subjects_crisis_id"))

    op.drop_table("validation_claim_subjects")

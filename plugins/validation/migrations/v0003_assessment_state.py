"""scores say how far a report has been assessed: no score or grading that nobody made

Revision ID: v0003_assessment_state
Revises: v0002_claims
Create Date: 2026-11-26 10:00:00.000000

A score row gets its assessment state (not_assessed, partly_assessed, assessed, graded) and the
two parts of its grading, each NULL while there is no basis for it; score and admiralty become
NULL while there is none. Rows written before this revision may show a verdict nobody made
(F6 for a brand-new report), so they are dropped together with the catch-up mark: the
background scorer scores every report again, oldest first (or `crisiswiki rescore` at once).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "v0003_assessment_state"
down_revision = "v0002_claims"
branch_labels = None
depends_on = None


def _forget_scores():
    op.execute("DELETE FROM validation_scores")
    op.execute("DELETE FROM validation_progress WHERE name = 'scored_through'")


def upgrade():
    _forget_scores()
    with op.batch_alter_table("validation_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reliability_grade", sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column("credibility_grade", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("assessment", sa.String(length=20), nullable=False, server_default="not_assessed")
        )
        batch_op.alter_column("score", existing_type=sa.Float(), nullable=True)
        batch_op.alter_column("admiralty", existing_type=sa.String(length=2), nullable=True)


def downgrade():
    _forget_scores()
    with op.batch_alter_table("validation_scores", schema=None) as batch_op:
        batch_op.alter_column("admiralty", existing_type=sa.String(length=2), nullable=False)
        batch_op.alter_column("score", existing_type=sa.Float(), nullable=False)
        batch_op.drop_column("assessment")
        batch_op.drop_column("credibility_grade")
        batch_op.drop_column("reliability_grade")

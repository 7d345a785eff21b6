"""channel media: photos a gateway holds for a message (Twilio's MediaUrlN), fetched in the
background with retries, and recorded when they cannot be fetched


Revision ID: 0012_channel_media
Revises: 0011_desk
Create Date: 2026-12-07 04:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0012_channel_media"
down_revision = "0011_desk"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "message_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["message_attachments.id"],
            name=op.f("fk_message_media_attachment_id_message_attachments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_message_media_message_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_media")),
        sa.UniqueConstraint("message_id", "position", name="uq_message_media_message_id_position"),
    )
    with op.batch_alter_table("message_media", schema=None) as batch_op:
        batch_op.create_index("ix_message_media_waiting", ["state", "next_try_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_media_message_id"), ["message_id"], unique=False)


def downgrade():
    op.drop_table("message_media")

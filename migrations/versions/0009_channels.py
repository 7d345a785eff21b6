"""channels: inbound messages and replies, routing rules, linked contacts; reports located by a
place or area (or not at all); admin areas' other names for the gazetteer

- reports.lon/lat may be NULL (location unknown). On SQLite the NOT NULL is dropped by editing
  the table's definition in place (SQLite's documented procedure for removing a NOT NULL
  constraint, which does not touch the stored rows): re-creating the table ("move and copy")
  would drop the R*Tree triggers of 0003 and the withdrawal guards of 0006 and, with foreign
  keys on, cascade the drop to every table that points at reports.
- reports.location_kind, location_radius_m, location_ref, public_radius_m.
- The R*Tree triggers (SQLite) skip reports without a point: the tree would store a NULL
  coordinate as 0, putting them off the coast of Africa.
- admin_areas.alt_names.
- inbound_messages, message_attachments, outbound_messages, channel_routes, channel_settings,
  source_contacts.

Revision ID: 0009_channels
Revises: 0008_one_head
Create Date: 2026-12-05 10:00:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0009_channels"
down_revision = "0008_one_head"
branch_labels = None
depends_on = "0006_privacy"  # (which depends on 0003_maps and 0004_search): R*Tree triggers, public position

RTREE_TRIGGERS = (
    "reports_rtree_insert",
    "reports_rtree_update",
    "reports_public_rtree_insert",
    "reports_public_rtree_update",
)
RTREE_UP = [
    """CREATE TRIGGER reports_rtree_insert AFTER INSERT ON reports
       WHEN new.lon IS NOT NULL AND new.lat IS NOT NULL BEGIN
         INSERT INTO reports_rtree (id, min_lon, max_lon, min_lat, max_lat) VALUES (new.id, new.lon, new.lon, new.lat, new.lat);
       END""",
    """CREATE TRIGGER reports_rtree_update AFTER UPDATE OF id, lon, lat ON reports BEGIN
         DELETE FROM reports_rtree WHERE id = old.id;
         INSERT INTO reports_rtree (id, min_lon, max_lon, min_lat, max_lat)
           SELECT new.id, new.lon, new.lon, new.lat, new.lat WHERE new.lon IS NOT NULL AND new.lat IS NOT NULL;
       END""",
    """CREATE TRIGGER reports_public_rtree_insert AFTER INSERT ON reports
       WHEN new.published AND NOT new.sensitive AND new.lon IS NOT NULL AND new.lat IS NOT NULL BEGIN
         INSERT INTO reports_public_rtree VALUES (new.id, new.lon, new.lon, new.lat, new.lat);
       END""",
    """CREATE TRIGGER reports_public_rtree_update AFTER UPDATE OF id, lon, lat, published, sensitive ON reports BEGIN
         DELETE FROM reports_public_rtree WHERE id = old.id;
         INSERT INTO reports_public_rtree SELECT new.id, new.lon, new.lon, new.lat, new.lat
           WHERE new.published AND NOT new.sensitive AND new.lon IS NOT NULL AND new.lat IS NOT NULL;
       END""",
]
# As 0003_maps made them.
RTREE_DOWN = [
    """CREATE TRIGGER reports_rtree_insert AFTER INSERT ON reports BEGIN
         INSERT INTO reports_rtree (id, min_lon, max_lon, min_lat, max_lat) VALUES (new.id, new.lon, new.lon, new.lat, new.lat);
       END""",
    """CREATE TRIGGER reports_rtree_update AFTER UPDATE OF id, lon, lat ON reports BEGIN
         DELETE FROM reports_rtree WHERE id = old.id;
         INSERT INTO reports_rtree (id, min_lon, max_lon, min_lat, max_lat) VALUES (new.id, new.lon, new.lon, new.lat, new.lat);
       END""",
    """CREATE TRIGGER reports_public_rtree_insert AFTER INSERT ON reports WHEN new.published AND NOT new.sensitive BEGIN
         INSERT INTO reports_public_rtree VALUES (new.id, new.lon, new.lon, new.lat, new.lat);
       END""",
    """CREATE TRIGGER reports_public_rtree_update AFTER UPDATE OF id, lon, lat, published, sensitive ON reports BEGIN
         DELETE FROM reports_public_rtree WHERE id = old.id;
         INSERT INTO reports_public_rtree SELECT new.id, new.lon, new.lon, new.lat, new.lat WHERE new.published AND NOT new.sensitive;
       END""",
]


def sqlite_set_not_null(bind, table: str, columns: tuple[str, ...], not_null: bool) -> None:
    """Add or drop NOT NULL on FLOAT columns of a SQLite table by editing its stored definition
    (https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema changes":
    removing a NOT NULL constraint does not change the stored rows). Copied into each migration
    that needs it: a migration must not change with the code."""
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": table}
    ).scalar()
    for column in columns:
        pattern = rf"(\n\s*{column} FLOAT)( NOT NULL)?,"
        sql, found = re.subn(pattern, (r"\1 NOT NULL," if not_null else r"\1,"), sql, count=1)
        if found != 1:
            raise RuntimeError(f"cannot find the column {column} in the definition of {table}")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :name"),
        {"sql": sql, "name": table},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = bind.execute(sa.text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after editing {table}: {problems[:5]}")


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        sqlite_set_not_null(bind, "reports", ("lon", "lat"), not_null=False)
        for name in RTREE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in RTREE_UP:
            op.execute(statement)
    else:
        op.alter_column("reports", "lon", existing_type=sa.Float(), nullable=True)
        op.alter_column("reports", "lat", existing_type=sa.Float(), nullable=True)
    op.add_column("reports", sa.Column("location_kind", sa.String(length=10), server_default="point", nullable=False))
    op.add_column("reports", sa.Column("location_radius_m", sa.Float(), nullable=True))
    op.add_column("reports", sa.Column("location_ref", sa.String(length=80), nullable=True))
    op.add_column("reports", sa.Column("public_radius_m", sa.Float(), nullable=True))
    op.add_column("admin_areas", sa.Column("alt_names", sa.JSON(), server_default="[]", nullable=False))
    # Who was shown a channel message's sender (wiki.contact_log).
    op.add_column("contact_views", sa.Column("message_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_contact_views_message_id"), "contact_views", ["message_id"], unique=False)

    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("crisis_hint", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("process_error", sa.Text(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("place", sa.JSON(), nullable=True),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("translation", sa.Text(), nullable=False),
        sa.Column("translation_language", sa.String(length=8), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_inbound_messages_crisis_id_crises"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"], ["users.id"], name=op.f("fk_inbound_messages_handled_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_inbound_messages_report_id_reports"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("channel", "external_id", name="uq_inbound_messages_channel_external_id"),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_messages_crisis_state", ["crisis_id", "state", "id"], unique=False)
        batch_op.create_index("ix_inbound_messages_unprocessed", ["processed_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_messages_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_messages_sender_hash"), ["sender_hash"], unique=False)

    op.create_table(
        "message_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("display_sha256", sa.String(length=64), nullable=False),
        sa.Column("thumb_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_message_attachments_message_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_attachments")),
    )
    with op.batch_alter_table("message_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_attachments_message_id"), ["message_id"], unique=False)

    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=True),
        sa.Column("in_reply_to_id", sa.Integer(), nullable=True),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("gateway_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_outbound_messages_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_outbound_messages_crisis_id_crises"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["in_reply_to_id"],
            ["inbound_messages.id"],
            name=op.f("fk_outbound_messages_in_reply_to_id_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mail_id"], ["mail_outbox.id"], name=op.f("fk_outbound_messages_mail_id_mail_outbox"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint("uuid", name=op.f("uq_outbound_messages_uuid")),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbound_messages_waiting", ["channel", "sent_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_messages_crisis_id"), ["crisis_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_messages_in_reply_to_id"), ["in_reply_to_id"], unique=False)

    op.create_table(
        "channel_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("auto_report", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_channel_routes_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_channel_routes_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_routes")),
        sa.UniqueConstraint("kind", "value", name="uq_channel_routes_kind_value"),
    )
    with op.batch_alter_table("channel_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_routes_crisis_id"), ["crisis_id"], unique=False)

    op.create_table(
        "channel_settings",
        sa.Column("crisis_id", sa.Integer(), nullable=False),
        sa.Column("acknowledge", sa.Boolean(), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crisis_id"], ["crises.id"], name=op.f("fk_channel_settings_crisis_id_crises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("crisis_id", name=op.f("pk_channel_settings")),
    )

    op.create_table(
        "source_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("contact_hash", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=254), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_by_id"], ["users.id"], name=op.f("fk_source_contacts_linked_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_source_contacts_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_contacts")),
        sa.UniqueConstraint("contact_hash", name=op.f("uq_source_contacts_contact_hash")),
    )
    with op.batch_alter_table("source_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_contacts_source_id"), ["source_id"], unique=False)


def downgrade():
    op.drop_table("source_contacts")
    op.drop_table("channel_settings")
    op.drop_table("channel_routes")
    op.drop_table("outbound_messages")
    op.drop_table("message_attachments")
    op.drop_table("inbound_messages")
    op.drop_column("admin_areas", "alt_names")
    op.drop_index(op.f("ix_contact_views_message_id"), table_name="contact_views")
    op.drop_column("contact_views", "message_id")
    bind = op.get_bind()
    # Reports without a point cannot go back to a schema that requires one.
    bind.execute(sa.text("DELETE FROM reports WHERE lon IS NULL OR lat IS NULL"))
    for column in ("public_radius_m", "location_ref", "location_radius_m", "location_kind"):
        op.drop_column("reports", column)
    if bind.dialect.name == "sqlite":
        for name in RTREE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in RTREE_DOWN:
            op.execute(statement)
        sqlite_set_not_null(bind, "reports", ("lon", "lat"), not_null=True)
    else:
        op.alter_column("reports", "lon", existing_type=sa.Float(), nullable=False)
        op.alter_column("reports", "lat", existing_type=sa.Float(), nullable=False)

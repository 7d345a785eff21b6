"""privacy: stored public positions, sticky withdrawal, the log of who saw contacts

- reports.public_lon/public_lat: where everyone who may not see exact locations sees a report
  (its grid cell when it is sensitive), computed once instead of on every request.
- reports.withdrawn_at/withdrawn_reason/withdrawn_by_id: a report withdrawn from public view to
  shield its reporters; the database refuses a row that is both withdrawn and published
  (a CHECK constraint on PostgreSQL, triggers on SQLite, which cannot add a constraint to an
  existing table without re-creating it and losing the R*Tree triggers of 0003).
- contact_views: who was shown a reporter's contact, when, for which report.

Revision ID: 0006_privacy
Revises: 0005_page_cache
Create Date: 2026-12-04 22:00:00

"""

import math

import sqlalchemy as sa
from alembic import op

revision = "0006_privacy"
down_revision = "0005_page_cache"
branch_labels = None
depends_on = ("0003_maps", "0004_search")  # replaces an index of the map; queues reindexing

KM_PER_DEGREE = 2 * math.pi * 6371.0088 / 360
GUARD_MESSAGE = "a withdrawn report cannot be published: republish it with a reason"
SQLITE_GUARDS = (
    f"""CREATE TRIGGER reports_withdrawn_unpublished_insert BEFORE INSERT ON reports
        WHEN new.published AND new.withdrawn_at IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{GUARD_MESSAGE}'); END""",
    f"""CREATE TRIGGER reports_withdrawn_unpublished_update BEFORE UPDATE OF published, withdrawn_at ON reports
        WHEN new.published AND new.withdrawn_at IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{GUARD_MESSAGE}'); END""",
)


def _grid_km() -> float:
    try:
        from flask import current_app

        return float(current_app.config["SENSITIVE_GRID_KM"])
    except Exception:  # run outside the app
        return 10.0


def _coarsen(lon: float, lat: float, grid_km: float) -> tuple[float, float]:
    """The same cell as wiki.geo.grid_cell_centre (copied: a migration must not change with the code)."""
    lat_step = grid_km / KM_PER_DEGREE
    cell_lat = (math.floor(lat / lat_step) + 0.5) * lat_step
    lon_step = grid_km / (KM_PER_DEGREE * max(math.cos(math.radians(cell_lat)), 0.01))
    cell_lon = (math.floor(lon / lon_step) + 0.5) * lon_step
    return round(max(-180.0, min(180.0, cell_lon)), 5), round(max(-90.0, min(90.0, cell_lat)), 5)


def upgrade():
    op.add_column("reports", sa.Column("public_lon", sa.Float(), nullable=True))
    op.add_column("reports", sa.Column("public_lat", sa.Float(), nullable=True))
    op.add_column("reports", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reports", sa.Column("withdrawn_reason", sa.String(length=500), server_default="", nullable=False))
    # Who withdrew it (a user id; the report's history names them too). Not a foreign key:
    # SQLite can add one to an existing table only in a form it cannot describe back.
    op.add_column("reports", sa.Column("withdrawn_by_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE reports SET public_lon = lon, public_lat = lat WHERE NOT sensitive"))
    grid_km = _grid_km()
    rows = bind.execute(sa.text("SELECT id, lon, lat FROM reports WHERE sensitive")).all()
    if rows:
        cells = [
            dict(zip(("public_lon", "public_lat"), _coarsen(lon, lat, grid_km), strict=True), id=report_id)
            for report_id, lon, lat in rows
        ]
        bind.execute(
            sa.text("UPDATE reports SET public_lon = :public_lon, public_lat = :public_lat WHERE id = :id"), cells
        )
    # The search index held sensitive reports' exact points: index them again at their cells.
    bind.execute(
        sa.text(
            "INSERT INTO search_queue (kind, object_id, op, created_at) "
            "SELECT 'report', id, 'index', CURRENT_TIMESTAMP FROM reports WHERE sensitive"
        )
    )
    # Reports withdrawn before this migration (unpublished by a combined assessment) cannot be
    # told apart from those waiting for review; they stay unpublished either way.
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_GUARDS:
            op.execute(statement)
    else:
        op.create_check_constraint(
            "ck_reports_withdrawn_unpublished", "reports", sa.text("NOT (published AND withdrawn_at IS NOT NULL)")
        )

    # The public's sensitive points are read from the index alone, as the exact ones were.
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_map_sensitive")
        batch_op.create_index(
            "ix_reports_map_sensitive",
            ["crisis_id", "lon", "lat", "published", "sensitive", "public_lon", "public_lat"],
            unique=False,
            sqlite_where=sa.text("sensitive IS 1 AND published IS 1"),
            postgresql_where=sa.text("sensitive IS true AND published IS true"),
        )

    op.create_table(
        "contact_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("endpoint", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_contact_views_report_id_reports"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_contact_views_source_id_sources"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_contact_views_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_views")),
    )
    with op.batch_alter_table("contact_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_views_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_views_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_views_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_views_user_id"), ["user_id"], unique=False)


def downgrade():
    op.drop_table("contact_views")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_map_sensitive")
        batch_op.create_index(
            "ix_reports_map_sensitive",
            ["crisis_id", "lon", "lat", "published", "sensitive"],
            unique=False,
            sqlite_where=sa.text("sensitive IS 1 AND published IS 1"),
            postgresql_where=sa.text("sensitive IS true AND published IS true"),
        )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS reports_withdrawn_unpublished_update")
        op.execute("DROP TRIGGER IF EXISTS reports_withdrawn_unpublished_insert")
    else:
        op.drop_constraint("ck_reports_withdrawn_unpublished", "reports", type_="check")
    for column in ("withdrawn_by_id", "withdrawn_reason", "withdrawn_at", "public_lat", "public_lon"):
        op.drop_column("reports", column)

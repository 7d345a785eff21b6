"""one head: the core's branches merged (no schema change)

The core's migrations grew on several branches side by side (0003_maps, 0004_search and
0005_page_cache each revise 0002_reports; 0006_privacy revises 0005_page_cache and depends on
0003_maps and 0004_search; 0006_accounts and 0007_mail_outbox follow 0005_page_cache), so the
core had two real heads (0006_privacy and 0007_mail_outbox; a database records 0003_maps and
0004_search only until 0006_privacy, which depends on them, is applied). This revision merges
them, so that the core has one head again. No revision id changes: a database that recorded any
of them upgrades from where it is. (`db heads` still lists 0003_maps and 0004_search: Alembic
names a revision that others only depend on a head; upgrading to "heads" applies none twice.)

Revision ID: 0008_one_head
Revises: 0006_privacy, 0007_mail_outbox
Create Date: 2026-12-01 09:00:00

"""

revision = "0008_one_head"
down_revision = ("0006_privacy", "0007_mail_outbox")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

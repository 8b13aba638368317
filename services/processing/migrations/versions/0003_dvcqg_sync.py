"""The national portal (DVCQG) sync queue: one row per step of a dossier, written with the step itself.

Revision ID: 0003
Revises: k0002
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import UTCDateTime

revision = "0003"
down_revision = "k0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dvcqg_sync",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("actor_name", sa.Text, nullable=False),
        sa.Column("actor_title", sa.Text, nullable=False, server_default=""),
        sa.Column("department", sa.Text, nullable=False, server_default=""),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("content", sa.Text, nullable=False, server_default=""),
        sa.Column("due_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("last_answer", sa.Text),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("cuts", sa.Text),
        sa.UniqueConstraint("code", "seq", name="uq_dvcqg_sync_code_seq"),
    )
    op.create_index("ix_dvcqg_sync_state_code", "dvcqg_sync", ["state", "code", "id"])
    op.create_index("ix_dvcqg_sync_agency_state", "dvcqg_sync", ["agency_code", "state"])


def downgrade():
    op.drop_index("ix_dvcqg_sync_agency_state", table_name="dvcqg_sync")
    op.drop_index("ix_dvcqg_sync_state_code", table_name="dvcqg_sync")
    op.drop_table("dvcqg_sync")

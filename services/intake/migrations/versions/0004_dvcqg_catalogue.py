"""The national catalogue sync: who owns a procedure, withdrawn procedures, the code mapping and the runs.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import BigId, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("procedures") as batch:
        batch.add_column(sa.Column("source", sa.String(10), nullable=False, server_default="seed"))
        batch.add_column(sa.Column("withdrawn_at", UTCDateTime))
        batch.add_column(sa.Column("national_code", sa.String(60)))
        batch.add_column(sa.Column("national_marker", sa.String(40)))
        batch.add_column(sa.Column("synced_at", UTCDateTime))
    op.create_table(
        "procedure_code_map",
        sa.Column("national_code", sa.String(60), primary_key=True),
        sa.Column("local_code", sa.String(40), nullable=False, unique=True),
        sa.Column("note", sa.Text),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "catalogue_runs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("trigger", sa.String(10), nullable=False),
        sa.Column("requested_by", sa.String(100)),
        sa.Column("full", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("error", sa.Text),
        sa.Column("summary", sa.JSON),
        sa.Column("report", sa.JSON),
    )
    op.create_index("ix_catalogue_runs_state", "catalogue_runs", ["state", "id"])


def downgrade():
    op.drop_index("ix_catalogue_runs_state", table_name="catalogue_runs")
    op.drop_table("catalogue_runs")
    op.drop_table("procedure_code_map")
    with op.batch_alter_table("procedures") as batch:
        for name in ("synced_at", "national_marker", "national_code", "withdrawn_at", "source"):
            batch.drop_column(name)

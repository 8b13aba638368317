"""Recipients: who to tell about a dossier, kept from dossier.submitted.v1 for later events.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recipients",
        sa.Column("dossier_code", sa.String(40), primary_key=True),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("phone", sa.String(15)),
        sa.Column("email", sa.String(254)),
        sa.Column("notify_channels", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade():
    op.drop_table("recipients")

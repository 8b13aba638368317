"""What the national record needs beyond the sync queue: the agency's name and the supplement history.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("agency_name", sa.Text))
        batch.add_column(sa.Column("supplements", sa.Text))


def downgrade():
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("supplements")
        batch.drop_column("agency_name")

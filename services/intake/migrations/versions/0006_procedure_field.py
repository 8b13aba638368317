"""The procedure's field (lĩnh vực): MaLinhVuc / TenLinhVuc of the national record, null until known.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("procedures") as batch:
        batch.add_column(sa.Column("field_code", sa.String(40)))
        batch.add_column(sa.Column("field_name", sa.Text))


def downgrade():
    with op.batch_alter_table("procedures") as batch:
        batch.drop_column("field_name")
        batch.drop_column("field_code")

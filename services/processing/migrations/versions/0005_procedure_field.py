"""The procedure's field (lĩnh vực) as filed, for the national record's MaLinhVuc / TenLinhVuc.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("procedure_field_code", sa.String(40)))
        batch.add_column(sa.Column("procedure_field_name", sa.Text))


def downgrade():
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("procedure_field_name")
        batch.drop_column("procedure_field_code")

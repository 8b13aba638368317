"""The dossier's electronic result, as dossier.result_ready.v1 announced it (the citizen downloads it).

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
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("result_file_id", sa.String(64)))
        batch.add_column(sa.Column("result_sha256", sa.String(64)))
        batch.add_column(sa.Column("result_paper_original", sa.Boolean))


def downgrade():
    with op.batch_alter_table("dossiers") as batch:
        for name in ("result_paper_original", "result_sha256", "result_file_id"):
            batch.drop_column(name)

"""Payment requests and shipments other services report, for the citizen's view.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import BigId, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dossier_payments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount_vnd", sa.Integer, nullable=False),
        sa.Column("qr_payload", sa.Text, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_dossier_payments_dossier_code", "dossier_payments", ["dossier_code"])
    op.create_table(
        "dossier_shipments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False),
        sa.Column("tracking_no", sa.String(40), nullable=False, unique=True),
        sa.Column("service", sa.String(20), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_dossier_shipments_dossier_code", "dossier_shipments", ["dossier_code"])


def downgrade():
    op.drop_table("dossier_shipments")
    op.drop_table("dossier_payments")

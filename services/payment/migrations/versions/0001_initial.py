"""Payment orders and the kit tables.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import UTCDateTime, create_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_kit_tables(op)
    op.create_table(
        "payment_orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dossier_code", sa.String(40), nullable=False, unique=True),
        sa.Column("reference", sa.String(25), nullable=False, unique=True),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
        sa.Column("fee_mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("qr_payload", sa.Text),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_payment_orders_agency_code", "payment_orders", ["agency_code"])


def downgrade():
    op.drop_table("payment_orders")
    for table in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)

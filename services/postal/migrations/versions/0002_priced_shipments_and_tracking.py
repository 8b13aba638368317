"""Shipments priced once with every version used, the dispatch and fee state, tracking history, and
tariff versions with an end date and the fee-transfer service.

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

SHIPMENT_COLUMNS = (
    ("sender", sa.JSON), ("weight_g", sa.Integer), ("zone", sa.String(30)), ("exemption", sa.String(10)),
    ("fee_transfer", sa.Boolean), ("operator_vnd", sa.Integer), ("citizen_vnd", sa.Integer), ("pricing", sa.JSON),
    ("pricing_error", sa.Text), ("fee_mode", sa.String(10)), ("fee_vnd", sa.Integer), ("fee_paid_at", UTCDateTime),
    ("last_seq", sa.Integer), ("cod_amount_vnd", sa.Integer), ("status_at", UTCDateTime),
    ("dispatched_at", UTCDateTime), ("closed_at", UTCDateTime),
)


def upgrade():
    for name, type_ in SHIPMENT_COLUMNS:
        op.add_column("shipments", sa.Column(name, type_))
    op.create_index("ix_shipments_dispatched_at", "shipments", ["dispatched_at"])
    op.add_column("tariff_versions", sa.Column("effective_to", sa.Date))
    op.add_column("tariff_versions", sa.Column("fee_transfer_vnd", sa.Integer))
    op.add_column("citizen_price_policies", sa.Column("effective_to", sa.Date))
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.String(100), unique=True),
        sa.Column("tracking_no", sa.String(40), nullable=False),
        sa.Column("shipment_id", sa.Integer, sa.ForeignKey("shipments.id")),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_tracking_events_tracking_no", "tracking_events", ["tracking_no"])


def downgrade():
    op.drop_table("tracking_events")
    with op.batch_alter_table("citizen_price_policies") as batch:
        batch.drop_column("effective_to")
    with op.batch_alter_table("tariff_versions") as batch:
        batch.drop_column("fee_transfer_vnd")
        batch.drop_column("effective_to")
    op.drop_index("ix_shipments_dispatched_at", "shipments")
    with op.batch_alter_table("shipments") as batch:
        for name, _type in reversed(SHIPMENT_COLUMNS):
            batch.drop_column(name)

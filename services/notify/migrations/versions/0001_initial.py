"""Templates, messages, delivery attempts, receipts and the kit tables.

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
        "templates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("zalo_template_id", sa.String(64)),
        sa.Column("params", sa.Text),
        sa.Column("limits", sa.Text),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("kind", "channel", name="uq_templates_kind_channel"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("dossier_code", sa.String(40), nullable=False),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("zalo_template_id", sa.String(64)),
        sa.Column("params", sa.Text),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("provider_status", sa.String(40)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("delivered_at", UTCDateTime),
        sa.Column("failed_at", UTCDateTime),
        sa.UniqueConstraint("dossier_code", "kind", "channel", name="uq_messages_dossier_kind_channel"),
    )
    op.create_index("ix_messages_status_next_attempt_at", "messages", ["status", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_delivery_attempts_message_id", "delivery_attempts", ["message_id"])
    op.create_table(
        "receipts",
        sa.Column("event_id", sa.String(100), primary_key=True),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
    )
    op.create_index("ix_receipts_message_id", "receipts", ["message_id"])


def downgrade():
    op.drop_table("receipts")
    op.drop_table("delivery_attempts")
    op.drop_table("messages")
    op.drop_table("templates")
    for table in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)

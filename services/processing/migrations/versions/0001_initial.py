"""Cases, audit trail and the kit tables.

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
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("procedure_name", sa.Text, nullable=False),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("applicant_name", sa.Text, nullable=False),
        sa.Column("applicant_type", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("delivery_method", sa.String(20), nullable=False),
        sa.Column("processing_days", sa.Integer, nullable=False),
        sa.Column("fee_vnd", sa.Integer, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("submitted_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_cases_agency_code", "cases", ["agency_code"])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(30)),
        sa.Column("to_status", sa.String(30), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_audit_entries_case_id", "audit_entries", ["case_id"])


def downgrade():
    op.drop_table("audit_entries")
    op.drop_table("cases")
    for table in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)

"""Processing's tables: cases and their audit trail, plus the kit's outbox, inbox and idempotency keys."""
import sqlalchemy as sa

from servicekit.tables import UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),
    sa.Column("procedure_code", sa.String(40), nullable=False),
    sa.Column("procedure_name", sa.Text, nullable=False),
    sa.Column("agency_code", sa.String(40), nullable=False, index=True),
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

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),  # officer sub, or "system:<event type>"
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("from_status", sa.String(30)),
    sa.Column("to_status", sa.String(30), nullable=False),
    sa.Column("note", sa.Text),
)

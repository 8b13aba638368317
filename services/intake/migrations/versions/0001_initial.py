"""Procedure catalogue, dossiers with their timeline and code sequences, lookup limits, and the kit tables.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import BigId, UTCDateTime, create_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_kit_tables(op)
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("province", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "procedures",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("agency_code", sa.String(40), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("processing_days", sa.Integer, nullable=False),
        sa.Column("fee_vnd", sa.Integer, nullable=False),
        sa.Column("fee_mode", sa.String(10), nullable=False),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Column("delivery_methods", sa.JSON, nullable=False),
        sa.Column("result_is_paper", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_procedures_agency_code", "procedures", ["agency_code"])
    op.create_table(
        "dossiers",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("procedure_name", sa.Text, nullable=False),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("applicant_type", sa.String(20), nullable=False),
        sa.Column("applicant_name", sa.Text, nullable=False),
        sa.Column("id_number", sa.String(20), nullable=False),
        sa.Column("phone", sa.String(15)),
        sa.Column("email", sa.String(254)),
        sa.Column("applicant_address", sa.Text, nullable=False),
        sa.Column("documents", sa.JSON, nullable=False),
        sa.Column("delivery_method", sa.String(10), nullable=False),
        sa.Column("delivery_address", sa.JSON),
        sa.Column("notify_channels", sa.JSON, nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("access_token_hash", sa.String(64), nullable=False),
        sa.Column("fee_procedure_vnd", sa.Integer, nullable=False),
        sa.Column("fee_postal_vnd", sa.Integer, nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_dossiers_agency_code", "dossiers", ["agency_code"])
    op.create_table(
        "dossier_sequences",
        sa.Column("agency_code", sa.String(40), primary_key=True),
        sa.Column("day", sa.String(6), primary_key=True),
        sa.Column("last_number", sa.Integer, nullable=False),
    )
    op.create_table(
        "dossier_timeline",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_dossier_timeline_dossier_code", "dossier_timeline", ["dossier_code"])
    op.create_table(
        "lookup_limits",
        sa.Column("client_ip", sa.String(64), primary_key=True),
        sa.Column("window_started_at", UTCDateTime, nullable=False),
        sa.Column("misses", sa.Integer, nullable=False),
    )


def downgrade():
    for table in ("lookup_limits", "dossier_timeline", "dossier_sequences", "dossiers", "procedures", "agencies",
                  "idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)

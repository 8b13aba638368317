"""Shipments, tariffs, citizen price policies and the kit tables.

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
        "shipments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dossier_code", sa.String(40), nullable=False, unique=True),
        sa.Column("tracking_no", sa.String(13), nullable=False, unique=True),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("agency_name", sa.Text),
        sa.Column("service", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("recipient", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_shipments_agency_code", "shipments", ["agency_code"])
    op.create_table(
        "tariff_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("effective_from", sa.Date, nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "tariff_rates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("tariff_versions.id"), nullable=False),
        sa.Column("service", sa.String(10), nullable=False),
        sa.Column("zone", sa.String(30), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("weight_g", sa.Integer, nullable=False),
        sa.Column("price_vnd", sa.Integer, nullable=False),
        sa.UniqueConstraint("version_id", "service", "zone", "kind", "weight_g", name="uq_tariff_rates_line"),
    )
    op.create_table(
        "citizen_price_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("effective_from", sa.Date, nullable=False, unique=True),
        sa.Column("price_vnd", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade():
    for table in ("citizen_price_policies", "tariff_rates", "tariff_versions", "shipments"):
        op.drop_table(table)
    for table in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)

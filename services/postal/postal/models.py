"""Postal's tables: shipments, the operator tariff and the citizen price policy (both versioned by date),
plus the kit's outbox, inbox and idempotency keys."""
import sqlalchemy as sa

from servicekit.tables import UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dossier_code", sa.String(40), nullable=False, unique=True),
    # UPU S10 form; it is also the order number the operator receives, so a resent order is recognised.
    sa.Column("tracking_no", sa.String(13), nullable=False, unique=True),
    sa.Column("agency_code", sa.String(40), nullable=False, index=True),
    sa.Column("agency_name", sa.Text),
    sa.Column("service", sa.String(10), nullable=False),  # return (the result to the citizen) | collect
    sa.Column("status", sa.String(20), nullable=False),
    # The address as filed: a later change of the citizen's address does not move a shipment under way.
    sa.Column("recipient", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# The operator's price list; the version in force on a day is the latest effective_from on or before it.
tariff_versions = sa.Table(
    "tariff_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),
    sa.Column("effective_from", sa.Date, nullable=False, unique=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

tariff_rates = sa.Table(
    "tariff_rates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("tariff_versions.id"), nullable=False),
    sa.Column("service", sa.String(10), nullable=False),
    sa.Column("zone", sa.String(30), nullable=False),
    # band: price up to weight_g inclusive; step: price per started weight_g beyond the heaviest band.
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("weight_g", sa.Integer, nullable=False),
    sa.Column("price_vnd", sa.Integer, nullable=False),
    sa.UniqueConstraint("version_id", "service", "zone", "kind", "weight_g", name="uq_tariff_rates_line"),
)

# What the citizen pays, set by the province (Hà Tĩnh: 10,000 VND per dossier per direction); the agency
# is billed the difference from the operator's price.
citizen_price_policies = sa.Table(
    "citizen_price_policies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),
    sa.Column("effective_from", sa.Date, nullable=False, unique=True),
    sa.Column("price_vnd", sa.Integer, nullable=False),  # per dossier, per direction
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

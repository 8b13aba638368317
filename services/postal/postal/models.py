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
    # Priced once, at creation: both prices and every version used stay on the row (0002).
    sa.Column("sender", sa.JSON),
    sa.Column("weight_g", sa.Integer),
    sa.Column("zone", sa.String(30)),
    sa.Column("exemption", sa.String(10)),
    sa.Column("fee_transfer", sa.Boolean),
    sa.Column("operator_vnd", sa.Integer),
    sa.Column("citizen_vnd", sa.Integer),
    sa.Column("pricing", sa.JSON),  # the quote's breakdown, with tariff, policy and zoning versions
    sa.Column("pricing_error", sa.Text),  # why the shipment could not be priced (an address not on the map)
    # The dossier's fee rule from dossier.result_ready, and the payment that releases a fee-after dispatch.
    sa.Column("fee_mode", sa.String(10)),
    sa.Column("fee_vnd", sa.Integer),
    sa.Column("fee_paid_at", UTCDateTime),
    sa.Column("last_seq", sa.Integer),  # the last processing event applied (its `seq`)
    sa.Column("cod_amount_vnd", sa.Integer),
    sa.Column("status_at", UTCDateTime),  # when the current status happened (the carrier's `at` for its reports)
    sa.Column("dispatched_at", UTCDateTime, index=True),
    sa.Column("closed_at", UTCDateTime),  # delivered, returned to sender or cancelled
)

# Every state a shipment went through: postal's own steps and each carrier report, applied or not.
# A carrier report's event_id is unique, so a report sent twice is recognised; one for an unknown
# tracking number is kept too (shipment_id null), so the operator's mistakes can be shown to it.
tracking_events = sa.Table(
    "tracking_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.String(100), unique=True),  # the carrier's; null for postal's own steps
    sa.Column("tracking_no", sa.String(40), nullable=False, index=True),
    sa.Column("shipment_id", sa.Integer, sa.ForeignKey("shipments.id")),
    sa.Column("source", sa.String(10), nullable=False),  # postal | carrier
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("note", sa.Text),
    # applied | stale (older than the shipment's state) | after_close | unknown_tracking_no
    sa.Column("outcome", sa.String(30), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
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
    sa.Column("effective_to", sa.Date),  # last day in force; null while open-ended (0002)
    sa.Column("fee_transfer_vnd", sa.Integer),  # the postman collects the procedure fee; null: not offered
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
    sa.Column("effective_to", sa.Date),  # (0002)
)

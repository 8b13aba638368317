"""Intake's tables: the procedure catalogue, dossiers as filed with their timeline and what other services
report of them (payment requests, shipments), plus the kit's tables."""
import sqlalchemy as sa

from servicekit.tables import BigId, UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

agencies = sa.Table(
    "agencies",
    metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("province", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

procedures = sa.Table(
    "procedures",
    metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # Folded to lower-case ASCII (name, code, agency name): "dang ky khai sinh" finds "Đăng ký khai sinh"
    # with a plain LIKE on both backends.
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("agency_code", sa.String(40), sa.ForeignKey("agencies.code"), nullable=False, index=True),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("processing_days", sa.Integer, nullable=False),
    sa.Column("fee_vnd", sa.Integer, nullable=False),
    sa.Column("fee_mode", sa.String(10), nullable=False),
    sa.Column("documents", sa.JSON, nullable=False),  # [{code, name, required}], read whole, never queried
    sa.Column("delivery_methods", sa.JSON, nullable=False),
    sa.Column("result_is_paper", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),
    sa.Column("procedure_code", sa.String(40), nullable=False),
    sa.Column("procedure_name", sa.Text, nullable=False),  # as filed: a later catalogue rename changes nothing here
    sa.Column("agency_code", sa.String(40), nullable=False, index=True),
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
    sa.Column("access_token_hash", sa.String(64), nullable=False),  # sha256 hex; the token itself is never stored
    sa.Column("fee_procedure_vnd", sa.Integer, nullable=False),
    sa.Column("fee_postal_vnd", sa.Integer, nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Circular 01/2018 art. 19: the dossier code's last part counts per receiving unit per day. One row per
# (agency, day), bumped by an upsert inside the filing transaction, so concurrent filings queue on the row.
dossier_sequences = sa.Table(
    "dossier_sequences",
    metadata,
    sa.Column("agency_code", sa.String(40), primary_key=True),
    sa.Column("day", sa.String(6), primary_key=True),  # YYMMDD in Asia/Ho_Chi_Minh
    sa.Column("last_number", sa.Integer, nullable=False),
)

dossier_timeline = sa.Table(
    "dossier_timeline",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("note", sa.Text),
)

# The citizen's read model of payment: one row per payment order payment.requested.v1 announces, keyed by
# the order's reference (later payment.* events name it). The view shows the dossier's latest order.
dossier_payments = sa.Table(
    "dossier_payments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False, index=True),
    sa.Column("reference", sa.String(40), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("amount_vnd", sa.Integer, nullable=False),
    sa.Column("qr_payload", sa.Text, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# The citizen's read model of postal shipments, keyed by tracking number (later shipment.* events name it).
# `service` tells the return of the result (shown as the view's delivery) from a collection of the dossier.
dossier_shipments = sa.Table(
    "dossier_shipments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False, index=True),
    sa.Column("tracking_no", sa.String(40), nullable=False, unique=True),
    sa.Column("service", sa.String(20), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Misses of "find my dossier by code and ID number", per client IP, in a fixed window from the first miss.
# In the database, not in process memory, so the limit holds across gunicorn workers and hosts.
lookup_limits = sa.Table(
    "lookup_limits",
    metadata,
    sa.Column("client_ip", sa.String(64), primary_key=True),
    sa.Column("window_started_at", UTCDateTime, nullable=False),
    sa.Column("misses", sa.Integer, nullable=False),
)

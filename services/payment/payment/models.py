"""Payment's tables: one payment order per dossier, plus the kit's outbox, inbox and idempotency keys."""
import sqlalchemy as sa

from servicekit.tables import UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

payment_orders = sa.Table(
    "payment_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dossier_code", sa.String(40), nullable=False, unique=True),
    # What the bank reports back in its callback; printed in the QR (62.05) and the transfer purpose.
    sa.Column("reference", sa.String(25), nullable=False, unique=True),
    sa.Column("agency_code", sa.String(40), nullable=False, index=True),
    sa.Column("procedure_code", sa.String(40), nullable=False),
    sa.Column("amount_vnd", sa.BigInteger, nullable=False),
    sa.Column("fee_mode", sa.String(10), nullable=False),  # before | after | none, as the procedure says
    sa.Column("status", sa.String(20), nullable=False),  # not_required | pending | deferred (later: paid, ...)
    sa.Column("qr_payload", sa.Text),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

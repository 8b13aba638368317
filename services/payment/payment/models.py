"""Payment's tables: one payment order per dossier, its history, the bank's callbacks, reconciliation flags
and refunds, plus the kit's outbox, inbox and idempotency keys."""
import sqlalchemy as sa

from servicekit.tables import UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

# not_required | deferred (fee after processing, until dossier.result_ready) | pending -> paid | expired |
# cancelled, paid -> refunded.
STATUSES = ("not_required", "deferred", "pending", "paid", "expired", "cancelled", "refunded")

payment_orders = sa.Table(
    "payment_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dossier_code", sa.String(40), nullable=False, unique=True),
    # What the bank reports back in its callback; printed in the QR (62.05) and the transfer purpose.
    sa.Column("reference", sa.String(25), nullable=False, unique=True),
    sa.Column("agency_code", sa.String(40), nullable=False, index=True),
    sa.Column("procedure_code", sa.String(40), nullable=False),
    # Whole VND, fixed at creation: a database trigger refuses any UPDATE that changes it.
    sa.Column("amount_vnd", sa.BigInteger, nullable=False),
    sa.Column("fee_mode", sa.String(10), nullable=False),  # before | after | none, as the procedure says
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("qr_payload", sa.Text),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("paid_at", UTCDateTime),
    sa.Column("bank_txn_id", sa.String(64)),
    sa.Column("closed_at", UTCDateTime),  # expired, cancelled or refunded
    # Last time the expiry or reconciliation job asked the bank about this order.
    sa.Column("checked_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
sa.Index("ix_payment_orders_status_created_at", payment_orders.c.status, payment_orders.c.created_at)

# One row per change of an order's status, with what caused it (an event, a callback, a job).
order_history = sa.Table(
    "payment_order_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id"), nullable=False, index=True),
    sa.Column("from_status", sa.String(20)),  # null when the order is opened
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("cause", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at", UTCDateTime, nullable=False),
)

# Every bank callback that passed the signature and field checks, once per event_id.
bank_callbacks = sa.Table(
    "bank_callbacks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("reference", sa.String(25), nullable=False, index=True),
    sa.Column("amount_vnd", sa.BigInteger, nullable=False),
    sa.Column("result_code", sa.String(2), nullable=False),
    sa.Column("bank_txn_id", sa.String(64), nullable=False),
    sa.Column("paid_at", UTCDateTime),
    sa.Column("outcome", sa.String(30), nullable=False),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id")),
    sa.Column("received_at", UTCDateTime, nullable=False),
)

# What a person must look at: money that arrived but did not settle an order as it should.
reconciliation_flags = sa.Table(
    "reconciliation_flags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # amount_mismatch | unknown_reference | paid_after_close | second_payment | refund_refused
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("reference", sa.String(25), nullable=False),
    sa.Column("bank_txn_id", sa.String(64), nullable=False),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id")),
    sa.Column("agency_code", sa.String(40), index=True),  # null for an unknown reference
    sa.Column("expected_vnd", sa.BigInteger),
    sa.Column("received_vnd", sa.BigInteger),
    sa.Column("source", sa.String(20), nullable=False),  # callback | bank_query | refund
    sa.Column("detail", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime),
    # The same bank transaction is flagged once, whether the callback or a status query saw it first.
    sa.UniqueConstraint("kind", "bank_txn_id", name="uq_reconciliation_flags_kind_txn"),
)

# A paid order to give back: written with the dossier event, sent to the bank by the refund job.
refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("refund_id", sa.String(40), nullable=False, unique=True),  # the bank's idempotency key
    sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id"), nullable=False, unique=True),
    sa.Column("amount_vnd", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("cause", sa.String(40), nullable=False),  # dossier.refused | dossier.withdrawn | dossier.stopped
    sa.Column("status", sa.String(20), nullable=False),  # requested | completed | refused
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("bank_refund_txn_id", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime),
)

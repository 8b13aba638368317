"""The order's whole life: history, bank callbacks, reconciliation flags, refunds; amounts fixed at creation.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

AMOUNT_FIXED = "payment_orders_amount_fixed"


def upgrade():
    for name, type_ in (("paid_at", UTCDateTime), ("bank_txn_id", sa.String(64)), ("closed_at", UTCDateTime),
                        ("checked_at", UTCDateTime)):
        op.add_column("payment_orders", sa.Column(name, type_))
    op.create_index("ix_payment_orders_status_created_at", "payment_orders", ["status", "created_at"])
    op.create_table(
        "payment_order_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id"), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_payment_order_history_order_id", "payment_order_history", ["order_id"])
    op.create_table(
        "bank_callbacks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("reference", sa.String(25), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
        sa.Column("result_code", sa.String(2), nullable=False),
        sa.Column("bank_txn_id", sa.String(64), nullable=False),
        sa.Column("paid_at", UTCDateTime),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id")),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_bank_callbacks_reference", "bank_callbacks", ["reference"])
    op.create_table(
        "reconciliation_flags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("reference", sa.String(25), nullable=False),
        sa.Column("bank_txn_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id")),
        sa.Column("agency_code", sa.String(40)),
        sa.Column("expected_vnd", sa.BigInteger),
        sa.Column("received_vnd", sa.BigInteger),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime),
        sa.UniqueConstraint("kind", "bank_txn_id", name="uq_reconciliation_flags_kind_txn"),
    )
    op.create_index("ix_reconciliation_flags_agency_code", "reconciliation_flags", ["agency_code"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("refund_id", sa.String(40), nullable=False, unique=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("payment_orders.id"), nullable=False, unique=True),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("bank_refund_txn_id", sa.String(64)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime),
    )
    # An order's amount never changes after creation, whatever code (or person) runs the UPDATE.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {AMOUNT_FIXED}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.amount_vnd IS DISTINCT FROM OLD.amount_vnd THEN
                    RAISE EXCEPTION 'payment_orders.amount_vnd is fixed at creation';
                END IF;
                RETURN NEW;
            END $$""")
        op.execute(f"CREATE TRIGGER {AMOUNT_FIXED} BEFORE UPDATE ON payment_orders "
                   f"FOR EACH ROW EXECUTE FUNCTION {AMOUNT_FIXED}()")
    else:
        op.execute(f"""
            CREATE TRIGGER {AMOUNT_FIXED} BEFORE UPDATE OF amount_vnd ON payment_orders
            WHEN NEW.amount_vnd IS NOT OLD.amount_vnd
            BEGIN SELECT RAISE(ABORT, 'payment_orders.amount_vnd is fixed at creation'); END""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {AMOUNT_FIXED} ON payment_orders")
        op.execute(f"DROP FUNCTION IF EXISTS {AMOUNT_FIXED}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {AMOUNT_FIXED}")
    for table in ("refunds", "reconciliation_flags", "bank_callbacks", "payment_order_history"):
        op.drop_table(table)
    op.drop_index("ix_payment_orders_status_created_at", "payment_orders")
    with op.batch_alter_table("payment_orders") as batch:
        for name in ("checked_at", "closed_at", "bank_txn_id", "paid_at"):
            batch.drop_column(name)

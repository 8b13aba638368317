"""Every read and write of payment's tables, as plain functions taking a connection."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from .models import bank_callbacks, order_history, payment_orders, reconciliation_flags, refunds


def _insert_ignoring_conflict(conn: Connection, table: sa.Table, values: dict) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row went in. The unique key settles any race."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return conn.execute(insert(table).values(**values).on_conflict_do_nothing()).rowcount == 1


# ---- orders ------------------------------------------------------------------------------------
def get_order(conn: Connection, dossier_code: str, agency: str | None = None):
    query = sa.select(payment_orders).where(payment_orders.c.dossier_code == dossier_code)
    if agency is not None:
        query = query.where(payment_orders.c.agency_code == agency)
    return conn.execute(query).first()


def get_order_by_id(conn: Connection, order_id: int):
    return conn.execute(sa.select(payment_orders).where(payment_orders.c.id == order_id)).first()


def get_order_by_reference(conn: Connection, reference: str):
    return conn.execute(sa.select(payment_orders).where(payment_orders.c.reference == reference)).first()


def insert_order(conn: Connection, **values) -> int:
    return conn.execute(payment_orders.insert().values(**values)).inserted_primary_key[0]


def transition(conn: Connection, order_id: int, from_status: str, to_status: str, **values) -> bool:
    """The conditional UPDATE that settles every race: it changes the row only if it is still `from_status`.

    Two callbacks (or a callback and the expiry job) arriving together both run it; on PostgreSQL the
    second waits for the first's row lock and then finds the status changed, on SQLite the write lock
    serialises them: exactly one sees rowcount 1 and publishes.
    """
    result = conn.execute(
        payment_orders.update()
        .where(payment_orders.c.id == order_id, payment_orders.c.status == from_status)
        .values(status=to_status, **values)
    )
    return result.rowcount == 1


def mark_checked(conn: Connection, order_id: int, moment: datetime) -> None:
    conn.execute(payment_orders.update().where(payment_orders.c.id == order_id).values(checked_at=moment))


def due_for_expiry(conn: Connection, moment: datetime, limit: int):
    return conn.execute(
        sa.select(payment_orders)
        .where(payment_orders.c.status == "pending", payment_orders.c.expires_at <= moment)
        .order_by(payment_orders.c.expires_at)
        .limit(limit)
    ).all()


def due_for_reconciliation(conn: Connection, *, youngest: datetime, oldest: datetime, checked_before: datetime,
                           limit: int):
    """Pending orders created between `oldest` and `youngest`, least recently asked about first."""
    checked = payment_orders.c.checked_at
    return conn.execute(
        sa.select(payment_orders)
        .where(payment_orders.c.status == "pending")
        .where(payment_orders.c.created_at <= youngest, payment_orders.c.created_at >= oldest)
        .where(sa.or_(checked.is_(None), checked < checked_before))
        .order_by(checked.is_not(None), checked, payment_orders.c.created_at)
        .limit(limit)
    ).all()


def oldest_pending_created_at(conn: Connection) -> datetime | None:
    return conn.execute(
        sa.select(sa.func.min(payment_orders.c.created_at)).where(payment_orders.c.status == "pending")
    ).scalar()


# ---- history -----------------------------------------------------------------------------------
def add_history(conn: Connection, order_id: int, from_status: str | None, to_status: str, cause: str,
                at: datetime, detail: str | None = None) -> None:
    conn.execute(order_history.insert().values(
        order_id=order_id, from_status=from_status, to_status=to_status, cause=cause, detail=detail, at=at))


def history(conn: Connection, order_id: int):
    return conn.execute(
        sa.select(order_history).where(order_history.c.order_id == order_id).order_by(order_history.c.id)
    ).all()


# ---- callbacks and flags -----------------------------------------------------------------------
def claim_callback(conn: Connection, callback: dict, moment: datetime) -> bool:
    """Record the callback under its event_id; False when that event_id was seen before."""
    return _insert_ignoring_conflict(conn, bank_callbacks, {
        "event_id": callback["event_id"], "reference": callback["reference"], "amount_vnd": callback["amount_vnd"],
        "result_code": callback["result_code"], "bank_txn_id": callback["bank_txn_id"],
        "paid_at": callback.get("paid_at"), "outcome": "received", "received_at": moment,
    })


def set_callback_outcome(conn: Connection, event_id: str, outcome: str, order_id: int | None) -> None:
    conn.execute(bank_callbacks.update().where(bank_callbacks.c.event_id == event_id)
                 .values(outcome=outcome, order_id=order_id))


def add_flag(conn: Connection, **values) -> bool:
    """A reconciliation flag, once per (kind, bank transaction) whichever path saw it first."""
    return _insert_ignoring_conflict(conn, reconciliation_flags, values)


# ---- refunds -----------------------------------------------------------------------------------
def request_refund(conn: Connection, **values) -> bool:
    return _insert_ignoring_conflict(conn, refunds, values)


def refunds_to_send(conn: Connection, limit: int):
    return conn.execute(
        sa.select(refunds, payment_orders.c.reference, payment_orders.c.dossier_code)
        .join(payment_orders, payment_orders.c.id == refunds.c.order_id)
        .where(refunds.c.status == "requested")
        .order_by(refunds.c.id)
        .limit(limit)
    ).all()


def get_refund(conn: Connection, refund_row_id: int):
    return conn.execute(sa.select(refunds).where(refunds.c.id == refund_row_id)).first()


def update_refund(conn: Connection, refund_row_id: int, **values) -> None:
    conn.execute(refunds.update().where(refunds.c.id == refund_row_id).values(**values))


def refund_attempted(conn: Connection, refund_row_id: int, error: str) -> None:
    conn.execute(refunds.update().where(refunds.c.id == refund_row_id)
                 .values(attempts=refunds.c.attempts + 1, last_error=error[:500]))


# ---- the daily report ----------------------------------------------------------------------------
def orders_opened(conn: Connection, agency: str, start: datetime, end: datetime):
    return conn.execute(
        sa.select(payment_orders)
        .where(payment_orders.c.agency_code == agency)
        .where(payment_orders.c.created_at >= start, payment_orders.c.created_at < end)
        .order_by(payment_orders.c.created_at, payment_orders.c.id)
    ).all()


def orders_paid(conn: Connection, agency: str, start: datetime, end: datetime):
    return conn.execute(
        sa.select(payment_orders)
        .where(payment_orders.c.agency_code == agency)
        .where(payment_orders.c.paid_at >= start, payment_orders.c.paid_at < end)
        .order_by(payment_orders.c.paid_at, payment_orders.c.id)
    ).all()


def refunds_completed(conn: Connection, agency: str, start: datetime, end: datetime):
    return conn.execute(
        sa.select(refunds, payment_orders.c.reference, payment_orders.c.dossier_code)
        .join(payment_orders, payment_orders.c.id == refunds.c.order_id)
        .where(payment_orders.c.agency_code == agency, refunds.c.status == "completed")
        .where(refunds.c.completed_at >= start, refunds.c.completed_at < end)
        .order_by(refunds.c.completed_at, refunds.c.id)
    ).all()


def flags_raised(conn: Connection, agency: str, start: datetime, end: datetime, *, with_unknown: bool):
    """The agency's flags; unknown references belong to no agency and are shown to admins only."""
    owner = reconciliation_flags.c.agency_code == agency
    if with_unknown:
        owner = sa.or_(owner, reconciliation_flags.c.agency_code.is_(None))
    return conn.execute(
        sa.select(reconciliation_flags, payment_orders.c.dossier_code)
        .outerjoin(payment_orders, payment_orders.c.id == reconciliation_flags.c.order_id)
        .where(owner)
        .where(reconciliation_flags.c.created_at >= start, reconciliation_flags.c.created_at < end)
        .order_by(reconciliation_flags.c.created_at, reconciliation_flags.c.id)
    ).all()


def pending_count(conn: Connection, agency: str, at: datetime) -> int:
    return conn.execute(
        sa.select(sa.func.count()).select_from(payment_orders)
        .where(payment_orders.c.agency_code == agency, payment_orders.c.status == "pending")
        .where(payment_orders.c.created_at < at)
    ).scalar()

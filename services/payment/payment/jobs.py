"""The worker's periodic jobs: expiry that asks the bank first, reconciliation, refunds, the oldest-pending gauge.

Each job reads what is due, calls the bank outside any transaction, then applies each answer in a
transaction of its own; the conditional UPDATEs in use_cases make a callback arriving meanwhile harmless.
"""
from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from servicekit.db import Database
from servicekit.tables import now

from . import queries, use_cases
from .bank import BankClient, BankRefused, BankUnavailable
from .config import Settings
from .metrics import BANK_QUERIES, OLDEST_PENDING, REFUND_ATTEMPTS

log = logging.getLogger(__name__)


def report_oldest_pending(db: Database) -> float:
    with db.transaction(readonly=True) as conn:
        oldest = queries.oldest_pending_created_at(conn)
    age = max((now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    OLDEST_PENDING.set(age)
    return age


def _ask(bank: BankClient, job: str, reference: str):
    try:
        answer = bank.transaction(reference)
    except BankUnavailable as exc:
        BANK_QUERIES.labels(job, "unreachable").inc()
        log.warning("bank unreachable; trying again next run", extra={
            "event": "payment.bank_unreachable", "job": job, "reference": reference, "error": str(exc)})
        return None
    BANK_QUERIES.labels(job, answer.status).inc()
    return answer


def expire_due_orders(db: Database, bank: BankClient, settings: Settings) -> Counter:
    """Orders past expires_at: paid at the bank means paid here; pending there means wait; else expire."""
    counts: Counter = Counter()
    with db.transaction(readonly=True) as conn:
        due = queries.due_for_expiry(conn, now(), settings.job_batch)
    for order in due:
        answer = _ask(bank, "expiry", order.reference)
        if answer is None:
            counts["unreachable"] += 1
            break  # the bank is down: nothing expires until it answers (the rest wait for the next run)
        with db.transaction() as conn:
            current = queries.get_order_by_id(conn, order.id)
            queries.mark_checked(conn, order.id, now())
            if current.status != "pending":
                counts["settled_meanwhile"] += 1
            elif answer.status == "paid":
                outcome = use_cases.settle_paid(conn, current, amount_vnd=answer.amount_vnd,
                                                bank_txn_id=answer.bank_txn_id, paid_at=answer.paid_at,
                                                cause="bank_query_at_expiry", source="bank_query")
                if outcome == "amount_mismatch":
                    # Money arrived but not the fee: flagged for a person; the order itself has run out.
                    use_cases.expire(conn, current, detail=f"bank holds {answer.amount_vnd} VND (flagged)")
                counts[outcome] += 1
            elif answer.status == "pending":
                counts["bank_pending"] += 1  # outcome unknown at the bank: never expire money in flight
            else:
                use_cases.expire(conn, current, detail=f"bank status: {answer.status}")
                counts["expired"] += 1
    report_oldest_pending(db)
    if due:
        log.info("expiry run", extra={"event": "payment.expiry_run", **counts})
    return counts


def reconcile(db: Database, bank: BankClient, settings: Settings) -> Counter:
    """Pending orders aged between the minimum (30 min) and maximum (3 days) age are asked about and settled."""
    counts: Counter = Counter()
    moment = now()
    with db.transaction(readonly=True) as conn:
        due = queries.due_for_reconciliation(
            conn,
            youngest=moment - timedelta(minutes=settings.reconcile_min_age_minutes),
            oldest=moment - timedelta(hours=settings.reconcile_max_age_hours),
            checked_before=moment - timedelta(seconds=settings.reconcile_every_seconds / 2),
            limit=settings.job_batch,
        )
    for order in due:
        answer = _ask(bank, "reconciliation", order.reference)
        if answer is None:
            counts["unreachable"] += 1
            break
        with db.transaction() as conn:
            queries.mark_checked(conn, order.id, now())
            current = queries.get_order_by_id(conn, order.id)
            if answer.status == "paid" and current.status == "pending":
                counts[use_cases.settle_paid(conn, current, amount_vnd=answer.amount_vnd,
                                             bank_txn_id=answer.bank_txn_id, paid_at=answer.paid_at,
                                             cause="reconciliation", source="bank_query")] += 1
            else:
                counts[f"bank_{answer.status}"] += 1
    report_oldest_pending(db)
    if due:
        log.info("reconciliation run", extra={"event": "payment.reconciliation_run", **counts})
    return counts


def send_refunds(db: Database, bank: BankClient, settings: Settings) -> Counter:
    """Requested refunds go to the bank (idempotent by refund_id); done ones become payment.refunded."""
    counts: Counter = Counter()
    with db.transaction(readonly=True) as conn:
        due = queries.refunds_to_send(conn, settings.job_batch)
    for refund in due:
        try:
            answer = bank.refund(refund_id=refund.refund_id, reference=refund.reference,
                                 amount_vnd=refund.amount_vnd, reason=refund.reason)
        except BankUnavailable as exc:
            REFUND_ATTEMPTS.labels("unreachable").inc()
            with db.transaction() as conn:
                queries.refund_attempted(conn, refund.id, str(exc))
            counts["unreachable"] += 1
            break
        except BankRefused as exc:
            REFUND_ATTEMPTS.labels("refused").inc()
            with db.transaction() as conn:
                use_cases.refund_refused(conn, queries.get_refund(conn, refund.id), str(exc))
            counts["refused"] += 1
            continue
        REFUND_ATTEMPTS.labels("completed").inc()
        with db.transaction() as conn:
            txn = answer.get("bank_refund_txn_id")
            counts[use_cases.complete_refund(conn, queries.get_refund(conn, refund.id),
                                             bank_refund_txn_id=txn if isinstance(txn, str) else None)] += 1
    return counts

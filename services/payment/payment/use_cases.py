"""Payment's rules: functions that take a connection, never commit, and record events in the outbox.

An order's life: not_required | deferred | pending, then pending -> paid | expired | cancelled and
paid -> refunded (deferred -> pending when the result is ready, deferred -> cancelled when the dossier
closes first). Every change is one conditional UPDATE (`... WHERE status = <from>`), one history row with
its cause, and one event, all in the caller's transaction.
"""
from __future__ import annotations

import base64
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection

from servicekit.db import after_commit
from servicekit.events import rfc3339
from servicekit.outbox import record_event
from servicekit.tables import now

from . import queries, vietqr
from .config import Settings
from .events import PUBLISHES
from .metrics import CALLBACKS, FLAGS, PAYMENT_AMOUNT, PAYMENTS
from .models import outbox

log = logging.getLogger(__name__)

REFERENCE_PREFIX = "MC"
SUCCESS = "00"
# What the citizen reads in the cancellation or refund reason (Vietnamese, with diacritics).
CLOSING_LABELS = {
    "dossier.refused.v1": "Hồ sơ không được tiếp nhận",
    "dossier.withdrawn.v1": "Hồ sơ đã được rút",
    "dossier.stopped.v1": "Hồ sơ bị dừng xử lý",
}


def new_reference() -> str:
    """'MC' + 10 base32 characters (50 random bits): short enough to fit the transfer purpose beside
    "Le phi ho so", upper-case ASCII so banks pass it through unchanged. A collision hits the unique
    constraint; the transaction rolls back and the consumer's retry draws a new one."""
    return REFERENCE_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10]


def refund_id_for(reference: str) -> str:
    """One refund per order, named after it: the bank recognises a resend even if our row were lost."""
    return "RF-" + reference


def order_status(fee_vnd: int, fee_mode: str) -> str:
    """not_required: nothing to pay; pending: pay before processing; deferred: pay when the result is ready."""
    if fee_vnd == 0 or fee_mode == "none":
        return "not_required"
    return "pending" if fee_mode == "before" else "deferred"


def build_qr_payload(settings: Settings, *, dossier_code: str, reference: str, amount_vnd: int) -> str:
    """A dynamic VietQR to the collection account. Purpose (62.08) carries the reference because banks copy
    it into the transfer description, the only text a statement is sure to keep; the dossier code itself is
    25 characters, so it goes in the bill number (62.01) where it fits and cannot share the purpose."""
    bill_number = dossier_code if len(dossier_code) <= vietqr.ADDITIONAL_MAX and dossier_code.isascii() else None
    return vietqr.encode(vietqr.VietQR(
        bin=settings.bank_bin,
        account=settings.bank_account,
        amount_vnd=amount_vnd,
        bill_number=bill_number,
        reference=reference,
        purpose=vietqr.fit_text(f"Lệ phí hồ sơ {reference}"),
    ))


def _count(conn: Connection, status: str, amount_vnd: int | None = None) -> None:
    def bump():
        PAYMENTS.labels(status).inc()
        if amount_vnd:
            PAYMENT_AMOUNT.labels(status).inc(amount_vnd)
    after_commit(conn, bump)


def _publish(conn: Connection, type_: str, order, data: dict) -> None:
    record_event(conn, outbox, PUBLISHES[type_],
                 {"dossier_code": order.dossier_code, "agency_code": order.agency_code,
                  "reference": order.reference, **data},
                 source="payment", subject=order.dossier_code)


def _change(conn: Connection, order, to_status: str, *, cause: str, moment: datetime, detail: str | None = None,
            **values) -> bool:
    """The one way a status changes: conditional UPDATE from the status we read, then the history row."""
    if not queries.transition(conn, order.id, order.status, to_status, updated_at=moment, **values):
        return False
    queries.add_history(conn, order.id, order.status, to_status, cause, moment, detail)
    return True


def _request_payment(conn: Connection, order, *, qr_payload: str, expires_at: datetime) -> None:
    _publish(conn, "payment.requested.v1", order, {
        "amount_vnd": order.amount_vnd, "qr_payload": qr_payload, "expires_at": rfc3339(expires_at),
        "fee_mode": order.fee_mode})


# ---- opening and activating orders --------------------------------------------------------------
def _open(conn: Connection, *, code: str, agency: str, procedure: str, fee_vnd: int, fee_mode: str, status: str,
          cause: str, settings: Settings) -> int:
    amount = 0 if status == "not_required" else fee_vnd
    moment = now()
    reference = new_reference()
    qr_payload = expires_at = None
    if status == "pending":
        qr_payload = build_qr_payload(settings, dossier_code=code, reference=reference, amount_vnd=amount)
        expires_at = moment + timedelta(hours=settings.order_ttl_hours)
    order_id = queries.insert_order(
        conn, dossier_code=code, reference=reference, agency_code=agency, procedure_code=procedure,
        amount_vnd=amount, fee_mode=fee_mode, status=status, qr_payload=qr_payload, expires_at=expires_at,
        created_at=moment, updated_at=moment,
    )
    queries.add_history(conn, order_id, None, status, cause, moment)
    if status == "pending":
        _request_payment(conn, queries.get_order_by_id(conn, order_id), qr_payload=qr_payload, expires_at=expires_at)
    _count(conn, status)
    log.info("payment order opened", extra={
        "event": "payment.order_opened", "reference": reference, "status": status, "amount_vnd": amount})
    return order_id


def open_payment_order(conn: Connection, dossier: dict, *, settings: Settings) -> int | None:
    """Every filed dossier gets one order; a fee due before processing also gets a QR and payment.requested."""
    if queries.get_order(conn, dossier["code"]) is not None:
        return None  # the same dossier under another event id (a re-published event): one order
    procedure = dossier["procedure"]
    return _open(conn, code=dossier["code"], agency=dossier["agency"]["code"], procedure=procedure["code"],
                 fee_vnd=procedure["fee_vnd"], fee_mode=procedure["fee_mode"],
                 status=order_status(procedure["fee_vnd"], procedure["fee_mode"]), cause="dossier.submitted",
                 settings=settings)


def activate_deferred_order(conn: Connection, data: dict, *, settings: Settings) -> str:
    """dossier.result_ready with fee_mode after: the deferred order gets its QR, a lifetime and payment.requested."""
    if data["fee_mode"] != "after" or data["fee_vnd"] == 0:
        return "nothing_due"
    order = queries.get_order(conn, data["code"])
    if order is None:
        # dossier.submitted has not reached us (or was lost): the result event carries all an order needs.
        _open(conn, code=data["code"], agency=data["agency_code"], procedure=data["procedure_code"],
              fee_vnd=data["fee_vnd"], fee_mode="after", status="pending", cause="dossier.result_ready",
              settings=settings)
        return "opened"
    if order.status != "deferred":
        return "unchanged"  # already activated (a redelivery), or closed
    if data["fee_vnd"] != order.amount_vnd:
        # The amount is fixed when the order opens (the fee in force at filing); say so, do not change it.
        log.warning("result_ready names another fee than the order; the order's amount stands", extra={
            "event": "payment.fee_differs", "reference": order.reference, "order_vnd": order.amount_vnd,
            "event_vnd": data["fee_vnd"]})
    moment = now()
    qr_payload = build_qr_payload(settings, dossier_code=order.dossier_code, reference=order.reference,
                                  amount_vnd=order.amount_vnd)
    expires_at = moment + timedelta(hours=settings.order_ttl_hours)
    if not _change(conn, order, "pending", cause="dossier.result_ready", moment=moment, qr_payload=qr_payload,
                   expires_at=expires_at):
        return "unchanged"
    _request_payment(conn, order, qr_payload=qr_payload, expires_at=expires_at)
    _count(conn, "pending")
    return "activated"


# ---- paying ------------------------------------------------------------------------------------------
def _flag(conn: Connection, kind: str, *, reference: str, bank_txn_id: str, order, received_vnd: int,
          source: str, detail: str) -> None:
    added = queries.add_flag(
        conn, kind=kind, reference=reference, bank_txn_id=bank_txn_id, order_id=order.id if order else None,
        agency_code=order.agency_code if order else None, expected_vnd=order.amount_vnd if order else None,
        received_vnd=received_vnd, source=source, detail=detail, created_at=now())
    if added:
        after_commit(conn, lambda: FLAGS.labels(kind).inc())
        log.warning("payment flagged for reconciliation", extra={
            "event": "payment.flagged", "kind": kind, "reference": reference, "bank_txn_id": bank_txn_id})


def settle_paid(conn: Connection, order, *, amount_vnd: int, bank_txn_id: str, paid_at: datetime | None,
                cause: str, source: str) -> str:
    """The bank says this order was paid: paid here when the amount is exactly the order's, else flagged."""
    if amount_vnd != order.amount_vnd:
        _flag(conn, "amount_mismatch", reference=order.reference, bank_txn_id=bank_txn_id, order=order,
              received_vnd=amount_vnd, source=source,
              detail=f"paid {amount_vnd} VND, order is {order.amount_vnd} VND; not marked paid")
        return "amount_mismatch"
    moment = now()
    paid_at = paid_at or moment
    if order.status == "pending" and _change(conn, order, "paid", cause=cause, moment=moment, paid_at=paid_at,
                                             bank_txn_id=bank_txn_id, detail=f"bank_txn_id={bank_txn_id}"):
        _publish(conn, "payment.completed.v1", order, {
            "amount_vnd": order.amount_vnd, "paid_at": rfc3339(paid_at), "bank_txn_id": bank_txn_id,
            "method": "online"})
        _count(conn, "paid", order.amount_vnd)
        log.info("payment order paid", extra={
            "event": "payment.paid", "reference": order.reference, "bank_txn_id": bank_txn_id, "cause": cause})
        return "paid"
    current = queries.get_order_by_id(conn, order.id)
    if current.status in ("paid", "refunded") and current.bank_txn_id == bank_txn_id:
        return "already_paid"  # the same payment seen again (a second callback, or a query after the callback)
    if current.status in ("paid", "refunded"):
        kind, detail = "second_payment", f"order already paid by {current.bank_txn_id}"
    else:
        kind, detail = "paid_after_close", f"order is {current.status}; the money must be returned or applied"
    _flag(conn, kind, reference=order.reference, bank_txn_id=bank_txn_id, order=current, received_vnd=amount_vnd,
          source=source, detail=detail)
    return kind


def apply_callback(conn: Connection, callback: dict) -> str:
    """A signed, well-formed bank callback: recorded once per event_id, then applied to its order."""
    moment = now()
    if not queries.claim_callback(conn, callback, moment):
        after_commit(conn, lambda: CALLBACKS.labels("duplicate").inc())
        return "duplicate"
    order = queries.get_order_by_reference(conn, callback["reference"])
    if order is None:
        _flag(conn, "unknown_reference", reference=callback["reference"], bank_txn_id=callback["bank_txn_id"],
              order=None, received_vnd=callback["amount_vnd"], source="callback",
              detail=f"result_code {callback['result_code']}; no order has this reference")
        outcome = "unknown_reference"
    elif callback["result_code"] != SUCCESS:
        outcome = _payment_failed(conn, order, callback, moment)
    else:
        outcome = settle_paid(conn, order, amount_vnd=callback["amount_vnd"], bank_txn_id=callback["bank_txn_id"],
                              paid_at=callback.get("paid_at"), cause="bank_callback", source="callback")
    queries.set_callback_outcome(conn, callback["event_id"], outcome, order.id if order else None)
    after_commit(conn, lambda: CALLBACKS.labels(outcome).inc())
    return outcome


def _payment_failed(conn: Connection, order, callback: dict, moment: datetime) -> str:
    """A failed attempt: the order stays pending (the citizen may try again) and payment.failed says so."""
    if order.status != "pending":
        return "failed_ignored"  # an attempt against a closed or settled order changes nothing
    code = callback["result_code"]
    queries.add_history(conn, order.id, "pending", "pending", "bank_failed",
                        moment, f"result_code={code} bank_txn_id={callback['bank_txn_id']}")
    _publish(conn, "payment.failed.v1", order, {
        "result_code": code, "reason": f"Ngân hàng báo giao dịch không thành công (mã {code})",
        "at": rfc3339(callback.get("paid_at") or moment)})
    _count(conn, "failed")
    return "failed"


# ---- expiry and reconciliation (the jobs call these after asking the bank) --------------------------
def expire(conn: Connection, order, *, detail: str) -> bool:
    moment = now()
    if not _change(conn, order, "expired", cause="expiry", moment=moment, detail=detail, closed_at=moment):
        return False
    _publish(conn, "payment.expired.v1", order, {"amount_vnd": order.amount_vnd, "expired_at": rfc3339(moment)})
    _count(conn, "expired")
    return True


# ---- closing: cancel a pending order, refund a paid one ------------------------------------------
def close_for_dossier(conn: Connection, type_: str, data: dict) -> str:
    """dossier.refused / withdrawn / stopped: cancel what is unpaid, queue a refund of what is paid."""
    order = queries.get_order(conn, data["code"])
    if order is None:
        return "no_order"
    label = CLOSING_LABELS[type_]
    reason = f"{label}: {data['reason']}" if data.get("reason") else label
    cause = type_.rsplit(".", 1)[0]
    moment = now()
    if order.status in ("pending", "deferred"):
        if not _change(conn, order, "cancelled", cause=cause, moment=moment, detail=reason, closed_at=moment):
            return "unchanged"
        _publish(conn, "payment.cancelled.v1", order, {"reason": reason, "cancelled_at": rfc3339(moment)})
        _count(conn, "cancelled")
        return "cancelled"
    if order.status == "paid":
        # The bank is called by the refund job, outside any transaction; the row is the promise to do it.
        queries.request_refund(conn, refund_id=refund_id_for(order.reference), order_id=order.id,
                               amount_vnd=order.amount_vnd, reason=reason, cause=cause, status="requested",
                               attempts=0, created_at=moment)
        return "refund_requested"
    return "unchanged"


def complete_refund(conn: Connection, refund, *, bank_refund_txn_id: str | None) -> str:
    """The bank gave the money back: the order becomes refunded and payment.refunded goes out."""
    moment = now()
    queries.update_refund(conn, refund.id, status="completed", completed_at=moment, attempts=refund.attempts + 1,
                          last_error=None, bank_refund_txn_id=bank_refund_txn_id)
    order = queries.get_order_by_id(conn, refund.order_id)
    if order.status != "paid" or not _change(conn, order, "refunded", cause=refund.cause, moment=moment,
                                             detail=f"{refund.refund_id}: {refund.reason}", closed_at=moment):
        return "unchanged"
    _publish(conn, "payment.refunded.v1", order, {
        "amount_vnd": refund.amount_vnd, "refund_id": refund.refund_id, "reason": refund.reason,
        "refunded_at": rfc3339(moment)})
    _count(conn, "refunded", refund.amount_vnd)
    return "refunded"


def refund_refused(conn: Connection, refund, error: str) -> None:
    """The bank said no: the order stays paid, the refund is marked refused and flagged for a person."""
    queries.update_refund(conn, refund.id, status="refused", attempts=refund.attempts + 1, last_error=error[:500])
    order = queries.get_order_by_id(conn, refund.order_id)
    _flag(conn, "refund_refused", reference=order.reference, bank_txn_id=order.bank_txn_id or refund.refund_id,
          order=order, received_vnd=refund.amount_vnd, source="refund", detail=error[:500])

"""Payment's rules: functions that take a connection, never commit, and record events in the outbox."""
from __future__ import annotations

import base64
import logging
import secrets
from datetime import timedelta

from sqlalchemy import Connection

from servicekit.db import after_commit
from servicekit.events import rfc3339
from servicekit.outbox import record_event
from servicekit.tables import now

from . import queries, vietqr
from .config import Settings
from .events import PUBLISHES
from .metrics import PAYMENTS
from .models import outbox

log = logging.getLogger(__name__)

REFERENCE_PREFIX = "MC"


def new_reference() -> str:
    """'MC' + 10 base32 characters (50 random bits): short enough to fit the transfer purpose beside
    "Le phi ho so", upper-case ASCII so banks pass it through unchanged. A collision hits the unique
    constraint; the transaction rolls back and the consumer's retry draws a new one."""
    return REFERENCE_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10]


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


def open_payment_order(conn: Connection, dossier: dict, *, settings: Settings) -> int | None:
    """Every filed dossier gets one order; a fee due before processing also gets a QR and payment.requested."""
    if queries.get_order(conn, dossier["code"]) is not None:
        return None  # the same dossier under another event id (a re-published event): one order
    procedure = dossier["procedure"]
    status = order_status(procedure["fee_vnd"], procedure["fee_mode"])
    amount = 0 if status == "not_required" else procedure["fee_vnd"]
    moment = now()
    reference = new_reference()
    qr_payload = expires_at = None
    if status == "pending":
        qr_payload = build_qr_payload(settings, dossier_code=dossier["code"], reference=reference, amount_vnd=amount)
        expires_at = moment + timedelta(hours=settings.order_ttl_hours)
    order_id = queries.insert_order(
        conn,
        dossier_code=dossier["code"],
        reference=reference,
        agency_code=dossier["agency"]["code"],
        procedure_code=procedure["code"],
        amount_vnd=amount,
        fee_mode=procedure["fee_mode"],
        status=status,
        qr_payload=qr_payload,
        expires_at=expires_at,
        created_at=moment,
        updated_at=moment,
    )
    if status == "pending":
        record_event(
            conn, outbox, PUBLISHES["payment.requested.v1"],
            {"dossier_code": dossier["code"], "reference": reference, "amount_vnd": amount,
             "qr_payload": qr_payload, "expires_at": rfc3339(expires_at)},
            source="payment", subject=dossier["code"],
        )
    after_commit(conn, lambda: PAYMENTS.labels(status).inc())
    log.info("payment order opened", extra={
        "event": "payment.order_opened", "reference": reference, "status": status, "amount_vnd": amount})
    return order_id

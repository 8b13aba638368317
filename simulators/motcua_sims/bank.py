"""Bank simulator: pays a VietQR payload, sends the signed payment callback, answers status queries, refunds.

Scripted so tests can drive every path of the payment service: success, failed, pending then paid (resolve),
a wrong amount, a callback lost, sent twice, sent twice at the same moment, or sent after a delay.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass

from flask import Flask, request

from motcua_sims import common

SERVICE = "sim_bank"
DEFAULT_SECRET = "dev-bank-webhook-secret"
NAPAS_GUID = "A000000727"
OUTCOMES = {"success": ("paid", "00"), "failed": ("failed", "99"), "pending": ("pending", None)}
# Scripted callback behaviour: "skip" loses it (reconciliation must find the payment), "twice" duplicates it,
# "concurrent" sends the same callback twice at the same moment (two threads).
CALLBACK_MODES = ("send", "skip", "twice", "concurrent")
MAX_DELAY_S = 600
SIGNATURE_TOLERANCE_S = 300

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_txn_id TEXT NOT NULL UNIQUE,
    reference TEXT NOT NULL,
    amount_vnd INTEGER NOT NULL,
    order_amount_vnd INTEGER,
    bin TEXT NOT NULL,
    account TEXT NOT NULL,
    status TEXT NOT NULL,
    result_code TEXT,
    created_at TEXT NOT NULL,
    paid_at TEXT,
    callback_delivered INTEGER
);
CREATE INDEX IF NOT EXISTS transactions_reference ON transactions (reference);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    refund_id TEXT NOT NULL UNIQUE,
    reference TEXT NOT NULL,
    amount_vnd INTEGER NOT NULL,
    reason TEXT NOT NULL,
    bank_refund_txn_id TEXT NOT NULL UNIQUE,
    body_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


class InvalidQR(ValueError):
    """The payload is not a VietQR string this bank can pay."""


@dataclass
class Settings:
    db_path: str = "var/data/sim_bank.db"
    callback_url: str = "http://127.0.0.1:8003/v1/gateway/callbacks"
    webhook_secret: str = DEFAULT_SECRET
    callback_delay_s: float = 0.0  # every callback waits this long (a request's callback_delay_s overrides it)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            db_path=os.environ.get("BANK_SIM_DB", cls.db_path),
            callback_url=os.environ.get("BANK_SIM_CALLBACK_URL", cls.callback_url),
            webhook_secret=os.environ.get("BANK_WEBHOOK_SECRET", DEFAULT_SECRET),
            callback_delay_s=common.env_float("BANK_SIM_CALLBACK_DELAY_S", 0.0),
        )


def signature_valid(header: str | None, body: bytes, secret: str, now: float | None = None) -> bool:
    """The payment service signs refund requests as the bank signs callbacks (CONTRACT.md, "Signatures")."""
    if not header:
        return False
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
        given = parts["v1"].encode("ascii")
    except (KeyError, ValueError, UnicodeEncodeError):
        return False
    if abs((time.time() if now is None else now) - t) > SIGNATURE_TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, given)


# --- VietQR (NAPAS, EMVCo merchant-presented mode; DOMAIN.md "VietQR payment payload") ------------------------

def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def parse_tlv(text: str) -> dict[str, str]:
    """ID(2) LEN(2) VALUE fields, in order; raises InvalidQR on a truncated or malformed field."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        tag, length = text[pos:pos + 2], text[pos + 2:pos + 4]
        if not (tag.isdigit() and length.isdigit() and len(tag) == len(length) == 2):
            raise InvalidQR(f"malformed field at position {pos}")
        end = pos + 4 + int(length)
        if end > len(text):
            raise InvalidQR(f"field {tag} runs past the end of the payload")
        if tag in fields:
            raise InvalidQR(f"field {tag} appears twice")
        fields[tag] = text[pos + 4:end]
        pos = end
    return fields


def parse_vietqr(payload: str) -> dict:
    """The fields a bank needs from a VietQR string, after checking its CRC and mandatory tags."""
    if len(payload) < 12 or payload[-8:-4] != "6304":
        raise InvalidQR("the payload must end with the CRC field 63 (6304 and four hex digits)")
    expected = f"{crc16_ccitt_false(payload[:-4].encode()):04X}"
    if payload[-4:].upper() != expected:
        raise InvalidQR(f"CRC mismatch: payload says {payload[-4:]}, computed {expected}")
    fields = parse_tlv(payload)
    if fields.get("00") != "01":
        raise InvalidQR("field 00 (payload format) must be 01")
    if fields.get("01") not in ("11", "12"):
        raise InvalidQR("field 01 (initiation) must be 11 (static) or 12 (dynamic)")
    merchant = parse_tlv(fields.get("38", ""))
    if merchant.get("00") != NAPAS_GUID:
        raise InvalidQR(f"field 38 must carry the NAPAS GUID {NAPAS_GUID}")
    beneficiary = parse_tlv(merchant.get("01", ""))
    bin_, account = beneficiary.get("00", ""), beneficiary.get("01", "")
    if not re.fullmatch(r"\d{6}", bin_):
        raise InvalidQR("field 38.01.00 (bank BIN) must be 6 digits")
    if not 0 < len(account) <= 19:
        raise InvalidQR("field 38.01.01 (account) must be 1 to 19 characters")
    if fields.get("53") != "704":
        raise InvalidQR("field 53 (currency) must be 704 (VND)")
    if fields.get("58") != "VN":
        raise InvalidQR("field 58 (country) must be VN")
    amount = fields.get("54")
    if amount is not None and not re.fullmatch(r"\d{1,13}", amount):
        raise InvalidQR("field 54 (amount) must be whole VND, at most 13 digits")
    additional = parse_tlv(fields.get("62", ""))
    return {
        "dynamic": fields["01"] == "12",
        "bin": bin_,
        "account": account,
        "service": merchant.get("02"),
        "amount_vnd": int(amount) if amount is not None else None,
        "bill_number": additional.get("01"),
        "reference_label": additional.get("05"),
        "purpose": additional.get("08"),
    }


# --- HTTP -------------------------------------------------------------------

def transaction_view(row: dict) -> dict:
    view = {key: row[key] for key in ("bank_txn_id", "reference", "amount_vnd", "order_amount_vnd", "bin",
                                      "account", "status", "result_code", "created_at", "paid_at")}
    delivered = row["callback_delivered"]
    return {**view, "callback_delivered": None if delivered is None else bool(delivered)}


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    log = common.EventLog(SERVICE)
    store = common.Store(settings.db_path, SCHEMA)
    app = common.create_app(SERVICE, log)
    background = common.BackgroundJobs(log, threads=2)

    def get_transaction(row_id: int) -> dict:
        return store.query_one("SELECT * FROM transactions WHERE id = ?", (row_id,))

    def settle(row: dict, mode: str, delay_s: float = 0.0) -> dict:
        """Send the callback for a settled transaction (now, or after `delay_s` in the background)."""
        if mode != "skip" and delay_s > 0:
            background.submit(lambda: send_callback(row, mode), delay_s=delay_s)
            log.info("callback.scheduled", reference=row["reference"], bank_txn_id=row["bank_txn_id"], delay_s=delay_s)
            return {"url": settings.callback_url, "scheduled": True, "delay_s": delay_s, "delivered": None}
        return send_callback(row, mode)

    def send_callback(row: dict, mode: str) -> dict:
        """Send the callback as the bank's gateway would, and record the outcome."""
        if mode == "skip":
            log.info("callback.skipped", reference=row["reference"], bank_txn_id=row["bank_txn_id"])
            return {"url": settings.callback_url, "delivered": False, "skipped": True}
        payment = {
            "event_id": str(uuid.uuid4()),
            "reference": row["reference"],
            "amount_vnd": row["amount_vnd"],
            "result_code": row["result_code"],
            "bank_txn_id": row["bank_txn_id"],
            "paid_at": row["paid_at"],
        }
        if mode == "concurrent":
            # The same callback twice at the same moment, as a gateway retrying on a slow answer does.
            results: list[dict] = []
            start = threading.Barrier(2)

            def post():
                start.wait()
                results.append(common.post_signed(settings.callback_url, payment, settings.webhook_secret))

            threads = [threading.Thread(target=post) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            outcome = {**results[0], "delivered": all(r["delivered"] for r in results), "sent": 2,
                       "status_codes": sorted(r["status_code"] or 0 for r in results)}
        else:
            outcome = common.post_signed(settings.callback_url, payment, settings.webhook_secret, attempts=3,
                                         backoff_s=0.25)
        if mode == "twice":
            again = common.post_signed(settings.callback_url, payment, settings.webhook_secret)
            outcome = {**again, "delivered": outcome["delivered"] and again["delivered"], "sent": 2}
        store.execute("UPDATE transactions SET callback_delivered = ? WHERE id = ?",
                      (int(outcome["delivered"]), row["id"]))
        log.info("callback.sent" if outcome["delivered"] else "callback.undelivered", reference=row["reference"],
                 bank_txn_id=row["bank_txn_id"], result_code=row["result_code"],
                 status_code=outcome["status_code"], error=outcome["error"])
        return {**outcome, "event_id": payment["event_id"]}

    def script_errors(body: dict, outcomes: tuple[str, ...]) -> dict:
        errors = {}
        if body.get("outcome", "success") not in outcomes:
            errors["outcome"] = [f"Must be one of: {', '.join(outcomes)}."]
        if body.get("callback", "send") not in CALLBACK_MODES:
            errors["callback"] = [f"Must be one of: {', '.join(CALLBACK_MODES)}."]
        delay = body.get("callback_delay_s", settings.callback_delay_s)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= MAX_DELAY_S:
            errors["callback_delay_s"] = [f"Must be a number of seconds from 0 to {MAX_DELAY_S}."]
        return errors

    def delay_of(body: dict) -> float:
        return float(body.get("callback_delay_s", settings.callback_delay_s))

    @app.post("/v1/pay")
    def pay():
        body = common.json_body()
        if not isinstance(body, dict):
            return body
        errors = script_errors(body, tuple(OUTCOMES))
        if errors:
            return common.error(422, "Invalid request", errors)
        outcome, mode = body.get("outcome", "success"), body.get("callback", "send")
        payload = body.get("qr_payload")
        if not isinstance(payload, str) or not payload:
            return common.error(422, "Invalid request", {"qr_payload": ["Required: a VietQR string."]})
        try:
            qr = parse_vietqr(payload)
        except InvalidQR as exc:
            return common.error(422, "Invalid VietQR payload", {"qr_payload": [str(exc)]})
        reference = qr["reference_label"] or qr["bill_number"]
        if not reference:
            return common.error(422, "Invalid VietQR payload", {"qr_payload": [
                "No payment reference: tag 62 carries neither 05 (reference label) nor 01 (bill number)."]})
        amount = body.get("amount_vnd", qr["amount_vnd"])
        if amount is None:
            return common.error(422, "Invalid request", {"amount_vnd": ["Required: the QR is static (no amount)."]})
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return common.error(422, "Invalid request", {"amount_vnd": ["Must be a positive whole number of VND."]})

        status, result_code = OUTCOMES[outcome]
        now = common.utc_now()
        bank_txn_id = "SIM" + uuid.uuid4().hex[:16].upper()
        row_id = store.execute(
            "INSERT INTO transactions (bank_txn_id, reference, amount_vnd, order_amount_vnd, bin, account,"
            " status, result_code, created_at, paid_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (bank_txn_id, reference, amount, qr["amount_vnd"], qr["bin"], qr["account"], status, result_code,
             now, None if status == "pending" else now),
        ).lastrowid
        row = get_transaction(row_id)
        log.info("payment.recorded", reference=reference, bank_txn_id=bank_txn_id, status=status, amount_vnd=amount)
        callback = None if status == "pending" else settle(row, mode, delay_of(body))
        return {"transaction": transaction_view(get_transaction(row_id)), "callback": callback}

    @app.post("/v1/transactions/<reference>/resolve")
    def resolve(reference: str):
        """Settles the latest pending payment of a reference: the "pending, then paid" script."""
        body = common.json_body()
        if not isinstance(body, dict):
            return body
        errors = script_errors(body, ("success", "failed"))
        if errors:
            return common.error(422, "Invalid request", errors)
        outcome, mode = body.get("outcome", "success"), body.get("callback", "send")
        status, result_code = OUTCOMES[outcome]
        now = common.utc_now()
        with store.transaction() as conn:
            found = conn.execute("SELECT id FROM transactions WHERE reference = ? AND status = 'pending'"
                                 " ORDER BY id DESC LIMIT 1", (reference,)).fetchone()
            if found:
                conn.execute("UPDATE transactions SET status = ?, result_code = ?, paid_at = ? WHERE id = ?",
                             (status, result_code, now, found["id"]))
        if not found:
            return common.error(404, f"No pending transaction for reference {reference}")
        row = get_transaction(found["id"])
        log.info("payment.resolved", reference=reference, bank_txn_id=row["bank_txn_id"], status=status)
        callback = settle(row, mode, delay_of(body))
        return {"transaction": transaction_view(get_transaction(row["id"])), "callback": callback}

    @app.get("/v1/transactions/<reference>")
    def transaction_status(reference: str):
        rows = store.query("SELECT * FROM transactions WHERE reference = ? ORDER BY id", (reference,))
        if not rows:
            return common.error(404, f"No transaction for reference {reference}")
        # One paid transaction settles the reference, whatever failed or pending attempts came before or after.
        paid = [row for row in rows if row["status"] == "paid"]
        latest = paid[-1] if paid else rows[-1]
        refunded = store.query_one("SELECT COALESCE(SUM(amount_vnd), 0) AS total FROM refunds WHERE reference = ?",
                                   (reference,))["total"]
        return {"reference": reference, "status": latest["status"], "bank_txn_id": latest["bank_txn_id"],
                "amount_vnd": latest["amount_vnd"], "paid_at": latest["paid_at"], "refunded_vnd": refunded,
                "transactions": [transaction_view(row) for row in rows]}

    @app.post("/v1/refunds")
    def refund():
        """Give back (part of) what a reference paid. Signed like a callback; the same refund_id with the same
        body answers the same refund again (200), with another body it is a 409."""
        raw = request.get_data(cache=True)
        if not signature_valid(request.headers.get(common.SIGNATURE_HEADER), raw, settings.webhook_secret):
            return common.error(401, "Missing, wrong or stale signature")
        body = common.json_body()
        if not isinstance(body, dict):
            return body
        errors = {}
        refund_id, reference, amount = body.get("refund_id"), body.get("reference"), body.get("amount_vnd")
        reason = body.get("reason")
        if not isinstance(refund_id, str) or not re.fullmatch(r"[A-Za-z0-9._:-]{1,40}", refund_id):
            errors["refund_id"] = ["Required: 1 to 40 letters, digits, '.', '_', ':' or '-'."]
        if not isinstance(reference, str) or not reference:
            errors["reference"] = ["Required: the payment reference."]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            errors["amount_vnd"] = ["Must be a positive whole number of VND."]
        if not isinstance(reason, str) or not reason.strip():
            errors["reason"] = ["Required."]
        if errors:
            return common.error(422, "Invalid request", errors)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        with store.transaction() as conn:
            existing = conn.execute("SELECT * FROM refunds WHERE refund_id = ?", (refund_id,)).fetchone()
            if existing is not None:
                existing = dict(existing)
                if existing["body_sha256"] != digest:
                    return common.error(409, f"Refund {refund_id} exists with another body")
                log.info("refund.replayed", refund_id=refund_id, reference=reference)
                return refund_view(existing)
            paid = conn.execute("SELECT COALESCE(SUM(amount_vnd), 0) FROM transactions WHERE reference = ?"
                                " AND status = 'paid'", (reference,)).fetchone()[0]
            if not paid:
                return common.error(409, f"No paid transaction for reference {reference}")
            refunded = conn.execute("SELECT COALESCE(SUM(amount_vnd), 0) FROM refunds WHERE reference = ?",
                                    (reference,)).fetchone()[0]
            if refunded + amount > paid:
                return common.error(422, "Invalid request", {"amount_vnd": [
                    f"More than was paid: {paid} VND paid, {refunded} VND already refunded."]})
            row_id = conn.execute(
                "INSERT INTO refunds (refund_id, reference, amount_vnd, reason, bank_refund_txn_id, body_sha256,"
                " status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'completed', ?)",
                (refund_id, reference, amount, reason, "RFSIM" + uuid.uuid4().hex[:15].upper(), digest,
                 common.utc_now())).lastrowid
        row = store.query_one("SELECT * FROM refunds WHERE id = ?", (row_id,))
        log.info("refund.completed", refund_id=refund_id, reference=reference, amount_vnd=amount)
        return refund_view(row)

    @app.get("/v1/refunds/<refund_id>")
    def get_refund(refund_id: str):
        row = store.query_one("SELECT * FROM refunds WHERE refund_id = ?", (refund_id,))
        if row is None:
            return common.error(404, f"No refund {refund_id}")
        return refund_view(row)

    return app


def refund_view(row: dict) -> dict:
    return {key: row[key] for key in ("refund_id", "reference", "amount_vnd", "reason", "bank_refund_txn_id",
                                      "status", "created_at")}


def main() -> None:
    settings = Settings.from_env()
    app = create_app(settings)
    log = common.EventLog(SERVICE)
    common.warn_default_secret(log, "BANK_WEBHOOK_SECRET", settings.webhook_secret, DEFAULT_SECRET)
    common.serve(app, log, common.env_int("BANK_SIM_PORT", 8101))


if __name__ == "__main__":
    main()

"""SMS/Zalo gateway simulator: accepts the suite's messages, lists them for tests, and sends signed delivery receipts."""
from __future__ import annotations

import json
import math
import os
import random
import re
import uuid
from dataclasses import dataclass

from flask import Flask, request

from motcua_sims import common

SERVICE = "sim_sms_gateway"
DEFAULT_SECRET = "dev-sms-webhook-secret"
PHONE = re.compile(r"^84\d{9,10}$")
CHANNELS = ("sms", "zalo")
# Scripted numbers for tests: the first is refused with 503, the second accepted but reported undeliverable.
FAIL_503_NUMBER = "84000000000"
FAIL_RECEIPT_NUMBER = "84000000001"

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    to_number TEXT NOT NULL,
    text TEXT,
    template_id TEXT,
    params TEXT,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_to ON messages (to_number);
"""


@dataclass
class Settings:
    db_path: str = "var/data/sim_sms_gateway.db"
    receipt_url: str = ""
    webhook_secret: str = DEFAULT_SECRET
    fail_rate: float = 0.0
    receipt_delay_s: float = 0.2

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            db_path=os.environ.get("SMS_GATEWAY_DB", cls.db_path),
            receipt_url=os.environ.get("SMS_GATEWAY_RECEIPT_URL", ""),
            webhook_secret=os.environ.get("SMS_GATEWAY_WEBHOOK_SECRET", DEFAULT_SECRET),
            fail_rate=common.env_float("SMS_GATEWAY_FAIL_RATE", 0.0),
            receipt_delay_s=common.env_float("SMS_GATEWAY_RECEIPT_DELAY_S", cls.receipt_delay_s),
        )


def sms_encoding(text: str) -> tuple[str, int]:
    """Encoding and segment count: 160/153 characters per segment in GSM-7, 70/67 with diacritics (UCS-2)."""
    gsm7 = all(" " <= ch <= "~" or ch in "\n\r" for ch in text)
    single, multi = (160, 153) if gsm7 else (70, 67)
    segments = 1 if len(text) <= single else math.ceil(len(text) / multi)
    return ("gsm7" if gsm7 else "ucs2"), segments


def validate_message(body: dict) -> dict:
    """Field errors of a POST /v1/messages body, in the suite's {"field": ["..."]} shape."""
    errors: dict[str, list[str]] = {}
    message_id, channel, to = body.get("message_id"), body.get("channel"), body.get("to")
    if not isinstance(message_id, str) or not 0 < len(message_id) <= 128:
        errors["message_id"] = ["Required: a string of 1 to 128 characters."]
    if channel not in CHANNELS:
        errors["channel"] = ["Must be one of: sms, zalo."]
    if not isinstance(to, str) or not PHONE.match(to):
        errors["to"] = ["Must be a phone number in 84... form (84 followed by 9 or 10 digits)."]
    text, template_id, params = body.get("text"), body.get("template_id"), body.get("params")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        errors["text"] = ["Must be a non-empty string."]
    if channel == "sms" and text is None:
        errors["text"] = ["Required for sms."]
    if channel == "zalo" and text is None:
        if template_id is None:
            errors["template_id"] = ["Zalo needs either text or template_id with params."]
        elif not isinstance(template_id, (str, int)) or isinstance(template_id, bool) or not str(template_id):
            errors["template_id"] = ["Must be a non-empty string or an integer."]
        if not isinstance(params, dict):
            errors["params"] = ["Required with template_id: an object of template parameters."]
        else:
            errors.update(zalo_param_errors(params))
    return errors


# Zalo ZNS: a parameter value is text or a number; a message (template text with its values) is at most
# 400 characters, so the values alone cannot exceed that.
ZALO_MAX_TEXT = 400


def zalo_param_errors(params: dict) -> dict:
    bad = [name for name, value in params.items()
           if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (str, int, float))]
    if bad:
        return {"params": [f"Each parameter must be text or a number: {', '.join(map(str, bad))}."]}
    total = sum(len(str(value)) for value in params.values())
    if total > ZALO_MAX_TEXT:
        return {"params": [f"Parameter values total {total} characters; a ZNS message is at most {ZALO_MAX_TEXT}."]}
    return {}


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    log = common.EventLog(SERVICE)
    store = common.Store(settings.db_path, SCHEMA)
    jobs = common.BackgroundJobs(log) if settings.receipt_url else None
    app = common.create_app(SERVICE, log)

    def send_receipt(row_id: int, message_id: str, to: str) -> None:
        status = "failed" if to == FAIL_RECEIPT_NUMBER else "delivered"
        store.execute("UPDATE messages SET status = ? WHERE id = ?", (status, row_id))
        receipt = {"event_id": str(uuid.uuid4()), "message_id": message_id, "status": status, "at": common.utc_now()}
        outcome = common.post_signed(settings.receipt_url, receipt, settings.webhook_secret, attempts=4)
        log.info("receipt.sent" if outcome["delivered"] else "receipt.undelivered", message_id=message_id,
                 receipt_status=status, status_code=outcome["status_code"], attempts=outcome["attempts"],
                 error=outcome["error"])

    @app.post("/v1/messages")
    def accept_message():
        body = common.json_body()
        if not isinstance(body, dict):
            return body
        errors = validate_message(body)
        if errors:
            return common.error(422, "Invalid message", errors)
        to = body["to"]
        if to == FAIL_503_NUMBER or random.random() < settings.fail_rate:
            log.warning("message.refused", message_id=body["message_id"], to=common.mask_phone(to))
            return common.error(503, "Gateway temporarily unavailable")
        params = body.get("params")
        template_id = body.get("template_id")
        # Every request is its own row, duplicates included: the suite's tests count rows to prove it sent once.
        row_id = store.execute(
            "INSERT INTO messages (message_id, channel, to_number, text, template_id, params, received_at, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'accepted')",
            (body["message_id"], body["channel"], to, body.get("text"),
             None if template_id is None else str(template_id),
             None if params is None else json.dumps(params, ensure_ascii=False), common.utc_now()),
        ).lastrowid
        log.info("message.accepted", message_id=body["message_id"], channel=body["channel"],
                 to=common.mask_phone(to))
        if jobs:
            jobs.submit(lambda: send_receipt(row_id, body["message_id"], to), delay_s=settings.receipt_delay_s)
        return {"message_id": body["message_id"], "status": "accepted"}, 202

    @app.get("/v1/messages")
    def list_messages():
        clauses, params = [], []
        for arg, column in (("to", "to_number"), ("message_id", "message_id"), ("channel", "channel")):
            if request.args.get(arg):
                clauses.append(f"{column} = ?")
                params.append(request.args[arg])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = store.query(f"SELECT * FROM messages {where} ORDER BY id", tuple(params))
        return {"items": [message_view(row) for row in rows]}

    @app.get("/v1/messages/count")
    def count_messages():
        row = store.query_one("SELECT COUNT(*) AS total, COUNT(DISTINCT message_id) AS distinct_ids FROM messages")
        return {"total": row["total"], "distinct_message_ids": row["distinct_ids"]}

    @app.delete("/v1/messages")
    def clear_messages():
        deleted = store.execute("DELETE FROM messages").rowcount
        return {"deleted": deleted}

    return app


def message_view(row: dict) -> dict:
    view = {
        "message_id": row["message_id"],
        "channel": row["channel"],
        "to": row["to_number"],
        "text": row["text"],
        "received_at": row["received_at"],
        "status": row["status"],
    }
    if row["template_id"] is not None:
        view["template_id"] = row["template_id"]
        view["params"] = json.loads(row["params"])
    if row["channel"] == "sms" and row["text"]:
        view["encoding"], view["segments"] = sms_encoding(row["text"])
    return view


def main() -> None:
    settings = Settings.from_env()
    app = create_app(settings)
    log = common.EventLog(SERVICE)
    common.warn_default_secret(log, "SMS_GATEWAY_WEBHOOK_SECRET", settings.webhook_secret, DEFAULT_SECRET)
    if not settings.receipt_url:
        log.info("receipts.disabled", hint="set SMS_GATEWAY_RECEIPT_URL to send delivery receipts")
    common.serve(app, log, common.env_int("SMS_GATEWAY_PORT", 8103))


if __name__ == "__main__":
    main()

"""Postal operator simulator: consumes dispatch orders from RabbitMQ and reports shipment status by signed webhook.

With POSTAL_SIM_AUTO_DELIVER on, each new order runs on its own: accepted -> picked_up -> in_transit ->
delivered, or (a share POSTAL_SIM_FAIL_RATE of orders) failed_attempt x POSTAL_SIM_FAILED_ATTEMPTS ->
returned_to_sender, one step every POSTAL_SIM_AUTO_DELIVER_DELAY_S. Each report carries the time its step
happened; POSTAL_SIM_DUPLICATE_RATE of reports are sent twice (same event_id) and POSTAL_SIM_REORDER_RATE of
neighbouring pairs are sent in swapped order, as real carriers' batches do. A cancellation stops an order not
yet picked up; after pickup the operator keeps it. The simulator imports nothing of the suite.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import pika
from flask import Flask, request

from motcua_sims import common

SERVICE = "sim_postal_operator"
DEFAULT_SECRET = "dev-postal-webhook-secret"
EXCHANGE = "motcua.postal"
QUEUE = "postal_operator.dispatch"
ROUTING_KEYS = ("dispatch.requested", "dispatch.cancelled")
# RabbitMQ 3.10 on Debian 12: state the queue type and version rather than rely on newer defaults.
QUEUE_ARGUMENTS = {"x-queue-type": "classic", "x-queue-version": 2}
STATUSES = ("accepted", "picked_up", "in_transit", "delivered", "failed_attempt", "returned_to_sender")
MAX_BACKOFF_S = 10
NOTES = {
    "accepted": "Bưu cục đã nhận đơn hàng",
    "picked_up": "Bưu tá đã nhận bưu gửi tại cơ quan",
    "in_transit": "Bưu gửi đang được vận chuyển",
    "delivered": "Đã phát thành công cho người nhận",
    "failed_attempt": "Phát không thành công: người nhận vắng nhà",
    "returned_to_sender": "Chuyển hoàn về người gửi sau các lần phát không thành công",
}
CANCELLABLE = ("ordered", "accepted")  # after pickup the item is with the postman: a cancellation is too late

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    routing_key TEXT NOT NULL,
    tracking_no TEXT,
    shipment_id TEXT,
    dossier_code TEXT,
    service TEXT,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_tracking_no ON orders (tracking_no);
CREATE TABLE IF NOT EXISTS status_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT,
    delivered INTEGER NOT NULL,
    status_code INTEGER
);
CREATE INDEX IF NOT EXISTS status_reports_tracking_no ON status_reports (tracking_no);
"""


@dataclass
class Settings:
    db_path: str = "var/data/sim_postal_operator.db"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    callback_url: str = "http://127.0.0.1:8004/v1/carrier/events"
    webhook_secret: str = DEFAULT_SECRET
    auto_deliver: bool = False
    auto_deliver_delay_s: float = 1.0
    fail_rate: float = 0.0  # share of orders that end returned_to_sender
    failed_attempts: int = 2  # failed deliveries before the return
    duplicate_rate: float = 0.0  # share of reports sent twice
    reorder_rate: float = 0.0  # share of neighbouring reports sent in swapped order
    seed: int | None = None  # for a reproducible run

    @classmethod
    def from_env(cls) -> Settings:
        seed = os.environ.get("POSTAL_SIM_SEED", "")
        settings = cls(
            db_path=os.environ.get("POSTAL_SIM_DB", cls.db_path),
            amqp_url=os.environ.get("MOTCUA_AMQP_URL", cls.amqp_url),
            callback_url=os.environ.get("POSTAL_SIM_CALLBACK_URL", cls.callback_url),
            webhook_secret=os.environ.get("POSTAL_WEBHOOK_SECRET", DEFAULT_SECRET),
            auto_deliver=os.environ.get("POSTAL_SIM_AUTO_DELIVER", "").lower() in ("1", "true", "yes"),
            auto_deliver_delay_s=common.env_float("POSTAL_SIM_AUTO_DELIVER_DELAY_S", cls.auto_deliver_delay_s),
            fail_rate=common.env_float("POSTAL_SIM_FAIL_RATE", cls.fail_rate),
            failed_attempts=common.env_int("POSTAL_SIM_FAILED_ATTEMPTS", cls.failed_attempts),
            duplicate_rate=common.env_float("POSTAL_SIM_DUPLICATE_RATE", cls.duplicate_rate),
            reorder_rate=common.env_float("POSTAL_SIM_REORDER_RATE", cls.reorder_rate),
            seed=int(seed) if seed.strip().lstrip("-").isdigit() else None,
        )
        for name in ("fail_rate", "duplicate_rate", "reorder_rate"):
            if not 0.0 <= getattr(settings, name) <= 1.0:
                raise SystemExit(f"POSTAL_SIM_{name.upper()} must be between 0 and 1")
        if settings.failed_attempts < 1:
            raise SystemExit("POSTAL_SIM_FAILED_ATTEMPTS must be at least 1")
        return settings


class Operator:
    """The operator's books: orders received once each, and the status reports sent back to the suite."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.log = common.EventLog(SERVICE)
        self.store = common.Store(settings.db_path, SCHEMA)
        self.jobs = common.BackgroundJobs(self.log, threads=2)
        self._random = random.Random(settings.seed)
        self._random_lock = threading.Lock()

    def receive(self, message_id: str, routing_key: str, body: bytes) -> bool:
        """Store a dispatch order keyed by its AMQP message_id; True when it is new, False for a redelivery."""
        try:
            order = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"body is not JSON: {exc}") from exc
        if not isinstance(order, dict):
            raise ValueError("body is not a JSON object")
        tracking_no = order.get("tracking_no")
        cancelled = routing_key == "dispatch.cancelled"
        with self.store.transaction() as conn:
            new = conn.execute(
                "INSERT OR IGNORE INTO orders (message_id, routing_key, tracking_no, shipment_id, dossier_code,"
                " service, body, received_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, routing_key, tracking_no, order.get("shipment_id"), order.get("dossier_code"),
                 order.get("service"), body.decode(), common.utc_now(), "cancelled" if cancelled else "ordered"),
            ).rowcount == 1
            if not new:
                conn.execute("UPDATE orders SET deliveries = deliveries + 1 WHERE message_id = ?", (message_id,))
            elif cancelled and tracking_no:
                placeholders = ", ".join("?" for _ in CANCELLABLE)
                dropped = conn.execute(
                    f"UPDATE orders SET status = 'cancelled' WHERE tracking_no = ? AND routing_key = 'dispatch.requested'"
                    f" AND status IN ({placeholders})", (tracking_no, *CANCELLABLE)).rowcount
                if not dropped:
                    self.log.warning("order.cancel_not_applied", tracking_no=tracking_no,
                                     reason="no order, or already picked up")
        self.log.info("order.received" if new else "order.redelivered", message_id=message_id,
                      routing_key=routing_key, tracking_no=tracking_no)
        if new and not cancelled and tracking_no and self.settings.auto_deliver:
            plan = self.plan(tracking_no)
            self.jobs.submit(lambda: self._send_planned(tracking_no, plan, 0), self.settings.auto_deliver_delay_s)
        return new

    def plan(self, tracking_no: str, start: datetime | None = None) -> list[dict]:
        """The reports one order will produce, in the order they will be sent: each with the time its step
        happened, some sent twice, some neighbours swapped (POSTAL_SIM_* rates)."""
        settings = self.settings
        with self._random_lock:
            fails = self._random.random() < settings.fail_rate
            ending = ["failed_attempt"] * settings.failed_attempts + ["returned_to_sender"] if fails else ["delivered"]
            step = timedelta(seconds=max(settings.auto_deliver_delay_s, 0.001))
            start = start or datetime.now(timezone.utc)
            events = [
                {"event_id": str(uuid.uuid4()), "status": status, "note": NOTES[status],
                 "at": (start + step * (n + 1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
                for n, status in enumerate(["accepted", "picked_up", "in_transit", *ending])
            ]
            n = 0
            while n < len(events) - 1:
                if self._random.random() < settings.reorder_rate:
                    events[n], events[n + 1] = events[n + 1], events[n]
                    n += 2
                else:
                    n += 1
            sent = []
            for event in events:
                sent.append(event)
                if self._random.random() < settings.duplicate_rate:
                    sent.append(dict(event))
        return sent

    def _send_planned(self, tracking_no: str, plan: list[dict], index: int) -> None:
        order = self.find_order(tracking_no)
        if order is None or order["status"] == "cancelled" or index >= len(plan):
            return
        event = plan[index]
        self.report(tracking_no, event["status"], event["note"], event["event_id"], event["at"])
        if index + 1 < len(plan):
            self.jobs.submit(lambda: self._send_planned(tracking_no, plan, index + 1),
                             self.settings.auto_deliver_delay_s)

    def find_order(self, tracking_no: str) -> dict | None:
        return self.store.query_one("SELECT * FROM orders WHERE tracking_no = ? AND routing_key = 'dispatch.requested'"
                                    " ORDER BY id DESC LIMIT 1", (tracking_no,))

    def report(self, tracking_no: str, status: str, note: str | None = None, event_id: str | None = None,
               at: str | None = None) -> dict:
        """Send a signed status report to the suite's postal service and record it, delivered or not."""
        event = {"event_id": event_id or str(uuid.uuid4()), "tracking_no": tracking_no, "status": status,
                 "at": at or common.utc_now(), "note": note}
        outcome = common.post_signed(self.settings.callback_url, event, self.settings.webhook_secret, attempts=3,
                                     backoff_s=0.25)
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO status_reports (event_id, tracking_no, status, at, note, delivered, status_code)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)", (event["event_id"], tracking_no, status, event["at"], note,
                                                           int(outcome["delivered"]), outcome["status_code"]))
            conn.execute("UPDATE orders SET status = ? WHERE tracking_no = ? AND routing_key = 'dispatch.requested'",
                         (status, tracking_no))
        self.log.info("status.reported" if outcome["delivered"] else "status.undelivered", tracking_no=tracking_no,
                      status=status, event_id=event["event_id"], status_code=outcome["status_code"],
                      error=outcome["error"])
        return {"event": event, "callback": outcome}


class DispatchConsumer(threading.Thread):
    """Consumes dispatch orders in the background, reconnecting with capped backoff; never takes the web app down."""

    def __init__(self, amqp_url: str, handle: Callable[[str, str, bytes], bool], log: common.EventLog):
        super().__init__(name="postal-dispatch-consumer", daemon=True)
        self.amqp_url = amqp_url
        self.handle = handle
        self.log = log
        self.ready = threading.Event()
        self._stopping = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._channel = None
        self._backoff = 1

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._consume()
            except Exception as exc:
                if self._stopping.is_set():
                    break
                self.log.warning("consumer.restarting", error=f"{type(exc).__name__}: {exc}", retry_in_s=self._backoff)
                self._stopping.wait(self._backoff)
                self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)

    def stop(self, timeout_s: float = 6.0) -> None:
        self._stopping.set()
        connection, channel = self._connection, self._channel
        if connection is not None and channel is not None:
            try:
                connection.add_callback_threadsafe(channel.stop_consuming)
            except Exception:
                pass  # the connection is already closing; the loop sees _stopping
        self.join(timeout_s)

    def _consume(self) -> None:
        params = pika.URLParameters(self.amqp_url)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        params.socket_timeout = 5
        params.connection_attempts = 1
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            declare_topology(channel)
            channel.basic_qos(prefetch_count=50)
            channel.basic_consume(QUEUE, self._on_message)
            self._connection, self._channel = connection, channel
            self._backoff = 1
            self.log.info("broker.connected", queue=QUEUE)
            self.ready.set()
            # Checked after publishing the connection, so a stop() racing with the connect is never missed.
            if not self._stopping.is_set():
                channel.start_consuming()
        finally:
            self.ready.clear()
            self._connection = self._channel = None
            if connection.is_open:
                try:
                    connection.close()
                except Exception:
                    pass

    def _on_message(self, channel, method, properties, body: bytes) -> None:
        message_id = properties.message_id
        if not message_id:
            # The contract promises a stable message_id; without one, the body itself is the next best identity.
            message_id = "sha256:" + hashlib.sha256(method.routing_key.encode() + b"\n" + body).hexdigest()
            self.log.warning("order.without_message_id", routing_key=method.routing_key)
        try:
            self.handle(message_id, method.routing_key, body)
        except ValueError as exc:
            # A malformed order will never parse; requeueing it would loop forever.
            self.log.error("order.rejected", message_id=message_id, reason=str(exc))
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        channel.basic_ack(method.delivery_tag)


def declare_topology(channel) -> None:
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare(QUEUE, durable=True, arguments=QUEUE_ARGUMENTS)
    for key in ROUTING_KEYS:
        channel.queue_bind(QUEUE, EXCHANGE, routing_key=key)


def order_view(row: dict) -> dict:
    return {
        "message_id": row["message_id"],
        "routing_key": row["routing_key"],
        "tracking_no": row["tracking_no"],
        "shipment_id": row["shipment_id"],
        "dossier_code": row["dossier_code"],
        "service": row["service"],
        "status": row["status"],
        "deliveries": row["deliveries"],
        "received_at": row["received_at"],
        "order": json.loads(row["body"]),
    }


def is_rfc3339(value: str) -> bool:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def create_app(settings: Settings | None = None, operator: Operator | None = None) -> Flask:
    operator = operator or Operator(settings or Settings.from_env())
    app = common.create_app(SERVICE, operator.log)
    app.extensions["postal_operator"] = operator

    @app.get("/v1/orders")
    def list_orders():
        clauses, params = [], []
        for arg in ("tracking_no", "dossier_code", "routing_key"):
            if request.args.get(arg):
                clauses.append(f"{arg} = ?")
                params.append(request.args[arg])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = operator.store.query(f"SELECT * FROM orders {where} ORDER BY id", tuple(params))
        return {"items": [order_view(row) for row in rows]}

    @app.get("/v1/orders/<tracking_no>")
    def get_order(tracking_no: str):
        order = operator.find_order(tracking_no)
        if order is None:
            return common.error(404, f"No order with tracking number {tracking_no}")
        reports = operator.store.query("SELECT event_id, status, at, note, delivered FROM status_reports"
                                       " WHERE tracking_no = ? ORDER BY id", (tracking_no,))
        for report in reports:
            report["delivered"] = bool(report["delivered"])
        return {**order_view(order), "reports": reports}

    @app.post("/v1/orders/<tracking_no>/events")
    def report_status(tracking_no: str):
        body = common.json_body()
        if not isinstance(body, dict):
            return body
        errors = {}
        if body.get("status") not in STATUSES:
            errors["status"] = [f"Must be one of: {', '.join(STATUSES)}."]
        for field in ("note", "event_id"):
            if body.get(field) is not None and not isinstance(body[field], str):
                errors[field] = ["Must be a string."]
        # event_id and at may be given to script duplicate and out-of-order reports.
        if body.get("at") is not None and not (isinstance(body["at"], str) and is_rfc3339(body["at"])):
            errors["at"] = ["Must be an RFC 3339 time with a zone, e.g. 2025-07-01T08:00:00Z."]
        if errors:
            return common.error(422, "Invalid status report", errors)
        if operator.find_order(tracking_no) is None:
            return common.error(404, f"No order with tracking number {tracking_no}")
        return operator.report(tracking_no, body["status"], body.get("note"), body.get("event_id"), body.get("at"))

    return app


def main() -> None:
    settings = Settings.from_env()
    operator = Operator(settings)
    app = create_app(operator=operator)
    common.warn_default_secret(operator.log, "POSTAL_WEBHOOK_SECRET", settings.webhook_secret, DEFAULT_SECRET)
    consumer = DispatchConsumer(settings.amqp_url, operator.receive, operator.log)
    consumer.start()
    common.serve(app, operator.log, common.env_int("POSTAL_SIM_PORT", 8102), on_stop=consumer.stop)


if __name__ == "__main__":
    main()

"""T2: events/s through the kit's outbox relay vs raw pika with the same pipelined confirm window, to a quorum queue."""
from __future__ import annotations

import tempfile
import threading
from collections import deque
import time
from dataclasses import replace

import pika
import sqlalchemy as sa

from servicekit.config import KitSettings
from servicekit.db import Database
from servicekit.outbox import OutboxRelay, record_event
from servicekit.tables import add_kit_tables
from servicekit.testing import throwaway_vhost
from servicekit.topology import EVENTS_EXCHANGE, connection_parameters, declare_exchanges

from processing.events import CONSUMES as PROCESSING_CONSUMES

from . import payloads
from .common import machine_busy, median, BASE_AMQP, log

EVENT = PROCESSING_CONSUMES["dossier.submitted.v1"]
QUEUE = "bench.relay"
TIMEOUT_S = 120.0


def run(*, events: int, rounds: int) -> dict:
    relay_rates, raw_rates, window = [], [], None
    machine_before = []
    for r in range(rounds):
        # Alternate the order so drift on a noisy machine hits both sides alike.
        for side in (("raw", "relay") if r % 2 == 0 else ("relay", "raw")):
            machine_before.append(machine_busy(0.5))
            with tempfile.TemporaryDirectory(prefix="bench-t2-") as tmp, throwaway_vhost(BASE_AMQP) as amqp_url:
                _declare_queue(amqp_url)
                settings = _settings(amqp_url, f"sqlite:///{tmp}/outbox.db")
                window = settings.relay_window
                db, outbox = _prefilled(settings, events)
                try:
                    if side == "relay":
                        rate = _relay_rate(settings, db, outbox, events)
                        relay_rates.append(rate)
                    else:
                        bodies = _bodies(db, outbox)
                        rate = _raw_rate(amqp_url, bodies, window)
                        raw_rates.append(rate)
                    _check_queue_depth(amqp_url, events)
                finally:
                    db.dispose()
                log(f"T2 round {r + 1} {side}: {rate:,.0f} events/s")
    # Median of the rounds and of the per-round ratios, with their range (never the best round).
    measured, baseline = median(relay_rates), median(raw_rates)
    pair_ratios = [x / y for x, y in zip(relay_rates, raw_rates) if y]
    return {
        "id": "T2",
        "what": "events/s through the outbox relay (SQLite outbox -> quorum queue, publisher confirms)",
        "unit": "events/s",
        "measured": measured,
        "baseline": baseline,
        "baseline_what": f"raw pika SelectConnection, pipelined confirms, window {window}",
        "ratio": median(pair_ratios),
        "ratio_range": [min(pair_ratios), max(pair_ratios)] if pair_ratios else None,
        "target": 0.30,
        "events": events,
        "rounds": rounds,
        "measured_all": relay_rates,
        "measured_range": [min(relay_rates), max(relay_rates)],
        "baseline_range": [min(raw_rates), max(raw_rates)],
        "machine_before_rounds": machine_before,
        "baseline_all": raw_rates,
        "relay_window": window,
        "relay_batch": _settings(BASE_AMQP, "sqlite://").relay_batch,
        "statistic": "median of per-round ratios (range min..max), each side on a fresh vhost and database; load recorded before each round",
    }


def _settings(amqp_url: str, db_url: str) -> KitSettings:
    return replace(KitSettings.from_env("bench"), amqp_url=amqp_url, database_url=db_url, relay_doorbell=None)


def _declare_queue(amqp_url: str) -> None:
    conn = pika.BlockingConnection(connection_parameters(amqp_url, name="bench-setup"))
    try:
        ch = conn.channel()
        declare_exchanges(ch)
        ch.queue_declare(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(QUEUE, EVENTS_EXCHANGE, routing_key=EVENT.name)
    finally:
        conn.close()


def _check_queue_depth(amqp_url: str, expected: int) -> None:
    """Every confirmed message is in the queue: a rate over lost messages would mean nothing."""
    conn = pika.BlockingConnection(connection_parameters(amqp_url, name="bench-check"))
    try:
        depth = conn.channel().queue_declare(QUEUE, passive=True).method.message_count
    finally:
        conn.close()
    if depth != expected:
        raise RuntimeError(f"T2: queue holds {depth} messages, expected {expected}")


def _prefilled(settings: KitSettings, events: int):
    metadata = sa.MetaData()
    outbox, _inbox, _keys = add_kit_tables(metadata)
    db = Database(settings.database_url)
    metadata.create_all(db.engine)
    with db.transaction() as conn:
        for n in range(events):
            code = payloads.dossier_code(n)
            record_event(conn, outbox, EVENT, payloads.dossier_submitted(n), source="intake", subject=code)
    return db, outbox


def _bodies(db: Database, outbox: sa.Table) -> list[tuple[str, bytes]]:
    with db.transaction(readonly=True) as conn:
        rows = conn.execute(sa.select(outbox.c.event_id, outbox.c.body).order_by(outbox.c.id)).all()
    return [(r.event_id, r.body.encode("utf-8")) for r in rows]


def _unsent(db: Database, outbox: sa.Table) -> int:
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).where(outbox.c.sent_at.is_(None))).scalar_one()


class _CountingRelay(OutboxRelay):
    """The kit's relay, unchanged, plus a counter of rows marked sent: no polling beside it."""

    def __init__(self, *args, target: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.sent = 0
        self.done = threading.Event()

    def _settle(self, sent, retry) -> None:
        super()._settle(sent, retry)
        self.sent += len(sent)
        if self.sent >= self.target:
            self.done.set()


def _relay_rate(settings: KitSettings, db: Database, outbox: sa.Table, events: int) -> float:
    relay = _CountingRelay(settings, db, outbox, bind_doorbell=False, target=events)
    thread = threading.Thread(target=relay.run, name="bench-relay", daemon=True)
    thread.start()
    try:
        if not relay.connected.wait(30):
            raise RuntimeError("T2: relay did not connect within 30 s")
        started = time.perf_counter()  # confirm mode is on; the relay pumps from here
        if not relay.done.wait(TIMEOUT_S):
            raise RuntimeError(f"T2: relay marked {relay.sent} of {events} rows sent after {TIMEOUT_S:.0f} s")
        elapsed = time.perf_counter() - started
    finally:
        relay.stop()
        thread.join(15)
    left = _unsent(db, outbox)
    if left:
        raise RuntimeError(f"T2: {left} rows still unsent after the relay counted {relay.sent}")
    return events / elapsed


class _RawPublisher:
    """The baseline: publish the same bodies, same properties, at most `window` unconfirmed, and nothing else."""

    def __init__(self, amqp_url: str, bodies: list[tuple[str, bytes]], window: int):
        self.bodies = bodies
        self.window = window
        self.next = 0
        self.confirmed = 0
        self.inflight = 0
        self.outstanding: deque[int] = deque()
        self.started = self.finished = None
        self.error = None
        self.conn = pika.SelectConnection(
            connection_parameters(amqp_url, name="bench-raw"),
            on_open_callback=lambda c: c.channel(on_open_callback=self._on_channel),
            on_open_error_callback=self._on_error,
            on_close_callback=lambda c, reason: c.ioloop.stop(),
        )

    def _on_error(self, conn, error) -> None:
        self.error = error
        conn.ioloop.stop()

    def _on_channel(self, channel) -> None:
        self.channel = channel
        channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode)

    def _on_confirm_mode(self, _frame) -> None:
        self.started = time.perf_counter()
        self._publish()

    def _publish(self) -> None:
        while self.inflight < self.window and self.next < len(self.bodies):
            event_id, body = self.bodies[self.next]
            props = pika.BasicProperties(
                message_id=event_id, type=EVENT.name, content_type="application/json", delivery_mode=2, app_id="bench",
            )
            self.channel.basic_publish(EVENTS_EXCHANGE, EVENT.name, body, props, mandatory=True)
            self.next += 1  # delivery tags count from 1 on a fresh channel, so tag == self.next
            self.outstanding.append(self.next)
            self.inflight += 1

    def _on_confirm(self, frame) -> None:
        method = frame.method
        if not isinstance(method, pika.spec.Basic.Ack):
            self.error = f"nack {method.delivery_tag}"
        tag = method.delivery_tag
        if method.multiple:
            acked = 0
            while self.outstanding and self.outstanding[0] <= tag:
                self.outstanding.popleft()
                acked += 1
        else:
            acked = 1
            if self.outstanding and self.outstanding[0] == tag:
                self.outstanding.popleft()
            else:
                self.outstanding.remove(tag)
        self.confirmed += acked
        self.inflight -= acked
        if self.confirmed >= len(self.bodies):
            self.finished = time.perf_counter()
            self.conn.close()
            return
        self._publish()

    def run(self) -> float:
        self.conn.ioloop.start()
        if self.error or self.finished is None:
            raise RuntimeError(f"T2 baseline failed: {self.error or 'connection closed early'}")
        return len(self.bodies) / (self.finished - self.started)


def _raw_rate(amqp_url: str, bodies: list[tuple[str, bytes]], window: int) -> float:
    return _RawPublisher(amqp_url, bodies, window).run()

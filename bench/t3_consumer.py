"""T3: events/s through the kit's consumer running processing's real handler vs the same SQL in a plain loop."""
from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import replace

import pika
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from servicekit.config import KitSettings
from servicekit.consumer import Consumer
from servicekit.events import make_envelope, to_json_bytes
from servicekit.tables import now
from servicekit.testing import migrated_database, throwaway_vhost
from servicekit.topology import EVENTS_EXCHANGE, ServiceQueues, connection_parameters, declare_service_queues

from processing import use_cases
from processing.handlers import SUBSCRIPTION
from processing.manage import MIGRATIONS
from processing.models import cases, inbox

from . import payloads
from .common import machine_busy, median, BASE_AMQP, log

TYPE = "dossier.submitted.v1"
TIMEOUT_S = 180.0


def run(*, events: int, rounds: int) -> dict:
    consumer_rates, loop_rates, prefetch = [], [], None
    machine_before = []
    for r in range(rounds):
        for side in (("loop", "consumer") if r % 2 == 0 else ("consumer", "loop")):
            machine_before.append(machine_busy(0.5))
            with tempfile.TemporaryDirectory(prefix="bench-t3-") as tmp:
                db_url = f"sqlite:///{tmp}/processing.db"
                db = migrated_database(db_url, MIGRATIONS)
                try:
                    if side == "consumer":
                        with throwaway_vhost(BASE_AMQP) as amqp_url:
                            settings = replace(KitSettings.from_env("processing"), amqp_url=amqp_url,
                                               database_url=db_url, relay_doorbell=None)
                            prefetch = settings.prefetch
                            _prefill_queue(settings, events)
                            rate = _consumer_rate(settings, db, events)
                        consumer_rates.append(rate)
                    else:
                        rate = _loop_rate(db, events)
                        loop_rates.append(rate)
                    _check_cases(db, events)
                finally:
                    db.dispose()
            log(f"T3 round {r + 1} {side}: {rate:,.0f} events/s")
    # Median of the rounds and of the per-round ratios, with their range (never the best round).
    measured, baseline = median(consumer_rates), median(loop_rates)
    pair_ratios = [x / y for x, y in zip(consumer_rates, loop_rates) if y]
    return {
        "id": "T3",
        "what": "events/s through the consumer (parse, validate, inbox, processing's open_case, commit, ack)",
        "unit": "events/s",
        "measured": measured,
        "baseline": baseline,
        "baseline_what": "the same SQL in a plain loop (BEGIN IMMEDIATE, inbox insert, open_case, COMMIT), same engine setup",
        "ratio": median(pair_ratios),
        "ratio_range": [min(pair_ratios), max(pair_ratios)] if pair_ratios else None,
        "target": 0.70,
        "events": events,
        "rounds": rounds,
        "prefetch": prefetch,
        "handler": "processing.handlers.SUBSCRIPTION (dossier.submitted.v1 -> cases + audit_entries)",
        "measured_all": consumer_rates,
        "measured_range": [min(consumer_rates), max(consumer_rates)],
        "baseline_range": [min(loop_rates), max(loop_rates)],
        "machine_before_rounds": machine_before,
        "baseline_all": loop_rates,
        "statistic": "median of per-round ratios (range min..max), each side on a fresh migrated database; load recorded before each round",
    }


def _envelopes(events: int) -> list[dict]:
    return [
        make_envelope(TYPE, "intake", payloads.dossier_submitted(n), subject=payloads.dossier_code(n))
        for n in range(events)
    ]


def _prefill_queue(settings: KitSettings, events: int) -> None:
    conn = pika.BlockingConnection(connection_parameters(settings.amqp_url, name="bench-prefill"))
    try:
        ch = conn.channel()
        queues = ServiceQueues(settings.service, settings.retry_delays_ms)
        declare_service_queues(ch, queues, SUBSCRIPTION.bindings, delivery_limit=settings.delivery_limit)
        ch.confirm_delivery()
        for envelope in _envelopes(events):
            props = pika.BasicProperties(message_id=envelope["id"], type=TYPE, content_type="application/json",
                                         delivery_mode=2, app_id="intake")
            ch.basic_publish(EVENTS_EXCHANGE, TYPE, to_json_bytes(envelope), props, mandatory=True)
        depth = ch.queue_declare(queues.main, passive=True).method.message_count
        if depth != events:
            raise RuntimeError(f"T3: queue holds {depth} messages after prefill, expected {events}")
    finally:
        conn.close()


def _case_count(db) -> int:
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one()


def _check_cases(db, expected: int) -> None:
    got = _case_count(db)
    if got != expected:
        raise RuntimeError(f"T3: {got} cases opened, expected {expected}")


class _CountingConsumer(Consumer):
    """The kit's consumer, unchanged, plus a counter: the clock stops without polling the database."""

    def __init__(self, *args, target: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.handled = 0
        self.done = threading.Event()

    def deliver(self, channel, method, props, body: bytes) -> str:
        outcome = super().deliver(channel, method, props, body)
        self.handled += 1
        if self.handled >= self.target:
            self.done.set()
        return outcome


def _consumer_rate(settings: KitSettings, db, events: int) -> float:
    os.environ.pop("MOTCUA_FAULT", None)  # never run the bench with the reliability tests' fault injection
    consumer = _CountingConsumer(settings, db, inbox, SUBSCRIPTION, target=events)
    thread = threading.Thread(target=consumer.run, name="bench-consumer", daemon=True)
    thread.start()
    try:
        if not consumer.connected.wait(30):
            raise RuntimeError("T3: consumer did not connect within 30 s")
        started = time.perf_counter()
        if not consumer.done.wait(TIMEOUT_S):
            raise RuntimeError(f"T3: only {consumer.handled} of {events} handled after {TIMEOUT_S:.0f} s")
        elapsed = time.perf_counter() - started
    finally:
        consumer.stop()
        thread.join(15)
    return events / elapsed


def _loop_rate(db, events: int) -> float:
    """What the consumer's transaction does, without the broker, the parsing or the kit around it."""
    loaded = [(env["id"], env["type"], SUBSCRIPTION.catalog[TYPE].load(env["data"])) for env in _envelopes(events)]
    actor = f"system:{TYPE}"
    started = time.perf_counter()
    for message_id, type_, data in loaded:
        with db.transaction() as conn:  # BEGIN IMMEDIATE ... COMMIT on SQLite
            conn.execute(
                sqlite_insert(inbox)
                .values(consumer="processing", message_id=message_id, type=type_, received_at=now())
                .on_conflict_do_nothing()
            )
            use_cases.open_case(conn, data, actor=actor)
    return events / (time.perf_counter() - started)

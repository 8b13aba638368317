"""The kit against a real RabbitMQ, each test in a throwaway vhost: relay, inbox, retries, dead letters."""
from __future__ import annotations

import json
import threading
import time

import pika
import pytest

from servicekit.consumer import Consumer, REASON_HEADER, replay_dead_letters
from servicekit.events import make_envelope
from servicekit.outbox import OutboxRelay
from servicekit.testing import wait_until
from servicekit.topology import EVENTS_EXCHANGE, ServiceQueues

from kit_fixtures import count, effects, inbox, make_settings, outbox, record_things, subscription, write_effect


def run_in_thread(target):
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def consumer_factory(db, amqp_url, db_url):
    started = []

    def make(handler=write_effect, **settings_overrides):
        consumer = Consumer(make_settings(amqp_url, db_url, **settings_overrides), db, inbox, subscription(handler),
                            max_retries=2)
        thread = run_in_thread(consumer.run)
        started.append((consumer, thread))
        wait_until(consumer.connected.is_set, 15, message="consumer did not connect")
        return consumer

    yield make
    for consumer, thread in started:
        consumer.stop()
        thread.join(10)


@pytest.fixture
def relay(db, amqp_url, db_url):
    relay = OutboxRelay(make_settings(amqp_url, db_url), db, outbox, bind_doorbell=False)
    db.doorbell.local.append(relay.wake)
    thread = run_in_thread(relay.run)
    wait_until(relay.connected.is_set, 15, message="relay did not connect")
    yield relay
    relay.stop()
    thread.join(10)


def publish_raw(amqp_url, body: bytes, *, message_id="m-1", type_="thing.happened.v1"):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = conn.channel()
    channel.confirm_delivery()
    channel.basic_publish(EVENTS_EXCHANGE, type_, body, pika.BasicProperties(message_id=message_id, type=type_,
                                                                             delivery_mode=2), mandatory=True)
    conn.close()


def queue_depth(amqp_url, queue):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    depth = conn.channel().queue_declare(queue, passive=True).method.message_count
    conn.close()
    return depth


def test_outbox_rows_reach_the_consumer_once_and_are_marked_sent(db, consumer_factory, relay):
    consumer_factory()
    record_things(db, [f"A-{i}" for i in range(300)])
    wait_until(lambda: count(db, effects) == 300, 20, message="not every event was handled")
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 10, message="rows left unsent")
    assert count(db, inbox) == 300


def test_relay_wakes_within_50_ms_of_a_commit(db, consumer_factory, relay):
    consumer_factory()
    record_things(db, ["warm-up"])
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 10)
    started = time.monotonic()
    record_things(db, ["B-1"])
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 5, interval=0.002)
    assert time.monotonic() - started < 0.5  # typically a few ms; the bound leaves room for a loaded CI box


def test_same_event_delivered_twice_has_one_effect(db, amqp_url, consumer_factory):
    consumer_factory()
    body = json.dumps(make_envelope("thing.happened.v1", "kittest", {"code": "D-1"})).encode()
    publish_raw(amqp_url, body)
    publish_raw(amqp_url, body)
    wait_until(lambda: count(db, effects) == 1, 10)
    time.sleep(0.5)
    assert count(db, effects) == 1
    assert count(db, inbox) == 1


def test_malformed_message_is_dead_lettered_at_once_and_the_consumer_keeps_going(db, amqp_url, consumer_factory):
    consumer_factory()
    publish_raw(amqp_url, b"{not json", message_id="bad-1")
    body = json.dumps(make_envelope("thing.happened.v1", "kittest", {"code": "after-bad"})).encode()
    publish_raw(amqp_url, body, message_id="good-1")
    dead = ServiceQueues("kittest", (100, 200)).dead
    wait_until(lambda: queue_depth(amqp_url, dead) == 1, 10, message="malformed message not dead-lettered")
    wait_until(lambda: count(db, effects) == 1, 10, message="consumer stopped after a malformed message")
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    method, props, _ = conn.channel().basic_get(dead, auto_ack=False)
    assert "not JSON" in props.headers[REASON_HEADER]
    conn.close()


def test_failing_handler_is_retried_with_delay_then_dead_lettered_and_replayed_after_a_fix(
    db, db_url, amqp_url, consumer_factory
):
    attempts = []
    fixed = threading.Event()

    def flaky(conn, envelope, data):
        attempts.append(time.monotonic())
        if not fixed.is_set():
            raise RuntimeError("downstream refused")
        write_effect(conn, envelope, data)

    consumer_factory(flaky)
    body = json.dumps(make_envelope("thing.happened.v1", "kittest", {"code": "R-1"})).encode()
    publish_raw(amqp_url, body)
    dead = ServiceQueues("kittest", (100, 200)).dead
    wait_until(lambda: queue_depth(amqp_url, dead) == 1, 15, message="failing message never dead-lettered")
    assert len(attempts) == 3  # first try + max_retries=2
    assert attempts[1] - attempts[0] >= 0.09 and attempts[2] - attempts[1] >= 0.19  # delayed, not a tight loop
    assert count(db, effects) == 0

    fixed.set()
    moved = replay_dead_letters(make_settings(amqp_url, db_url))
    assert moved == 1
    wait_until(lambda: count(db, effects) == 1, 10, message="replayed message not handled")
    assert queue_depth(amqp_url, dead) == 0


def test_handler_failure_rolls_back_its_writes_and_inbox_row(db, amqp_url, consumer_factory):
    def half_then_fail(conn, envelope, data):
        write_effect(conn, envelope, data)
        raise RuntimeError("fails after writing")

    consumer_factory(half_then_fail)
    publish_raw(amqp_url, json.dumps(make_envelope("thing.happened.v1", "kittest", {"code": "X"})).encode())
    dead = ServiceQueues("kittest", (100, 200)).dead
    wait_until(lambda: queue_depth(amqp_url, dead) == 1, 15)
    assert count(db, effects) == 0
    assert count(db, inbox) == 0


def test_unroutable_event_stays_in_the_outbox_until_a_queue_is_bound(db, relay, consumer_factory):
    record_things(db, ["U-1"])  # no consumer has declared a queue yet
    wait_until(lambda: count(db, outbox, outbox.c.last_error == "unroutable") == 1, 10)
    assert count(db, outbox, outbox.c.sent_at.is_(None)) == 1
    consumer_factory()
    wait_until(lambda: count(db, effects) == 1, 15, message="event not published once a queue existed")


def test_relay_claims_no_more_rows_than_its_batch(db, db_url, amqp_url):
    record_things(db, [f"C-{i}" for i in range(50)])
    relay = OutboxRelay(make_settings(amqp_url, db_url, relay_batch=7), db, outbox, bind_doorbell=False)
    assert len(relay._claim(7)) == 7
    assert count(db, outbox, outbox.c.claimed_by == relay.relay_id) == 7


def test_handler_that_finds_the_event_unusable_dead_letters_it_at_once_without_retries(db, amqp_url, consumer_factory):
    from servicekit.events import MalformedEvent

    calls = []

    def refuse(conn, envelope, data):
        calls.append(1)
        raise MalformedEvent("names a dossier this service never saw")

    consumer_factory(refuse)
    publish_raw(amqp_url, json.dumps(make_envelope("thing.happened.v1", "kittest", {"code": "M"})).encode())
    dead = ServiceQueues("kittest", (100, 200)).dead
    wait_until(lambda: queue_depth(amqp_url, dead) == 1, 10)
    assert calls == [1]


def test_batched_acks_leave_nothing_unacked_once_the_stream_is_handled(db, amqp_url, consumer_factory):
    consumer = consumer_factory()
    for i in range(120):
        publish_raw(amqp_url, json.dumps(make_envelope("thing.happened.v1", "kittest", {"code": f"K-{i}"})).encode(),
                    message_id=f"k-{i}")
    wait_until(lambda: count(db, effects) == 120, 20)
    consumer.stop()  # closing the channel would return any unacked message to the queue
    wait_until(lambda: not consumer.connected.is_set(), 10)
    assert queue_depth(amqp_url, ServiceQueues("kittest", (100, 200)).main) == 0


def test_a_confirm_costs_no_empty_claim_transaction(db, consumer_factory, relay):
    """One claim per commit (rung by the doorbell), not a second empty one after each confirm: every claim is
    a write transaction on the service's database, in every worker, for every event."""
    consumer_factory()
    record_things(db, ["warm-up"])
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 10)
    claims = []
    real_claim = relay._claim
    relay._claim = lambda limit: claims.append(limit) or real_claim(limit)
    started = time.monotonic()
    for i in range(20):
        record_things(db, [f"E-{i}"])
        wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 5, interval=0.002)
    sweeps = int(time.monotonic() - started) + 1  # the 1 s sweep claims too
    assert len(claims) <= 20 + sweeps + 2, f"{len(claims)} claims for 20 commits"


def test_a_backlog_larger_than_the_confirm_window_drains(db, db_url, amqp_url, consumer_factory):
    """With the window full the pump waits for confirms; those confirms must pump again until nothing is left."""
    consumer_factory()
    relay = OutboxRelay(make_settings(amqp_url, db_url, relay_window=4, relay_batch=3), db, outbox, bind_doorbell=False)
    record_things(db, [f"W-{i}" for i in range(40)])
    thread = run_in_thread(relay.run)
    try:
        wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 3,
                   message="the backlog did not drain through a 4-message window within 3 s (the 1 s sweep alone is slower)")
    finally:
        relay.stop()
        thread.join(10)
    wait_until(lambda: count(db, effects) == 40, 10, message="not every event was handled")

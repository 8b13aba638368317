"""The kit's answers to issue 5 (loss, stalls, outages), each test written to fail on the kit before the fix."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import unquote

import pika
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from servicekit import db as kit_db
from servicekit.config import ConfigError, KitSettings
from servicekit.consumer import Consumer
from servicekit.db import Database
from servicekit.events import make_envelope
from servicekit.outbox import OutboxRelay
from servicekit.tables import now
from servicekit.testing import rabbitmqctl, wait_until
from servicekit.topology import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, ServiceQueues, declare_service_queues
from servicekit.worker import Worker

from kit_fixtures import count, effects, inbox, make_settings, outbox, record_things, subscription, write_effect

QUEUES = ServiceQueues("kittest", (100, 200))


def effect_codes(db):
    with db.transaction(readonly=True) as conn:
        return [r.code for r in conn.execute(sa.select(effects.c.code).order_by(effects.c.id))]


def run_in_thread(target):
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def publish_raw(amqp_url, body: bytes, *, message_id="m-1", type_="thing.happened.v1", headers=None,
                exchange=EVENTS_EXCHANGE, routing_key=None):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = conn.channel()
    channel.confirm_delivery()
    channel.basic_publish(exchange, routing_key or type_, body,
                          pika.BasicProperties(message_id=message_id, type=type_, delivery_mode=2, headers=headers),
                          mandatory=True)
    conn.close()


def thing(code: str) -> bytes:
    return json.dumps(make_envelope("thing.happened.v1", "kittest", {"code": code})).encode()


def queue_depth(amqp_url, queue):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return conn.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        conn.close()


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def consumer_factory(db, amqp_url, db_url):
    started = []

    def make(handler=write_effect, wait=True, attrs=None, **settings_overrides):
        consumer = Consumer(make_settings(amqp_url, db_url, **settings_overrides), db, inbox, subscription(handler),
                            max_retries=2)
        for name, value in (attrs or {}).items():
            setattr(consumer, name, value)
        thread = run_in_thread(consumer.run)
        started.append((consumer, thread))
        if wait:
            wait_until(consumer.connected.is_set, 15, message="consumer did not connect")
        return consumer, thread

    yield make
    for consumer, thread in started:
        consumer.stop()
        thread.join(10)


@pytest.fixture
def relay_factory(db, amqp_url, db_url):
    started = []

    def make(attrs=None, **overrides):
        relay = OutboxRelay(make_settings(amqp_url, db_url, **overrides), db, outbox, bind_doorbell=False)
        for name, value in (attrs or {}).items():
            setattr(relay, name, value)
        db.doorbell.local.append(relay.wake)
        thread = run_in_thread(relay.run)
        started.append((relay, thread))
        wait_until(relay.connected.is_set, 15, message="relay did not connect")
        return relay

    yield make
    for relay, thread in started:
        relay.stop()
        thread.join(10)


# ---- loss ----------------------------------------------------------------------------------------------
def test_a_backlog_older_than_the_give_up_is_published_once_its_queue_appears_not_dropped(
        db, relay_factory, consumer_factory):
    # Rows written ten minutes ago (a broker outage), published when no queue is bound yet (a fresh broker).
    record_things(db, [f"late-{i}" for i in range(5)])
    with db.transaction() as conn:
        conn.execute(outbox.update().values(created_at=now() - timedelta(minutes=10)))
    relay_factory(attrs={"unroutable_give_up_seconds": 2})
    wait_until(lambda: count(db, outbox, outbox.c.last_error.is_not(None)) == 5, 10,
               message="the rows were not returned unroutable")
    consumer_factory()
    wait_until(lambda: count(db, effects) == 5, 20, message="the late backlog never reached the queue")


def test_an_event_unroutable_past_the_give_up_stays_pending_visible_and_waits_for_an_operator(db, relay_factory):
    from servicekit.outbox import discard_unroutable, requeue_unroutable, unroutable_rows

    relay = relay_factory(attrs={"unroutable_give_up_seconds": 1})
    record_things(db, ["nobody-listens"])
    wait_until(lambda: sample("motcua_outbox_unroutable_pending", service="kittest") == 1, 15,
               message="the unroutable row was not reported")
    assert count(db, outbox, outbox.c.sent_at.is_(None)) == 1  # never dropped
    listed = unroutable_rows(db, outbox, older_than_seconds=1)
    assert [r.type for r in listed] == ["thing.happened.v1"]
    assert requeue_unroutable(db, outbox, [listed[0].id]) == 1
    assert discard_unroutable(db, outbox, [listed[0].id], reason="type retired") == 1
    with db.transaction(readonly=True) as conn:
        row = conn.execute(sa.select(outbox)).one()
    assert row.sent_at is not None and "discarded by an operator: type retired" in row.last_error
    relay.report_pending()
    assert sample("motcua_outbox_unroutable_pending", service="kittest") == 0


def test_the_same_row_in_flight_twice_with_two_returns_and_one_batched_ack_is_not_marked_sent(db, db_url):
    record_things(db, ["twice"])
    relay = OutboxRelay(make_settings("amqp://unused/", db_url), db, outbox, bind_doorbell=False)
    (row,) = relay._claim(10)
    # The lease expired while the broker was blocked: the same row went out again on the same channel.
    relay._inflight = {1: (row.id, row.event_id, row.type), 2: (row.id, row.event_id, row.type)}
    returned = (SimpleNamespace(routing_key=row.routing_key), SimpleNamespace(message_id=row.event_id, type=row.type))
    relay._on_return(None, *returned, b"")
    relay._on_return(None, *returned, b"")
    relay._on_confirm(SimpleNamespace(method=pika.spec.Basic.Ack(delivery_tag=2, multiple=True)))
    assert count(db, outbox, outbox.c.sent_at.is_not(None)) == 0
    assert count(db, outbox, outbox.c.first_returned_at.is_not(None)) == 1


def test_a_row_still_in_flight_on_the_channel_is_not_published_again_when_its_lease_runs_out(db, db_url):
    record_things(db, ["once"])
    relay = OutboxRelay(make_settings("amqp://unused/", db_url, relay_lease_seconds=0), db, outbox,
                        bind_doorbell=False)
    published = []
    relay._channel = SimpleNamespace(basic_publish=lambda exchange, key, body, props, mandatory: published.append(
        props.message_id))
    relay._ready = True
    relay._pump()
    time.sleep(0.01)  # the zero-second lease is over: the row can be claimed again
    relay._pump()
    assert len(published) == 1, published


# ---- stalls --------------------------------------------------------------------------------------------
def test_deeply_nested_json_is_dead_lettered_and_the_consumer_keeps_going(db, amqp_url, consumer_factory):
    _consumer, thread = consumer_factory()
    publish_raw(amqp_url, b"[" * 100_000 + b"]" * 100_000, message_id="deep-1")
    publish_raw(amqp_url, thing("after-deep"), message_id="good-1")
    wait_until(lambda: count(db, effects) == 1, 10, message="the consumer stopped after the nested JSON")
    assert thread.is_alive()
    assert queue_depth(amqp_url, QUEUES.dead) == 1


def test_a_malformed_retry_header_is_dead_lettered_and_the_consumer_keeps_going(db, amqp_url, consumer_factory):
    def fail_first(conn, envelope, data):
        if data["code"] == "bad-header":
            raise RuntimeError("handler refuses")
        write_effect(conn, envelope, data)

    _consumer, thread = consumer_factory(fail_first)
    publish_raw(amqp_url, thing("bad-header"), message_id="hdr-1", headers={"x-motcua-retries": "abc"})
    publish_raw(amqp_url, thing("after-header"), message_id="good-2")
    wait_until(lambda: count(db, effects) == 1, 10, message="the consumer stopped after the malformed header")
    assert thread.is_alive()
    wait_until(lambda: queue_depth(amqp_url, QUEUES.dead) == 1, 5)


def test_a_sqlite_lock_held_past_the_begin_deadline_raises_sqlalchemys_operational_error(tmp_path, monkeypatch):
    monkeypatch.setattr(kit_db, "_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "locked.db"
    database = Database(f"sqlite:///{path}")
    database.ping()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            with database.transaction():
                pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with database.transaction() as conn:  # the pooled connection is usable again
        conn.execute(sa.text("SELECT 1"))
    database.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port):
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_worker_thread_that_raises_is_logged_counted_restarted_and_shown_in_healthz(db, db_url, amqp_url):
    port = free_port()
    settings = make_settings(amqp_url, db_url, worker_health_port=port, worker_stale_seconds=1)
    worker = Worker(settings, db, outbox=outbox, inbox=inbox, subscription=None)
    calls = []

    def crashing_relay():
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise RuntimeError("relay bug")
        while not worker.relay._stop.wait(0.1):
            worker.relay.beat()

    worker.relay.run = crashing_relay
    before = sample("motcua_worker_thread_restarts_total", service="kittest", thread="relay")
    worker.start()
    try:
        wait_until(lambda: len(calls) >= 3, 10, message="the relay thread was not restarted")
        assert sample("motcua_worker_thread_restarts_total", service="kittest", thread="relay") - before == 2
        wait_until(lambda: health(port)[0] == 200, 5)
        assert health(port)[1]["threads"]["relay"]["alive"] is True
    finally:
        worker.stop()


def test_worker_healthz_answers_503_while_a_thread_has_not_beaten_its_heartbeat(db, db_url, amqp_url):
    port = free_port()
    settings = make_settings(amqp_url, db_url, worker_health_port=port, worker_stale_seconds=1)
    worker = Worker(settings, db, outbox=outbox, inbox=inbox, subscription=None)
    stuck = threading.Event()
    worker.relay.run = lambda: stuck.wait(30)  # alive, never beats: a relay stuck in a call
    worker.start()
    try:
        wait_until(lambda: health(port)[0] == 503, 5, message="a stuck relay did not show in /healthz")
        status, body = health(port)
        assert body["threads"]["relay"]["stale"] is True
        wait_until(lambda: sample("motcua_worker_thread_up", service="kittest", thread="relay") == 0, 5)
    finally:
        stuck.set()
        worker.stop()


# ---- outages -------------------------------------------------------------------------------------------
def test_a_database_outage_pauses_the_consumer_without_spending_retries_or_reordering(db, amqp_url, consumer_factory):
    down = threading.Event()
    down.set()

    def needs_the_database(conn, envelope, data):
        if down.is_set():
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        write_effect(conn, envelope, data)

    consumer, thread = consumer_factory(needs_the_database)
    before = sample("motcua_events_consumed_total", service="kittest", type="thing.happened.v1", outcome="retried")
    for i in range(5):
        publish_raw(amqp_url, thing(f"O-{i}"), message_id=f"o-{i}")
    time.sleep(3)  # ten times the whole retry budget (100 + 200 ms)
    assert queue_depth(amqp_url, QUEUES.dead) == 0
    down.clear()
    wait_until(lambda: count(db, effects) == 5, 15, message="the stream did not resume after the outage")
    assert effect_codes(db) == [f"O-{i}" for i in range(5)]
    assert sample("motcua_events_consumed_total", service="kittest", type="thing.happened.v1",
                  outcome="retried") == before
    assert queue_depth(amqp_url, QUEUES.dead) == 0
    assert thread.is_alive() and consumer.connected.is_set()


def test_the_relay_lease_outlasts_the_blocked_connection_timeout_and_database_waits_stay_under_the_heartbeat():
    from servicekit.config import KitSettings
    from servicekit.topology import connection_parameters

    settings = KitSettings.from_env("kittest")
    params = connection_parameters(settings.amqp_url, heartbeat=settings.heartbeat_seconds)
    assert settings.relay_lease_seconds > params.blocked_connection_timeout
    assert kit_db._BUSY_TIMEOUT_MS / 1000 < settings.heartbeat_seconds
    assert kit_db.POOL_TIMEOUT_SECONDS < settings.heartbeat_seconds
    assert kit_db.PG_STATEMENT_TIMEOUT_MS / 1000 < settings.heartbeat_seconds


def test_dead_letters_made_by_the_broker_show_in_the_dead_letters_gauge(db, amqp_url, consumer_factory):
    consumer_factory(attrs={"dead_letter_poll_seconds": 0.2})
    # What the broker does at x-delivery-limit: the message goes through the DLX, without the consumer knowing.
    publish_raw(amqp_url, thing("poison"), message_id="dl-1", exchange=DEAD_LETTER_EXCHANGE, routing_key=QUEUES.dead)
    wait_until(lambda: sample("motcua_dead_letters", service="kittest") == 1, 10,
               message="the dead-letter queue's depth never reached the gauge")


def test_the_consumer_reconnect_backoff_starts_again_after_a_good_connection(db, amqp_url, db_url):
    consumer = Consumer(make_settings(amqp_url, db_url, reconnect_max_seconds=4.0), db, inbox,
                        subscription(write_effect))
    script = ["fail", "fail", "fail", "connected-then-fail", "stop"]
    waits = []

    def fake_consume():
        step = script.pop(0)
        if step == "stop":
            consumer.stop()
            return
        if step == "connected-then-fail":
            consumer.connected.set()  # connected, then the broker went away
        raise pika.exceptions.AMQPConnectionError(step)

    consumer._consume = fake_consume
    consumer._stop.wait = lambda seconds: waits.append(seconds) or consumer._stop.is_set()
    consumer.run()
    assert waits == [0.25, 0.5, 1.0, 0.25], waits


def test_a_changed_delivery_limit_does_not_stop_the_consumer_and_exports_live_and_wanted(db, amqp_url, consumer_factory):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    declare_service_queues(conn.channel(), QUEUES, ["thing.happened.v1"], delivery_limit=20)
    conn.close()
    consumer_factory(delivery_limit=30)  # PRECONDITION_FAILED on redeclare, before the fix for ever
    publish_raw(amqp_url, thing("after-limit-change"), message_id="lim-1")
    wait_until(lambda: count(db, effects) == 1, 10)
    assert sample("motcua_queue_delivery_limit", service="kittest", kind="live") == 20
    assert sample("motcua_queue_delivery_limit", service="kittest", kind="wanted") == 30


def test_retention_prunes_old_inbox_rows_and_old_sent_outbox_rows_only(db):
    from servicekit.retention import prune

    old, fresh = now() - timedelta(hours=200), now() - timedelta(hours=1)
    with db.transaction() as conn:
        for i, at in enumerate([old, old, fresh]):
            conn.execute(inbox.insert().values(consumer="kittest", message_id=f"in-{i}", type="t", received_at=at))
    record_things(db, ["sent-old", "sent-new", "unsent-old"])
    with db.transaction() as conn:
        conn.execute(outbox.update().where(outbox.c.subject == "sent-old").values(sent_at=old, created_at=old))
        conn.execute(outbox.update().where(outbox.c.subject == "sent-new").values(sent_at=fresh))
        conn.execute(outbox.update().where(outbox.c.subject == "unsent-old").values(created_at=old))
    removed = prune(db, inbox=inbox, outbox=outbox, inbox_hours=168, outbox_hours=168)
    assert removed == {"inbox": 2, "outbox": 1}
    assert count(db, inbox) == 1
    with db.transaction(readonly=True) as conn:
        assert sorted(r.subject for r in conn.execute(sa.select(outbox.c.subject))) == ["sent-new", "unsent-old"]


def test_manage_unroutable_lists_requeues_and_discards_returned_rows_with_a_reason(db, db_url, capsys):
    from servicekit.cli import run_manage

    record_things(db, ["kept", "retired"])
    with db.transaction() as conn:
        conn.execute(outbox.update().values(first_returned_at=now() - timedelta(minutes=5), last_error="unroutable",
                                            claimed_until=now() + timedelta(minutes=1)))
    kit = make_settings("amqp://unused/", db_url)

    def manage(*argv):
        assert run_manage(list(argv), kit=kit, migrations_dir="unused", seed=None, subscription=None) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    listed = manage("unroutable", "list", "--older-than", "60")["unroutable"]
    ids = {row["id"] for row in listed}
    assert len(listed) == 2
    with db.transaction(readonly=True) as conn:
        retired = conn.execute(sa.select(outbox.c.id).where(outbox.c.subject == "retired")).scalar_one()
    assert manage("unroutable", "discard", "--id", str(retired), "--reason", "type retired")["discarded"] == 1
    assert manage("unroutable", "requeue")["requeued"] == 1
    assert [r["id"] for r in manage("unroutable", "list")["unroutable"]] == sorted(ids - {retired})
    assert count(db, outbox, outbox.c.claimed_until.is_(None), outbox.c.sent_at.is_(None)) == 1


def test_outages_are_told_from_the_works_own_mistakes():
    from servicekit.db import is_outage

    def wrapped(message, kind=sa.exc.OperationalError):
        return kind("SELECT 1", {}, Exception(message))

    assert is_outage(wrapped("could not connect to server: Connection refused"))
    assert is_outage(wrapped("database is locked"))
    assert is_outage(wrapped("connection already closed", sa.exc.InterfaceError))
    assert is_outage(sqlite3.OperationalError("database is locked"))
    assert not is_outage(wrapped("no such table: cases"))
    assert not is_outage(wrapped("duplicate key", sa.exc.IntegrityError))
    assert not is_outage(RuntimeError("handler bug"))


def lose_the_brokers_data(amqp_url):
    """The broker back on an empty disk: the test's vhost, with every queue, message and exchange in it, deleted and
    made again. Connections into it are closed, as a broker restart closes them."""
    vhost = unquote(amqp_url.rsplit("/", 1)[1])
    rabbitmqctl("delete_vhost", vhost)
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


def test_a_broker_back_without_its_data_is_given_again_what_it_confirmed_in_the_replay_window(
        db, amqp_url, relay_factory, consumer_factory):
    # The consumer's queue exists, its consumer is away (a worker being redeployed): the broker confirms and holds.
    consumer, thread = consumer_factory()
    consumer.stop()
    thread.join(10)
    record_things(db, ["long-ago"])
    relay_factory(relay_replay_seconds=600)
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 10, message="the relay did not publish")
    with db.transaction() as conn:  # sent an hour ago: outside the replay window, counted from the latest send
        conn.execute(outbox.update().values(sent_at=now() - timedelta(hours=1)))
    record_things(db, ["held-1", "held-2", "held-3"])
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 10, message="the relay did not publish")
    assert queue_depth(amqp_url, QUEUES.main) == 4  # confirmed: the relay's part is done, as far as it can tell
    republished = sample("motcua_outbox_republished_total", service="kittest")

    lose_the_brokers_data(amqp_url)
    consumer_factory()  # the worker back: it declares its queue again

    wait_until(lambda: sorted(effect_codes(db)) == ["held-1", "held-2", "held-3"], 20,
               message="what the broker lost was not published again")
    assert sample("motcua_outbox_republished_total", service="kittest") - republished == 3
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 10)


def test_a_relay_reconnecting_to_a_broker_that_kept_its_data_publishes_nothing_again(
        db, amqp_url, relay_factory, consumer_factory):
    consumer_factory()
    record_things(db, ["kept-1", "kept-2"])
    relay_factory()
    wait_until(lambda: sorted(effect_codes(db)) == ["kept-1", "kept-2"], 10)
    wait_until(lambda: count(db, outbox, outbox.c.sent_at.is_(None)) == 0, 10)
    republished = sample("motcua_outbox_republished_total", service="kittest")
    relay_factory()  # a second copy, or the worker restarted: the broker still holds everything
    assert count(db, outbox, outbox.c.sent_at.is_(None)) == 0
    assert sample("motcua_outbox_republished_total", service="kittest") == republished


def test_a_replay_not_yet_published_is_not_widened_by_a_second_one(db, amqp_url, db_url):
    # The marker could not be declared after the rows were marked (the probe connection dropped): the next attempt
    # finds the marker missing again. Counting its window from the latest send left, it would reach further back.
    relay = OutboxRelay(make_settings(amqp_url, db_url, relay_replay_seconds=600), db, outbox, bind_doorbell=False)
    record_things(db, ["an-hour-ago", "just-now"])
    with db.transaction() as conn:
        conn.execute(outbox.update().where(outbox.c.id == 1).values(sent_at=now() - timedelta(hours=1)))
        conn.execute(outbox.update().where(outbox.c.id == 2).values(sent_at=now()))
    assert relay._republish_recent() == 1
    assert relay._republish_recent() == 0
    assert count(db, outbox, outbox.c.sent_at.is_(None)) == 1


def test_a_database_error_while_replaying_is_retried_not_the_end_of_the_relay(db, amqp_url, db_url, relay_factory):
    calls = []

    def replay_once_the_database_answers():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE outbox", {}, Exception("database is locked"))
        return 0

    relay_factory(attrs={"_republish_recent": replay_once_the_database_answers})  # waits until it is connected
    assert len(calls) == 2


def test_a_replay_window_longer_than_the_inbox_keeps_its_rows_is_a_config_error(monkeypatch):
    monkeypatch.setenv("MOTCUA_INBOX_RETENTION_HOURS", "1")
    monkeypatch.setenv("MOTCUA_RELAY_REPLAY_SECONDS", "7200")
    with pytest.raises(ConfigError, match="MOTCUA_RELAY_REPLAY_SECONDS"):
        KitSettings.from_env("kittest")
    monkeypatch.setenv("MOTCUA_RELAY_REPLAY_SECONDS", "-1")
    with pytest.raises(ConfigError, match="MOTCUA_RELAY_REPLAY_SECONDS"):
        KitSettings.from_env("kittest")


def test_a_relay_on_a_broker_without_the_topology_waits_so_a_late_consumer_is_not_skipped(
        db, amqp_url, relay_factory, consumer_factory):
    # Another service's queue is already bound for the type; this service's consumer declares its own a moment
    # after the relay connects (a broker back on an empty disk, workers reconnecting in any order). A publish in
    # that moment would reach the other queue only: nothing comes back, and the event is lost for this service.
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = conn.channel()
    channel.exchange_declare(EVENTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare("other.events", durable=True)
    channel.queue_bind("other.events", EVENTS_EXCHANGE, routing_key="thing.happened.v1")
    conn.close()
    record_things(db, ["late-consumer"])
    relay_thread = run_in_thread(lambda: relay_factory(relay_settle_seconds=3.0))
    time.sleep(1.0)
    consumer_factory()
    relay_thread.join(20)
    wait_until(lambda: count(db, effects) == 1, 15, message="the event skipped the consumer that declared late")
    assert queue_depth(amqp_url, "other.events") == 1

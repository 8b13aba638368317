"""Reliability under faults (target T7): broker killed with -9 under load, a worker dying between commit and ack,
every event delivered twice, a malformed message, and a handler that keeps failing until it is fixed and replayed.

Each test runs its own private RabbitMQ node (tests/support/rabbit.py) and its own suite on ports +450, so a
broker it kills is never the one other tests or a `make up` use.
"""
import importlib
import json
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter

import pika
import pytest
import requests

from scripts.suite import ROOT, SERVICES, python
from servicekit.consumer import REASON_HEADER
from servicekit.testing import wait_until
from servicekit.topology import EVENTS_EXCHANGE

pytestmark = pytest.mark.slow

PORT_OFFSET = 450  # services 8451-8455, simulators 8551-8553: clear of `make up`, test_end_to_end and bench
SUBMITTED = "dossier.submitted.v1"
RECONNECT_TARGET_S = 5.0  # DESIGN.md T7


def consumers_of(rabbit, type_name):
    """The services whose queue the broker routes this type to (what the workers really consume)."""
    rows = rabbit.ctl("list_bindings", "source_name", "destination_name", "routing_key").stdout.splitlines()
    bound = {row.split("\t")[1] for row in rows if row.split("\t")[::2] == [EVENTS_EXCHANGE, type_name]}
    return [s for s in SERVICES if f"{s}.events" in bound]


def channel_to(amqp_url):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    return connection, connection.channel()


def queue_depth(channel, queue):
    return channel.queue_declare(queue, passive=True).method.message_count


def in_flight(rabbit, service):
    """Messages (ready and unacknowledged) in the service's main and retry queues."""
    rows = rabbit.ctl("list_queues", "name", "messages").stdout.splitlines()
    return sum(int(n) for name, n in (row.split("\t") for row in rows if "\t" in row)
               if name.startswith(f"{service}.events") and not name.endswith(".dead") and n.isdigit())


def settled(rabbit, service, checks=3, interval=0.3):
    """Nothing in flight for the service, several times in a row (a retry is never more than 400 ms away)."""
    for _ in range(checks):
        if in_flight(rabbit, service):
            return False
        time.sleep(interval)
    return True


class FilingStream:
    """Files dossiers in a background thread, paced to span a broker outage, until told to stop.

    `triggered` is set after `trigger_at` accepted filings (the moment to break the broker); once the test
    sets `restarted`, the stream ends after `after_restart` more filings and at least `min_total` in all.
    """

    def __init__(self, filer, support, *, key_prefix, phone_base=0, count=3000, seconds=120, pace=0.03,
                 trigger_at=60, after_restart=20, min_total=0):
        self.filer, self.support = filer, support
        self.key_prefix, self.phone_base, self.count, self.seconds, self.pace = key_prefix, phone_base, count, seconds, pace
        self.trigger_at, self.after_restart, self.min_total = trigger_at, after_restart, min_total
        self.accepted: dict[str, float] = {}  # dossier code -> time.time() of its 201
        self.failures: list[str] = []
        self.triggered, self.restarted, self.done = threading.Event(), threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, name="filings", daemon=True)

    def start(self) -> "FilingStream":
        self.thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        since_restart = 0
        for n in range(1, self.count + 1):
            if self.done.is_set() or time.monotonic() > deadline:
                break
            try:
                response = self.filer.file(self.support.phone_for(self.phone_base + n),
                                           key=f"{self.key_prefix}-{n}-{uuid.uuid4()}", timeout=15)
            except requests.RequestException as exc:
                self.failures.append(f"filing {n}: {exc!r}")
                continue
            if response.status_code != 201:
                self.failures.append(f"filing {n}: {response.status_code} {response.text[:300]}")
                continue
            self.accepted[response.json()["code"]] = time.time()
            if len(self.accepted) >= self.trigger_at:
                self.triggered.set()
            if self.restarted.is_set():
                since_restart += 1
                if len(self.accepted) >= self.min_total and since_restart >= self.after_restart:
                    break
            time.sleep(self.pace)
        self.triggered.set()

    def stop(self, timeout: float = 5) -> None:
        self.done.set()
        self.thread.join(timeout)


def test_broker_killed_with_sigkill_mid_stream_loses_nothing_duplicates_nothing_and_services_reconnect_within_5_s(
        private_rabbit, start_suite, support, figures):
    suite = start_suite({"MOTCUA_AMQP_URL": private_rabbit.amqp_url}, PORT_OFFSET)
    filer = support.Filer(suite)
    stream = FilingStream(filer, support, key_prefix="fault-a", trigger_at=60, min_total=200).start()
    try:
        assert stream.triggered.wait(60), "60 filings took more than a minute"
        killed_at = time.time()
        private_rabbit.kill9()
        time.sleep(3)
        restart_seconds = private_rabbit.start()
        back_at = private_rabbit.ready_at
        stream.restarted.set()
        stream.thread.join(150)
        assert not stream.thread.is_alive(), "the filing stream did not finish"
    finally:
        stream.stop()

    assert not stream.failures, f"{len(stream.failures)} filings were not accepted:\n" + "\n".join(stream.failures[:20])
    codes = set(stream.accepted)
    assert len(codes) >= 200
    filed_while_down = sum(1 for t in stream.accepted.values() if killed_at <= t <= back_at)
    assert filed_while_down > 0, "no filing happened while the broker was down"

    drain_started = time.monotonic()

    def drained():
        cases = set(support.case_codes(suite))
        sms = support.sms_per_code(support.sms_messages(suite), codes)
        return codes <= cases and all(sms.values())

    wait_until(drained, timeout=60, interval=0.5, message="the backlog did not drain within 60 s")
    drain_seconds = time.monotonic() - drain_started
    time.sleep(2)  # room for a late duplicate to show itself

    cases = Counter(support.case_codes(suite))
    assert set(cases) == codes, f"cases without a filing: {set(cases) - codes}; filings without a case: {codes - set(cases)}"
    assert set(cases.values()) == {1}, f"dossiers with several cases: {[c for c, n in cases.items() if n > 1]}"
    per_code = support.sms_per_code(support.sms_messages(suite), codes)
    assert not [c for c, n in per_code.items() if n != 1], {c: n for c, n in per_code.items() if n != 1}
    sms_total = support.sms_count(suite)
    assert sms_total["total"] == sms_total["distinct_message_ids"] == len(codes), sms_total
    for service, path in (("payment", "/v1/payments/"), ("postal", "/v1/shipments/")):
        missing = [c for c in codes if support.get_officer(suite, service, path + c).status_code != 200]
        assert not missing, f"{service} lost {len(missing)} dossiers, e.g. {missing[:5]}"

    reconnect = {}
    for service in suite.services:
        entries = [e for e in suite.log_events(f"{service}-worker") if e.get("event") in ("relay.connected", "consumer.connected")]
        for role in ("relay", "consumer"):
            after = [support.log_time(e) for e in entries if e["event"] == f"{role}.connected" and support.log_time(e) > killed_at]
            if role == "consumer" and not any(e["event"] == "consumer.connected" for e in entries):
                continue  # a worker without a consumer
            assert after, f"{service} {role} never reconnected after the broker came back"
            reconnect[f"{service}.{role}"] = round(max(after[0] - back_at, 0.0), 2)
    duplicates = sum(support.consumed(suite, s, "duplicate") for s in suite.services)
    figures("FAULT-FIGURES", {
        "filings_accepted": len(codes),
        "filed_while_broker_down": filed_while_down,
        "cases": sum(cases.values()),
        "sms": sms_total["total"],
        "duplicates_absorbed": int(duplicates),
        "broker_restart_seconds": round(restart_seconds, 2),
        "broker_down_seconds": round(back_at - killed_at, 2),
        "drain_seconds": round(drain_seconds, 2),
        "reconnect_seconds_after_broker_ready": reconnect,
    })
    slow = {k: v for k, v in reconnect.items() if v > RECONNECT_TARGET_S}
    assert not slow, f"reconnected later than {RECONNECT_TARGET_S} s after the broker was back: {slow}"


def test_notify_worker_killed_between_commit_and_ack_sends_the_sms_once(private_rabbit, start_suite, support):
    suite = start_suite({"MOTCUA_AMQP_URL": private_rabbit.amqp_url}, PORT_OFFSET)
    # The kit's fault switch: exit(86) right after the first handler commit, before the ack. A sender thread
    # may have claimed the new message in that instant; a short lease keeps the wait for its release bounded.
    suite.restart("notify-worker", {"MOTCUA_FAULT": "crash_after_commit", "NOTIFY_SEND_LEASE_SECONDS": "6"})
    phone = support.phone_for(2)
    filed = support.Filer(suite).file(phone)
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]

    assert suite.wait_exit("notify-worker", timeout=20) == 86, suite.log_tail("notify-worker")
    suite.restart("notify-worker")  # the redelivered event meets the inbox row the first run committed

    wait_until(lambda: support.sms_messages(suite, to=phone), timeout=20, message="no SMS after the restart")
    wait_until(lambda: support.consumed(suite, "notify", "duplicate", SUBMITTED) >= 1, timeout=15,
               message="notify did not see the redelivery as a duplicate")
    time.sleep(1.5)
    messages = support.sms_messages(suite, to=phone)
    assert len(messages) == 1 and code in messages[0]["text"], messages


def test_every_event_delivered_twice_still_has_one_effect(private_rabbit, start_suite, support):
    suite = start_suite({"MOTCUA_AMQP_URL": private_rabbit.amqp_url}, PORT_OFFSET)
    connection, channel = channel_to(private_rabbit.amqp_url)
    try:
        tap = channel.queue_declare("test.tap", exclusive=True, arguments={"x-queue-type": "classic"}).method.queue
        channel.queue_bind(tap, EVENTS_EXCHANGE, routing_key=SUBMITTED)
        phone = support.phone_for(3)
        filed = support.Filer(suite).file(phone)
        assert filed.status_code == 201, filed.text
        code = filed.json()["code"]
        wait_until(lambda: support.sms_messages(suite, to=phone), timeout=10, message="the first delivery sent no SMS")
        wait_until(lambda: support.get_officer(suite, "processing", f"/v1/dossiers/{code}").status_code == 200, timeout=10)

        method, props, body = wait_until(lambda: (lambda got: got if got[0] else None)(channel.basic_get(tap, auto_ack=True)),
                                         timeout=10, message="the tap saw no dossier.submitted")
        envelope = json.loads(body)
        assert envelope["subject"] == code and props.message_id == envelope["id"]
        readers = consumers_of(private_rabbit, SUBMITTED)
        before = {s: support.consumed(suite, s, "duplicate", SUBMITTED) for s in readers}

        channel.confirm_delivery()
        channel.basic_publish(EVENTS_EXCHANGE, SUBMITTED, body, props, mandatory=True)  # the same bytes, same id

        wait_until(lambda: all(support.consumed(suite, s, "duplicate", SUBMITTED) == before[s] + 1 for s in readers),
                   timeout=10, message="not every consumer recorded the second delivery as a duplicate")
    finally:
        connection.close()
    time.sleep(1.0)
    assert support.case_codes(suite).count(code) == 1
    assert len(support.sms_messages(suite, to=phone)) == 1
    assert support.get_officer(suite, "payment", f"/v1/payments/{code}").status_code == 200
    assert support.get_officer(suite, "postal", f"/v1/shipments/{code}").status_code == 200


def test_a_malformed_message_is_dead_lettered_at_once_with_its_reason_and_consumers_keep_going(
        private_rabbit, start_suite, support):
    suite = start_suite({"MOTCUA_AMQP_URL": private_rabbit.amqp_url}, PORT_OFFSET)
    readers = consumers_of(private_rabbit, SUBMITTED)
    assert {"processing", "notify"} <= set(readers), readers
    message_id = str(uuid.uuid4())
    connection, channel = channel_to(private_rabbit.amqp_url)
    try:
        channel.confirm_delivery()
        published_at = time.monotonic()
        channel.basic_publish(
            EVENTS_EXCHANGE, SUBMITTED, b"\x00{ this is not an event",
            pika.BasicProperties(message_id=message_id, type=SUBMITTED, content_type="application/json", delivery_mode=2),
            mandatory=True,
        )
        reasons = {}
        for service in readers:
            def dead_letter(service=service):
                method, props, _body = channel.basic_get(f"{service}.events.dead", auto_ack=False)
                if method is None:
                    return None
                channel.basic_ack(method.delivery_tag)
                return props if props.message_id == message_id else None

            props = wait_until(dead_letter, timeout=5, interval=0.1, message=f"{service} did not dead-letter the garbage")
            reasons[service] = props.headers[REASON_HEADER]
        assert time.monotonic() - published_at < 5
    finally:
        connection.close()
    for service, reason in reasons.items():
        assert "not JSON" in reason, (service, reason)
        assert support.consumed(suite, service, "dead") >= 1

    phone = support.phone_for(4)
    filed = support.Filer(suite).file(phone)
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    messages = wait_until(lambda: support.sms_messages(suite, to=phone), timeout=10,
                          message="after the garbage, a normal filing got no SMS")
    assert code in messages[0]["text"]
    wait_until(lambda: support.get_officer(suite, "processing", f"/v1/dossiers/{code}").status_code == 200, timeout=10)


def test_a_handler_that_keeps_failing_is_dead_lettered_after_bounded_retries_and_replayed_once_fixed(
        private_rabbit, start_suite, support):
    retry_env = {"MOTCUA_MAX_RETRIES": "2", "MOTCUA_RETRY_DELAYS_MS": "200,400"}
    suite = start_suite({"MOTCUA_AMQP_URL": private_rabbit.amqp_url}, PORT_OFFSET,
                        process_env={"processing-worker": retry_env})
    cases_table = importlib.import_module("processing.models").cases.name
    # A real failure inside the handler's transaction: every insert into the cases table aborts. (chmod 0444
    # on the SQLite file would not do: the worker holds it open already, and root ignores file modes.)
    database = sqlite3.connect(suite.database_path("processing"), timeout=10)
    try:
        database.execute(f"CREATE TRIGGER test_fault BEFORE INSERT ON {cases_table} "
                         "BEGIN SELECT RAISE(ABORT, 'injected fault: cases refuse inserts'); END")
        database.commit()

        phone = support.phone_for(5)
        filed = support.Filer(suite).file(phone)
        assert filed.status_code == 201, filed.text
        code = filed.json()["code"]
        wait_until(lambda: support.sms_messages(suite, to=phone), timeout=10,
                   message="the other consumers should be unaffected by processing's failure")
        # notify's notification.sent reaches processing too (and fails the same way, finding no case): wait
        # until it is published and processing holds nothing in its main or retry queues, so the replay below
        # finds every dead letter there will be.
        wait_until(lambda: support.metric_sum(suite, "notify", "motcua_events_published_total") >= 1, timeout=10)
        wait_until(lambda: settled(private_rabbit, "processing"), timeout=15, interval=0.3,
                   message="processing kept retrying")

        def dead_letters():
            # Read without acking; closing the connection puts them back for the replay.
            connection, channel = channel_to(private_rabbit.amqp_url)
            try:
                found = []
                for _ in range(20):
                    method, props, body = channel.basic_get("processing.events.dead", auto_ack=False)
                    if method is None:
                        break
                    found.append((props, json.loads(body)))
                return found
            finally:
                connection.close()

        def submitted_dead_letter():
            return next((props for props, envelope in dead_letters()
                         if envelope["type"] == SUBMITTED and envelope["subject"] == code), None)

        props = wait_until(submitted_dead_letter, timeout=15, interval=0.2,
                           message="processing did not dead-letter dossier.submitted after its retries")
        assert "injected fault" in props.headers[REASON_HEADER]
        assert "3 times" in props.headers[REASON_HEADER]  # the first attempt and MOTCUA_MAX_RETRIES=2 retries
        assert support.consumed(suite, "processing", "retried", SUBMITTED) == 2
        assert support.consumed(suite, "processing", "dead", SUBMITTED) == 1
        assert support.get_officer(suite, "processing", f"/v1/dossiers/{code}").status_code == 404

        database.execute("DROP TRIGGER test_fault")  # the fix
        database.commit()
    finally:
        database.close()

    replay = subprocess.run(
        [python(), "-m", "processing.manage", "replay-dead"], cwd=ROOT, env=suite.processes["processing-worker"].env,
        capture_output=True, text=True, timeout=60,
    )
    assert replay.returncode == 0, replay.stderr
    # Processing's notification.sent handler also waited for the case in vain, so it may have dead letters too.
    assert json.loads(replay.stdout.strip().splitlines()[-1])["replayed"] >= 1
    case = wait_until(lambda: (lambda r: r.json() if r.status_code == 200 else None)(
        support.get_officer(suite, "processing", f"/v1/dossiers/{code}")), timeout=10,
        message="the replayed event did not open the case")
    assert case["code"] == code

    def dead_depth():
        connection, channel = channel_to(private_rabbit.amqp_url)
        try:
            return queue_depth(channel, "processing.events.dead")
        finally:
            connection.close()

    wait_until(lambda: dead_depth() == 0, timeout=10, message="replayed events were dead-lettered again")


GIVE_UP_S = 5  # the test-shortened unroutable give-up period (production default 120 s)
OUTAGE_S = 15  # longer than GIVE_UP_S: every row filed while away is older than the give-up when first published
LATE_WORKER_S = 2  # processing's worker, redeployed during the outage, is back this long after the broker


def test_broker_down_longer_than_the_give_up_and_back_on_an_empty_disk_loses_no_filing(
        private_rabbit, start_suite, support, figures):
    """The broker comes back with no queue at all; each service declares its own again when its worker reconnects,
    and one worker (processing, being redeployed) comes back a few seconds after the others: events published
    in that window reach some queues and not processing's, unless the relays wait for the topology to settle.
    Processing's worker went away before the broker did, so the broker had confirmed filings into its queue that
    it lost with its disk: intake's relay publishes them again (MOTCUA_RELAY_REPLAY_SECONDS)."""
    suite = start_suite({"MOTCUA_AMQP_URL": private_rabbit.amqp_url,
                         "MOTCUA_UNROUTABLE_GIVE_UP_SECONDS": str(GIVE_UP_S)}, PORT_OFFSET)
    filer = support.Filer(suite)
    stream = FilingStream(filer, support, key_prefix="fault-long", phone_base=10_000, count=2000, seconds=150,
                          pace=0.1, trigger_at=20).start()
    try:
        assert stream.triggered.wait(60), "20 filings took more than a minute"
        suite.kill("processing-worker", signal.SIGTERM)
        assert suite.wait_exit("processing-worker", timeout=20) is not None
        before = set(stream.accepted)
        wait_until(lambda: len(stream.accepted) >= len(before) + 5, timeout=30, message="filings stopped")
        held = set(stream.accepted) - before
        # Notify has their SMS, so the broker confirmed them; processing's copies wait in its queue.
        wait_until(lambda: all(support.sms_per_code(support.sms_messages(suite), held).values()), timeout=20,
                   message="the filings made while processing's worker was away got no SMS")
        stopped_at = time.time()
        private_rabbit.stop()
        private_rabbit.wipe()  # queues, messages, bindings and exchanges gone: the services must declare them again
        time.sleep(max(OUTAGE_S - (time.time() - stopped_at), 0))
        private_rabbit.start()
        back_at = private_rabbit.ready_at
        stream.restarted.set()
        time.sleep(LATE_WORKER_S)
        suite.restart("processing-worker", wait=False)
        stream.thread.join(90)
        assert not stream.thread.is_alive(), "the filing stream did not finish"
    finally:
        stream.stop()

    assert not stream.failures, f"{len(stream.failures)} filings were not accepted:\n" + "\n".join(stream.failures[:20])
    codes = set(stream.accepted)
    filed_while_down = sum(1 for t in stream.accepted.values() if stopped_at <= t <= back_at)
    assert filed_while_down > 0, "no filing happened while the broker was down"
    assert back_at - stopped_at > GIVE_UP_S

    drain_started = time.monotonic()

    def progress():
        cases = set(support.case_codes(suite))
        sms = support.sms_per_code(support.sms_messages(suite), codes)
        return len(codes & cases), sum(1 for n in sms.values() if n)

    def drained():
        with_case, with_sms = progress()
        return with_case == len(codes) and with_sms == len(codes)

    try:
        wait_until(drained, timeout=60, interval=0.5, message="the backlog did not drain within 60 s")
    except AssertionError:
        with_case, with_sms = progress()
        figures("LONG-OUTAGE-FIGURES", {"filings_accepted": len(codes), "filed_while_broker_down": filed_while_down,
                                        "with_case": with_case, "with_sms": with_sms,
                                        "broker_down_seconds": round(back_at - stopped_at, 2)})
        raise
    drain_seconds = time.monotonic() - drain_started
    republished = support.metric_sum(suite, "intake", "motcua_outbox_republished_total")
    assert republished >= len(held), (republished, len(held))
    time.sleep(2)  # room for a late duplicate

    cases = Counter(support.case_codes(suite))
    assert set(cases) == codes and set(cases.values()) == {1}, {c: n for c, n in cases.items() if n != 1}
    per_code = support.sms_per_code(support.sms_messages(suite), codes)
    assert not [c for c, n in per_code.items() if n != 1], {c: n for c, n in per_code.items() if n != 1}
    # Every worker's own /healthz (service port + 2000): each thread alive and beating after the outage.
    for service in suite.services:
        response = support.session().get(f"http://127.0.0.1:{suite.port(service) + 2000}/healthz", timeout=5)
        assert response.status_code == 200, (service, response.text)
        assert all(t["alive"] and not t["stale"] for t in response.json()["threads"].values()), response.json()
    figures("LONG-OUTAGE-FIGURES", {
        "filings_accepted": len(codes),
        "filed_while_broker_down": filed_while_down,
        "cases": sum(cases.values()),
        "sms": sum(per_code.values()),
        "broker_down_seconds": round(back_at - stopped_at, 2),
        "give_up_seconds": GIVE_UP_S,
        "held_in_processing_queue_when_lost": len(held),
        "republished_by_intake": int(republished),
        "drain_seconds": round(drain_seconds, 2),
    })

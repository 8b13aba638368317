"""The postal operator simulator: dispatch orders in, signed status reports out."""
import json
import shutil
import subprocess
import time
import uuid

import pika
import pytest

from motcua_sims import postal_operator
from motcua_sims.postal_operator import DispatchConsumer, Operator, Settings, create_app

SECRET = "test-postal-secret"


def dispatch_order(tracking_no="EB123456789VN", **overrides):
    order = {
        "shipment_id": "shp-1", "tracking_no": tracking_no, "dossier_code": "000.00.06.H56-250701-0001",
        "service": "return",
        "sender": {"name": "UBND phuong Phuc Yen", "address": "1 Tran Phu", "phone": "842113869999",
                   "province": "Phu Tho"},
        "recipient": {"name": "Dang Thi Ngoc Anh", "address": "12 Hai Ba Trung", "phone": "84912345678",
                      "province": "Phu Tho", "commune": "Phuc Yen"},
        "weight_g": 150, "cod_amount_vnd": 10_000, "requested_at": "2025-07-01T08:00:00Z",
    }
    return json.dumps({**order, **overrides}).encode()


@pytest.fixture
def operator(tmp_path, receiver):
    return Operator(Settings(db_path=tmp_path / "postal.db", callback_url=receiver.url, webhook_secret=SECRET))


@pytest.fixture
def client(operator):
    return create_app(operator=operator).test_client()


def test_redelivered_order_is_stored_once(operator, client):
    assert operator.receive("order-1", "dispatch.requested", dispatch_order()) is True
    assert operator.receive("order-1", "dispatch.requested", dispatch_order()) is False
    [order] = client.get("/v1/orders").get_json()["items"]
    assert order["message_id"] == "order-1" and order["deliveries"] == 2 and order["status"] == "ordered"
    assert order["tracking_no"] == "EB123456789VN" and order["order"]["recipient"]["commune"] == "Phuc Yen"


def test_cancellation_marks_the_order_cancelled(operator, client):
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    operator.receive("cancel-1", "dispatch.cancelled", json.dumps({"tracking_no": "EB123456789VN"}).encode())
    assert client.get("/v1/orders/EB123456789VN").get_json()["status"] == "cancelled"
    assert len(client.get("/v1/orders?routing_key=dispatch.cancelled").get_json()["items"]) == 1


def test_malformed_order_is_refused(operator):
    with pytest.raises(ValueError):
        operator.receive("bad-1", "dispatch.requested", b"{not json")
    with pytest.raises(ValueError):
        operator.receive("bad-2", "dispatch.requested", b"[1, 2]")


def test_status_report_is_posted_signed(operator, client, receiver, verify_signature):
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    response = client.post("/v1/orders/EB123456789VN/events", json={"status": "picked_up", "note": "Buu ta da lay"})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["callback"]["delivered"] is True

    [received] = receiver.requests
    event = json.loads(received["body"])
    assert event == answer["event"]
    assert event["tracking_no"] == "EB123456789VN" and event["status"] == "picked_up"
    assert event["note"] == "Buu ta da lay" and event["event_id"] and event["at"].endswith("Z")
    assert verify_signature(received["headers"]["X-Motcua-Signature"], received["body"], SECRET)
    order = client.get("/v1/orders/EB123456789VN").get_json()
    assert order["status"] == "picked_up" and order["reports"][0]["delivered"] is True


def test_duplicate_and_backdated_reports_can_be_scripted(operator, client, receiver):
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    report = {"status": "in_transit", "event_id": "evt-1", "at": "2025-07-01T09:00:00Z"}
    client.post("/v1/orders/EB123456789VN/events", json=report)
    client.post("/v1/orders/EB123456789VN/events", json=report)
    assert [(e["event_id"], e["at"]) for e in receiver.json_bodies()] == [("evt-1", "2025-07-01T09:00:00Z")] * 2


def test_report_for_an_unknown_tracking_number_is_a_404(client, receiver):
    response = client.post("/v1/orders/NOPE/events", json={"status": "delivered"})
    assert response.status_code == 404 and receiver.requests == []


@pytest.mark.parametrize("body, field", [
    ({"status": "lost"}, "status"), ({}, "status"), ({"status": "delivered", "at": "yesterday"}, "at"),
    ({"status": "delivered", "note": 5}, "note"),
])
def test_bad_status_report_is_a_422_naming_the_field(operator, client, body, field):
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    response = client.post("/v1/orders/EB123456789VN/events", json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"]["json"]


def test_postal_service_down_is_reported_in_the_answer(tmp_path):
    operator = Operator(Settings(db_path=tmp_path / "postal.db", callback_url="http://127.0.0.1:9/nothing"))
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    response = create_app(operator=operator).test_client().post("/v1/orders/EB123456789VN/events",
                                                                json={"status": "accepted"})
    assert response.status_code == 200 and response.get_json()["callback"]["delivered"] is False


def test_auto_deliver_reports_every_step_to_delivered_in_time_order(tmp_path, receiver):
    operator = Operator(Settings(db_path=tmp_path / "postal.db", callback_url=receiver.url, auto_deliver=True,
                                 auto_deliver_delay_s=0.05))
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    operator.receive("order-1", "dispatch.requested", dispatch_order())  # a redelivery starts nothing new
    receiver.wait_for(4)
    time.sleep(0.2)
    reports = receiver.json_bodies()
    assert [e["status"] for e in reports] == ["accepted", "picked_up", "in_transit", "delivered"]
    assert [e["at"] for e in reports] == sorted(e["at"] for e in reports) and len({e["event_id"] for e in reports}) == 4
    assert reports[-1]["note"] == "Đã phát thành công cho người nhận"


def plan_with(tmp_path, **settings):
    operator = Operator(Settings(db_path=tmp_path / "postal.db", callback_url="http://127.0.0.1:9/", seed=7,
                                 **settings))
    return operator, [operator.plan("EB123456789VN") for _ in range(200)]


def test_a_share_of_orders_fails_and_returns_to_sender_after_the_failed_attempts(tmp_path):
    _operator, plans = plan_with(tmp_path, fail_rate=0.3, failed_attempts=2)
    failed = [p for p in plans if p[-1]["status"] == "returned_to_sender"]
    assert 30 <= len(failed) <= 90
    assert [e["status"] for e in failed[0]] == ["accepted", "picked_up", "in_transit", "failed_attempt",
                                                "failed_attempt", "returned_to_sender"]
    assert all(p[-1]["status"] == "delivered" for p in plans if p not in failed)


def test_duplicates_repeat_a_report_with_its_event_id_and_reordering_swaps_neighbours_keeping_their_times(tmp_path):
    _operator, plans = plan_with(tmp_path, duplicate_rate=0.5, reorder_rate=0.5)
    duplicated = [p for p in plans if len({e["event_id"] for e in p}) < len(p)]
    reordered = [p for p in plans if [e["at"] for e in p] != sorted(e["at"] for e in p)]
    assert duplicated and reordered
    for plan in plans:
        unique = {e["event_id"]: e for e in plan}
        # Whatever the sending order, the times tell the true order of the four steps.
        assert [e["status"] for e in sorted(unique.values(), key=lambda e: e["at"])] == [
            "accepted", "picked_up", "in_transit", "delivered"]


def test_rates_of_zero_give_one_clean_delivery_per_order(tmp_path):
    _operator, plans = plan_with(tmp_path)
    assert all([e["status"] for e in p] == ["accepted", "picked_up", "in_transit", "delivered"] for p in plans)


def test_a_cancellation_after_pickup_is_too_late(operator, client):
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    client.post("/v1/orders/EB123456789VN/events", json={"status": "picked_up"})
    operator.receive("cancel-1", "dispatch.cancelled", json.dumps({"tracking_no": "EB123456789VN"}).encode())
    assert client.get("/v1/orders/EB123456789VN").get_json()["status"] == "picked_up"


def test_bad_rates_stop_the_simulator_at_start(monkeypatch):
    monkeypatch.setenv("POSTAL_SIM_FAIL_RATE", "1.5")
    with pytest.raises(SystemExit, match="FAIL_RATE"):
        Settings.from_env()


def test_auto_deliver_skips_a_cancelled_order(tmp_path, receiver):
    operator = Operator(Settings(db_path=tmp_path / "postal.db", callback_url=receiver.url, auto_deliver=True,
                                 auto_deliver_delay_s=0.2))
    operator.receive("order-1", "dispatch.requested", dispatch_order())
    operator.receive("cancel-1", "dispatch.cancelled", json.dumps({"tracking_no": "EB123456789VN"}).encode())
    time.sleep(0.5)
    assert receiver.requests == []


def test_web_app_stays_healthy_while_the_broker_is_unreachable(operator, client):
    consumer = DispatchConsumer("amqp://guest:guest@127.0.0.1:9/%2F", operator.receive, operator.log)
    consumer.start()
    time.sleep(0.3)
    assert consumer.is_alive() and not consumer.ready.is_set()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    started = time.monotonic()
    consumer.stop()
    assert not consumer.is_alive() and time.monotonic() - started < 2


# --- against the real broker, in a throwaway vhost ----------------------------------------------------------

def rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def vhost_url():
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available")
    vhost = f"sims-test-{uuid.uuid4().hex[:8]}"
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"RabbitMQ is not usable here: {exc}")
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    rabbitmqctl("delete_vhost", vhost)


def publish(url, routing_key, message_id, body):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(postal_operator.EXCHANGE, routing_key, body, mandatory=True, properties=pika.BasicProperties(
            message_id=message_id, content_type="application/json", delivery_mode=2))
    finally:
        connection.close()


def wait_until(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


def test_order_redelivered_by_the_broker_is_stored_once(operator, vhost_url):
    calls = []

    def receive_then_crash_once(message_id, routing_key, body):
        # Stores the order, then dies before the ack, the way a crash would: the broker redelivers it.
        new = operator.receive(message_id, routing_key, body)
        calls.append(new)
        if len(calls) == 1:
            raise RuntimeError("crash before ack")
        return new

    consumer = DispatchConsumer(vhost_url, receive_then_crash_once, operator.log)
    consumer.start()
    try:
        assert consumer.ready.wait(10)
        publish(vhost_url, "dispatch.requested", "order-1", dispatch_order())
        publish(vhost_url, "dispatch.requested", "order-1", dispatch_order())  # a duplicate publish, too
        assert wait_until(lambda: len(calls) == 3)
    finally:
        consumer.stop()
    assert calls == [True, False, False]
    rows = operator.store.query("SELECT message_id, deliveries FROM orders")
    assert rows == [{"message_id": "order-1", "deliveries": 3}]


def test_operator_queue_is_a_durable_classic_v2_queue_bound_to_both_keys(operator, vhost_url):
    consumer = DispatchConsumer(vhost_url, operator.receive, operator.log)
    consumer.start()
    try:
        assert consumer.ready.wait(10)
        # Declaring with other arguments would fail with PRECONDITION_FAILED; the same ones succeed.
        connection = pika.BlockingConnection(pika.URLParameters(vhost_url))
        channel = connection.channel()
        channel.queue_declare(postal_operator.QUEUE, durable=True,
                              arguments={"x-queue-type": "classic", "x-queue-version": 2})
        channel.exchange_declare(postal_operator.EXCHANGE, exchange_type="topic", durable=True)
        connection.close()
        publish(vhost_url, "dispatch.cancelled", "cancel-1", json.dumps({"tracking_no": "EB1VN"}).encode())
        assert wait_until(lambda: operator.store.query("SELECT 1 FROM orders"))
    finally:
        consumer.stop()

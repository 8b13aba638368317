"""Dispatch orders and cancellations as the operator receives them from a real RabbitMQ (throwaway vhost):
every message validates against the JSON Schema published in docs/schemas, with a stable message id."""
import json
import os
import threading
from dataclasses import replace

import pika
import pytest
from jsonschema import Draft202012Validator

from servicekit.outbox import OutboxRelay
from servicekit.testing import deliver_event, wait_until
from servicekit.topology import EVENTS_EXCHANGE, POSTAL_EXCHANGE, declare_exchanges

from postal.handlers import SUBSCRIPTION
from postal.models import inbox, outbox

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEMAS = {
    key: Draft202012Validator(json.load(open(os.path.join(ROOT, "docs", "schemas", f"postal-{name}.schema.json"),
                                            encoding="utf-8")), format_checker=Draft202012Validator.FORMAT_CHECKER)
    for key, name in (("dispatch.requested", "dispatch-requested"), ("dispatch.cancelled", "dispatch-cancelled"))
}
OPERATOR_QUEUE = "test.operator.dispatch"


@pytest.fixture
def broker(amqp_url):
    """The operator's queue on motcua.postal, and a sink for the suite's own events (so nothing is unroutable)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    declare_exchanges(channel)
    channel.queue_declare(OPERATOR_QUEUE, durable=True)
    for key in ("dispatch.requested", "dispatch.cancelled"):
        channel.queue_bind(OPERATOR_QUEUE, POSTAL_EXCHANGE, routing_key=key)
    channel.queue_declare("test.events.sink", durable=True)
    channel.queue_bind("test.events.sink", EVENTS_EXCHANGE, routing_key="#")
    yield channel
    connection.close()


@pytest.fixture
def relay(seeded_db, settings, amqp_url, broker):
    relay = OutboxRelay(replace(settings.kit, amqp_url=amqp_url), seeded_db, outbox, bind_doorbell=False)
    seeded_db.doorbell.local.append(relay.wake)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    wait_until(relay.connected.is_set, 15, message="relay did not connect")
    yield relay
    relay.stop()
    thread.join(10)


def drain(channel, count, timeout=15):
    got = []

    def more():
        method, props, body = channel.basic_get(OPERATOR_QUEUE, auto_ack=True)
        if method is not None:
            got.append((method.routing_key, props, body))
        return len(got) >= count

    wait_until(more, timeout, message=f"the operator's queue got {len(got)} of {count} messages")
    return got


def test_every_order_and_cancellation_the_operator_receives_validates_against_its_schema(
        seeded_db, relay, broker, dossier_submitted, result_ready, dossier_closed):
    deliveries = [
        ("dossier.submitted.v1", dossier_submitted(code="B-1")),
        ("dossier.result_ready.v1", result_ready(code="B-1")),
        ("dossier.submitted.v1", dossier_submitted(code="B-2", province="Đà Nẵng", commune="Xã Bà Nà",
                                                   exemption="free")),
        ("dossier.result_ready.v1", result_ready(code="B-2", seq=6)),
        ("dossier.stopped.v1", dossier_closed("stopped", code="B-2", seq=7)),
        ("dossier.submitted.v1", dossier_submitted(code="B-3", province="Atlantis")),  # unpriced, still carried
        ("dossier.result_ready.v1", result_ready(code="B-3")),
    ]
    for type_, data in deliveries:
        assert deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", type_, data) == "ok"
    received = drain(broker, 4)
    assert [key for key, _, _ in received] == ["dispatch.requested", "dispatch.requested", "dispatch.cancelled",
                                               "dispatch.requested"]
    for key, props, body in received:
        message = json.loads(body)
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in SCHEMAS[key].iter_errors(message)]
        assert errors == [], (key, message)
        prefix = "dispatch" if key == "dispatch.requested" else "cancel"
        assert props.message_id == f"{prefix}-{message['tracking_no']}"
        assert (props.type, props.content_type, props.delivery_mode) == (key, "application/json", 2)
    orders = {json.loads(body)["dossier_code"]: json.loads(body) for key, _, body in received
              if key == "dispatch.requested"}
    assert (orders["B-1"]["cod_amount_vnd"], orders["B-2"]["cod_amount_vnd"]) == (10000, 0)  # B-2 is exempt
    assert orders["B-2"]["recipient"]["commune"] == "Xã Bà Nà"


def test_an_order_that_breaks_the_schema_is_caught_by_the_check():
    """The check above can fail: a missing field and a wrong service are both reported."""
    order = {"shipment_id": "1", "tracking_no": "MC000000014VN", "dossier_code": "X", "service": "express",
             "sender": {"name": "A", "address": "", "phone": None, "province": "Phú Thọ"},
             "recipient": {"name": "B", "address": "1 Lê Lợi", "phone": None, "province": "Huế"},
             "weight_g": 100, "cod_amount_vnd": 0, "requested_at": "2026-11-26T03:00:00.000Z"}
    paths = sorted("/".join(map(str, e.path)) or e.message for e in SCHEMAS["dispatch.requested"].iter_errors(order))
    assert paths == ["recipient", "service"]

"""The whole loop on a real broker: postal's outbox relay sends the dispatch order, the postal operator simulator
consumes it and reports back over signed HTTP (with duplicated and swapped reports), and the shipment ends in
its true state with one shipment.delivered (or shipment.failed)."""
import json
import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from servicekit.outbox import OutboxRelay
from servicekit.testing import deliver_event, wait_until

from motcua_sims.postal_operator import DispatchConsumer, Operator
from motcua_sims.postal_operator import Settings as OperatorSettings
from postal.app import create_app
from postal.handlers import SUBSCRIPTION
from postal.models import inbox, outbox, shipments, tracking_events

from .conftest import WEBHOOK_SECRET

CODE = "000.00.06.H56-261124-0001"


@pytest.fixture
def postal_url(settings, seeded_db, amqp_url):
    app = create_app(replace(settings, kit=replace(settings.kit, amqp_url=amqp_url)))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def relay(seeded_db, settings, amqp_url):
    relay = OutboxRelay(replace(settings.kit, amqp_url=amqp_url), seeded_db, outbox, bind_doorbell=False)
    seeded_db.doorbell.local.append(relay.wake)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    wait_until(relay.connected.is_set, 15, message="relay did not connect")
    yield relay
    relay.stop()
    thread.join(10)


def start_operator(tmp_path, amqp_url, postal_url, **rates):
    operator = Operator(OperatorSettings(
        db_path=str(tmp_path / "operator.db"), amqp_url=amqp_url, callback_url=f"{postal_url}/v1/carrier/events",
        webhook_secret=WEBHOOK_SECRET, auto_deliver=True, auto_deliver_delay_s=0.05, seed=11, **rates))
    consumer = DispatchConsumer(amqp_url, operator.receive, operator.log)
    consumer.start()
    assert consumer.ready.wait(15), "the operator did not connect"
    return operator, consumer


def shipment_and_history(db):
    with db.transaction(readonly=True) as conn:
        shipment = conn.execute(sa.select(shipments).where(shipments.c.dossier_code == CODE)).one()
        history = conn.execute(sa.select(tracking_events).where(tracking_events.c.shipment_id == shipment.id)
                               .order_by(tracking_events.c.id)).all()
        published = [r.type for r in conn.execute(sa.select(outbox.c.type).order_by(outbox.c.id))]
    return shipment, history, published


@pytest.mark.parametrize("fail_rate, ending, event", [(0.0, "delivered", "shipment.delivered.v1"),
                                                      (1.0, "returned_to_sender", "shipment.failed.v1")])
def test_an_order_travels_to_the_operator_and_its_reports_close_the_shipment_once(
        tmp_path, seeded_db, amqp_url, postal_url, relay, dossier_submitted, result_ready, fail_rate, ending, event):
    operator, consumer = start_operator(tmp_path, amqp_url, postal_url, fail_rate=fail_rate, duplicate_rate=0.5,
                                        reorder_rate=0.5)
    try:
        deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1", dossier_submitted())
        deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.result_ready.v1", result_ready())
        tracking_no = shipment_and_history(seeded_db)[0].tracking_no
        wait_until(lambda: operator.find_order(tracking_no), 15, message="the operator got no order")
        wait_until(lambda: shipment_and_history(seeded_db)[0].status == ending, 20,
                   message="the shipment did not reach its ending")
        # Let the last (possibly duplicated) reports land before counting.
        wait_until(lambda: len(operator.store.query("SELECT 1 FROM status_reports WHERE delivered = 1"))
                   == len(operator.store.query("SELECT 1 FROM status_reports")) > 0, 10)
    finally:
        consumer.stop()
    shipment, history, published = shipment_and_history(seeded_db)
    order = operator.find_order(tracking_no)
    assert json.loads(order["body"])["tracking_no"] == tracking_no and order["deliveries"] == 1
    sent = operator.store.query("SELECT event_id, status FROM status_reports ORDER BY id")
    carrier = [h for h in history if h.source == "carrier"]
    # One history row per distinct report; duplicates were answered without a second row.
    assert sorted(h.event_id for h in carrier) == sorted({r["event_id"] for r in sent})
    assert shipment.status == ending and published.count(event) == 1
    assert [h.status for h in history if h.source == "postal"] == ["awaiting_result", "dispatched"]

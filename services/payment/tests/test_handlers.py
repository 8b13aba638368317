"""dossier.submitted.v1 opens one payment order per dossier, requesting payment when the fee is due first."""
import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from servicekit.events import MalformedEvent
from servicekit.testing import deliver_event

from payment import vietqr
from payment.events import PUBLISHES
from payment.handlers import create_subscription
from payment.models import inbox, outbox, payment_orders

SUBMITTED = "dossier.submitted.v1"


def deliver(db, subscription, data, **kwargs):
    return deliver_event(db, inbox, subscription, "payment", SUBMITTED, data, **kwargs)


def orders(db):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(payment_orders).order_by(payment_orders.c.id)).all()


def outbox_rows(db):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()


def paid_count(status):
    return REGISTRY.get_sample_value("motcua_payments_total", {"status": status}) or 0


def test_fee_due_before_processing_opens_a_pending_order_with_a_qr_and_requests_payment(db, subscription, dossier_submitted):
    assert deliver(db, subscription, dossier_submitted(fee_vnd=50000, fee_mode="before")) == "ok"
    order, = orders(db)
    assert (order.status, order.amount_vnd, order.fee_mode, order.agency_code) == ("pending", 50000, "before", "000.00.06.H56")
    assert order.expires_at - order.created_at == timedelta(hours=72)
    qr = vietqr.decode(order.qr_payload)
    assert (qr.bin, qr.account, qr.amount_vnd, qr.dynamic) == ("970436", "0011001234567", 50000, True)
    assert qr.reference == order.reference and qr.purpose == f"Le phi ho so {order.reference}"
    assert qr.bill_number == "000.00.06.H56-261124-0001"
    event, = outbox_rows(db)
    body = json.loads(event.body)
    assert event.type == "payment.requested.v1" and event.subject == order.dossier_code
    assert body["data"] == {
        "dossier_code": order.dossier_code, "reference": order.reference, "amount_vnd": 50000,
        "qr_payload": order.qr_payload, "expires_at": order.expires_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "agency_code": "000.00.06.H56", "fee_mode": "before",
    }


def test_fee_due_after_processing_is_deferred_without_a_qr_or_an_event(db, subscription, dossier_submitted):
    deliver(db, subscription, dossier_submitted(fee_vnd=100000, fee_mode="after"))
    order, = orders(db)
    assert (order.status, order.amount_vnd, order.qr_payload, order.expires_at) == ("deferred", 100000, None, None)
    assert outbox_rows(db) == []


@pytest.mark.parametrize("fee_vnd, fee_mode", [(0, "none"), (0, "before"), (30000, "none")])
def test_free_or_exempt_procedure_records_an_order_that_needs_no_payment(db, subscription, dossier_submitted, fee_vnd, fee_mode):
    deliver(db, subscription, dossier_submitted(fee_vnd=fee_vnd, fee_mode=fee_mode))
    order, = orders(db)
    assert (order.status, order.amount_vnd, order.qr_payload) == ("not_required", 0, None)
    assert outbox_rows(db) == []


def test_same_event_delivered_twice_opens_one_order_and_requests_payment_once(db, subscription, dossier_submitted):
    data = dossier_submitted(fee_vnd=50000, fee_mode="before")
    assert deliver(db, subscription, data, event_id="e-1") == "ok"
    assert deliver(db, subscription, data, event_id="e-1") == "duplicate"
    assert len(orders(db)) == 1 and len(outbox_rows(db)) == 1


def test_same_dossier_republished_under_a_new_event_id_opens_one_order(db, subscription, dossier_submitted):
    data = dossier_submitted(fee_vnd=50000, fee_mode="before")
    deliver(db, subscription, data, event_id="e-1")
    first, = orders(db)
    assert deliver(db, subscription, data, event_id="e-2") == "ok"
    again, = orders(db)
    assert again.reference == first.reference and len(outbox_rows(db)) == 1


def test_payload_with_unknown_extra_fields_is_accepted(db, subscription, dossier_submitted):
    data = dossier_submitted(fee_vnd=50000, fee_mode="before")
    data["priority"] = "high"
    data["procedure"]["fee_schedule_id"] = 7
    data["agency"]["parent"] = {"code": "H56"}
    assert deliver(db, subscription, data) == "ok"
    assert orders(db)[0].status == "pending"


def test_unknown_fee_mode_is_malformed_rather_than_guessed(db, subscription, dossier_submitted):
    with pytest.raises(MalformedEvent, match="fee_mode"):
        deliver(db, subscription, dossier_submitted(fee_vnd=50000, fee_mode="monthly"))
    assert orders(db) == []


def test_references_are_short_unique_upper_case_ascii(db, subscription, dossier_submitted):
    for n in range(20):
        deliver(db, subscription, dossier_submitted(code=f"000.00.06.H56-261124-{n:04d}", fee_vnd=50000, fee_mode="before"))
    references = [order.reference for order in orders(db)]
    assert len(set(references)) == 20
    assert all(re.fullmatch(r"MC[A-Z2-7]{10}", reference) for reference in references)


def test_order_lifetime_follows_the_setting(db, settings, dossier_submitted):
    subscription = create_subscription(replace(settings, order_ttl_hours=1))
    deliver(db, subscription, dossier_submitted(fee_vnd=50000, fee_mode="before"))
    order, = orders(db)
    assert order.expires_at - order.created_at == timedelta(hours=1)


def test_each_opened_order_is_counted_by_status(db, subscription, dossier_submitted):
    before = {status: paid_count(status) for status in ("pending", "deferred", "not_required")}
    deliver(db, subscription, dossier_submitted(code="A-1", fee_vnd=50000, fee_mode="before"))
    deliver(db, subscription, dossier_submitted(code="A-2", fee_vnd=50000, fee_mode="after"))
    deliver(db, subscription, dossier_submitted(code="A-2", fee_vnd=50000, fee_mode="after"))  # republished: not counted
    deliver(db, subscription, dossier_submitted(code="A-3"))
    assert {status: paid_count(status) - before[status] for status in before} == {"pending": 1, "deferred": 1, "not_required": 1}


def test_published_example_is_valid_and_its_qr_checks():
    event_type = PUBLISHES["payment.requested.v1"]
    assert event_type.schema().validate(event_type.example) == {}
    qr = vietqr.decode(event_type.example["qr_payload"])
    assert qr.reference == event_type.example["reference"] and qr.amount_vnd == event_type.example["amount_vnd"]

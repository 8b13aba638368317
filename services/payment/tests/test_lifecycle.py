"""The order's life driven by dossier events: fee-after activation, cancellation, refund requests; each
handler delivered twice; the amount fixed at creation."""
import pytest
import sqlalchemy as sa

from payment import vietqr
from payment.models import payment_orders, refunds

CODE = "000.00.06.H56-261124-0001"
CLOSING = ["dossier.refused.v1", "dossier.withdrawn.v1", "dossier.stopped.v1"]


def result_ready(code=CODE, fee_vnd=100000, fee_mode="after"):
    return {"code": code, "agency_code": "000.00.06.H56", "procedure_code": "1.000948.H38", "status": "result_ready",
            "status_code": 9, "at": "2026-11-26T03:00:00.000Z", "seq": 7, "actor": "officer-7",
            "result_file_id": "f-1", "result_sha256": "0" * 64, "paper_original": False,
            "delivery_method": "counter", "fee_mode": fee_mode, "fee_vnd": fee_vnd}


def closed(type_, code=CODE, reason="Thiếu giấy tờ"):
    status = type_.split(".")[1]
    return {"code": code, "agency_code": "000.00.06.H56", "procedure_code": "1.000948.H38", "status": status,
            "status_code": {"refused": 3, "withdrawn": 7, "stopped": 8}[status], "at": "2026-11-25T03:00:00.000Z",
            "seq": 3, "actor": "officer-2", "reason": reason, "cause": "officer", "from_status": "received"}


def test_result_ready_activates_the_deferred_order_with_a_qr_and_payment_requested(payment, dossier_submitted):
    payment.open_order(dossier_submitted, fee_vnd=100000, fee_mode="after")
    assert payment.events() == []
    assert payment.deliver("dossier.result_ready.v1", result_ready()) == "ok"
    order = payment.order()
    assert (order.status, order.amount_vnd) == ("pending", 100000)
    qr = vietqr.decode(order.qr_payload)
    assert (qr.amount_vnd, qr.reference, qr.dynamic) == (100000, order.reference, True)
    event, = payment.events("payment.requested.v1")
    assert (event["fee_mode"], event["agency_code"], event["amount_vnd"]) == ("after", "000.00.06.H56", 100000)
    assert payment.history() == [(None, "deferred", "dossier.submitted"), ("deferred", "pending", "dossier.result_ready")]


def test_result_ready_delivered_twice_requests_payment_once(payment, dossier_submitted):
    payment.open_order(dossier_submitted, fee_vnd=100000, fee_mode="after")
    assert payment.deliver("dossier.result_ready.v1", result_ready(), event_id="e-1") == "ok"
    assert payment.deliver("dossier.result_ready.v1", result_ready(), event_id="e-1") == "duplicate"
    assert payment.deliver("dossier.result_ready.v1", result_ready(), event_id="e-2") == "ok"  # re-published
    assert len(payment.events("payment.requested.v1")) == 1 and len(payment.history()) == 2


def test_result_ready_without_a_fee_after_changes_nothing(payment, dossier_submitted):
    payment.open_order(dossier_submitted, fee_vnd=50000, fee_mode="before")
    payment.deliver("dossier.result_ready.v1", result_ready(fee_mode="before", fee_vnd=50000))
    payment.deliver("dossier.result_ready.v1", result_ready(code="OTHER-1", fee_mode="none", fee_vnd=0))
    assert len(payment.events("payment.requested.v1")) == 1 and payment.order("OTHER-1") is None


def test_result_ready_before_the_submitted_event_opens_the_order_itself(payment, dossier_submitted):
    payment.deliver("dossier.result_ready.v1", result_ready())
    assert (payment.order().status, payment.order().amount_vnd) == ("pending", 100000)
    payment.deliver("dossier.submitted.v1", dossier_submitted(fee_vnd=100000, fee_mode="after"))
    assert payment.order().status == "pending" and len(payment.events("payment.requested.v1")) == 1


def test_a_fee_named_differently_at_result_ready_leaves_the_amount_as_opened(payment, dossier_submitted):
    payment.open_order(dossier_submitted, fee_vnd=100000, fee_mode="after")
    payment.deliver("dossier.result_ready.v1", result_ready(fee_vnd=120000))
    assert payment.order().amount_vnd == 100000
    assert payment.events("payment.requested.v1")[0]["amount_vnd"] == 100000


@pytest.mark.parametrize("type_", CLOSING)
def test_a_pending_order_is_cancelled_when_the_dossier_closes(payment, dossier_submitted, type_):
    order = payment.open_order(dossier_submitted)
    assert payment.deliver(type_, closed(type_)) == "ok"
    assert payment.order().status == "cancelled" and payment.order().closed_at is not None
    event, = payment.events("payment.cancelled.v1")
    label = {"dossier.refused.v1": "Hồ sơ không được tiếp nhận", "dossier.withdrawn.v1": "Hồ sơ đã được rút",
             "dossier.stopped.v1": "Hồ sơ bị dừng xử lý"}[type_]
    assert event["reason"] == f"{label}: Thiếu giấy tờ" and event["reference"] == order.reference
    assert payment.history()[-1] == ("pending", "cancelled", type_.rsplit(".", 1)[0])


@pytest.mark.parametrize("type_", CLOSING)
def test_each_closing_event_delivered_twice_cancels_once(payment, dossier_submitted, type_):
    payment.open_order(dossier_submitted)
    assert payment.deliver(type_, closed(type_), event_id="e-1") == "ok"
    assert payment.deliver(type_, closed(type_), event_id="e-1") == "duplicate"
    assert payment.deliver(type_, closed(type_), event_id="e-2") == "ok"
    assert len(payment.events("payment.cancelled.v1")) == 1 and len(payment.history()) == 2


def test_a_deferred_order_is_cancelled_when_the_dossier_closes_before_its_result(payment, dossier_submitted):
    payment.open_order(dossier_submitted, fee_vnd=100000, fee_mode="after")
    payment.deliver("dossier.withdrawn.v1", closed("dossier.withdrawn.v1"))
    assert payment.order().status == "cancelled"
    payment.deliver("dossier.result_ready.v1", result_ready())  # cannot reopen it
    assert payment.order().status == "cancelled" and payment.events("payment.requested.v1") == []


@pytest.mark.parametrize("type_", CLOSING)
def test_a_paid_order_gets_one_refund_request_when_the_dossier_closes(app_client, payment, dossier_submitted,
                                                                      post_callback, make_callback, type_):
    order = payment.open_order(dossier_submitted)
    post_callback(app_client, make_callback(order))
    assert payment.deliver(type_, closed(type_), event_id="e-1") == "ok"
    assert payment.deliver(type_, closed(type_), event_id="e-1") == "duplicate"
    assert payment.deliver(type_, closed(type_), event_id="e-2") == "ok"
    refund, = payment.rows(refunds)
    assert (refund.refund_id, refund.amount_vnd, refund.status) == (f"RF-{order.reference}", 50000, "requested")
    assert refund.cause == type_.rsplit(".", 1)[0]
    assert payment.order().status == "paid"  # refunded only once the bank has given the money back
    assert payment.events("payment.cancelled.v1") == []


@pytest.mark.parametrize("fee_vnd, fee_mode", [(0, "none"), (50000, "before")])
def test_a_closing_event_for_a_free_or_unknown_dossier_changes_nothing(payment, dossier_submitted, fee_vnd, fee_mode):
    payment.open_order(dossier_submitted, fee_vnd=fee_vnd, fee_mode=fee_mode)
    assert payment.deliver("dossier.refused.v1", closed("dossier.refused.v1", code="UNKNOWN-1")) == "ok"
    if fee_mode == "none":
        payment.deliver("dossier.refused.v1", closed("dossier.refused.v1"))
        assert payment.order().status == "not_required"
    assert payment.order("UNKNOWN-1") is None


def test_an_orders_amount_cannot_be_changed_after_creation(db, payment, dossier_submitted):
    payment.open_order(dossier_submitted)
    with pytest.raises(sa.exc.DBAPIError, match="fixed at creation"):
        with db.transaction() as conn:
            conn.execute(payment_orders.update().where(payment_orders.c.dossier_code == CODE).values(amount_vnd=1))
    with db.transaction() as conn:  # other columns still change
        conn.execute(payment_orders.update().where(payment_orders.c.dossier_code == CODE).values(status="pending"))
    assert payment.order().amount_vnd == 50000

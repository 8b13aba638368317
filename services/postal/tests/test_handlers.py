"""Postal's handlers: shipments opened and priced on dossier.submitted, dispatched on dossier.result_ready (after
payment.completed for a fee paid after), cancelled on refused / withdrawn / stopped; each delivered twice."""
import json

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from servicekit.events import MalformedEvent
from servicekit.testing import deliver_event

from postal import tracking
from postal.events import CONSUMES, PUBLISHES
from postal.handlers import SUBSCRIPTION
from postal.models import inbox, outbox, shipments, tracking_events
from postal.use_cases import ShipmentNotOpenYet

from .conftest import DA_NANG_AGENCY

SUBMITTED = "dossier.submitted.v1"
CODE = "000.00.06.H56-261124-0001"


def deliver(db, data, type_=SUBMITTED, **kwargs):
    return deliver_event(db, inbox, SUBSCRIPTION, "postal", type_, data, **kwargs)


def shipment_of(db, code=CODE):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(shipments).where(shipments.c.dossier_code == code)).one()


def messages(db, kind=None):
    """Outbox rows as (type, exchange, routing key, event id, body)."""
    found = [(r.type, r.exchange, r.routing_key, r.event_id, json.loads(r.body)) for r in rows(db, outbox)]
    return [m for m in found if kind is None or m[0] == kind]


def rows(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(table)).all()


def test_dossier_returned_by_post_opens_a_return_shipment_priced_once(db, seeded_db, dossier_submitted):
    assert deliver(db, dossier_submitted()) == "ok"
    shipment, = rows(db, shipments)
    assert (shipment.service, shipment.status, shipment.agency_code) == ("return", "awaiting_result", "000.00.06.H56")
    assert shipment.recipient == {"name": "Đặng Thị Ngọc Ánh", "phone": "84912345678", "street": "12 Trần Phú",
                                  "commune": "Phường Phúc Yên", "province": "Phú Thọ"}
    assert tracking.is_valid(shipment.tracking_no)
    # The agency in Phường Phúc Yên sends to the same ward: the tariff's "same district" column, 100 g.
    assert (shipment.zone, shipment.weight_g, shipment.operator_vnd, shipment.citizen_vnd) == ("intra_district", 100,
                                                                                               26000, 10000)
    assert shipment.pricing["breakdown"]["versions"] == {"tariff": "vnpost-2021", "citizen_policy": "ha-tinh-2022",
                                                         "zoning": "vn-34-2025-07"}
    assert shipment.sender["commune"] == "Phường Phúc Yên" and shipment.pricing_error is None
    event, = rows(db, outbox)
    assert event.type == "shipment.created.v1" and event.subject == shipment.dossier_code
    assert json.loads(event.body)["data"] == {"dossier_code": shipment.dossier_code, "tracking_no": shipment.tracking_no,
                                              "service": "return", "status": "awaiting_result",
                                              "agency_code": "000.00.06.H56", "zone": "intra_district",
                                              "operator_vnd": 26000, "citizen_vnd": 10000}


def test_the_agencys_own_address_is_the_sender_and_sets_the_zone(seeded_db, dossier_submitted):
    deliver(seeded_db, dossier_submitted(code="A-1", agency=DA_NANG_AGENCY, province="Thành phố Hà Nội",
                                         commune="phuong hoan kiem"))
    deliver(seeded_db, dossier_submitted(code="A-2", agency="000.00.21.H56"))  # Việt Trì -> Phúc Yên, one province
    far, near = shipment_of(seeded_db, "A-1"), shipment_of(seeded_db, "A-2")
    assert (far.zone, far.operator_vnd, far.recipient["province"], far.recipient["commune"]) == (
        "inter_region", 31000, "Hà Nội", "Phường Hoàn Kiếm")  # the official names go to the operator
    assert (near.zone, near.operator_vnd, near.sender["commune"]) == ("intra_province", 30000, "Phường Việt Trì")


def test_an_exemption_and_fee_transfer_sent_with_the_dossier_price_the_shipment(seeded_db, dossier_submitted):
    deliver(seeded_db, dossier_submitted(exemption="half", fee_transfer=True))
    shipment = shipment_of(seeded_db)
    assert (shipment.exemption, shipment.fee_transfer, shipment.operator_vnd, shipment.citizen_vnd) == (
        "half", True, 34000, 13000)


def test_an_address_off_the_map_opens_an_unpriced_shipment_saying_why(seeded_db, dossier_submitted):
    assert deliver(seeded_db, dossier_submitted(province="Hà Tây")) == "ok"
    shipment = shipment_of(seeded_db)
    assert (shipment.zone, shipment.operator_vnd, shipment.citizen_vnd) == (None, None, None)
    assert shipment.pricing_error.startswith("province: Không tìm thấy tỉnh/thành phố 'Hà Tây'")
    assert messages(seeded_db)[0][4]["data"]["operator_vnd"] is None


def test_counter_delivery_records_only_that_the_event_was_seen(db, dossier_submitted):
    assert deliver(db, dossier_submitted(method="counter"), event_id="e-counter") == "ok"
    assert rows(db, shipments) == [] and rows(db, outbox) == []
    seen, = rows(db, inbox)
    assert (seen.consumer, seen.message_id, seen.type) == ("postal", "e-counter", SUBMITTED)


def test_same_event_delivered_twice_opens_one_shipment(db, dossier_submitted):
    data = dossier_submitted()
    assert deliver(db, data, event_id="e-1") == "ok"
    assert deliver(db, data, event_id="e-1") == "duplicate"
    assert len(rows(db, shipments)) == 1 and len(rows(db, outbox)) == 1


def test_same_dossier_republished_under_a_new_event_id_keeps_its_one_shipment_and_tracking_number(db, dossier_submitted):
    data = dossier_submitted()
    deliver(db, data, event_id="e-1")
    first, = rows(db, shipments)
    assert deliver(db, data, event_id="e-2") == "ok"
    again, = rows(db, shipments)
    assert again.tracking_no == first.tracking_no and len(rows(db, outbox)) == 1


def test_payload_with_unknown_extra_fields_is_accepted(db, dossier_submitted):
    data = dossier_submitted()
    data["priority"] = "high"
    data["delivery"]["window"] = "morning"
    data["delivery"]["address"]["ward_code"] = "00388"
    assert deliver(db, data) == "ok"
    assert len(rows(db, shipments)) == 1


def test_recipient_name_and_phone_default_to_the_applicants(db, dossier_submitted):
    data = dossier_submitted()
    del data["delivery"]["address"]["recipient_name"]
    data["delivery"]["address"]["phone"] = None
    deliver(db, data)
    shipment, = rows(db, shipments)
    assert (shipment.recipient["name"], shipment.recipient["phone"]) == ("Đặng Thị Ngọc Ánh", "84912345678")


def test_delivery_by_post_without_an_address_is_malformed(db, dossier_submitted):
    data = dossier_submitted()
    data["delivery"]["address"] = None
    with pytest.raises(MalformedEvent, match="delivery"):
        deliver(db, data)
    assert rows(db, shipments) == []


def test_tracking_numbers_are_distinct_and_carry_a_valid_check_digit(db, dossier_submitted):
    for n in range(12):
        deliver(db, dossier_submitted(code=f"000.00.06.H56-261124-{n:04d}"))
    numbers = [s.tracking_no for s in rows(db, shipments)]
    assert len(set(numbers)) == 12 and all(tracking.is_valid(number) for number in numbers)


def test_s10_check_digit_matches_the_upu_example_and_catches_a_typo():
    assert tracking.check_digit("47312482") == 9  # RR 47312482 9 GB, the UPU S10 standard's own example
    assert tracking.tracking_number(1) == "MC000000014VN"
    assert not tracking.is_valid("MC000000015VN")  # one digit wrong
    assert not tracking.is_valid("MC000000041VN")  # the last two digits swapped


def test_each_created_shipment_is_counted_by_status(db, dossier_submitted):
    def created():
        return REGISTRY.get_sample_value("motcua_shipments_total", {"status": "awaiting_result"}) or 0

    before = created()
    deliver(db, dossier_submitted(code="A-1"))
    deliver(db, dossier_submitted(code="A-1"))  # republished: not counted again
    deliver(db, dossier_submitted(code="A-2", method="counter"))
    assert created() - before == 1


def test_declared_examples_validate_against_their_schemas():
    for catalog in (CONSUMES, PUBLISHES):
        for event_type in catalog:
            assert event_type.schema().validate(event_type.example) == {}, event_type.name
    assert tracking.is_valid(PUBLISHES["shipment.created.v1"].example["tracking_no"])


# ---- dispatch, payment and cancellation ------------------------------------------------------------

READY, PAID = "dossier.result_ready.v1", "payment.completed.v1"


def test_result_ready_for_post_sends_the_dispatch_order_of_the_contract(seeded_db, dossier_submitted, result_ready):
    deliver(seeded_db, dossier_submitted())
    assert deliver(seeded_db, result_ready(), READY) == "ok"
    shipment = shipment_of(seeded_db)
    assert (shipment.status, shipment.cod_amount_vnd, shipment.dispatched_at is not None) == ("dispatched", 10000, True)
    (_, exchange, key, message_id, order), = messages(seeded_db, "dispatch.requested")
    assert (exchange, key, message_id) == ("motcua.postal", "dispatch.requested", f"dispatch-{shipment.tracking_no}")
    assert set(order) == {"shipment_id", "tracking_no", "dossier_code", "service", "sender", "recipient", "weight_g",
                          "cod_amount_vnd", "requested_at"}
    assert order["sender"] == {"name": "Bộ phận Một cửa UBND phường Phúc Yên", "address": "Trụ sở UBND phường Phúc Yên",
                               "phone": None, "province": "Phú Thọ"}
    assert order["recipient"] == {"name": "Đặng Thị Ngọc Ánh", "address": "12 Trần Phú", "phone": "84912345678",
                                  "province": "Phú Thọ", "commune": "Phường Phúc Yên"}
    assert (order["weight_g"], order["cod_amount_vnd"], order["service"]) == (100, 10000, "return")
    (_, exchange, key, _, event), = messages(seeded_db, "shipment.dispatched.v1")
    assert exchange == "motcua.events" and event["data"]["cod_amount_vnd"] == 10000


def test_result_at_the_counter_cancels_the_waiting_shipment_without_an_order(seeded_db, dossier_submitted,
                                                                              result_ready):
    deliver(seeded_db, dossier_submitted())
    deliver(seeded_db, result_ready(delivery_method="counter"), READY)
    assert shipment_of(seeded_db).status == "cancelled"
    assert messages(seeded_db, "dispatch.requested") == messages(seeded_db, "dispatch.cancelled") == []
    assert len(messages(seeded_db, "shipment.cancelled.v1")) == 1


def test_fee_after_waits_for_payment_then_dispatches(seeded_db, dossier_submitted, result_ready, payment_completed):
    deliver(seeded_db, dossier_submitted())
    deliver(seeded_db, result_ready(fee_mode="after", fee_vnd=50000), READY)
    assert shipment_of(seeded_db).status == "awaiting_payment" and messages(seeded_db, "dispatch.requested") == []
    deliver(seeded_db, payment_completed(), PAID)
    assert shipment_of(seeded_db).status == "dispatched" and len(messages(seeded_db, "dispatch.requested")) == 1


def test_a_payment_seen_before_the_result_lets_the_result_dispatch_at_once(seeded_db, dossier_submitted, result_ready,
                                                                            payment_completed):
    deliver(seeded_db, dossier_submitted())
    deliver(seeded_db, payment_completed(), PAID)
    deliver(seeded_db, result_ready(fee_mode="after", fee_vnd=50000), READY)
    assert shipment_of(seeded_db).status == "dispatched"


@pytest.mark.parametrize("fee_mode, fee_vnd", [("before", 50000), ("none", 0), ("after", 0)])
def test_no_fee_to_wait_for_dispatches_at_once(seeded_db, dossier_submitted, result_ready, fee_mode, fee_vnd):
    deliver(seeded_db, dossier_submitted())
    deliver(seeded_db, result_ready(fee_mode=fee_mode, fee_vnd=fee_vnd), READY)
    assert shipment_of(seeded_db).status == "dispatched"


def test_result_ready_before_the_shipment_is_opened_is_retried(seeded_db, result_ready):
    with pytest.raises(ShipmentNotOpenYet):
        deliver(seeded_db, result_ready(), READY)
    assert rows(seeded_db, inbox) == []  # rolled back: the retry will be handled afresh
    assert deliver(seeded_db, result_ready(delivery_method="counter"), READY) == "ok"  # a counter dossier: nothing


@pytest.mark.parametrize("how", ["refused", "withdrawn", "stopped"])
def test_closing_the_dossier_before_dispatch_cancels_the_shipment_without_an_operator_message(
        seeded_db, dossier_submitted, dossier_closed, how):
    deliver(seeded_db, dossier_submitted())
    assert deliver(seeded_db, dossier_closed(how), f"dossier.{how}.v1") == "ok"
    assert shipment_of(seeded_db).status == "cancelled" and messages(seeded_db, "dispatch.cancelled") == []
    (_, _, _, _, event), = messages(seeded_db, "shipment.cancelled.v1")
    assert event["data"]["reason"] == f"dossier {how}: Hồ sơ không đủ điều kiện"


def test_stopping_after_dispatch_but_before_pickup_cancels_the_order_with_the_operator(
        seeded_db, dossier_submitted, result_ready, dossier_closed):
    deliver(seeded_db, dossier_submitted())
    deliver(seeded_db, result_ready(seq=6), READY)
    deliver(seeded_db, dossier_closed("stopped", seq=7), "dossier.stopped.v1")
    shipment = shipment_of(seeded_db)
    (_, exchange, key, message_id, body), = messages(seeded_db, "dispatch.cancelled")
    assert (shipment.status, exchange, key, message_id) == ("cancelled", "motcua.postal", "dispatch.cancelled",
                                                           f"cancel-{shipment.tracking_no}")
    assert body["tracking_no"] == shipment.tracking_no and body["reason"].startswith("dossier stopped")


def test_an_older_processing_event_never_undoes_a_later_one(seeded_db, dossier_submitted, result_ready,
                                                             dossier_closed):
    deliver(seeded_db, dossier_submitted())
    deliver(seeded_db, result_ready(seq=6), READY)
    deliver(seeded_db, dossier_closed("withdrawn", seq=4), "dossier.withdrawn.v1")  # arrives late
    assert shipment_of(seeded_db).status == "dispatched" and messages(seeded_db, "dispatch.cancelled") == []


@pytest.mark.parametrize("type_, make", [
    ("dossier.result_ready.v1", lambda f: f["result_ready"]()),
    ("dossier.refused.v1", lambda f: f["dossier_closed"]("refused")),
    ("dossier.withdrawn.v1", lambda f: f["dossier_closed"]("withdrawn")),
    ("dossier.stopped.v1", lambda f: f["dossier_closed"]("stopped")),
    ("payment.completed.v1", lambda f: f["payment_completed"]()),
])
def test_every_handler_delivered_twice_has_one_effect(seeded_db, dossier_submitted, result_ready, dossier_closed,
                                                      payment_completed, type_, make):
    deliver(seeded_db, dossier_submitted())
    data = make({"result_ready": result_ready, "dossier_closed": dossier_closed, "payment_completed": payment_completed})
    assert deliver(seeded_db, data, type_, event_id="e-twice") == "ok"
    before = (messages(seeded_db), rows(seeded_db, tracking_events), shipment_of(seeded_db).status)
    assert deliver(seeded_db, data, type_, event_id="e-twice") == "duplicate"
    # The same event re-published under another id: processing's seq (or the shipment's state) stops it too.
    assert deliver(seeded_db, data, type_, event_id="e-again") == "ok"
    assert (messages(seeded_db), rows(seeded_db, tracking_events), shipment_of(seeded_db).status) == before


def test_a_shipment_opened_before_senders_were_kept_is_dispatched_with_todays_sender(seeded_db, dossier_submitted,
                                                                                     result_ready):
    from .test_dispatch_broker import SCHEMAS

    deliver(seeded_db, dossier_submitted())
    with seeded_db.transaction() as conn:  # as migration 0002 leaves a row opened under 0001
        conn.execute(shipments.update().values(sender=None, weight_g=None, operator_vnd=None, citizen_vnd=None,
                                               zone=None, pricing=None))
    deliver(seeded_db, result_ready(), READY)
    (_, _, _, _, order), = messages(seeded_db, "dispatch.requested")
    assert list(SCHEMAS["dispatch.requested"].iter_errors(order)) == []
    assert (order["sender"]["province"], order["weight_g"], order["cod_amount_vnd"]) == ("Phú Thọ", 100, 0)

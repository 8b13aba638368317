"""dossier.submitted.v1 opens one return shipment per dossier delivered by post, and nothing for the counter."""
import json

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from servicekit.events import MalformedEvent
from servicekit.testing import deliver_event

from postal import tracking
from postal.events import CONSUMES, PUBLISHES
from postal.handlers import SUBSCRIPTION
from postal.models import inbox, outbox, shipments

SUBMITTED = "dossier.submitted.v1"


def deliver(db, data, **kwargs):
    return deliver_event(db, inbox, SUBSCRIPTION, "postal", SUBMITTED, data, **kwargs)


def rows(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(table)).all()


def test_dossier_returned_by_post_opens_a_return_shipment_awaiting_the_result(db, dossier_submitted):
    assert deliver(db, dossier_submitted()) == "ok"
    shipment, = rows(db, shipments)
    assert (shipment.service, shipment.status, shipment.agency_code) == ("return", "awaiting_result", "000.00.06.H56")
    assert shipment.recipient == {"name": "Đặng Thị Ngọc Ánh", "phone": "84912345678", "street": "12 Trần Phú",
                                  "commune": "Phường Phúc Yên", "province": "Phú Thọ"}
    assert tracking.is_valid(shipment.tracking_no)
    event, = rows(db, outbox)
    assert event.type == "shipment.created.v1" and event.subject == shipment.dossier_code
    assert json.loads(event.body)["data"] == {"dossier_code": shipment.dossier_code, "tracking_no": shipment.tracking_no,
                                              "service": "return", "status": "awaiting_result"}


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

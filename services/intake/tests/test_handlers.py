"""payment.requested.v1 and shipment.created.v1 keep the citizen's view current, once per payment order or shipment."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from servicekit.events import MalformedEvent
from servicekit.testing import deliver_event

from intake.events import CONSUMES
from intake.handlers import SUBSCRIPTION
from intake.models import dossier_payments, dossier_shipments, dossier_timeline, inbox

PAYMENT = "payment.requested.v1"
SHIPMENT = "shipment.created.v1"


def deliver(db, type_, data, **kwargs):
    return deliver_event(db, inbox, SUBSCRIPTION, "intake", type_, data, subject=data["dossier_code"], **kwargs)


def rows(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(table).order_by(table.c.id)).all()


def count(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def filed(file_dossier):
    """A dossier filed through the API, returned by post: its answer (code, access_token, submitted_at...)."""
    return file_dossier().get_json()


# ---- payment.requested.v1 -------------------------------------------------------------------------------
def test_payment_request_is_stored_pending_with_a_timeline_note_and_the_status_unchanged(db, filed, payment_requested):
    assert deliver(db, PAYMENT, payment_requested(dossier_code=filed["code"])) == "ok"
    payment, = rows(db, dossier_payments)
    assert (payment.dossier_code, payment.reference, payment.status, payment.amount_vnd) == (
        filed["code"], "MCK7QX2MZP4A", "pending", 50000)
    assert payment.qr_payload == payment_requested()["qr_payload"]
    assert payment.expires_at == datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
    filing, request = rows(db, dossier_timeline)
    assert filing.status == request.status == "submitted"
    assert request.note == "Yêu cầu nộp phí, lệ phí: 50.000 đồng"


def test_payment_request_delivered_twice_is_stored_once_with_one_timeline_note(db, filed, payment_requested):
    data = payment_requested(dossier_code=filed["code"])
    assert deliver(db, PAYMENT, data, event_id="p-1") == "ok"
    assert deliver(db, PAYMENT, data, event_id="p-1") == "duplicate"
    assert count(db, dossier_payments) == 1 and count(db, dossier_timeline) == 2


def test_payment_request_republished_under_a_new_event_id_adds_no_second_timeline_note(db, filed, payment_requested):
    data = payment_requested(dossier_code=filed["code"])
    assert deliver(db, PAYMENT, data, event_id="p-1") == "ok"
    # The inbox lets the second one through; the order's reference is what makes it the same payment.
    assert deliver(db, PAYMENT, data, event_id="p-2") == "ok"
    assert count(db, dossier_payments) == 1 and count(db, dossier_timeline) == 2


def test_payment_request_for_a_dossier_intake_never_filed_is_malformed_and_leaves_nothing(db, payment_requested):
    data = payment_requested(dossier_code="000.00.06.H56-261124-9999")
    with pytest.raises(MalformedEvent, match=r"000\.00\.06\.H56-261124-9999.*never filed"):
        deliver(db, PAYMENT, data)
    # Rolled back with the inbox row: a replay after the producer's fix is not taken for a duplicate.
    assert count(db, dossier_payments) == count(db, inbox) == 0


# ---- shipment.created.v1 --------------------------------------------------------------------------------
def test_shipment_created_is_stored_with_its_tracking_number_and_status(db, filed, shipment_created):
    assert deliver(db, SHIPMENT, shipment_created(dossier_code=filed["code"])) == "ok"
    shipment, = rows(db, dossier_shipments)
    assert (shipment.dossier_code, shipment.tracking_no, shipment.service, shipment.status) == (
        filed["code"], "MC000000014VN", "return", "awaiting_result")
    assert count(db, dossier_timeline) == 1  # the filing entry only: the dossier's status did not move


def test_shipment_created_delivered_twice_is_stored_once(db, filed, shipment_created):
    data = shipment_created(dossier_code=filed["code"])
    assert deliver(db, SHIPMENT, data, event_id="s-1") == "ok"
    assert deliver(db, SHIPMENT, data, event_id="s-1") == "duplicate"
    assert count(db, dossier_shipments) == 1


def test_shipment_created_republished_under_a_new_event_id_is_stored_once(db, filed, shipment_created):
    data = shipment_created(dossier_code=filed["code"])
    deliver(db, SHIPMENT, data, event_id="s-1")
    deliver(db, SHIPMENT, data, event_id="s-2")
    assert count(db, dossier_shipments) == 1 and count(db, dossier_timeline) == 1


def test_shipment_for_a_dossier_intake_never_filed_is_malformed_and_leaves_nothing(db, shipment_created):
    with pytest.raises(MalformedEvent, match=r"MC000000014VN.*000\.00\.06\.H56-261124-9999.*never filed"):
        deliver(db, SHIPMENT, shipment_created(dossier_code="000.00.06.H56-261124-9999"))
    assert count(db, dossier_shipments) == count(db, inbox) == 0


# ---- the citizen's view ---------------------------------------------------------------------------------
def test_citizen_view_shows_the_requested_payment_and_the_return_shipment(client, db, filed, payment_requested,
                                                                         shipment_created):
    deliver(db, PAYMENT, payment_requested(dossier_code=filed["code"]))
    deliver(db, SHIPMENT, shipment_created(dossier_code=filed["code"]))
    view = client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).get_json()
    assert view["payment"] == {
        "status": "pending", "amount_vnd": 50000, "qr_payload": payment_requested()["qr_payload"],
        "expires_at": "2026-11-27T02:00:00.000Z", "paid_at": None, "refunded_at": None}
    assert view["delivery"] == {"method": "post", "tracking_no": "MC000000014VN", "status": "awaiting_result"}
    assert (view["status"], view["status_code"]) == ("submitted", 1)
    assert [(entry["status"], entry["note"]) for entry in view["timeline"]] == [
        ("submitted", "Hồ sơ đã được nộp trực tuyến"), ("submitted", "Yêu cầu nộp phí, lệ phí: 50.000 đồng")]


def test_lookup_by_code_and_id_number_shows_the_same_payment_and_delivery(client, db, filed, payment_requested,
                                                                          shipment_created):
    deliver(db, PAYMENT, payment_requested(dossier_code=filed["code"]))
    deliver(db, SHIPMENT, shipment_created(dossier_code=filed["code"]))
    found = client.post("/v1/dossiers/lookup", json={"code": filed["code"], "id_number": "001190012345"}).get_json()
    assert found["payment"]["status"] == "pending" and found["payment"]["amount_vnd"] == 50000
    assert found["delivery"]["tracking_no"] == "MC000000014VN"


def test_news_of_one_dossier_does_not_show_on_another(client, db, file_dossier, filed, payment_requested,
                                                      shipment_created):
    other = file_dossier().get_json()
    deliver(db, PAYMENT, payment_requested(dossier_code=filed["code"]))
    deliver(db, SHIPMENT, shipment_created(dossier_code=filed["code"]))
    view = client.get(f"/v1/dossiers/{other['code']}", headers=bearer(other["access_token"])).get_json()
    assert view["payment"] is None
    assert view["delivery"] == {"method": "post", "tracking_no": None, "status": None}
    assert len(view["timeline"]) == 1


def test_a_collection_shipment_is_not_shown_as_the_delivery_of_the_result(client, db, filed, shipment_created):
    deliver(db, SHIPMENT, shipment_created(dossier_code=filed["code"], tracking_no="MC000000028VN", service="collect"))
    view = client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).get_json()
    assert view["delivery"] == {"method": "post", "tracking_no": None, "status": None}
    deliver(db, SHIPMENT, shipment_created(dossier_code=filed["code"]))
    view = client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).get_json()
    assert view["delivery"] == {"method": "post", "tracking_no": "MC000000014VN", "status": "awaiting_result"}


# ---- contracts ------------------------------------------------------------------------------------------
def test_the_subscription_handles_exactly_the_types_intake_declares_it_consumes():
    assert sorted(CONSUMES.types) == sorted(SUBSCRIPTION.handlers)
    assert {PAYMENT, SHIPMENT} <= set(CONSUMES.types)
    assert all(event.description for event in CONSUMES)


def test_payments_registered_example_loads_under_intakes_schema(payment_requested):
    loaded = CONSUMES[PAYMENT].load(payment_requested())
    assert loaded == {**payment_requested(), "expires_at": datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)}


def test_postals_registered_example_loads_under_intakes_schema(shipment_created):
    assert CONSUMES[SHIPMENT].load(shipment_created()) == shipment_created()


def test_intakes_own_consumer_examples_are_the_producers_examples(payment_requested, shipment_created):
    # docs/events.md is generated from the catalogs; keep the consumer side saying what the producer sends.
    assert CONSUMES[PAYMENT].example == payment_requested()
    assert CONSUMES[SHIPMENT].example == shipment_created()


def test_producers_fields_arriving_beside_the_ones_intake_reads_are_ignored(payment_requested, shipment_created):
    assert "paid_via" not in CONSUMES[PAYMENT].load(payment_requested(paid_via="vietqr"))
    assert "weight_g" not in CONSUMES[SHIPMENT].load(shipment_created(weight_g=120))


@pytest.mark.parametrize("type_, field, value", [
    (PAYMENT, "amount_vnd", "50000"),   # money is a whole number, never text
    (PAYMENT, "expires_at", "2026-11-27T02:00:00"),  # a time without its offset
    (PAYMENT, "qr_payload", None),
    (SHIPMENT, "tracking_no", "X" * 41),  # longer than intake can store
    (SHIPMENT, "status", None),
])
def test_a_payload_intake_cannot_store_is_malformed(type_, field, value, payment_requested, shipment_created):
    data = (payment_requested if type_ == PAYMENT else shipment_created)(**{field: value})
    with pytest.raises(MalformedEvent, match=field):
        CONSUMES[type_].load(data)

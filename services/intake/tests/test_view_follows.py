"""The citizen's view follows the dossier: processing's dossier.*, payment.* and shipment.* events, each applied
once, and an older event never moving the view back."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from servicekit.events import MalformedEvent, rfc3339
from servicekit.testing import deliver_event

from intake.events import CONSUMES, PAYMENT_AND_SHIPMENT_EVENTS, PROCESSING_EVENTS
from intake.handlers import SUBSCRIPTION
from intake.models import dossier_timeline, dossiers, inbox
from intake.use_cases import NotYetKnown

# Events happen after the filing (which uses the real clock): an hour from now, minute by minute.
T0 = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(second=0, microsecond=0)
VIETNAM = timezone(timedelta(hours=7))


def at(minutes: float) -> str:
    return rfc3339(T0 + timedelta(minutes=minutes))


def event(type_, code, **overrides):
    """The type's registered example (EVENTS.md shape) for dossier `code`, fields overridable."""
    data = json.loads(json.dumps(CONSUMES[type_].example))
    data["code" if type_.startswith("dossier.") else "dossier_code"] = code
    for name in ("at", "paid_at", "expired_at", "cancelled_at", "refunded_at", "dispatched_at", "delivered_at"):
        if name in data:
            data[name] = at(30)  # after the filing, whatever the example's date
    data.update(overrides)
    return data


def deliver(db, type_, data, **kwargs):
    subject = data.get("code") or data.get("dossier_code")
    return deliver_event(db, inbox, SUBSCRIPTION, "intake", type_, data, subject=subject, **kwargs)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def filed(file_dossier):
    return file_dossier().get_json()


@pytest.fixture
def view(client, filed):
    return lambda: client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).get_json()


def timeline_count(db):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(dossier_timeline)).scalar_one()


def received(code, seq=3, minutes=60, due_minutes=24 * 60):
    return event("dossier.received.v1", code, seq=seq, at=at(minutes), received_at=at(minutes), due_at=at(due_minutes))


# ---- a dossier received and paid (the view shown in the report) ------------------------------------------
def test_a_dossier_received_and_paid_shows_status_dates_payment_and_a_vietnamese_timeline(
        db, filed, view, payment_requested):
    code = filed["code"]
    deliver(db, "dossier.payment_required.v1", event("dossier.payment_required.v1", code, seq=1, at=at(0.01),
                                                     amount_vnd=50000))
    deliver(db, "payment.requested.v1", payment_requested(dossier_code=code))
    assert (view()["status"], view()["status_code"], view()["payment"]["status"]) == ("awaiting_payment", 6, "pending")
    deliver(db, "payment.completed.v1", event("payment.completed.v1", code, paid_at=at(25)))
    deliver(db, "dossier.payment_received.v1", event("dossier.payment_received.v1", code, seq=2, at=at(26)))
    deliver(db, "dossier.received.v1", received(code, seq=3, minutes=60))
    shown = view()
    print("\nCITIZEN VIEW AFTER RECEIVED AND PAID:\n" + json.dumps(shown, ensure_ascii=False, indent=2))
    assert (shown["status"], shown["status_code"]) == ("received", 2)
    assert shown["received_at"] == at(60) and shown["due_at"] == at(24 * 60)
    assert shown["completed_at"] is None and shown["overdue"] is False
    assert shown["payment"]["status"] == "paid" and shown["payment"]["paid_at"] == at(25)
    assert shown["supplement_request"] is None
    notes = [entry["note"] for entry in shown["timeline"]]
    assert notes[0] == "Hồ sơ đã được nộp trực tuyến"
    assert "Hồ sơ chờ thực hiện nghĩa vụ tài chính (50.000 đồng) trước khi được giải quyết" in notes
    assert shown["payment"]["qr_payload"] is None  # paid: no QR to pay twice
    assert "Đã thanh toán phí, lệ phí: 50.000 đồng" in notes
    due_local = (T0 + timedelta(days=1)).astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")
    assert notes[-1] == f"Hồ sơ đã được tiếp nhận. Ngày hẹn trả kết quả: {due_local}"
    assert [entry["status"] for entry in shown["timeline"]][-1] == "received"


# ---- order and duplicates ----------------------------------------------------------------------------------
def test_an_older_event_arriving_after_a_newer_one_never_moves_the_view_back(db, filed, view):
    code = filed["code"]
    assert deliver(db, "dossier.assigned.v1", event("dossier.assigned.v1", code, seq=4, at=at(90))) == "ok"
    assert deliver(db, "dossier.received.v1", received(code, seq=3, minutes=60)) == "ok"
    shown = view()
    assert (shown["status"], shown["status_code"]) == ("in_review", 4)
    # A date nothing newer set is filled in from the late event; the timeline keeps both, in time order.
    assert shown["received_at"] == at(60) and shown["due_at"] == at(24 * 60)
    assert [entry["status"] for entry in shown["timeline"]] == ["submitted", "received", "in_review"]


def test_a_late_event_does_not_reopen_a_closed_supplement_request_or_move_the_due_date(db, filed, view):
    code = filed["code"]
    deliver(db, "dossier.received.v1", received(code, seq=3))
    deliver(db, "dossier.supplement_received.v1", event("dossier.supplement_received.v1", code, seq=5, at=at(200),
                                                        status="received", status_code=2, due_at=at(30 * 60)))
    deliver(db, "dossier.supplement_requested.v1", event("dossier.supplement_requested.v1", code, seq=4, at=at(100)))
    shown = view()
    assert shown["status"] == "received" and shown["supplement_request"] is None
    assert shown["due_at"] == at(30 * 60)


def test_the_same_seq_republished_under_a_new_event_id_adds_no_second_timeline_entry(db, filed):
    data = received(filed["code"])
    assert deliver(db, "dossier.received.v1", data, event_id="e-1") == "ok"
    before = timeline_count(db)
    assert deliver(db, "dossier.received.v1", data, event_id="e-2") == "ok"
    assert timeline_count(db) == before


def test_each_processing_event_delivered_twice_has_one_effect(db, filed, view):
    for seq, type_ in enumerate(sorted(PROCESSING_EVENTS), start=1):
        data = event(type_, filed["code"], seq=seq, at=at(seq))
        assert deliver(db, type_, data, event_id=f"twice-{type_}") == "ok", type_
        first, count = view(), timeline_count(db)
        assert count == seq + 1 and first["timeline"][-1]["note"], type_  # a Vietnamese note for every type
        assert deliver(db, type_, data, event_id=f"twice-{type_}") == "duplicate", type_
        assert view() == first and timeline_count(db) == count, type_


def test_each_payment_and_shipment_event_delivered_twice_has_one_effect(db, filed, view, payment_requested,
                                                                        shipment_created):
    deliver(db, "payment.requested.v1", payment_requested(dossier_code=filed["code"]))
    deliver(db, "shipment.created.v1", shipment_created(dossier_code=filed["code"]))
    for minute, type_ in enumerate(sorted(PAYMENT_AND_SHIPMENT_EVENTS), start=1):
        data = event(type_, filed["code"])
        for name in ("at", "paid_at", "expired_at", "cancelled_at", "refunded_at", "dispatched_at", "delivered_at"):
            if name in data:
                data[name] = at(minute)
        assert deliver(db, type_, data, event_id=f"twice-{type_}") == "ok", type_
        first, count = view(), timeline_count(db)
        assert deliver(db, type_, data, event_id=f"twice-{type_}") == "duplicate", type_
        assert view() == first and timeline_count(db) == count, type_


def test_every_consumed_example_loads_under_intakes_schema():
    for event_type in CONSUMES:
        event_type.load(event_type.example)


# ---- status, dates, overdue --------------------------------------------------------------------------------
def test_overdue_is_derived_at_read_time_only_while_the_clock_runs(db, filed, view):
    code = filed["code"]
    future = rfc3339(datetime.now(timezone.utc) + timedelta(days=2))
    deliver(db, "dossier.received.v1", event("dossier.received.v1", code, seq=3, at=at(60), received_at=at(60),
                                             due_at=future))
    assert view()["overdue"] is False
    with db.transaction() as conn:  # time passes: nothing is written by intake, the answer changes
        conn.execute(dossiers.update().values(due_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    assert view()["overdue"] is True
    deliver(db, "dossier.supplement_requested.v1", event("dossier.supplement_requested.v1", code, seq=4, at=at(100)))
    assert view()["overdue"] is False  # clock paused
    assert "overdue" not in {column.name for column in dossiers.columns}


def test_result_ready_then_returned_sets_completed_at_and_the_return_place(db, filed, view):
    code = filed["code"]
    deliver(db, "dossier.received.v1", received(code, seq=3))
    deliver(db, "dossier.result_ready.v1", event("dossier.result_ready.v1", code, seq=9, at=at(500)))
    shown = view()
    assert (shown["status"], shown["status_code"], shown["completed_at"]) == ("result_ready", 9, at(500))
    assert shown["overdue"] is False
    assert shown["timeline"][-1]["note"] == "Đã có kết quả giải quyết, kết quả được gửi qua bưu chính công ích"
    deliver(db, "dossier.returned.v1", event("dossier.returned.v1", code, seq=10, at=at(900)))
    shown = view()
    assert (shown["status"], shown["status_code"], shown["completed_at"]) == ("returned", 10, at(500))


def test_a_refusal_ends_the_dossier_with_its_reason_in_the_timeline(db, filed, view):
    deliver(db, "dossier.refused.v1", event("dossier.refused.v1", filed["code"], seq=1, at=at(30)))
    shown = view()
    assert (shown["status"], shown["status_code"], shown["completed_at"]) == ("refused", 3, at(30))
    assert shown["timeline"][-1]["note"] == "Hồ sơ không được tiếp nhận. Lý do: Hồ sơ không thuộc thẩm quyền"


def test_an_apology_moves_the_due_date(db, filed, view):
    code = filed["code"]
    deliver(db, "dossier.received.v1", received(code, seq=3))
    deliver(db, "dossier.apology_issued.v1", event("dossier.apology_issued.v1", code, seq=5, at=at(400),
                                                   status="received", status_code=2, new_due_at=at(3 * 24 * 60)))
    assert view()["due_at"] == at(3 * 24 * 60)
    assert "phiếu xin lỗi" in view()["timeline"][-1]["note"]


def test_the_open_supplement_request_shows_until_processing_resumes(db, filed, view):
    code = filed["code"]
    deliver(db, "dossier.received.v1", received(code, seq=3))
    deliver(db, "dossier.supplement_requested.v1", event("dossier.supplement_requested.v1", code, seq=4, at=at(100)))
    shown = view()
    assert (shown["status"], shown["status_code"]) == ("supplement_requested", 5)
    assert shown["supplement_request"] == {
        "request_no": 1, "reason": "Giấy chứng sinh chụp mờ", "deadline": "2026-12-01",
        "documents": [{"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh"}],
        "requested_at": at(100), "answered_at": None}
    assert shown["timeline"][-1]["note"] == ("Yêu cầu bổ sung hồ sơ (lần 1): Giấy chứng sinh chụp mờ. "
                                             "Hạn bổ sung: 01/12/2026")
    deliver(db, "dossier.supplement_received.v1", event("dossier.supplement_received.v1", code, seq=5, at=at(200),
                                                        status="received", status_code=2, due_at=at(26 * 60)))
    shown = view()
    assert shown["supplement_request"] is None and shown["status"] == "received" and shown["due_at"] == at(26 * 60)


def test_the_answer_to_a_withdrawal_request_shows_in_the_view(client, db, filed, view):
    code = filed["code"]
    response = client.post(f"/v1/dossiers/{code}/withdrawal", json={"reason": "Nộp nhầm"},
                           headers=bearer(filed["access_token"]))
    assert response.status_code == 202
    deliver(db, "dossier.withdrawal_refused.v1", event("dossier.withdrawal_refused.v1", code, seq=1, at=at(10),
                                                       status="submitted", status_code=1))
    assert view()["withdrawal"]["status"] == "refused"
    assert view()["withdrawal"]["answer"] == "Kết quả đã được ký duyệt"
    assert client.post(f"/v1/dossiers/{code}/withdrawal", json={"reason": "Vẫn muốn rút"},
                       headers=bearer(filed["access_token"])).status_code == 202
    deliver(db, "dossier.withdrawn.v1", event("dossier.withdrawn.v1", code, seq=2, at=at(20), reason="Vẫn muốn rút"))
    shown = view()
    assert (shown["status"], shown["status_code"], shown["completed_at"]) == ("withdrawn", 7, at(20))
    assert shown["withdrawal"]["status"] == "accepted" and shown["withdrawal"]["reason"] == "Vẫn muốn rút"


def test_news_of_a_dossier_intake_never_filed_is_malformed(db):
    with pytest.raises(MalformedEvent, match="never filed"):
        deliver(db, "dossier.received.v1", received("000.00.06.H56-261124-9999"))


# ---- payment ---------------------------------------------------------------------------------------------
def test_payment_goes_through_paid_and_refunded_and_a_late_expiry_changes_nothing(db, filed, view,
                                                                                 payment_requested):
    code = filed["code"]
    deliver(db, "payment.requested.v1", payment_requested(dossier_code=code))
    deliver(db, "payment.failed.v1", event("payment.failed.v1", code, at=at(5)))
    assert view()["payment"]["status"] == "pending"
    assert view()["timeline"][-1]["note"] == "Thanh toán chưa thành công, vui lòng thử lại"
    deliver(db, "payment.completed.v1", event("payment.completed.v1", code, paid_at=at(6)))
    deliver(db, "payment.expired.v1", event("payment.expired.v1", code, expired_at=at(7)))
    assert view()["payment"]["status"] == "paid"
    deliver(db, "payment.refunded.v1", event("payment.refunded.v1", code, refunded_at=at(8)))
    assert view()["payment"]["status"] == "refunded"
    assert view()["payment"]["refunded_at"] == at(8)
    assert view()["timeline"][-1]["note"] == "Đã hoàn trả phí, lệ phí: 50.000 đồng"


def test_an_unpaid_order_expires(db, filed, view, payment_requested):
    deliver(db, "payment.requested.v1", payment_requested(dossier_code=filed["code"]))
    deliver(db, "payment.expired.v1", event("payment.expired.v1", filed["code"], expired_at=at(1)))
    assert view()["payment"]["status"] == "expired"
    assert view()["timeline"][-1]["note"] == "Yêu cầu thanh toán đã hết hạn"


def test_news_of_an_order_not_yet_known_is_retried_and_leaves_nothing(db, filed):
    with pytest.raises(NotYetKnown):
        deliver(db, "payment.completed.v1", event("payment.completed.v1", filed["code"]))
    with db.transaction(readonly=True) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar_one() == 0


# ---- delivery --------------------------------------------------------------------------------------------
def test_delivery_goes_through_dispatched_and_delivered_and_a_late_report_changes_nothing(
        db, filed, view, shipment_created):
    code = filed["code"]
    deliver(db, "shipment.created.v1", shipment_created(dossier_code=code))
    deliver(db, "shipment.dispatched.v1", event("shipment.dispatched.v1", code, dispatched_at=at(1)))
    assert view()["delivery"] == {"method": "post", "tracking_no": "MC000000014VN", "status": "dispatched"}
    deliver(db, "shipment.progressed.v1", event("shipment.progressed.v1", code, at=at(2)))
    assert view()["delivery"]["status"] == "in_transit"
    deliver(db, "shipment.delivered.v1", event("shipment.delivered.v1", code, delivered_at=at(3)))
    assert view()["delivery"]["status"] == "delivered"
    deliver(db, "shipment.progressed.v1", event("shipment.progressed.v1", code, status="in_transit", at=at(4)))
    assert view()["delivery"]["status"] == "delivered"  # an end state is final
    notes = [entry["note"] for entry in view()["timeline"]]
    assert "Kết quả đã được giao cho bưu chính, mã vận đơn MC000000014VN" in notes
    assert "Bưu chính đã phát kết quả thành công (MC000000014VN)" in notes


def test_an_older_carrier_report_does_not_move_the_delivery_back(db, filed, view, shipment_created):
    code = filed["code"]
    deliver(db, "shipment.created.v1", shipment_created(dossier_code=code))
    deliver(db, "shipment.progressed.v1", event("shipment.progressed.v1", code, status="in_transit", at=at(20)))
    deliver(db, "shipment.progressed.v1", event("shipment.progressed.v1", code, status="picked_up", at=at(10)))
    assert view()["delivery"]["status"] == "in_transit"


def test_a_note_shows_the_status_the_dossier_had_at_its_moment_whatever_order_the_events_arrive_in(
        db, filed, view, payment_requested):
    """payment.completed (paid at 25) arrives after processing's payment_received (at 26): the payment note sits
    at 25 and must read awaiting_payment, not the submitted intake already knew (found by tests/test_paths.py)."""
    code = filed["code"]
    deliver(db, "dossier.payment_required.v1", event("dossier.payment_required.v1", code, seq=1, at=at(0.01),
                                                     amount_vnd=50000))
    deliver(db, "payment.requested.v1", payment_requested(dossier_code=code))
    deliver(db, "dossier.payment_received.v1", event("dossier.payment_received.v1", code, seq=2, at=at(26)))
    deliver(db, "payment.completed.v1", event("payment.completed.v1", code, paid_at=at(25)))
    shown = [(e["at"], e["status"]) for e in view()["timeline"]]
    assert (at(25), "awaiting_payment") in shown, shown
    assert [s for _, s in shown][-2:] == ["awaiting_payment", "submitted"], shown

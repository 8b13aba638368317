"""payment.requested.v1 becomes the fee notice with the QR link, sent to the recipient the dossier named."""
import json

import pytest

from servicekit.events import MalformedEvent

from notify.events import CONSUMES
from notify.models import inbox, messages, recipients
from notify.use_cases import RecipientNotKnownYet

CODE = "000.00.06.H56-261124-0001"
PAY_URL = f"http://127.0.0.1:8000/ho-so/{CODE}/thanh-toan"

# Copied from payment's registered example, PUBLISHES["payment.requested.v1"] in
# services/payment/payment/events.py. Services never import one another, so the dict is repeated
# here; the suite's contract test (tests/test_contracts.py) checks the live one against this consumer.
PAYMENT_PRODUCER_EXAMPLE = {
    "dossier_code": "000.00.06.H56-261124-0001",
    "reference": "MCK7QX2MZP4A",
    "amount_vnd": 50000,
    "qr_payload": (
        "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA53037045405500005802VN"
        "62740125000.00.06.H56-261124-00010512MCK7QX2MZP4A0825Le phi ho so MCK7QX2MZP4A63047B68"
    ),
    "expires_at": "2026-11-27T02:00:00.000Z",
}


def payment_messages(rows):
    return {row.channel: row for row in rows(messages, messages.c.kind == "payment.requested")}


def test_payment_producers_example_loads_under_notifys_schema():
    loaded = CONSUMES["payment.requested.v1"].load(PAYMENT_PRODUCER_EXAMPLE)
    assert loaded["amount_vnd"] == 50000 and loaded["reference"] == "MCK7QX2MZP4A"
    assert loaded["expires_at"].isoformat() == "2026-11-27T02:00:00+00:00"


def test_payment_sms_is_plain_ascii_with_amount_reference_deadline_and_qr_link(submit, request_payment, rows):
    submit(channels=("sms",))
    assert request_payment() == "ok"
    sms = payment_messages(rows)["sms"]
    assert sms.text == (
        f"Ho so {CODE}: vui long nop le phi 50.000 dong truoc 27/11/2026 09:00. "
        f"Ma thanh toan MCK7QX2MZP4A. Thanh toan: {PAY_URL}"
    )
    assert sms.text.isascii() and "?" not in sms.text
    assert sms.to_address == "84912345678" and sms.status == "created" and sms.agency_code == "000.00.06.H56"


def test_large_fee_and_evening_deadline_are_shown_the_vietnamese_way(submit, request_payment, rows):
    submit(channels=("sms",))
    request_payment(amount_vnd=1250000, expires_at="2026-11-27T17:30:00Z")
    text = payment_messages(rows)["sms"].text
    assert "nop le phi 1.250.000 dong truoc 28/11/2026 00:30." in text


def test_payment_email_keeps_its_diacritics_and_zalo_gets_typed_parameters(submit, request_payment, rows):
    submit(channels=("zalo", "email"))
    request_payment()
    by_channel = payment_messages(rows)
    email = by_channel["email"]
    assert email.to_address == "anh@example.vn"
    assert email.subject == f"Thông báo nộp lệ phí hồ sơ {CODE}"
    assert "Kính gửi Ông/Bà Đặng Thị Ngọc Ánh" in email.text and "Số tiền: 50.000 đồng" in email.text
    assert f"quét mã QR bằng ứng dụng ngân hàng: {PAY_URL}" in email.text and "Mã thanh toán: MCK7QX2MZP4A" in email.text
    zalo = by_channel["zalo"]
    assert zalo.zalo_template_id == "motcua_payment_requested"
    assert json.loads(zalo.params) == {
        "name": "Đặng Thị Ngọc Ánh", "code": CODE, "amount": "50.000", "reference": "MCK7QX2MZP4A",
        "deadline": "27/11/2026 09:00", "url": PAY_URL,
    }


def test_payment_notice_goes_only_where_the_applicant_can_receive(submit, request_payment, rows):
    submit(channels=("sms", "email"), phone=None)
    request_payment()
    assert list(payment_messages(rows)) == ["email"]


def test_payment_for_a_dossier_that_wanted_no_messages_ends_quietly(submit, request_payment, rows):
    submit(channels=())
    assert request_payment() == "ok"  # known dossier, nothing to send: not retried as if it were early
    assert rows() == []


def test_same_payment_event_delivered_twice_creates_one_message(submit, request_payment, rows):
    submit(channels=("sms",))
    assert request_payment(event_id="p-1") == "ok"
    assert request_payment(event_id="p-1") == "duplicate"
    assert request_payment(event_id="p-2") == "ok"  # re-published under a new id: the unique key holds
    [sms] = payment_messages(rows).values()
    assert sms.event_id == "p-1"
    assert len(rows()) == 2  # the filing notice and the one payment notice


def test_handler_wakes_the_sender_for_new_payment_messages_only(submit, request_payment):
    woken = []
    submit(channels=("sms",))
    request_payment(event_id="p-1", wake=woken.append)
    request_payment(event_id="p-2", wake=woken.append)
    assert woken == [1]


def test_payment_before_the_dossier_is_retried_then_succeeds_once_the_dossier_is_known(
        submit, request_payment, rows):
    with pytest.raises(RecipientNotKnownYet) as raised:
        request_payment(event_id="p-1")
    # An ordinary exception, so the kit's consumer retries it after a delay rather than dead-lettering it.
    assert not isinstance(raised.value, MalformedEvent)
    assert rows() == [] and rows(recipients) == [] and rows(inbox) == []

    submit(event_id="d-1", channels=("sms",))
    assert request_payment(event_id="p-1") == "ok"  # the same event, redelivered from the retry queue
    assert set(payment_messages(rows)) == {"sms"}


def test_dossier_event_remembers_the_recipient_once_with_reachable_addresses_only(submit, rows):
    submit(event_id="d-1", channels=("sms", "email"), phone="0912 345 678", email="not an email")
    submit(event_id="d-2", channels=("zalo",), full_name="Someone Else")
    [recipient] = rows(recipients)
    assert recipient.dossier_code == CODE and recipient.agency_code == "000.00.06.H56"
    assert recipient.full_name == "Đặng Thị Ngọc Ánh" and json.loads(recipient.notify_channels) == ["sms", "email"]
    assert recipient.phone == "84912345678" and recipient.email is None


def test_payment_messages_are_sent_and_reported_with_their_kind(submit, request_payment, rows, make_sender, gateway,
                                                                published):
    submit(channels=("sms",))
    request_payment()
    sender = make_sender()
    assert sender.send_next() and sender.send_next()
    assert payment_messages(rows)["sms"].text in [body["text"] for body in gateway.received]
    kinds = sorted(data["kind"] for _, data in published("notification.sent.v1"))
    assert kinds == ["dossier.submitted", "payment.requested"]

"""Every citizen-facing event of the contract becomes one message per chosen channel, once, in words that fit it;
an event that arrives late or no longer matters is recorded as skipped, never sent."""
import json
import re

import pytest

from notify.events import CONSUMES
from notify.models import messages, recipients
from notify.render import ZALO_PARAM_LIMITS
from notify.use_cases import RecipientNotKnownYet

CODE = "000.00.06.H56-261124-0001"
PORTAL = "http://127.0.0.1:8000"
EVENT_TYPES = sorted(t.name for t in CONSUMES if t.name != "dossier.submitted.v1")
URL = re.compile(r"https?://\S+")


def by_channel(rows, kind):
    return {row.channel: row for row in rows(messages, messages.c.kind == kind)}


def test_notify_consumes_every_citizen_facing_type_of_the_contract():
    assert {t.name for t in CONSUMES} == {
        "dossier.submitted.v1", "payment.requested.v1", "payment.completed.v1", "payment.expired.v1",
        "payment.refunded.v1", "dossier.received.v1", "dossier.refused.v1", "dossier.supplement_requested.v1",
        "dossier.assigned.v1", "dossier.result_ready.v1", "dossier.returned.v1", "dossier.stopped.v1",
        "dossier.rejected.v1", "dossier.apology_issued.v1", "dossier.withdrawn.v1", "dossier.overdue.v1",
        "shipment.dispatched.v1", "shipment.delivered.v1", "shipment.failed.v1",
    }


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_event_gives_one_fitting_message_per_channel_even_when_delivered_twice(
        event_type, submit, deliver, rows, settings):
    submit(channels=("sms", "zalo", "email"))
    woken = []
    assert deliver(event_type, event_id="e-1", wake=woken.append) == "ok"
    assert deliver(event_type, event_id="e-1", wake=woken.append) == "duplicate"
    assert deliver(event_type, event_id="e-2", wake=woken.append) == "ok"  # re-published: the unique key holds
    kind = event_type.rsplit(".", 1)[0]
    made = by_channel(rows, kind)
    assert set(made) == {"sms", "zalo", "email"} and woken == [3]
    assert all(row.status == "created" and row.event_id == "e-1" for row in made.values())

    sms, zalo, email = made["sms"], made["zalo"], made["email"]
    assert sms.text.isascii() and "?" not in sms.text and CODE in sms.text
    assert 1 <= sms.segments <= settings.sms_max_segments
    assert "Dang Thi Ngoc Anh" not in sms.text or kind == "dossier.submitted"

    params = json.loads(zalo.params)
    assert zalo.zalo_template_id == "motcua_" + kind.replace(".", "_") and params["code"] == CODE
    assert len(params["name"]) <= 30 and len(zalo.text) <= 400
    assert all(len(value) <= max(ZALO_PARAM_LIMITS.values()) for value in params.values())

    assert email.subject and "Kính gửi Ông/Bà Đặng Thị Ngọc Ánh" in email.text
    assert email.html.startswith("<!DOCTYPE html>") and CODE in email.html

    for text in (sms.text, zalo.text, email.text, email.html):
        links = URL.findall(text)
        assert links, (kind, text)
        for link in links:
            link = link.rstrip(".,;)\"'<").split('"')[0]
            assert link in (f"{PORTAL}/ho-so/{CODE}", f"{PORTAL}/ho-so/{CODE}/thanh-toan"), (kind, link)
        # Nothing that identifies the person: no ID number, no phone, no email address.
        assert "001190012345" not in text and "84912345678" not in text and "anh@example.vn" not in text


def test_the_only_applicant_text_in_an_sms_is_a_short_cleaned_name(submit, rows):
    submit(channels=("sms", "zalo"), full_name="Nguyễn\x07 Thị\u200b Phương\nThảo Hoàng Anh Minh Châu",
           address="Số 9 ngõ 12\x1b[31m Trần Phú")
    made = by_channel(rows, "dossier.submitted")
    assert "cua Nguyen Thi Phuong Thao Hoang da duoc nop" in made["sms"].text
    assert "\x07" not in made["sms"].text and "\x1b" not in made["sms"].text and "Tran Phu" not in made["sms"].text
    assert json.loads(made["zalo"].params)["name"] == "Nguyễn Thị Phương Thảo Hoàng"


def test_the_received_message_carries_the_due_date_in_vietnam_time(submit, deliver, rows):
    submit(channels=("sms", "zalo", "email"))
    deliver("dossier.received.v1", due_at="2026-11-27T17:30:00.000Z")
    made = by_channel(rows, "dossier.received")
    assert made["sms"].text == (f"Ho so {CODE} (Dang ky khai sinh) da duoc tiep nhan. Ngay hen tra ket qua: "
                                f"28/11/2026. Tra cuu: {PORTAL}/ho-so/{CODE}")
    assert json.loads(made["zalo"].params)["due"] == "28/11/2026"
    assert "Ngày hẹn trả kết quả: 28/11/2026" in made["email"].text
    assert "Thời hạn giải quyết: 3 ngày làm việc" in made["email"].text


def test_supplement_requested_names_what_and_by_when_and_each_request_is_its_own_message(submit, deliver, rows):
    submit(channels=("sms",))
    deliver("dossier.supplement_requested.v1", seq=2, request_no=1)
    deliver("dossier.supplement_requested.v1", seq=4, request_no=2, deadline="2026-12-09",
            documents=[{"code": "CMND", "name": "Căn cước công dân"}])
    made = {row.occurrence: row.text for row in rows(messages, messages.c.kind == "dossier.supplement_requested")}
    assert set(made) == {"1", "2"}
    texts = [made["1"], made["2"]]
    assert "can bo sung: Giay chung sinh. Han: 02/12/2026" in texts[0]
    assert "can bo sung: Can cuoc cong dan. Han: 09/12/2026" in texts[1]


def test_result_ready_says_come_to_the_counter_or_that_it_goes_by_post(submit, deliver, rows):
    submit(code=CODE, channels=("sms",))
    submit(code=CODE[:-1] + "2", channels=("sms",))
    deliver("dossier.result_ready.v1")
    deliver("dossier.result_ready.v1", code=CODE[:-1] + "2", delivery_method="post", fee_mode="after", fee_vnd=30000)
    texts = {row.dossier_code: row.text for row in rows()}
    assert "Moi Ong/Ba mang giay hen den Bo phan Mot cua de nhan ket qua." in texts[CODE]
    post = texts[CODE[:-1] + "2"]
    assert "gui den Ong/Ba qua dich vu buu chinh" in post and "30.000 dong" in post


def test_an_event_older_than_the_last_applied_is_recorded_as_skipped_not_sent(submit, deliver, rows):
    submit(channels=("sms", "email"))
    deliver("dossier.assigned.v1", seq=2)
    deliver("dossier.received.v1", seq=1)  # overtaken on the way
    received = by_channel(rows, "dossier.received")
    assert {row.status for row in received.values()} == {"skipped"}
    assert "seq 1 <= 2" in received["sms"].skip_reason
    assert {row.status for row in by_channel(rows, "dossier.assigned").values()} == {"created"}
    [state] = rows(recipients)
    assert state.last_seq == 2 and state.status == "in_review"


def test_an_overdue_notice_after_the_result_was_returned_is_skipped(submit, deliver, rows):
    submit(channels=("sms",))
    deliver("dossier.returned.v1", seq=6)
    deliver("dossier.overdue.v1", seq=7, status="returned")
    [overdue] = by_channel(rows, "dossier.overdue").values()
    assert overdue.status == "skipped" and "no longer matters: the dossier is returned" in overdue.skip_reason


def test_an_overdue_notice_while_the_dossier_is_open_is_sent_and_an_apology_after_the_result_is_not(
        submit, deliver, rows):
    submit(channels=("sms",))
    deliver("dossier.overdue.v1", seq=4)
    deliver("dossier.result_ready.v1", seq=5)
    deliver("dossier.apology_issued.v1", seq=6, status="result_ready")
    assert by_channel(rows, "dossier.overdue")["sms"].status == "created"
    assert by_channel(rows, "dossier.apology_issued")["sms"].status == "skipped"


def test_a_result_returned_by_post_is_told_by_the_delivery_notice_only(submit, deliver, rows):
    submit(channels=("sms",))
    deliver("dossier.returned.v1", via="post")
    deliver("shipment.delivered.v1")
    assert by_channel(rows, "dossier.returned")["sms"].status == "skipped"
    assert by_channel(rows, "shipment.delivered")["sms"].status == "created"


def test_a_payment_notice_after_the_dossier_was_stopped_is_skipped(submit, deliver, request_payment, rows):
    submit(channels=("sms",))
    deliver("dossier.stopped.v1", seq=3, cause="payment_expired")
    deliver("payment.expired.v1")
    assert by_channel(rows, "payment.expired")["sms"].status == "skipped"
    assert by_channel(rows, "dossier.stopped")["sms"].status == "created"


def test_an_event_before_its_dossier_is_known_is_retried_not_dropped(deliver, submit, rows):
    with pytest.raises(RecipientNotKnownYet):
        deliver("dossier.received.v1", event_id="r-1")
    assert rows() == []
    submit(channels=("sms",))
    assert deliver("dossier.received.v1", event_id="r-1") == "ok"
    assert by_channel(rows, "dossier.received")["sms"].status == "created"


def test_a_dossier_that_wanted_no_messages_gets_none_and_its_events_end_quietly(submit, deliver, rows):
    submit(channels=())
    for event_type in EVENT_TYPES:
        assert deliver(event_type) == "ok"
    assert rows() == []


def test_a_code_longer_than_zalo_allows_skips_zalo_with_the_reason_and_still_sends_the_sms(submit, rows):
    long_code = "000.00.06.H56-261124-000000001X"  # 31 characters: over the 30 ZNS allows for a code
    submit(code=long_code, channels=("sms", "zalo"))
    made = by_channel(rows, "dossier.submitted")
    assert made["zalo"].status == "skipped" and "cannot go by zalo" in made["zalo"].skip_reason
    assert made["sms"].status == "created" and long_code in made["sms"].text

"""dossier.submitted.v1 becomes stored messages, once per dossier and channel, with no network I/O."""
import json

import pytest

from servicekit.testing import deliver_event, migrated_database

from notify.events import CONSUMES, PUBLISHES
from notify.handlers import build_subscription
from notify.manage import MIGRATIONS, seed
from notify.models import inbox, templates


def test_submitted_dossier_stores_one_created_message_per_chosen_channel(submit, rows, gateway):
    assert submit(channels=("sms", "zalo", "email")) == "ok"
    by_channel = {row.channel: row for row in rows()}
    assert set(by_channel) == {"sms", "zalo", "email"}
    assert all(row.status == "created" and row.attempts == 0 for row in by_channel.values())
    assert by_channel["sms"].to_address == by_channel["zalo"].to_address == "84912345678"
    assert by_channel["email"].to_address == "anh@example.vn"
    assert gateway.received == []  # persist first: nothing leaves inside the handler's transaction


def test_vietnamese_name_is_folded_to_ascii_in_the_sms_text(submit, rows):
    submit(channels=("sms",))
    text = rows()[0].text
    assert "Dang Thi Ngoc Anh" in text
    assert "Dang ky khai sinh" in text and "da duoc nop truc tuyen luc 24/11/2026 09:00" in text
    assert text.endswith("Tra cuu: http://127.0.0.1:8000/ho-so/000.00.06.H56-261124-0001")
    assert text.isascii() and "?" not in text


def test_email_keeps_its_diacritics_and_has_the_reception_subject(submit, rows):
    submit(channels=("email",))
    email = rows()[0]
    assert email.subject == "Thông báo tiếp nhận hồ sơ trực tuyến"
    assert "Kính gửi Ông/Bà Đặng Thị Ngọc Ánh" in email.text


def test_zalo_message_carries_its_template_id_and_typed_parameters(submit, rows):
    submit(channels=("zalo",))
    zalo = rows()[0]
    params = json.loads(zalo.params)
    assert zalo.zalo_template_id == "motcua_dossier_submitted"
    assert params["name"] == "Đặng Thị Ngọc Ánh" and params["code"] == "000.00.06.H56-261124-0001"
    assert params["time"] == "24/11/2026 09:00" and params["url"].startswith("http://127.0.0.1:8000/ho-so/")


def test_counter_filing_does_not_claim_to_be_online(rows, db, settings, dossier_submitted):
    data = dossier_submitted(channels=("sms",))
    data["channel"] = "counter"
    deliver_event(db, inbox, build_subscription(settings), "notify", "dossier.submitted.v1", data)
    assert "da duoc nop tai Bo phan Mot cua luc" in rows()[0].text


def test_channel_the_applicant_cannot_receive_is_skipped(submit, rows):
    submit(channels=("sms", "zalo", "email", "fax"), phone=None)
    assert [row.channel for row in rows()] == ["email"]


def test_malformed_phone_or_email_means_no_message_on_that_channel(submit, rows):
    submit(channels=("sms", "email"), phone="12345", email="anh at example")
    assert rows() == []


def test_same_event_delivered_twice_creates_one_message(submit, rows):
    assert submit(event_id="e-1", channels=("sms", "email")) == "ok"
    assert submit(event_id="e-1", channels=("sms", "email")) == "duplicate"
    assert len(rows()) == 2


def test_same_dossier_under_a_new_event_id_creates_no_second_message(submit, rows):
    submit(event_id="e-1", channels=("sms",))
    assert submit(event_id="e-2", channels=("sms",)) == "ok"
    assert len(rows()) == 1 and rows()[0].event_id == "e-1"


def test_handler_wakes_the_sender_after_commit_and_only_for_new_messages(submit):
    woken = []
    submit(event_id="e-1", channels=("sms", "email"), wake=woken.append)
    submit(event_id="e-2", channels=("sms", "email"), wake=woken.append)
    assert woken == [2]


def test_missing_templates_fail_the_event_so_it_is_retried_not_dropped(settings, dossier_submitted):
    bare = migrated_database(settings.kit.database_url, MIGRATIONS)
    try:
        with bare.transaction() as conn:
            conn.execute(templates.delete())
        with pytest.raises(LookupError):
            deliver_event(bare, inbox, build_subscription(settings), "notify", "dossier.submitted.v1",
                          dossier_submitted())
    finally:
        bare.dispose()


def test_seeding_the_templates_twice_changes_nothing(db, rows):
    again = seed(db)
    assert again["templates"] == {"inserted": 0, "updated": 0, "unchanged": 57, "kept": 0}
    assert len(rows(templates)) == 57 == 19 * 3


def test_every_example_validates_against_its_schema():
    for event_type in list(CONSUMES) + list(PUBLISHES):
        assert event_type.example, event_type.name
        assert event_type.schema().validate(event_type.example) == {}, event_type.name

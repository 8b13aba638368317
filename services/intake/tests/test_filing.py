"""Filing a dossier: what is stored and published, idempotency, validation, dossier codes, logs and metrics."""
import hashlib
import json
import logging
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from servicekit.logs import JsonFormatter

from intake import queries
from intake.events import PUBLISHES
from intake.metrics import DOSSIERS_SUBMITTED
from intake.models import access_tokens, dossier_timeline, dossiers, idempotency_keys, outbox
from intake.use_cases import dossier_day


def rows(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(table)).all()


def count(db, table):
    return len(rows(db, table))


def test_filing_stores_the_dossier_its_timeline_and_exactly_one_submitted_event(db, file_dossier):
    response = file_dossier()
    assert response.status_code == 201
    code = response.get_json()["code"]
    dossier = rows(db, dossiers)[0]
    timeline = rows(db, dossier_timeline)
    events = rows(db, outbox)
    assert (dossier.code, dossier.status, dossier.procedure_code, dossier.agency_code) == (
        code, "submitted", "1.001193.H56", "000.00.06.H56")
    assert dossier.phone == "84912345678" and dossier.delivery_address["province"] == "Phú Thọ"
    assert [(t.dossier_code, t.status) for t in timeline] == [(code, "submitted")]
    assert len(events) == 1 and events[0].type == "dossier.submitted.v1" and events[0].subject == code
    assert events[0].routing_key == "dossier.submitted.v1" and events[0].exchange == "motcua.events"


def test_submitted_event_payload_validates_against_the_published_schema(db, file_dossier):
    file_dossier()
    envelope = json.loads(rows(db, outbox)[0].body)
    event_type = PUBLISHES["dossier.submitted.v1"]
    assert event_type.schema().validate(envelope["data"]) == {}
    data = envelope["data"]
    assert data["procedure"] == {"code": "1.001193.H56", "name": "Đăng ký khai sinh", "level": "full_online",
                                 "processing_days": 1, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True,
                                 "documents": data["procedure"]["documents"],
                                 "field_code": "HO_TICH", "field_name": "Hộ tịch"}  # for MaLinhVuc / TenLinhVuc
    # The procedure's whole document list at filing, required ones flagged.
    assert data["procedure"]["documents"][:2] == [
        {"code": "TK_KHAI_SINH", "name": "Tờ khai đăng ký khai sinh (theo mẫu)", "required": True},
        {"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh hoặc giấy tờ thay thế Giấy chứng sinh", "required": True}]
    assert all(set(doc) == {"code", "name", "required"} for doc in data["procedure"]["documents"])
    # What was uploaded, as stored by POST /v1/uploads; online, so no clerk filed it.
    uploaded = [doc["upload_id"] for doc in data["documents"]]
    assert [doc["code"] for doc in data["documents"]] == ["TK_KHAI_SINH", "GIAY_CHUNG_SINH"]
    assert all(doc["size"] > 0 and len(doc["sha256"]) == 64 and doc["filename"].endswith(".pdf")
               for doc in data["documents"])
    assert len(set(uploaded)) == 2 and data["filed_by"] is None
    assert data["agency"] == {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"}
    assert data["applicant"]["phone"] == "84912345678" and data["applicant"]["id_number"] == "001190012345"
    assert data["delivery"]["address"]["recipient_name"] == "Đặng Thị Ngọc Ánh"
    assert data["delivery"]["address"]["phone"] is None
    assert data["fees"] == {"procedure_vnd": 0, "postal_vnd": 10000}
    assert envelope["specversion"] == "1.0" and envelope["source"] == "intake" and envelope["subject"] == data["code"]


def test_filing_answers_code_status_token_fees_and_link(file_dossier):
    response = file_dossier()
    body = response.get_json()
    assert set(body) == {"code", "status", "status_code", "access_token", "submitted_at", "fees", "links"}
    assert body["status"] == "submitted" and body["status_code"] == 1
    assert len(body["access_token"]) >= 43
    assert body["links"] == {"self": f"/v1/dossiers/{body['code']}"}
    assert response.headers["Location"] == body["links"]["self"]
    assert body["submitted_at"].endswith("Z")


def test_counter_delivery_has_no_postal_fee_and_no_address(db, file_dossier, filing_body):
    body = file_dossier(filing_body(delivery={"method": "counter", "address": {"street": "ignored", "commune": "x",
                                                                                 "province": "y"}})).get_json()
    assert body["fees"] == {"procedure_vnd": 0, "postal_vnd": 0}
    assert json.loads(rows(db, outbox)[0].body)["data"]["delivery"] == {"method": "counter", "address": None}


def test_postal_fee_follows_the_citizen_price_setting(db, settings, file_dossier):
    from dataclasses import replace

    from intake.app import create_app

    app = create_app(replace(settings, postal_citizen_price_vnd=15000))
    response = file_dossier(target=app.test_client())
    assert response.get_json()["fees"]["postal_vnd"] == 15000


def test_procedure_fee_is_quoted_from_the_catalogue(file_dossier, filing_body, documents):
    body = filing_body(procedure_code="2.000488.H56", documents=documents("TK_LLTP", "GT_TUY_THAN"))
    assert file_dossier(body).get_json()["fees"] == {"procedure_vnd": 200000, "postal_vnd": 10000}


def test_same_key_and_body_replays_the_first_answer_and_creates_nothing(db, file_dossier):
    first = file_dossier(key="key-1")
    again = file_dossier(key="key-1")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert (count(db, dossiers), count(db, dossier_timeline), count(db, outbox), count(db, idempotency_keys)) == (1, 1, 1, 1)


def test_replayed_token_still_opens_the_dossier(client, file_dossier):
    file_dossier(key="key-1")
    replay = file_dossier(key="key-1").get_json()
    view = client.get(replay["links"]["self"], headers={"Authorization": f"Bearer {replay['access_token']}"})
    assert view.status_code == 200


def test_the_token_is_stored_only_as_its_sha256(db, file_dossier):
    body = file_dossier(key="key-1").get_json()
    token = body["access_token"]
    stored, = rows(db, access_tokens)
    assert (stored.dossier_code, stored.kind, stored.revoked_at) == (body["code"], "filing", None)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for table in (dossiers, idempotency_keys, outbox, dossier_timeline, access_tokens):
        assert token not in json.dumps([list(map(str, row)) for row in rows(db, table)])


def test_same_key_with_another_body_is_a_409_and_creates_nothing(db, file_dossier, filing_body):
    file_dossier(key="key-1")
    response = file_dossier(filing_body(notify_channels=["sms", "email"]), key="key-1")
    assert response.status_code == 409
    assert response.get_json()["code"] == 409
    assert count(db, dossiers) == 1


def test_same_key_is_scoped_to_filings_and_free_after_a_failed_attempt(db, file_dossier, filing_body):
    assert file_dossier(filing_body(procedure_code="nope"), key="key-1").status_code == 422
    assert file_dossier(key="key-1").status_code == 201
    assert count(db, dossiers) == 1


def test_missing_idempotency_key_is_a_400(client, db, filing_body):
    response = client.post("/v1/dossiers", json=filing_body())
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["message"]
    assert count(db, dossiers) == 0


def test_malformed_json_is_a_400(client):
    response = client.post("/v1/dossiers", data='{"procedure_code": ', content_type="application/json",
                           headers={"Idempotency-Key": "k"})
    assert response.status_code == 400
    assert set(response.get_json()) >= {"code", "status", "message"}


def test_wrong_content_type_is_a_415(client):
    response = client.post("/v1/dossiers", data="procedure_code=1.001193.H56",
                           content_type="application/x-www-form-urlencoded", headers={"Idempotency-Key": "k"})
    assert response.status_code == 415


def _without_required_document(body):
    body["documents"] = body["documents"][:1]
    return body


def _set(path, value):
    def change(body):
        target = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        return body
    return change


def _delete(path):
    def change(body):
        target = body
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
        return body
    return change


INVALID = {
    "unknown procedure": (_set(["procedure_code"], "9.999999.H56"), ["procedure_code"]),
    "delivery method not offered": (_set(["procedure_code"], "1.000894.H56"), ["delivery", "method"]),
    "missing required document": (_without_required_document, ["documents"]),
    "document of another procedure": (_set(["documents"], [{"code": "TK_KHAI_SINH", "upload_id": "a"},
                                                           {"code": "GIAY_CHUNG_SINH", "upload_id": "b"},
                                                           {"code": "TK_LLTP", "upload_id": "c"}]), ["documents"]),
    "empty upload id": (_set(["documents"], [{"code": "TK_KHAI_SINH", "upload_id": " "},
                                             {"code": "GIAY_CHUNG_SINH", "upload_id": "b"}]), ["documents", "0", "upload_id"]),
    "citizen ID of 9 digits": (_set(["applicant", "id_number"], "123456789"), ["applicant", "id_number"]),
    "citizen ID with letters": (_set(["applicant", "id_number"], "00119001234A"), ["applicant", "id_number"]),
    "business tax code of 11 digits": (
        lambda b: _set(["applicant", "id_number"], "01234567890")(_set(["applicant", "type"], "business")(b)),
        ["applicant", "id_number"]),
    "landline phone": (_set(["applicant", "phone"], "02113868686"), ["applicant", "phone"]),
    "phone too short": (_set(["applicant", "phone"], "091234567"), ["applicant", "phone"]),
    "recipient phone malformed": (_set(["delivery", "address", "phone"], "123"), ["delivery", "address", "phone"]),
    "malformed email": (_set(["applicant", "email"], "anh@"), ["applicant", "email"]),
    "neither phone nor email": (
        lambda b: _set(["applicant", "email"], None)(_set(["applicant", "phone"], None)(_delete(["notify_channels"])(b))),
        ["applicant", "phone"]),
    "unknown applicant type": (_set(["applicant", "type"], "alien"), ["applicant", "type"]),
    "blank full name": (_set(["applicant", "full_name"], "   "), ["applicant", "full_name"]),
    "post without an address": (_set(["delivery"], {"method": "post"}), ["delivery", "address"]),
    "unknown delivery method": (_set(["delivery", "method"], "drone"), ["delivery", "method"]),
    "sms without a phone": (_set(["applicant", "phone"], None), ["notify_channels"]),
    "email channel without an email": (
        lambda b: _set(["notify_channels"], ["email"])(_set(["applicant", "email"], None)(b)), ["notify_channels"]),
    "unknown notify channel": (_set(["notify_channels"], ["pigeon"]), ["notify_channels"]),
    "unknown channel": (_set(["channel"], "fax"), ["channel"]),
    "missing applicant": (_delete(["applicant"]), ["applicant"]),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_invalid_filing_is_a_422_naming_the_field(case, db, file_dossier, filing_body):
    change, path = INVALID[case]
    response = file_dossier(change(filing_body()))
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["json"]
    for part in path:
        assert part in errors, (case, response.get_json())
        errors = errors[part]
    assert count(db, dossiers) == 0 and count(db, outbox) == 0


def test_one_answer_names_every_bad_applicant_field(file_dossier, filing_body):
    body = filing_body()
    body["applicant"].update(id_number="123", phone="123")
    errors = file_dossier(body).get_json()["errors"]["json"]["applicant"]
    assert set(errors) == {"id_number", "phone"}


def test_business_tax_code_of_a_branch_is_kept_with_its_hyphen(db, file_dossier, filing_body):
    for id_number in ("0123456789001", "0123456789-002"):
        body = filing_body()
        body["applicant"].update(type="business", id_number=id_number, full_name="Công ty TNHH Ánh Dương")
        assert file_dossier(body).status_code == 201
    assert sorted(row.id_number for row in rows(db, dossiers)) == ["0123456789-001", "0123456789-002"]


@pytest.mark.parametrize("applicant, expected", [
    ({"phone": "0912345678", "email": "a@example.vn"}, ["sms"]),
    ({"phone": None, "email": "a@example.vn"}, ["email"]),
])
def test_notify_channels_default_to_sms_with_a_phone_else_email(applicant, expected, db, file_dossier, filing_body):
    body = filing_body(delivery={"method": "counter"})
    del body["notify_channels"]
    body["applicant"].update(applicant)
    assert file_dossier(body).status_code == 201
    assert json.loads(rows(db, outbox)[0].body)["data"]["notify_channels"] == expected


def test_dossier_codes_count_per_agency_and_day_from_0001(file_dossier, filing_body, documents):
    business = filing_body(procedure_code="1.001612.H56", documents=documents("GDN_HKD"))
    codes = [file_dossier().get_json()["code"] for _ in range(3)] + [file_dossier(business).get_json()["code"]]
    day = dossier_day(datetime.now(timezone.utc))
    assert codes == [f"000.00.06.H56-{day}-0001", f"000.00.06.H56-{day}-0002", f"000.00.06.H56-{day}-0003",
                     f"000.00.07.H56-{day}-0001"]


def test_a_new_day_starts_the_sequence_again(db):
    with db.transaction() as conn:
        numbers = [queries.next_dossier_number(conn, "000.00.06.H56", day) for day in ("261124", "261124", "261125")]
    assert numbers == [1, 2, 1]


def test_a_rolled_back_filing_gives_its_number_back(db):
    with pytest.raises(RuntimeError):
        with db.transaction() as conn:
            queries.next_dossier_number(conn, "000.00.06.H56", "261124")
            raise RuntimeError("filing failed after taking a number")
    with db.transaction() as conn:
        assert queries.next_dossier_number(conn, "000.00.06.H56", "261124") == 1


@pytest.mark.parametrize("utc, day", [
    (datetime(2026, 11, 24, 16, 59, 59, tzinfo=timezone.utc), "261124"),  # 23:59:59 in Hà Nội
    (datetime(2026, 11, 24, 17, 0, 0, tzinfo=timezone.utc), "261125"),  # midnight in Hà Nội, still the 24th in UTC
])
def test_dossier_code_date_is_the_day_in_vietnam(utc, day):
    assert dossier_day(utc) == day


def test_filing_log_line_masks_phone_and_id_and_never_shows_the_token(app, file_dossier):
    lines = []
    handler = logging.Handler()
    handler.setFormatter(JsonFormatter("intake"))
    handler.emit = lambda record: lines.append(handler.format(record))  # formatted in the request, as in production
    logger = logging.getLogger("intake.api")
    logger.addHandler(handler)
    try:
        body = file_dossier().get_json()
    finally:
        logger.removeHandler(handler)
    filed = [line for line in lines if json.loads(line)["event"] == "dossier.filed"]
    assert len(filed) == 1
    line = filed[0]
    out = json.loads(line)
    assert out["dossier_code"] == body["code"]
    assert out["phone"] == "********678" and out["id_number"] == "*********345"
    assert "84912345678" not in line and "001190012345" not in line and body["access_token"] not in line


def test_submitted_metric_counts_filings_but_not_replays(file_dossier):
    counter = DOSSIERS_SUBMITTED.labels("1.001193.H56", "online")
    before = counter._value.get()
    file_dossier(key="key-1")
    file_dossier(key="key-1")
    file_dossier(key="key-2")
    assert counter._value.get() - before == 2


def test_filing_takes_one_transaction_without_extra_round_trips(app, db, file_dossier, filing_body):
    file_dossier()  # warms the catalogue cache
    body = filing_body()  # uploaded before we count
    statements = []
    engine = app.extensions["motcua.db"].engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement.split()[0].upper())  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert file_dossier(body).status_code == 201
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    # the uploads read, sequence upsert, dossier, token, the uploads attached (one statement), timeline,
    # outbox, idempotency answer; no key lookup first (plus SQLite's BEGIN); the limits are off here
    assert [s for s in statements if s != "BEGIN"] == [
        "SELECT", "INSERT", "INSERT", "INSERT", "UPDATE", "INSERT", "INSERT", "INSERT"]

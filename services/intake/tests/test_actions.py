"""The citizen's actions with the access token: supplements, withdrawal, rating, the payment QR, the slip,
and revoking tokens."""
import io
import json
import os
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PIL import Image

from servicekit.events import rfc3339
from servicekit.testing import deliver_event

from intake.events import CONSUMES
from intake.handlers import SUBSCRIPTION
from intake.models import access_tokens, dossier_timeline, inbox, outbox, ratings, uploads

T0 = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(second=0, microsecond=0)


def at(minutes: float) -> str:
    return rfc3339(T0 + timedelta(minutes=minutes))


def processing(db, type_, code, seq, **overrides):
    data = {**json.loads(json.dumps(CONSUMES[type_].example)), "code": code, "seq": seq, "at": at(seq), **overrides}
    assert deliver_event(db, inbox, SUBSCRIPTION, "intake", type_, data, subject=code) == "ok"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def rows(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(table)).all()


def events_of(db, type_):
    return [json.loads(row.body)["data"] for row in rows(db, outbox) if row.type == type_]


@pytest.fixture
def filed(file_dossier):
    return file_dossier().get_json()


@pytest.fixture
def act(client, filed):
    """POST an action on the filed dossier with its token."""
    return lambda action, body, token=None: client.post(
        f"/v1/dossiers/{filed['code']}/{action}", json=body, headers=bearer(token or filed["access_token"]))


def request_supplement(db, code, seq=4, request_no=1):
    processing(db, "dossier.supplement_requested.v1", code, seq, request_no=request_no)


# ---- supplements -------------------------------------------------------------------------------------------
def test_a_supplement_answers_the_open_request_with_new_uploads_and_publishes_it(db, filed, act, documents):
    processing(db, "dossier.received.v1", filed["code"], 3)
    request_supplement(db, filed["code"])
    docs = documents("GIAY_CHUNG_SINH")
    response = act("supplements", {"documents": docs, "note": "Gửi lại bản chụp rõ nét"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["request_no"] == 1 and body["documents"][0]["upload_id"] == docs[0]["upload_id"]
    published, = events_of(db, "dossier.supplemented.v1")
    assert published["code"] == filed["code"] and published["agency_code"] == "000.00.06.H56"
    assert published["note"] == "Gửi lại bản chụp rõ nét"
    assert published["documents"][0]["name"] == "Giấy chứng sinh" and len(published["documents"][0]["sha256"]) == 64
    attached = {row.id: row.dossier_code for row in rows(db, uploads)}
    assert attached[docs[0]["upload_id"]] == filed["code"]


def test_a_second_supplement_to_the_same_request_is_a_409(db, filed, act, documents):
    request_supplement(db, filed["code"], seq=1)
    assert act("supplements", {"documents": documents("GIAY_CHUNG_SINH")}).status_code == 201
    response = act("supplements", {"documents": documents("GIAY_CHUNG_SINH")})
    assert response.status_code == 409 and response.get_json()["code"] == 409
    assert len(events_of(db, "dossier.supplemented.v1")) == 1


def test_a_supplement_after_the_request_closed_is_a_409_and_leaves_nothing(db, filed, act, documents):
    request_supplement(db, filed["code"], seq=1)
    processing(db, "dossier.supplement_received.v1", filed["code"], 2, status="submitted", status_code=1, due_at=None)
    docs = documents("GIAY_CHUNG_SINH")
    response = act("supplements", {"documents": docs})
    assert response.status_code == 409
    assert events_of(db, "dossier.supplemented.v1") == []
    assert {row.id: row.dossier_code for row in rows(db, uploads)}[docs[0]["upload_id"]] is None


def test_a_supplement_without_a_request_is_a_409(act, documents):
    assert act("supplements", {"documents": documents("GIAY_CHUNG_SINH")}).status_code == 409


def test_a_supplement_missing_a_requested_document_or_with_a_foreign_one_is_a_422(db, filed, act, documents):
    request_supplement(db, filed["code"], seq=1)
    response = act("supplements", {"documents": documents("TK_KHAI_SINH")})
    assert response.status_code == 422 and "documents" in response.get_json()["errors"]["json"]
    response = act("supplements", {"documents": documents("GIAY_CHUNG_SINH", "TK_LLTP")})
    assert response.status_code == 422
    assert events_of(db, "dossier.supplemented.v1") == []


def test_a_supplement_with_an_upload_already_attached_is_a_422_naming_it(db, filed, act):
    request_supplement(db, filed["code"], seq=1)
    used = rows(db, uploads)[0].id  # attached at filing
    response = act("supplements", {"documents": [{"code": "GIAY_CHUNG_SINH", "upload_id": used}]})
    assert response.status_code == 422
    assert "upload_id" in response.get_json()["errors"]["json"]["documents"]["0"]


def test_supplement_bodies_are_checked(act):
    assert act("supplements", {"documents": []}).status_code == 422
    assert act("supplements", {"documents": [{"code": "X", "upload_id": "y"}], "extra": 1}).status_code == 422
    assert act("supplements", {"documents": [{"code": "X", "upload_id": "y"}], "note": "a\u202eb"}).status_code == 422
    assert act("supplements", {"documents": [{"code": "X", "upload_id": "y"}], "note": "a\x00b"}).status_code == 400


# ---- withdrawal --------------------------------------------------------------------------------------------
def test_a_withdrawal_request_is_published_and_shows_as_pending(client, db, filed, act):
    response = act("withdrawal", {"reason": "Đã nộp nhầm thủ tục"})
    assert response.status_code == 202
    assert response.get_json()["status"] == "requested"
    published, = events_of(db, "dossier.withdrawal_requested.v1")
    assert (published["code"], published["reason"]) == (filed["code"], "Đã nộp nhầm thủ tục")
    view = client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).get_json()
    assert view["withdrawal"]["status"] == "requested" and view["status"] == "submitted"
    assert view["timeline"][-1]["note"] == "Công dân yêu cầu rút hồ sơ: Đã nộp nhầm thủ tục"


def test_a_second_withdrawal_while_one_is_pending_is_a_409(db, act):
    assert act("withdrawal", {"reason": "Lý do"}).status_code == 202
    assert act("withdrawal", {"reason": "Lý do"}).status_code == 409
    assert len(events_of(db, "dossier.withdrawal_requested.v1")) == 1


def test_a_withdrawal_once_the_result_is_ready_is_a_409(db, filed, act):
    processing(db, "dossier.result_ready.v1", filed["code"], 9)
    assert act("withdrawal", {"reason": "Muộn rồi"}).status_code == 409
    assert events_of(db, "dossier.withdrawal_requested.v1") == []


def test_a_withdrawal_without_a_reason_is_a_422(act):
    response = act("withdrawal", {"reason": "  "})
    assert response.status_code == 422 and "reason" in response.get_json()["errors"]["json"]


# ---- rating ------------------------------------------------------------------------------------------------
def test_rating_after_the_result_is_returned_once(db, filed, act):
    processing(db, "dossier.returned.v1", filed["code"], 10)
    response = act("rating", {"score": 5, "comment": "Cán bộ hướng dẫn tận tình"})
    assert response.status_code == 201 and response.get_json()["score"] == 5
    published, = events_of(db, "dossier.rated.v1")
    assert (published["score"], published["comment"]) == (5, "Cán bộ hướng dẫn tận tình")
    assert act("rating", {"score": 1}).status_code == 409
    assert len(rows(db, ratings)) == 1 and len(events_of(db, "dossier.rated.v1")) == 1


def test_rating_before_the_result_is_returned_is_a_409(db, filed, act):
    processing(db, "dossier.result_ready.v1", filed["code"], 9)
    assert act("rating", {"score": 4}).status_code == 409
    assert rows(db, ratings) == []


@pytest.mark.parametrize("body, field", [({"score": 0}, "score"), ({"score": 6}, "score"), ({"score": "5"}, "score"),
                                         ({}, "score"), ({"score": 3, "comment": "x" * 1001}, "comment")])
def test_a_bad_rating_is_a_422_naming_the_field(db, filed, act, body, field):
    processing(db, "dossier.returned.v1", filed["code"], 10)
    response = act("rating", body)
    assert response.status_code == 422 and field in response.get_json()["errors"]["json"]


# ---- who may act ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("action, body", [("supplements", {"documents": [{"code": "A", "upload_id": "b"}]}),
                                          ("withdrawal", {"reason": "x"}), ("rating", {"score": 5})])
def test_another_persons_dossier_is_a_404_and_no_token_a_401(client, file_dossier, filed, action, body):
    theirs = file_dossier().get_json()
    response = client.post(f"/v1/dossiers/{filed['code']}/{action}", json=body, headers=bearer(theirs["access_token"]))
    assert response.status_code == 404
    assert client.post(f"/v1/dossiers/{filed['code']}/{action}", json=body).status_code == 401


def test_actions_take_only_json(act, client, filed):
    response = client.post(f"/v1/dossiers/{filed['code']}/withdrawal", data="reason=x",
                           content_type="application/x-www-form-urlencoded", headers=bearer(filed["access_token"]))
    assert response.status_code == 415
    response = client.post(f"/v1/dossiers/{filed['code']}/withdrawal", data="{", content_type="application/json",
                           headers=bearer(filed["access_token"]))
    assert response.status_code == 400


# ---- payment QR -----------------------------------------------------------------------------------------
def test_the_payment_qr_is_a_png_of_the_orders_payload_while_it_is_pending(client, db, filed, payment_requested):
    url = f"/v1/dossiers/{filed['code']}/payment-qr.png"
    assert client.get(url, headers=bearer(filed["access_token"])).status_code == 404  # nothing to pay yet
    deliver_event(db, inbox, SUBSCRIPTION, "intake", "payment.requested.v1",
                  payment_requested(dossier_code=filed["code"]), subject=filed["code"])
    response = client.get(url, headers=bearer(filed["access_token"]))
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG" and image.size[0] == image.size[1] > 100
    paid = {**CONSUMES["payment.completed.v1"].example, "dossier_code": filed["code"]}
    deliver_event(db, inbox, SUBSCRIPTION, "intake", "payment.completed.v1", paid, subject=filed["code"])
    assert client.get(url, headers=bearer(filed["access_token"])).status_code == 409


def test_the_payment_qr_encodes_exactly_the_orders_payload(client, db, filed, payment_requested):
    import segno

    deliver_event(db, inbox, SUBSCRIPTION, "intake", "payment.requested.v1",
                  payment_requested(dossier_code=filed["code"]), subject=filed["code"])
    png = client.get(f"/v1/dossiers/{filed['code']}/payment-qr.png", headers=bearer(filed["access_token"])).data
    expected = io.BytesIO()
    segno.make(payment_requested()["qr_payload"], error="m", micro=False).save(expected, kind="png", scale=8, border=4)
    assert png == expected.getvalue()


# ---- appointment slip -------------------------------------------------------------------------------------
def test_the_slip_is_a_409_before_reception(client, filed):
    response = client.get(f"/v1/dossiers/{filed['code']}/receipt.pdf", headers=bearer(filed["access_token"]))
    assert response.status_code == 409


def test_the_slip_once_received_is_form_01_with_every_field_and_the_tracking_link(client, db, filed, tmp_path):
    processing(db, "dossier.received.v1", filed["code"], 3, received_at=at(60), due_at=at(24 * 60))
    response = client.get(f"/v1/dossiers/{filed['code']}/receipt.pdf", headers=bearer(filed["access_token"]))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    out = os.environ.get("INTAKE_SLIP_OUT")  # set by a developer to look at the slip
    if out:
        with open(out, "wb") as f:
            f.write(response.data)
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    text = " ".join(text.split())
    for expected in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", f"Mã hồ sơ: {filed['code']}", "Đặng Thị Ngọc Ánh",
                     "001190012345", "12 Trần Phú, phường Phúc Yên, Phú Thọ", "0912 345 678", "anh@example.vn",
                     "Đăng ký khai sinh", "Không thu phí, lệ phí", "1 ngày làm việc", "Tờ khai đăng ký khai sinh",
                     "Thời gian nhận hồ sơ", "Thời gian hẹn trả kết quả", "bưu chính công ích",
                     f"http://127.0.0.1:8000/ho-so/{filed['code']}"):
        assert expected in text, expected


# ---- tokens ---------------------------------------------------------------------------------------------
def lookup(client, code):
    return client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190012345"}).get_json()


def test_a_replay_of_the_filing_after_lookups_hands_back_a_token_that_works(client, file_dossier):
    first = file_dossier(key="k-1").get_json()
    for _ in range(7):  # more lookups than live lookup tokens are kept
        lookup(client, first["code"])
    replay = file_dossier(key="k-1").get_json()
    assert replay["access_token"] == first["access_token"]
    assert client.get(f"/v1/dossiers/{first['code']}", headers=bearer(replay["access_token"])).status_code == 200


def test_lookups_keep_a_bounded_number_of_live_tokens_the_oldest_giving_way(client, db, filed, settings):
    tokens = [lookup(client, filed["code"])["access_token"] for _ in range(settings.max_lookup_tokens + 1)]
    status = [client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(t)).status_code for t in tokens]
    assert status == [404] + [200] * settings.max_lookup_tokens


def test_the_filing_token_revokes_every_lookup_token_and_a_lookup_token_only_itself(client, db, filed):
    code = filed["code"]
    stranger, other = lookup(client, code)["access_token"], lookup(client, code)["access_token"]
    revoke = lambda token, scope: client.post(f"/v1/dossiers/{code}/tokens/revoke", json={"scope": scope},  # noqa: E731
                                              headers=bearer(token))
    assert revoke(stranger, "lookups").status_code == 403  # knowing code + ID cannot lock the filer out
    assert revoke(filed["access_token"], "current").status_code == 409
    assert revoke(other, "current").get_json() == {"revoked": 1}
    assert client.get(f"/v1/dossiers/{code}", headers=bearer(other)).status_code == 404
    assert revoke(filed["access_token"], "lookups").get_json() == {"revoked": 1}
    assert client.get(f"/v1/dossiers/{code}", headers=bearer(stranger)).status_code == 404
    assert client.get(f"/v1/dossiers/{code}", headers=bearer(filed["access_token"])).status_code == 200


def test_an_expired_token_opens_nothing(client, db, filed):
    with db.transaction() as conn:
        conn.execute(access_tokens.update().values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).status_code == 404


def test_actions_write_one_timeline_entry_each(db, filed, act):
    before = len(rows(db, dossier_timeline))
    act("withdrawal", {"reason": "Lý do"})
    assert len(rows(db, dossier_timeline)) == before + 1


def test_the_slip_of_a_dossier_filed_before_uploads_existed_names_its_documents_by_code(client, db, filed):
    from intake.models import dossiers

    with db.transaction() as conn:  # what 0001/0002 stored: code and upload reference only
        conn.execute(dossiers.update().values(documents=[{"code": "TK_KHAI_SINH", "upload_id": "upl-1"}],
                                              agency_name=None, processing_days=None, fee_mode=None))
    processing(db, "dossier.received.v1", filed["code"], 3, received_at=at(60), due_at=at(24 * 60))
    response = client.get(f"/v1/dossiers/{filed['code']}/receipt.pdf", headers=bearer(filed["access_token"]))
    assert response.status_code == 200
    from pypdf import PdfReader

    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages).split())
    assert "1. TK_KHAI_SINH" in text and "UBND PHƯỜNG PHÚC YÊN" in text and "1 ngày làm việc" in text

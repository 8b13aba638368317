"""Tracking by dossier code and ID number, and the dossier's page: status, timeline, payment, supplement,
withdrawal, rating and the appointment slip."""
from __future__ import annotations

import io
import re

import pytest
import requests

from fake_api import PDF
from support import csrf


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _signed_in(client, d):
    token = csrf(client.get("/tra-cuu"))
    answer = client.post("/tra-cuu", data={"csrf_token": token, "code": d["code"],
                                           "id_number": d["applicant"]["id_number"]})
    assert answer.status_code == 302, _text(answer)
    return token


def test_lookup_needs_both_the_code_and_the_id_number(client):
    token = csrf(client.get("/tra-cuu"))
    page = _text(client.post("/tra-cuu", data={"csrf_token": token}))
    assert "Lỗi: Tra cứu hồ sơ" in page
    assert "Nhập mã hồ sơ" in page and "Nhập số căn cước công dân hoặc mã số thuế" in page
    assert 'inputmode="numeric"' in page


def test_a_wrong_id_number_says_not_found_and_keeps_what_was_typed(client, world):
    d = world.add()
    token = csrf(client.get("/tra-cuu"))
    answer = client.post("/tra-cuu", data={"csrf_token": token, "code": d["code"], "id_number": "001099099999"})
    page = _text(answer)
    assert "Không tìm thấy hồ sơ có mã và số giấy tờ này" in page
    assert f'value="{d["code"]}"' in page and 'value="001099099999"' in page


def test_repeated_misses_tell_the_citizen_to_wait(client, world):
    d = world.add()
    token = csrf(client.get("/tra-cuu"))
    for _ in range(6):
        answer = client.post("/tra-cuu", data={"csrf_token": token, "code": d["code"], "id_number": "001099099999"})
    assert answer.status_code == 429
    assert "hãy đợi vài phút" in _text(answer)


def test_a_found_dossier_keeps_its_token_in_the_session_and_shows_status_due_date_and_timeline(client, world):
    d = world.add(status="received", due_in_days=3)
    _signed_in(client, d)
    page = _text(client.get(f"/ho-so/{d['code']}"))
    assert "Được tiếp nhận" in page and 'class="moj-timeline"' in page
    assert "Mới đăng ký" in page  # the first timeline entry
    assert re.search(r"Ngày hẹn trả</dt><dd class=\"govuk-summary-list__value\">\d\d/\d\d/\d{4}", page)
    assert "Tải phiếu hẹn trả kết quả (PDF)" in page
    assert "<svg" in page and "Mã QR trang hồ sơ" in page
    assert d["token"] not in page  # the token never reaches the browser
    slip = client.get(f"/ho-so/{d['code']}/phieu-hen.pdf")
    assert slip.mimetype == "application/pdf" and slip.data.startswith(b"%PDF")


def test_the_dossier_link_from_an_sms_asks_for_the_id_number_first(client, world):
    d = world.add()
    page = _text(client.get(f"/ho-so/{d['code']}"))
    assert "Tra cứu hồ sơ" in page and f'value="{d["code"]}"' in page
    assert client.get(f"/ho-so/{d['code']}/phieu-hen.pdf").status_code == 404


def test_a_token_that_no_longer_works_sends_back_to_the_lookup(client, world):
    d = world.add()
    _signed_in(client, d)
    d["token"] = "rotated-by-another-lookup"
    page = _text(client.get(f"/ho-so/{d['code']}"))
    assert 'id="id_number"' in page and "Tiến trình xử lý" not in page


def test_payment_shows_the_vietqr_image_beside_bank_account_amount_and_transfer_note(client, world, app):
    d = world.add(procedure_code="2.000908.H56")
    world.ask_for_payment(d)  # a fee paid before processing: the order exists from the filing on
    _signed_in(client, d)
    page = _text(client.get(f"/ho-so/{d['code']}/thanh-toan"))
    assert "Vietcombank" in page and "0011001932418" in page and "8.000 đồng" in page
    assert f"MC {d['code'][-11:]}" in page
    assert f'src="/ho-so/{d["code"]}/ma-thanh-toan.png"' in page
    assert client.get(f"/ho-so/{d['code']}/ma-thanh-toan.png").data.startswith(b"\x89PNG")
    token = csrf(client.get(f"/ho-so/{d['code']}/thanh-toan"))
    requests.post(f"{app.extensions['portal.settings'].intake_url}/_test/pay/{d['code']}", timeout=5)
    checked = client.post(f"/ho-so/{d['code']}/thanh-toan", data={"csrf_token": token}, follow_redirects=True)
    assert "Đã thanh toán" in _text(checked)
    assert d["status"] == "submitted"  # paid: back to the clerk's queue to be received


def test_check_payment_through_htmx_answers_only_the_payment_section(client, world):
    d = world.add(procedure_code="2.000908.H56", status="received")
    d["payment"] = {"status": "pending", "amount_vnd": 8000, "qr_payload": None, "expires_at": None}
    token = _signed_in(client, d)
    part = client.post(f"/ho-so/{d['code']}/thanh-toan", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert _text(part).lstrip().startswith('<div id="thanh-toan">') and "<html" not in _text(part)


def test_an_open_supplement_request_takes_the_files_and_returns_the_dossier_to_review(client, world):
    d = world.add(status="in_review")
    d["supplement_request"] = {"reason": "Ảnh giấy chứng sinh bị mờ", "documents": ["GIAY_CHUNG_SINH"],  # codes
                               "deadline": "2030-01-15", "from_status": "in_review"}
    world.move(d, "supplement_requested", "Ảnh giấy chứng sinh bị mờ")
    token = _signed_in(client, d)
    page = _text(client.get(f"/ho-so/{d['code']}"))
    assert "Yêu cầu bổ sung giấy tờ" in page and "15/01/2030" in page and "Giấy chứng sinh" in page
    missing = client.post(f"/ho-so/{d['code']}/bo-sung", data={"csrf_token": token},
                          content_type="multipart/form-data")
    assert "Chọn một tệp cho “Giấy chứng sinh”" in _text(missing)
    done = client.post(f"/ho-so/{d['code']}/bo-sung", content_type="multipart/form-data", data={
        "csrf_token": token, "bs-GIAY_CHUNG_SINH": (io.BytesIO(PDF), "ro-hon.pdf"), "note": "Đã chụp lại"})
    assert done.status_code == 302 and d["status"] == "in_review"
    assert "Đã gửi giấy tờ bổ sung" in _text(client.get(f"/ho-so/{d['code']}"))


def test_withdrawal_needs_a_reason_and_then_stops_the_dossier(client, world):
    d = world.add(status="received")
    token = _signed_in(client, d)
    assert "Nhập lý do rút hồ sơ" in _text(client.post(f"/ho-so/{d['code']}/rut", data={"csrf_token": token}))
    client.post(f"/ho-so/{d['code']}/rut", data={"csrf_token": token, "reason": "Nộp nhầm thủ tục"})
    page = _text(client.get(f"/ho-so/{d['code']}"))
    assert d["status"] == "withdrawn" and "Công dân yêu cầu rút hồ sơ" in page
    assert "Cơ quan đã đồng ý cho rút hồ sơ." in page
    assert 'id="rut"' not in page


def test_rating_is_offered_only_once_the_result_is_returned(client, world):
    d = world.add(status="in_review")
    token = _signed_in(client, d)
    assert 'id="danh-gia"' not in _text(client.get(f"/ho-so/{d['code']}"))
    world.move(d, "returned", "Đã trả kết quả")
    assert 'id="danh-gia"' in _text(client.get(f"/ho-so/{d['code']}"))
    assert "Chọn mức độ hài lòng" in _text(client.post(f"/ho-so/{d['code']}/danh-gia", data={"csrf_token": token}))
    client.post(f"/ho-so/{d['code']}/danh-gia", data={"csrf_token": token, "score": "5", "comment": "Nhanh"})
    assert d["rating"]["score"] == 5 and d["rating"]["comment"] == "Nhanh"
    page = _text(client.get(f"/ho-so/{d['code']}"))
    assert "Bạn đã đánh giá 5/5" in page and 'id="danh-gia"' not in page
    again = client.post(f"/ho-so/{d['code']}/danh-gia", data={"csrf_token": token, "score": "4"})
    assert "Không gửi được đánh giá" in _text(again) and d["rating"]["score"] == 5


@pytest.mark.parametrize("path", ["/ho-so/{code}/rut", "/ho-so/{code}/danh-gia", "/ho-so/{code}/bo-sung"])
def test_citizen_actions_without_the_dossier_s_token_ask_for_the_lookup(client, world, path):
    d = world.add()
    token = csrf(client.get("/tra-cuu"))
    answer = client.post(path.format(code=d["code"]), data={"csrf_token": token, "reason": "x"})
    assert 'id="id_number"' in _text(answer) and d["status"] == "submitted"


def test_the_citizen_downloads_the_result_once_the_view_offers_one(client, world):
    d = world.add(status="received")
    _signed_in(client, d)
    assert "Tải kết quả giải quyết" not in _text(client.get(f"/ho-so/{d['code']}"))
    assert client.get(f"/ho-so/{d['code']}/ket-qua.pdf").status_code == 404
    world.files["f2"] = PDF
    d["result_file_id"], d["paper_original"], d["status"] = "f2", False, "result_ready"
    page = _text(client.get(f"/ho-so/{d['code']}"))
    assert f'href="/ho-so/{d["code"]}/ket-qua.pdf"' in page
    pdf = client.get(f"/ho-so/{d['code']}/ket-qua.pdf")
    assert pdf.status_code == 200 and pdf.data == PDF
    assert pdf.headers["Content-Disposition"] == f'inline; filename="ket-qua-{d["code"]}.pdf"'

"""The officer console: development sign-in, the queue with filters and deadline badges, a case with only the
actions the API allows, action forms, the result upload, and the 766 figures."""
from __future__ import annotations

import io
import re

from fake_api import PDF
from portal.app import create_app
from support import csrf, portal_settings

AGENCY = "000.00.06.H56"


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _sign_in(client, role="clerk", sub=None):
    token = csrf(client.get("/can-bo/dang-nhap"))
    answer = client.post("/can-bo/dang-nhap", data={"csrf_token": token, "role": role, "agency": AGENCY,
                                                    "sub": sub or f"{role}-1"})
    assert answer.status_code == 302, _text(answer)
    return token


def _menu(page: str) -> list[str]:
    return re.findall(r'moj-button-menu__item govuk-button--secondary" data-module="govuk-button">([^<]+)</a>', page)


def test_the_development_sign_in_does_not_exist_in_production(tmp_path, settings, world):
    production = create_app(portal_settings(tmp_path, settings.intake_url, settings.processing_url, env="production"))
    client = production.test_client()
    assert client.get("/can-bo/dang-nhap").status_code == 404
    assert "Cán bộ đăng nhập" not in _text(client.get("/"))
    assert client.get("/can-bo/ho-so").headers["Location"].startswith("/can-bo/dang-nhap")


def test_sign_in_checks_each_field_and_keeps_the_choices(client):
    token = csrf(client.get("/can-bo/dang-nhap"))
    answer = client.post("/can-bo/dang-nhap", data={"csrf_token": token, "role": "leader", "sub": "bad id!"})
    page = _text(answer)
    assert "Chọn cơ quan" in page and "Nhập mã cán bộ" in page
    assert re.search(r'value="leader" checked', page)


def test_the_console_sends_an_officer_who_is_not_signed_in_to_the_sign_in_and_back(client, world):
    d = world.add()
    answer = client.get(f"/can-bo/ho-so/{d['code']}")
    assert answer.headers["Location"] == f"/can-bo/dang-nhap?tiep=/can-bo/ho-so/{d['code']}"
    token = csrf(client.get(answer.headers["Location"]))
    back = client.post(answer.headers["Location"], data={"csrf_token": token, "role": "clerk", "agency": AGENCY,
                                                         "sub": "clerk-1"})
    assert back.headers["Location"] == f"/can-bo/ho-so/{d['code']}"


def test_the_queue_shows_deadline_badges_red_when_overdue_and_green_with_days_left(client, world):
    late = world.add(status="in_review", due_in_days=-2, full_name="Trần Quá Hạn")
    soon = world.add(status="received", due_in_days=3, full_name="Lê Còn Hạn")
    new = world.add(full_name="Phạm Mới Nộp")
    _sign_in(client)
    page = _text(client.get("/can-bo/ho-so"))
    assert page.index(late["code"]) < page.index(soon["code"]) < page.index(new["code"])
    assert re.search(r'moj-badge--red">Quá hạn [12] ngày', page)
    assert re.search(r'moj-badge--green">Còn [23] ngày', page)
    assert "Chưa tiếp nhận" in page and 'data-module="moj-sortable-table"' in page
    assert "3 hồ sơ" in page


def test_the_queue_filters_are_a_plain_form_and_only_known_filters_reach_the_api(client, world):
    world.add(status="in_review", due_in_days=-1)
    world.add(status="received", due_in_days=4, assignee="specialist-1")
    _sign_in(client, role="specialist")
    overdue = _text(client.get("/can-bo/ho-so?qua_han=1"))
    assert "1 hồ sơ phù hợp" in overdue and "Bỏ lọc" in overdue
    mine = _text(client.get("/can-bo/ho-so?cua_toi=1"))
    assert "1 hồ sơ phù hợp" in mine
    received = _text(client.get("/can-bo/ho-so?trang_thai=received&bogus=1"))
    assert "1 hồ sơ phù hợp" in received
    assert "0 hồ sơ" in _text(client.get("/can-bo/ho-so?trang_thai=returned"))
    assert 'method="get"' in overdue


def test_a_case_shows_the_identity_bar_the_audit_timeline_and_only_the_allowed_actions(client, world):
    d = world.add()
    _sign_in(client, role="clerk")
    page = _text(client.get(f"/can-bo/ho-so/{d['code']}"))
    assert 'class="moj-identity-bar"' in page and "Nguyễn Thị Lan" in page
    assert _menu(page) == ["Tiếp nhận hồ sơ", "Từ chối tiếp nhận", "Yêu cầu bổ sung"]
    client.post(f"/can-bo/ho-so/{d['code']}/receive", data={"csrf_token": csrf(client.get(f"/can-bo/ho-so/{d['code']}/receive"))})
    page = _text(client.get(f"/can-bo/ho-so/{d['code']}"))
    assert "Đã thực hiện: tiếp nhận hồ sơ." in page
    assert _menu(page) == ["Yêu cầu bổ sung"]
    assert 'class="moj-timeline"' in page and "bởi clerk-1" in page


def test_an_action_the_api_does_not_allow_is_refused_before_any_call(client, world):
    d = world.add()
    token = _sign_in(client, role="leader")
    answer = client.post(f"/can-bo/ho-so/{d['code']}/approve", data={"csrf_token": token})
    assert answer.status_code == 409 and "Không thực hiện được" in _text(answer)
    assert d["status"] == "submitted" and d["audit"] == []


def test_action_forms_check_their_fields_and_keep_what_was_typed(client, world):
    d = world.add()
    token = _sign_in(client)
    refuse = client.post(f"/can-bo/ho-so/{d['code']}/refuse", data={"csrf_token": token})
    assert "Lỗi: Từ chối tiếp nhận" in _text(refuse) and "Nhập lý do" in _text(refuse)
    supplement = client.post(f"/can-bo/ho-so/{d['code']}/request-supplement", data={
        "csrf_token": token, "reason": "Ảnh mờ", "deadline-day": "31", "deadline-month": "2", "deadline-year": "2030"})
    page = _text(supplement)
    assert "Chọn ít nhất một giấy tờ cần bổ sung" in page
    assert "Hạn bổ sung phải là một ngày có thật" in page and "Ảnh mờ" in page
    past = client.post(f"/can-bo/ho-so/{d['code']}/request-supplement", data={
        "csrf_token": token, "reason": "Ảnh mờ", "documents": ["GIAY_CHUNG_SINH"], "deadline-day": "1",
        "deadline-month": "1", "deadline-year": "2020"})
    assert "Hạn bổ sung phải sau hôm nay" in _text(past)
    done = client.post(f"/can-bo/ho-so/{d['code']}/request-supplement", data={
        "csrf_token": token, "reason": "Ảnh mờ", "documents": ["GIAY_CHUNG_SINH"], "deadline-day": "15",
        "deadline-month": "1", "deadline-year": "2030"})
    assert done.status_code == 302
    assert d["supplement_request"]["deadline"] == "2030-01-15" and d["status"] == "supplement_requested"


def test_a_conflict_from_processing_is_shown_in_vietnamese_without_the_english_gloss(client, world):
    d = world.add(status="in_review", assignee="specialist-1")
    token = _sign_in(client, role="specialist", sub="specialist-1")
    world.conflict_next = "Hồ sơ đang chờ lãnh đạo ký duyệt. (approval already requested)"  # a race lost
    answer = client.post(f"/can-bo/ho-so/{d['code']}/submit-for-approval", data={"csrf_token": token,
                                                                               "summary": "Đủ điều kiện"})
    page = _text(answer)
    assert "Không thực hiện được: Hồ sơ đang chờ lãnh đạo ký duyệt." in page
    assert "approval already requested" not in page and 'href="#action"' in page
    assert "Đủ điều kiện" in page  # what was typed is kept


def test_a_case_whose_state_no_longer_allows_the_action_is_refused_before_any_call(client, world):
    d = world.add(status="in_review", assignee="specialist-1")
    token = _sign_in(client, role="specialist", sub="specialist-1")
    d["approval"] = "requested"
    answer = client.post(f"/can-bo/ho-so/{d['code']}/submit-for-approval", data={"csrf_token": token,
                                                                               "summary": "Đủ điều kiện"})
    assert answer.status_code == 409 and d["audit"] == []


def test_a_specialist_uploads_the_signed_result_and_issues_it(client, world):
    d = world.add(status="in_review", assignee="specialist-1")
    d["approval"] = "approved"
    token = _sign_in(client, role="specialist", sub="specialist-1")
    wrong = client.post(f"/can-bo/ho-so/{d['code']}/issue-result", content_type="multipart/form-data", data={
        "csrf_token": token, "paper_original": "yes", "file": (io.BytesIO(b"not a pdf"), "ket-qua.pdf")})
    assert "Tệp đã chọn phải là PDF" in _text(wrong)
    missing = client.post(f"/can-bo/ho-so/{d['code']}/issue-result", content_type="multipart/form-data",
                          data={"csrf_token": token})
    assert "Chọn một tệp" in _text(missing) and "Chọn có trả bản giấy hay không" in _text(missing)
    done = client.post(f"/can-bo/ho-so/{d['code']}/issue-result", content_type="multipart/form-data", data={
        "csrf_token": token, "paper_original": "no", "file": (io.BytesIO(PDF), "ket-qua.pdf")})
    assert done.status_code == 302 and d["status"] == "result_ready"
    assert d["result_file_id"] in world.files


def test_an_expired_or_rejected_token_sends_the_officer_to_sign_in_again(client, world):
    _sign_in(client)
    with client.session_transaction() as session:
        session["officer"] = session["officer"] | {"token": "not-a-jwt"}
    assert client.get("/can-bo/ho-so").headers["Location"].startswith("/can-bo/dang-nhap")


def test_the_766_page_shows_the_indicators_as_a_table_and_an_svg_chart(client, world):
    _sign_in(client, role="leader")
    page = _text(client.get("/can-bo/chi-so-766?tu=01/11/2026&den=30/11/2026"))
    assert "<svg" in page and 'role="img"' in page
    assert "45 / 48" in page and "93,8%" in page and "18,75/20" in page and "2,41 ngày" in page
    assert "Chỉ tiêu của tỉnh" in page and "Chưa đạt" in page and "Đạt" in page
    bad = _text(client.get("/can-bo/chi-so-766?tu=31/02/2026&den=01/01/2026"))
    assert "Lỗi: Chỉ số 766" in bad and "Nhập ngày bắt đầu theo dạng ngày/tháng/năm" in bad


def test_an_officer_sees_only_their_agency_s_cases(client, world):
    other = world.add(procedure_code="1.001612.H56")
    _sign_in(client)
    assert client.get(f"/can-bo/ho-so/{other['code']}").status_code == 404
    assert other["code"] not in _text(client.get("/can-bo/ho-so"))


def test_the_case_page_links_the_uploaded_result_and_serves_it_from_processing(client, world):
    d = world.add(status="result_ready")
    world.files["f1"] = PDF
    d["result_file_id"], d["paper_original"] = "f1", True
    _sign_in(client, role="clerk")
    page = _text(client.get(f"/can-bo/ho-so/{d['code']}"))
    assert f'href="/can-bo/ho-so/{d["code"]}/ket-qua.pdf"' in page and "có trả kèm bản giấy" in page
    pdf = client.get(f"/can-bo/ho-so/{d['code']}/ket-qua.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data == PDF
    none_yet = world.add(status="in_review")
    assert "Tải kết quả" not in _text(client.get(f"/can-bo/ho-so/{none_yet['code']}"))
    assert client.get(f"/can-bo/ho-so/{none_yet['code']}/ket-qua.pdf").status_code == 404


def test_the_case_page_shows_the_national_portal_sync_in_vietnamese(client, world):
    waiting = world.add(status="received")
    parked = world.add(status="in_review")
    parked["national_sync"] = {"state": "parked", "status_code": 4, "seq": 3, "steps": 3, "parked": 1,
                               "attempts": 5, "next_attempt_at": None,
                               "last_answer": "error_code=-1: MaHoSo không hợp lệ"}
    sent = world.add(status="received")
    sent["national_sync"] = {"state": "sent", "status_code": 2, "seq": 2, "steps": 2, "parked": 0, "attempts": 1,
                             "next_attempt_at": None, "last_answer": "error_code=0"}
    _sign_in(client, role="clerk")
    page = _text(client.get(f"/can-bo/ho-so/{waiting['code']}"))
    assert "Đồng bộ Cổng Dịch vụ công quốc gia" in page and "Chưa có bước nào cần đồng bộ" in page
    page = _text(client.get(f"/can-bo/ho-so/{parked['code']}"))
    assert "Bị Cổng từ chối" in page and "1 bước đang dừng, chờ quản trị viên đồng bộ lại" in page
    assert "Trạng thái 4 (Đang xử lý) · 3 bước đã xếp hàng gửi" in page and "MaHoSo không hợp lệ" in page
    page = _text(client.get(f"/can-bo/ho-so/{sent['code']}"))
    assert "govuk-tag--green\">Đã gửi" in page and "Bị Cổng từ chối</dt><dd class=\"govuk-summary-list__value\">Không" in page


def test_the_case_page_warns_the_clerk_when_the_post_could_not_deliver_and_shows_an_apology(client, world):
    d = world.add(status="result_ready", delivery="post")
    d["delivery_failed"], d["apologized_at"] = True, "2026-11-27T03:00:00Z"
    _sign_in(client, role="clerk")
    page = _text(client.get(f"/can-bo/ho-so/{d['code']}"))
    assert "Bưu điện không phát được kết quả cho người nộp" in page
    assert "Đã gửi phiếu xin lỗi và hẹn lại ngày trả lúc 10:00, 27/11/2026" in page


def test_the_timeline_shows_a_change_of_status_as_from_to_and_a_note_in_its_status(client, world):
    d = world.add(status="received")
    world.audit(d, "assign", "leader-1", "received", "in_review", "Phân công chuyên viên")
    world.audit(d, "notified", "system:notification.sent.v1", "in_review", "in_review",
                "Đã gửi thông báo SMS cho người nộp (dossier.assigned)")
    _sign_in(client, role="clerk")
    page = _text(client.get(f"/can-bo/ho-so/{d['code']}"))
    assert "Được tiếp nhận → Đang xử lý" in page
    assert "Tình trạng: Đang xử lý<br>Đã gửi thông báo SMS" in page
    assert "Đang xử lý → Đang xử lý" not in page

"""A dossier from filing to its result at the counter through the REAL suite (intake, processing, payment, postal,
notify, the bank simulator, the national portal simulator, the portal itself as `make run` starts it), walked in
Chromium with JavaScript on and off, axe on every page state.

Half the journey is the citizen's (filing with an upload, tracking by code and ID number, paying the fee charged
before processing by the bank simulator's VietQR, reading the result, rating), half the officers' (clerk receives,
leader assigns, specialist submits for approval, leader approves, specialist issues the result with its PDF, clerk
hands it over at the counter), exactly as services/processing/processing/workflow.py orders it.

One suite for the module (starting it costs most of the time); both JavaScript modes file their own dossier in it.
"""
from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from browser import Axe, screenshot_dir
from fake_api import PDF

from scripts.suite import start_suite
from servicekit.auth import issue_token
from servicekit.config import KitSettings
from servicekit.testing import throwaway_vhost

pytestmark = pytest.mark.slow

# Cấp bản sao trích lục hộ tịch: a fee (8.000 đ) paid before processing, counter or post, one required document.
PROCEDURE = "2.000635.H56"
AGENCY = "000.00.06.H56"
ID_NUMBER = "001190012345"
PORT_OFFSET = 560  # clear of make up (0), test_end_to_end (300), test_faults (450), bench (700 and up)
WAIT = 20_000  # ms: a step that crosses the broker (payment, national sync) is asynchronous


def _http() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


@pytest.fixture(scope="module")
def suite(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("real-suite")
    with throwaway_vhost() as url:
        started = start_suite(base, {"MOTCUA_AMQP_URL": url, "PORTAL_ENV": "development"}, PORT_OFFSET,
                              frontends=("portal",))
        try:
            yield started
        finally:
            if request.session.testsfailed:
                for name in started.process_names():
                    print(f"\n----- {name} (last lines) -----\n{started.log_tail(name, 25)}")
            started.stop()


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def js(request):
    return request.param


@pytest.fixture
def axe(browser):
    context = browser.new_context(bypass_csp=True)
    yield Axe(context)
    context.close()


@pytest.fixture
def new_page(browser, js):
    contexts = []

    def make():
        context = browser.new_context(java_script_enabled=js, bypass_csp=True, locale="vi-VN",
                                      viewport={"width": 1100, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _officer_get(suite, service, path):
    token = issue_token(KitSettings.from_env("processing"), sub="test-reader", role="clerk", agency=AGENCY)
    r = _http().get(suite.url(service, path), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return r


def _continue(page):
    page.get_by_role("button", name="Tiếp tục").click()


def _errors_shown(page, js):
    expect(page).to_have_title(re.compile(r"^Lỗi: "))
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    if js:
        expect(page.locator(".govuk-error-summary")).to_be_focused()


def _sign_in(page, base, role, sub, axe=None, js=True):
    page.goto(f"{base}/can-bo/dang-nhap")
    if axe:
        axe.check(page, js)
    page.get_by_label({"clerk": "Cán bộ một cửa", "specialist": "Chuyên viên", "leader": "Lãnh đạo"}[role]).check()
    page.get_by_label("Cơ quan").select_option(AGENCY)
    page.get_by_label("Mã cán bộ").fill(sub)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ cần xử lý")


def _act(page, action_label, js, fill=None, axe=None):
    page.wait_for_load_state("load")
    if js:
        expect(page.locator('[data-module="moj-button-menu"]')).to_have_attribute("data-moj-button-menu-init", "")
        if page.get_by_role("button", name="Thao tác").count():
            page.get_by_role("button", name="Thao tác").click()
    page.get_by_role("button", name=action_label).or_(page.get_by_role("link", name=action_label)).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(action_label)
    if axe:
        axe.check(page, js)
    if fill:
        fill(page)
    page.locator("form .govuk-button").first.click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Đã thực hiện")


def _reload_until(page, check, timeout_s=20.0):
    """Reload a page until `check(page)` holds: what the broker carries arrives a moment later."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check(page):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.url}: the awaited state never showed; the page says "
                                 f"{page.locator('main').inner_text()[:1500]!r}")
        page.wait_for_timeout(250)  # a poll interval, not a guess at how long the broker takes
        page.reload()


def test_a_dossier_from_filing_to_its_result_at_the_counter_through_the_real_suite(
        suite, new_page, axe, js, tmp_path):
    base = suite.url("portal")
    shots = screenshot_dir(tmp_path) if js else None
    pdf = tmp_path / "to-khai.pdf"
    pdf.write_bytes(PDF)

    # ---- the citizen files -----------------------------------------------------------------------------------
    citizen = new_page()
    citizen.goto(base + "/")
    axe.check(citizen, js)
    if shots:
        citizen.screenshot(path=str(shots / "1-trang-bat-dau.png"), full_page=True)
    citizen.get_by_label("Tên hoặc mã thủ tục").fill("trich luc ho tich")  # without diacritics
    citizen.get_by_role("button", name="Tìm kiếm").click()
    axe.check(citizen, js)
    citizen.get_by_role("link", name="Cấp bản sao trích lục hộ tịch").click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Cấp bản sao trích lục hộ tịch")
    axe.check(citizen, js)
    citizen.get_by_role("button", name="Bắt đầu nộp hồ sơ").click()

    axe.check(citizen, js)
    _continue(citizen)
    _errors_shown(citizen, js)
    axe.check(citizen, js)
    if shots:
        citizen.screenshot(path=str(shots / "2-cau-hoi-co-loi.png"), full_page=True)
    citizen.get_by_label("Công dân").check()
    _continue(citizen)
    citizen.get_by_label("Họ và tên").fill("Nguyễn Thị Lan")
    citizen.get_by_label("Số căn cước công dân").fill(ID_NUMBER)
    citizen.get_by_label("Địa chỉ thường trú").fill("Số 1 Hai Bà Trưng, phường Phúc Yên, Phú Thọ")
    axe.check(citizen, js)
    _continue(citizen)
    citizen.get_by_label("Số điện thoại di động (không bắt buộc)").fill("0912 345 678")
    _continue(citizen)

    axe.check(citizen, js)
    _continue(citizen)  # no file for the required document
    _errors_shown(citizen, js)
    axe.check(citizen, js)
    citizen.locator("input[type=file]").first.set_input_files(str(pdf))
    _continue(citizen)

    citizen.get_by_label("Nhận tại Bộ phận một cửa").check()
    axe.check(citizen, js)
    _continue(citizen)
    citizen.get_by_label(re.compile("Tin nhắn SMS")).check()
    _continue(citizen)

    expect(citizen.get_by_role("heading", level=1)).to_have_text("Kiểm tra thông tin trước khi gửi")
    axe.check(citizen, js)
    citizen.get_by_role("button", name="Đồng ý và gửi hồ sơ").click()
    panel = citizen.locator(".govuk-panel")
    expect(panel).to_contain_text("Đã gửi hồ sơ")
    axe.check(citizen, js)
    if shots:
        citizen.screenshot(path=str(shots / "3-xac-nhan.png"), full_page=True)
    code = re.search(r"\d{3}\.\d\d\.\d\d\.H56-\d{6}-\d{4}", panel.inner_text()).group(0)

    # ---- the citizen tracks it and pays the fee by the bank's VietQR -------------------------------------------
    tracker = new_page()  # another browser: found by code and ID number, not by the filing's session
    tracker.goto(f"{base}/tra-cuu")
    axe.check(tracker, js)
    tracker.get_by_label("Mã hồ sơ").fill(code)
    tracker.get_by_label("Số căn cước công dân hoặc mã số thuế").fill(ID_NUMBER)
    tracker.get_by_role("button", name="Tra cứu").click()
    expect(tracker.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {code}")
    _reload_until(tracker, lambda p: "Yêu cầu thực hiện nghĩa vụ tài chính" in
                  p.locator(".govuk-tag").first.inner_text())
    axe.check(tracker, js)
    tracker.goto(f"{base}/ho-so/{code}/thanh-toan")
    expect(tracker.get_by_role("img", name=re.compile("Mã VietQR"))).to_be_visible()
    expect(tracker.locator("table").first).to_contain_text("8.000")
    axe.check(tracker, js)
    order = _officer_get(suite, "payment", f"/v1/payments/{code}")
    assert order.status_code == 200, order.text
    paid = _http().post(suite.url("bank", "/v1/pay"), json={"qr_payload": order.json()["qr_payload"]}, timeout=10)
    assert paid.status_code == 200, paid.text

    tracker.get_by_role("button", name="Kiểm tra thanh toán").click()  # the bank's callback may beat this click
    _reload_until(tracker, lambda p: "Tình trạng: Đã thanh toán" in p.locator("main").inner_text())
    expect(tracker.locator("main")).to_contain_text("Đã nhận 8.000 đồng")
    axe.check(tracker, js)

    # ---- the officers take it through the workflow ---------------------------------------------------------------
    clerk = new_page()
    _sign_in(clerk, base, "clerk", f"clerk-{'js' if js else 'nojs'}", axe, js)
    axe.check(clerk, js)
    clerk.goto(f"{base}/can-bo/ho-so/{code}")
    _reload_until(clerk, lambda p: "Mới đăng ký" in p.locator(".govuk-tag").first.inner_text())
    axe.check(clerk, js)
    _act(clerk, "Tiếp nhận hồ sơ", js, axe=axe)

    specialist_id = f"specialist-{'js' if js else 'nojs'}"
    leader = new_page()
    _sign_in(leader, base, "leader", f"leader-{'js' if js else 'nojs'}")
    leader.goto(f"{base}/can-bo/ho-so/{code}")
    _act(leader, "Phân công xử lý", js, lambda p: p.get_by_label("Mã chuyên viên được phân công").fill(specialist_id),
         axe)

    specialist = new_page()
    _sign_in(specialist, base, "specialist", specialist_id)
    specialist.goto(f"{base}/can-bo/ho-so?cua_toi=1")
    specialist.get_by_role("link", name=code).click()
    _act(specialist, "Trình ký", js, lambda p: p.get_by_label("Tóm tắt kết quả thẩm định").fill(
        "Hồ sơ đủ điều kiện cấp bản sao trích lục"), axe)

    leader.reload()
    _act(leader, "Ký duyệt", js)

    specialist.reload()

    def result(p):
        p.get_by_label("Tệp kết quả (PDF đã ký số)").set_input_files(str(pdf))
        p.get_by_label("Có", exact=True).check()
    _act(specialist, "Trả kết quả điện tử", js, result, axe)
    expect(specialist.get_by_role("link", name=re.compile("Tải kết quả"))).to_be_visible()
    result_pdf = specialist.context.request.get(f"{base}/can-bo/ho-so/{code}/ket-qua.pdf")  # the officer's cookies
    assert result_pdf.status == 200 and result_pdf.body() == PDF, "the result served back is not the one uploaded"

    clerk.reload()
    _act(clerk, "Trả kết quả tại quầy", js)
    # the national portal sync state, once processing's worker has sent the steps
    _reload_until(clerk, lambda p: re.search(r"Tình trạng\s+Đã gửi", p.locator("#dong-bo-dvcqg").inner_text()))
    expect(clerk.locator("#dong-bo-dvcqg")).to_contain_text("Trạng thái 10 (Đã trả kết quả)")
    axe.check(clerk, js)
    if shots:
        clerk.screenshot(path=str(shots / "5-can-bo-ho-so.png"), full_page=True)

    # ---- the citizen reads the outcome and rates the service ---------------------------------------------------
    tracker.goto(f"{base}/ho-so/{code}")
    _reload_until(tracker, lambda p: "Đã trả kết quả" in p.locator(".govuk-tag").first.inner_text())
    expect(tracker.locator(".moj-timeline__item").first).to_be_visible()
    # the electronic result, as the citizen: intake fetches it from processing by a signed link
    download = tracker.get_by_role("link", name="Tải kết quả giải quyết (PDF)")
    expect(download).to_be_visible()
    citizen_pdf = tracker.context.request.get(base + download.get_attribute("href"))  # the citizen's session
    assert citizen_pdf.status == 200 and citizen_pdf.body() == PDF, "the citizen's result is not the one uploaded"
    assert citizen_pdf.headers["content-type"] == "application/pdf"
    axe.check(tracker, js)
    if shots:
        tracker.screenshot(path=str(shots / "4-tra-cuu-ho-so.png"), full_page=True)
    tracker.get_by_role("button", name="Gửi đánh giá").click()
    _errors_shown(tracker, js)
    axe.check(tracker, js)
    tracker.get_by_label("Rất hài lòng").check()
    tracker.get_by_role("button", name="Gửi đánh giá").click()
    expect(tracker.locator(".govuk-notification-banner--success")).to_contain_text("Cảm ơn bạn đã đánh giá")
    axe.check(tracker, js)

    case = _officer_get(suite, "processing", f"/v1/dossiers/{code}").json()
    assert case["status"] == "returned" and case["result_file_id"]

"""Journeys in Chromium, each with JavaScript on and off, axe (WCAG 2.2 A and AA) on every page state.

The last journey takes a dossier from filing to its result at the counter, driven half by the citizen and half by
officers (clerk, leader, specialist) against the contract fakes."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser import Axe, screenshot_dir
from fake_api import PDF

pytestmark = pytest.mark.slow
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


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
        # bypass_csp only so that axe can be injected; test_the_pages_run_under_the_csp checks the real policy
        context = browser.new_context(java_script_enabled=js, bypass_csp=True, locale="vi-VN",
                                      viewport={"width": 1100, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def files(tmp_path):
    pdf, png = tmp_path / "to-khai.pdf", tmp_path / "giay-chung-sinh.png"
    pdf.write_bytes(PDF)
    png.write_bytes(PNG)
    return {"pdf": str(pdf), "png": str(png)}


def _continue(page):
    page.get_by_role("button", name="Tiếp tục").click()


def _errors_shown(page, js):
    expect(page).to_have_title(re.compile(r"^Lỗi: "))
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    if js:  # GOV.UK Frontend moves focus to the summary so screen readers announce it
        expect(page.locator(".govuk-error-summary")).to_be_focused()


def file_a_dossier(page, live_url, axe, js, files, shots=None) -> str:
    """The citizen's filing journey; returns the dossier code from the confirmation page."""
    page.goto(live_url + "/")
    axe.check(page, js)
    if shots:
        page.screenshot(path=str(shots / "1-trang-bat-dau.png"), full_page=True)
    page.get_by_label("Tên hoặc mã thủ tục").fill("dang ky khai sinh")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.get_by_role("heading", name=re.compile("Tìm thấy 1 thủ tục"))).to_be_visible()
    axe.check(page, js)
    page.get_by_role("link", name="Đăng ký khai sinh").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng ký khai sinh")
    axe.check(page, js)
    page.get_by_role("button", name="Bắt đầu nộp hồ sơ").click()

    axe.check(page, js)  # empty question
    _continue(page)
    _errors_shown(page, js)
    axe.check(page, js)  # with errors
    if shots:
        page.screenshot(path=str(shots / "2-cau-hoi-co-loi.png"), full_page=True)
    page.get_by_label("Công dân").check()
    _continue(page)

    page.get_by_label("Họ và tên").fill("Nguyễn Thị Lan")
    page.get_by_label("Số căn cước công dân").fill("0010 9901 234")
    page.get_by_label("Địa chỉ thường trú").fill("Số 1 Hai Bà Trưng, phường Phúc Yên, Phú Thọ")
    _continue(page)
    _errors_shown(page, js)
    expect(page.get_by_label("Họ và tên")).to_have_value("Nguyễn Thị Lan")  # kept
    axe.check(page, js)
    page.get_by_label("Số căn cước công dân").fill("001099012345")
    _continue(page)

    page.get_by_label("Số điện thoại di động (không bắt buộc)").fill("0912 345 678")
    axe.check(page, js)
    _continue(page)

    axe.check(page, js)
    page.get_by_label("Tờ khai đăng ký khai sinh (theo mẫu)").set_input_files(files["pdf"])
    _continue(page)
    _errors_shown(page, js)
    axe.check(page, js)
    page.get_by_label("Giấy chứng sinh", exact=True).set_input_files(files["png"])
    _continue(page)

    axe.check(page, js)
    page.get_by_label("Nhận tại Bộ phận một cửa").check()
    _continue(page)
    page.get_by_label(re.compile("Tin nhắn SMS")).check()
    axe.check(page, js)
    _continue(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Kiểm tra thông tin trước khi gửi")
    expect(page.get_by_text("001099012345")).to_be_visible()
    axe.check(page, js)
    page.get_by_role("button", name="Đồng ý và gửi hồ sơ").click()

    panel = page.locator(".govuk-panel")
    expect(panel).to_contain_text("Đã gửi hồ sơ")
    axe.check(page, js)
    if shots:
        page.screenshot(path=str(shots / "3-xac-nhan.png"), full_page=True)
    return re.search(r"\d{3}\.\d\d\.\d\d\.H56-\d{6}-\d{4}", panel.inner_text()).group(0)


def test_a_citizen_finds_a_procedure_and_files_a_dossier(new_page, live_url, axe, js, files, world, tmp_path):
    page = new_page()
    code = file_a_dossier(page, live_url, axe, js, files, shots=screenshot_dir(tmp_path) if js else None)
    assert world.filings == 1 and code in world.dossiers
    assert sorted(d["code"] for d in world.dossiers[code]["documents"]) == ["GIAY_CHUNG_SINH", "TK_KHAI_SINH"]
    page.go_back()  # the back button and a second click on "send" file nothing new
    page.goto(live_url + "/nop-ho-so/kiem-tra")
    expect(page.locator(".govuk-panel")).to_contain_text(code)
    assert world.filings == 1


def test_a_citizen_tracks_a_dossier_by_code_and_id_number(new_page, live_url, axe, js, world, tmp_path):
    d = world.add(status="received", due_in_days=3)
    world.move(d, "in_review", "Chuyển chuyên viên thẩm định")
    page = new_page()
    page.goto(f"{live_url}/ho-so/{d['code']}")  # the link an SMS carries
    expect(page.get_by_label("Mã hồ sơ")).to_have_value(d["code"])
    axe.check(page, js)
    page.get_by_label("Số căn cước công dân hoặc mã số thuế").fill("001099099999")
    page.get_by_role("button", name="Tra cứu").click()
    _errors_shown(page, js)
    axe.check(page, js)
    page.get_by_label("Số căn cước công dân hoặc mã số thuế").fill(d["applicant"]["id_number"])
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {d['code']}")
    expect(page.locator(".moj-timeline__item")).to_have_count(3)
    expect(page.locator(".portal-qr-svg svg")).to_be_visible()
    axe.check(page, js)
    if js:
        page.screenshot(path=str(screenshot_dir(tmp_path) / "4-tra-cuu-ho-so.png"), full_page=True)


def test_a_citizen_pays_by_vietqr_and_checks_the_payment(new_page, live_url, axe, js, world, app):
    import requests

    d = world.add(procedure_code="2.000908.H56", status="received", due_in_days=2)
    d["payment"] = {"status": "pending", "amount_vnd": 8000, "expires_at": None,
                    "qr_payload": __import__("fake_api").vietqr(8000, "MC 261129-0001")}
    page = new_page()
    page.goto(f"{live_url}/tra-cuu")
    axe.check(page, js)
    page.get_by_label("Mã hồ sơ").fill(d["code"])
    page.get_by_label("Số căn cước công dân hoặc mã số thuế").fill(d["applicant"]["id_number"])
    page.get_by_role("button", name="Tra cứu").click()
    page.goto(f"{live_url}/ho-so/{d['code']}/thanh-toan")
    expect(page.get_by_role("img", name=re.compile("Mã VietQR"))).to_be_visible()
    expect(page.locator("table")).to_contain_text("MC 261129-0001")
    axe.check(page, js)
    requests.post(f"{app.extensions['portal.settings'].intake_url}/_test/pay/{d['code']}", timeout=5)
    page.get_by_role("button", name="Kiểm tra thanh toán").click()
    expect(page.get_by_text("Đã thanh toán", exact=True)).to_be_visible()
    axe.check(page, js)


def _sign_in(page, live_url, role, sub, axe=None, js=True):
    page.goto(f"{live_url}/can-bo/dang-nhap")
    if axe:
        axe.check(page, js)
    page.get_by_label({"clerk": "Cán bộ một cửa", "specialist": "Chuyên viên", "leader": "Lãnh đạo"}[role]).check()
    page.get_by_label("Cơ quan").select_option("000.00.06.H56")
    page.get_by_label("Mã cán bộ").fill(sub)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ cần xử lý")


def _act(page, code, action_label, js, fill=None, axe=None):
    page.wait_for_load_state("load")
    if js:  # MOJ's button menu folds two or more actions under "Thao tác" once its script has run
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


def test_from_filing_to_the_result_at_the_counter_half_citizen_half_officers(
        browser, new_page, live_url, axe, js, files, world, tmp_path):
    citizen = new_page()
    code = file_a_dossier(citizen, live_url, axe, js, files)

    clerk = new_page()
    _sign_in(clerk, live_url, "clerk", "clerk-1", axe, js)
    axe.check(clerk, js)  # the queue
    expect(clerk.locator("tbody tr").first).to_contain_text(code)
    clerk.get_by_role("link", name=code).click()
    axe.check(clerk, js)

    def supplement(p):
        p.get_by_label("Giấy chứng sinh").check()
        p.get_by_label("Lý do").fill("Ảnh giấy chứng sinh bị mờ, đề nghị chụp lại")
        p.get_by_label("Ngày", exact=True).fill("15")
        p.get_by_label("Tháng").fill("1")
        p.get_by_label("Năm").fill("2030")
    _act(clerk, code, "Yêu cầu bổ sung", js, supplement, axe)

    citizen.goto(f"{live_url}/ho-so/{code}")
    expect(citizen.get_by_role("heading", level=2, name="Yêu cầu bổ sung giấy tờ")).to_be_visible()
    axe.check(citizen, js)
    citizen.get_by_role("button", name="Gửi giấy tờ bổ sung").click()
    _errors_shown(citizen, js)
    axe.check(citizen, js)
    citizen.get_by_label("Giấy chứng sinh").set_input_files(files["png"])
    citizen.get_by_role("button", name="Gửi giấy tờ bổ sung").click()
    expect(citizen.locator(".govuk-notification-banner--success")).to_contain_text("Đã gửi giấy tờ bổ sung")

    clerk.reload()
    _act(clerk, code, "Tiếp nhận hồ sơ", js)
    if js:
        clerk.screenshot(path=str(screenshot_dir(tmp_path) / "5-can-bo-ho-so.png"), full_page=True)

    leader = new_page()
    _sign_in(leader, live_url, "leader", "leader-1")
    leader.goto(f"{live_url}/can-bo/ho-so/{code}")
    _act(leader, code, "Phân công xử lý", js, lambda p: p.get_by_label("Mã chuyên viên được phân công").fill(
        "specialist-1"), axe)

    specialist = new_page()
    _sign_in(specialist, live_url, "specialist", "specialist-1")
    specialist.goto(f"{live_url}/can-bo/ho-so?cua_toi=1")
    specialist.get_by_role("link", name=code).click()
    _act(specialist, code, "Trình ký", js, lambda p: p.get_by_label("Tóm tắt kết quả thẩm định").fill(
        "Hồ sơ đủ điều kiện cấp giấy khai sinh"), axe)

    leader.reload()
    _act(leader, code, "Ký duyệt", js)

    specialist.reload()

    def result(p):
        p.get_by_label("Tệp kết quả (PDF đã ký số)").set_input_files(files["pdf"])
        p.get_by_label("Có", exact=True).check()
    _act(specialist, code, "Trả kết quả điện tử", js, result, axe)

    clerk.reload()
    _act(clerk, code, "Trả kết quả tại quầy", js)
    axe.check(clerk, js)
    assert world.dossiers[code]["status"] == "returned"

    citizen.goto(f"{live_url}/ho-so/{code}")
    expect(citizen.locator(".govuk-tag").first).to_have_text("Đã trả kết quả")
    citizen.get_by_role("button", name="Gửi đánh giá").click()
    _errors_shown(citizen, js)
    citizen.get_by_label("Rất hài lòng").check()
    citizen.get_by_role("button", name="Gửi đánh giá").click()
    expect(citizen.locator(".govuk-notification-banner--success")).to_contain_text("Cảm ơn bạn đã đánh giá")
    axe.check(citizen, js)
    assert world.dossiers[code]["rating"]["score"] == 5


def test_an_officer_reads_the_766_figures_as_a_table_and_a_chart(new_page, live_url, axe, js, world):
    page = new_page()
    _sign_in(page, live_url, "leader", "leader-1")
    page.get_by_role("link", name="Chỉ số 766").click()
    expect(page.get_by_role("img", name=re.compile("Chỉ số 766"))).to_be_visible()
    expect(page.locator("table").first).to_contain_text("45 / 48")
    axe.check(page, js)
    page.get_by_label("Từ ngày").fill("31/02/2026")
    page.get_by_role("button", name="Xem số liệu").click()
    _errors_shown(page, js)
    axe.check(page, js)


def test_the_pages_run_under_the_csp_without_a_single_violation(browser, live_url, world):
    """A context that honours the CSP, JavaScript on: no inline script, style or eval is refused on any page."""
    d = world.add(status="received", due_in_days=3)
    context = browser.new_context()
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    for path in ("/", "/?q=khai", "/thu-tuc/1.001193.H56", f"/ho-so/{d['code']}", "/can-bo/dang-nhap", "/tra-cuu"):
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Tra cứu").click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    assert refused == []
    context.close()

"""Vietnamese formats, the VietQR reader and the 766 chart."""
from __future__ import annotations

from portal import charts, formats, vietqr


def test_money_is_whole_dong_with_dots_between_thousands():
    assert formats.money(50000) == "50.000 đồng"
    assert formats.money(1234567) == "1.234.567 đồng"
    assert formats.money(0) == "Miễn phí"


def test_dates_are_day_month_year_in_vietnam_time():
    assert formats.vn_date("2026-11-29T18:30:00.000Z") == "30/11/2026"  # 01:30 the next day in Vietnam
    assert formats.vn_datetime("2026-11-29T02:05:00Z") == "09:05, 29/11/2026"
    assert formats.vn_date("2027-03-27") == "27/03/2027"
    assert formats.vn_date(None) == "" and formats.vn_date("not a date") == ""


def test_numbers_and_rates_use_a_decimal_comma():
    assert formats.number(2.41) == "2,41"
    assert formats.number(12345) == "12.345"
    assert formats.pct(0.9375) == "93,8%"
    assert formats.pct(None) == "chưa có số liệu"


def test_folding_drops_diacritics_and_reads_d_stroke_as_d():
    assert formats.fold("Đăng ký khai sinh") == "dang ky khai sinh"


def test_days_left_counts_calendar_days_to_the_due_date_in_vietnam():
    from datetime import date

    assert formats.days_left("2026-12-02T09:00:00Z", today=date(2026, 11, 29)) == 3
    assert formats.days_left("2026-11-27T09:00:00Z", today=date(2026, 11, 29)) == -2


def test_vietqr_payload_reads_back_into_bank_account_amount_and_transfer_note():
    payload = ("00020101021238540010A00000072701240006970436011010175956000208QRIBFTTA5303704540618000058"
               "02VN62230819thanh toan don hang630470FA")
    assert vietqr.parse(payload) == {"bin": "970436", "bank": "Vietcombank", "account": "1017595600",
                                     "amount_vnd": 180000, "note": "thanh toan don hang"}
    assert vietqr.parse(None) is None


def test_the_766_chart_is_an_svg_with_a_text_alternative_and_no_bar_for_the_day_count():
    svg = charts.indicator_bars({"indicators": [
        {"id": "2.1", "rate": 0.9375, "full_marks_at": 1.0},
        {"id": "2.2", "rate": 2.41},
        {"id": "3.3", "rate": 0.625, "full_marks_at": 0.5},
        {"id": "4.1", "rate": None}]})
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title" in svg and "2.1: 93,8%" in svg and "4.1: chưa có số liệu" in svg
    assert svg.count('class="bar') == 3 and svg.count("bar--met") == 1
    assert "style=" not in svg  # the CSP forbids inline styles


# Every audit action processing writes (services/processing/processing: use_cases.py, handlers.py, jobs.py, dvcqg.py)
# and every officer action (workflow.py), as the real suite showed them on the case page.
PROCESSING_AUDIT_ACTIONS = (
    "open", "notified", "payment_required", "payment_received", "fee_paid", "payment_expired", "supplement_received",
    "supplement_deadline", "withdraw", "withdrawal_refused", "delivered", "delivery_failed", "due_soon", "overdue",
    "rated", "dvcqg_parked", "dvcqg_resync", "receive", "refuse", "request-supplement", "assign",
    "submit-for-approval", "approve", "reject", "stop", "issue-result", "return-result", "apologize",
)


def test_every_audit_action_of_processing_has_its_own_vietnamese_label():
    unlabelled = [a for a in PROCESSING_AUDIT_ACTIONS if a not in formats.AUDIT_LABELS]
    assert unlabelled == []


def test_system_actors_read_as_the_system_in_vietnamese():
    label = formats.actor_label
    assert label("system:notification.sent.v1") == "hệ thống (thông báo)"
    assert label("system:deadline-watch") == "hệ thống (theo dõi thời hạn)"
    assert label("system:dvcqg-sync") == "hệ thống (đồng bộ Cổng Dịch vụ công quốc gia)"
    assert label("system:payment.completed.v1") == "hệ thống (thanh toán)"
    assert label("system") == "hệ thống" and label("clerk-1") == "clerk-1"

"""Vietnamese formats: dates dd/mm/yyyy in Vietnam's time, money "50.000 đồng", labels of statuses and codes."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone

from jinja2 import Undefined

VN = timezone(timedelta(hours=7), "ICT")

STATUS_LABELS = {
    "submitted": "Mới đăng ký", "received": "Được tiếp nhận", "refused": "Không được tiếp nhận",
    "in_review": "Đang xử lý", "supplement_requested": "Yêu cầu bổ sung giấy tờ",
    "awaiting_payment": "Yêu cầu thực hiện nghĩa vụ tài chính", "withdrawn": "Công dân yêu cầu rút hồ sơ",
    "stopped": "Dừng xử lý", "result_ready": "Đã xử lý xong", "returned": "Đã trả kết quả",
}
STATUS_COLOURS = {
    "submitted": "govuk-tag--blue", "received": "govuk-tag--light-blue", "refused": "govuk-tag--red",
    "in_review": "govuk-tag--purple", "supplement_requested": "govuk-tag--orange",
    "awaiting_payment": "govuk-tag--yellow", "withdrawn": "govuk-tag--grey", "stopped": "govuk-tag--red",
    "result_ready": "govuk-tag--green", "returned": "govuk-tag--green",
}
# The national portal sync of a dossier (processing's `national_sync.state`).
SYNC_LABELS = {"pending": "Đang chờ gửi", "sent": "Đã gửi", "parked": "Bị Cổng từ chối"}
SYNC_COLOURS = {"pending": "govuk-tag--yellow", "sent": "govuk-tag--green", "parked": "govuk-tag--red"}
STATUS_CODE_NAMES = {1: "submitted", 2: "received", 3: "refused", 4: "in_review", 5: "supplement_requested",
                     6: "awaiting_payment", 7: "withdrawn", 8: "stopped", 9: "result_ready", 10: "returned"}
LEVEL_LABELS = {"full_online": "Toàn trình", "partial_online": "Một phần"}
DELIVERY_LABELS = {"counter": "Nhận tại Bộ phận một cửa", "post": "Nhận qua dịch vụ bưu chính công ích"}
FEE_MODE_LABELS = {"before": "Nộp trước khi giải quyết", "after": "Nộp khi nhận kết quả", "none": "Không thu phí"}
APPLICANT_TYPES = {"citizen": "Công dân", "business": "Doanh nghiệp", "agency": "Cơ quan nhà nước",
                   "organisation": "Tổ chức khác"}
CHANNEL_LABELS = {"sms": "Tin nhắn SMS", "zalo": "Zalo", "email": "Thư điện tử (email)"}
PAYMENT_LABELS = {"pending": "Chưa thanh toán", "awaiting": "Chờ thanh toán", "paid": "Đã thanh toán",
                  "failed": "Thanh toán không thành công", "expired": "Đã hết hạn", "refunded": "Đã hoàn tiền",
                  "cancelled": "Đã hủy", "mismatch": "Số tiền không khớp, đang đối soát"}
SHIPMENT_LABELS = {"requested": "Đã gửi yêu cầu chuyển phát", "accepted": "Bưu điện đã nhận yêu cầu",
                   "picked_up": "Bưu điện đã lấy hàng", "in_transit": "Đang vận chuyển", "delivered": "Đã phát",
                   "failed_attempt": "Phát không thành công", "returned_to_sender": "Đã chuyển hoàn",
                   "cancelled": "Đã hủy"}
ROLE_LABELS = {"clerk": "Cán bộ một cửa", "specialist": "Chuyên viên", "leader": "Lãnh đạo",
               "admin": "Quản trị"}
ACTION_LABELS = {
    "receive": "Tiếp nhận hồ sơ", "refuse": "Từ chối tiếp nhận", "request-supplement": "Yêu cầu bổ sung",
    "assign": "Phân công xử lý", "submit-for-approval": "Trình ký", "approve": "Ký duyệt",
    "reject": "Không duyệt, dừng xử lý", "stop": "Dừng xử lý", "issue-result": "Trả kết quả điện tử",
    "return-result": "Trả kết quả tại quầy", "apologize": "Xin lỗi và hẹn lại ngày trả",
}
# what the audit trail may also name: the citizen's and the system's own steps
AUDIT_LABELS = ACTION_LABELS | {
    "submit": "Nộp hồ sơ", "file": "Nộp hồ sơ", "supplement": "Người nộp bổ sung giấy tờ",
    "supplement_received": "Người nộp bổ sung giấy tờ", "withdraw": "Người nộp rút hồ sơ",
    "withdrawal": "Người nộp rút hồ sơ", "payment": "Đã nhận thanh toán", "paid": "Đã nhận thanh toán",
    "delivered": "Bưu điện đã phát kết quả", "supplement_expired": "Hết hạn bổ sung",
    # processing's own audit actions (use_cases.py, handlers.py, jobs.py, dvcqg.py)
    "open": "Nhận hồ sơ từ cổng tiếp nhận", "notified": "Đã gửi thông báo cho người nộp",
    "payment_required": "Yêu cầu nộp phí, lệ phí", "payment_received": "Đã nhận thanh toán",
    "fee_paid": "Đã nhận thanh toán", "payment_expired": "Hết hạn thanh toán",
    "supplement_deadline": "Hết hạn bổ sung", "withdrawal_refused": "Không chấp nhận rút hồ sơ",
    "delivery_failed": "Bưu điện không phát được kết quả", "due_soon": "Sắp đến hạn trả kết quả",
    "overdue": "Quá hạn trả kết quả", "rated": "Người nộp đánh giá", "dvcqg_parked": "Cổng DVCQG từ chối đồng bộ",
    "dvcqg_resync": "Đồng bộ lại lên Cổng DVCQG",
}
ACTOR_LABELS = {"citizen": "người nộp hồ sơ", "applicant": "người nộp hồ sơ", "system": "hệ thống",
                "postal": "bưu điện", "payment": "hệ thống thanh toán"}
# processing writes "system:<event type or job>" for what no officer did
SYSTEM_ACTORS = (("notification.", "thông báo"), ("deadline-watch", "theo dõi thời hạn"),
                 ("dvcqg", "đồng bộ Cổng Dịch vụ công quốc gia"), ("payment.", "thanh toán"),
                 ("shipment.", "bưu chính"), ("dossier.", "cổng tiếp nhận"))


def actor_label(actor) -> str:
    actor = actor or ""
    if actor.startswith("system:"):
        what = actor.split(":", 1)[1]
        part = next((label for prefix, label in SYSTEM_ACTORS if what.startswith(prefix)), None)
        return f"hệ thống ({part})" if part else "hệ thống"
    return ACTOR_LABELS.get(actor, actor)


def parse_time(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=VN)
    else:
        text = str(value).strip()
        if len(text) == 10:  # a bare date (YYYY-MM-DD) is a day in Vietnam
            try:
                return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=VN)
            except ValueError:
                return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VN)


def vn_date(value) -> str:
    moment = parse_time(value)
    return moment.strftime("%d/%m/%Y") if moment else ""


def vn_datetime(value) -> str:
    moment = parse_time(value)
    return moment.strftime("%H:%M, %d/%m/%Y") if moment else ""


def iso(value) -> str:
    moment = parse_time(value)
    return moment.isoformat() if moment else ""


def money(value) -> str:
    if value is None or value == "":
        return ""
    amount = int(value)
    if amount == 0:
        return "Miễn phí"
    return f"{amount:,}".replace(",", ".") + " đồng"


def fold(text: str) -> str:
    """Lower case without diacritics (đ → d): what a search without diacritics compares."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()


def days_left(due_at, today: date | None = None) -> int | None:
    moment = parse_time(due_at)
    if moment is None:
        return None
    today = today or datetime.now(VN).date()
    return (moment.date() - today).days


def number(value) -> str:
    """12.345,6: the dot groups thousands and the comma marks decimals."""
    if value is None or value == "" or isinstance(value, Undefined):
        return "–"
    amount = float(value)
    if amount.is_integer():
        return f"{int(amount):,}".replace(",", ".")
    return f"{amount:,.2f}".rstrip("0").rstrip(".").replace(",", " ").replace(".", ",").replace(" ", ".")


def pct(rate) -> str:
    if rate is None or rate == "" or isinstance(rate, Undefined):
        return "chưa có số liệu"
    return number(round(float(rate) * 100, 1)) + "%"


def install(app) -> None:
    app.jinja_env.filters.update(
        vn_date=vn_date, vn_datetime=vn_datetime, iso=iso, money=money, number=number, pct=pct,
        status_label=lambda s: STATUS_LABELS.get(s, s or ""),
        status_colour=lambda s: STATUS_COLOURS.get(s, "govuk-tag--grey"),
        status_code_label=lambda n: STATUS_LABELS.get(STATUS_CODE_NAMES.get(n, ""), str(n)),
        sync_label=lambda s: SYNC_LABELS.get(s, s or ""),
        sync_colour=lambda s: SYNC_COLOURS.get(s, "govuk-tag--grey"),
        level_label=lambda s: LEVEL_LABELS.get(s, s or ""),
        delivery_label=lambda s: DELIVERY_LABELS.get(s, s or ""),
        fee_mode_label=lambda s: FEE_MODE_LABELS.get(s, s or ""),
        applicant_type_label=lambda s: APPLICANT_TYPES.get(s, s or ""),
        channel_label=lambda s: CHANNEL_LABELS.get(s, s or ""),
        payment_label=lambda s: PAYMENT_LABELS.get(s, s or ""),
        shipment_label=lambda s: SHIPMENT_LABELS.get(s, s or ""),
        role_label=lambda s: ROLE_LABELS.get(s, s or ""),
        action_label=lambda s: ACTION_LABELS.get(s, s or ""),
        audit_label=lambda s: AUDIT_LABELS.get(s, "Cập nhật hồ sơ"),
        actor_label=actor_label,
    )

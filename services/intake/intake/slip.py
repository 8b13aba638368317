"""Images and documents intake hands to citizens: QR codes (PNG) and the appointment slip (form 01, PDF)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import segno
from fpdf import FPDF

from servicekit.files import vietnamese_font

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

FEE_MODE_LABELS = {
    "before": "Nộp phí, lệ phí trước khi giải quyết",
    "after": "Nộp phí, lệ phí khi nhận kết quả",
    "none": "Không thu phí, lệ phí",
}
APPLICANT_LABELS = {"citizen": "Công dân", "business": "Doanh nghiệp", "agency": "Cơ quan nhà nước",
                    "organisation": "Tổ chức"}


def qr_png(text: str, scale: int = 8) -> bytes:
    """A QR code of `text` as PNG bytes (error correction M, quiet zone of 4 modules)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def procedure_url(portal_url: str, procedure_code: str) -> str:
    return f"{portal_url}/thu-tuc/{procedure_code}"


def tracking_url(portal_url: str, dossier_code: str) -> str:
    return f"{portal_url}/ho-so/{dossier_code}"


def _local(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H giờ %M phút, ngày %d/%m/%Y")


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


class _Slip(FPDF):
    def __init__(self):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font("DejaVu", "", vietnamese_font())
        self.add_font("DejaVu", "B", vietnamese_font(bold=True))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(18, 15, 18)

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align="C")


def appointment_slip_pdf(dossier, *, documents: list[dict], portal_url: str, agency_name: str,
                         processing_days: int | None, fee_mode: str | None) -> bytes:
    """Form 01 of Circular 01/2018/TT-VPCP (giấy tiếp nhận hồ sơ và hẹn trả kết quả), with the tracking QR.

    Carries the dossier code, a QR code to the tracking page, the applicant (name, address, phone, email,
    ID number), the procedure, the fee mode, the documents received, the statutory time in working days,
    received-at and return-at times, and where the result is collected.
    """
    pdf = _Slip()
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.epw

    # Header: the agency on the left, the national motto on the right (as on the printed form).
    top = pdf.get_y()
    left_w, right_x, right_w = width * 0.45, pdf.l_margin + width * 0.45, width * 0.55
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(left_w, 5, agency_name.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(left_w, 5, "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", align="C", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()
    pdf.set_xy(right_x, top)
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(right_w, 5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_x(right_x)
    pdf.multi_cell(right_w, 5, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LEFT", new_y="NEXT")
    motto_width = pdf.get_string_width("Độc lập - Tự do - Hạnh phúc")
    pdf.line(right_x + (right_w - motto_width) / 2, pdf.get_y() + 0.5, right_x + (right_w + motto_width) / 2,
             pdf.get_y() + 0.5)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 3)
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(0, 5, "Mẫu số 01 - Thông tư 01/2018/TT-VPCP", align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 8, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, f"Mã hồ sơ: {dossier.code}", align="C", new_x="LMARGIN", new_y="NEXT")

    # Tracking QR at the right of the applicant block.
    url = tracking_url(portal_url, dossier.code)
    qr_size = 32
    qr_top = pdf.get_y() + 2
    pdf.image(io.BytesIO(qr_png(url, scale=6)), x=pdf.l_margin + width - qr_size, y=qr_top, w=qr_size, h=qr_size)
    pdf.set_xy(pdf.l_margin + width - qr_size - 2, qr_top + qr_size)
    pdf.set_font("DejaVu", "", 7)
    pdf.cell(qr_size + 4, 4, "Quét để tra cứu hồ sơ", align="C")
    pdf.set_xy(pdf.l_margin, qr_top)

    text_width = width - qr_size - 4

    def line(label: str, value: str | None, *, w: float = text_width) -> None:
        pdf.set_x(pdf.l_margin)
        pdf.set_font("DejaVu", "B", 10)
        label_width = pdf.get_string_width(label + " ") + 1
        pdf.cell(label_width, 6, label)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(w - label_width, 6, value or "—", new_x="LMARGIN", new_y="NEXT")

    line("Tiếp nhận hồ sơ của:", dossier.applicant_name)
    line("Đối tượng:", APPLICANT_LABELS.get(dossier.applicant_type, dossier.applicant_type))
    line("Số định danh / MST:", dossier.id_number)
    line("Địa chỉ:", dossier.applicant_address)
    line("Số điện thoại:", _phone(dossier.phone))
    line("Email:", dossier.email)
    pdf.set_y(max(pdf.get_y(), qr_top + qr_size + 6))
    line("Thủ tục:", f"{dossier.procedure_name} ({dossier.procedure_code})", w=width)
    fee = FEE_MODE_LABELS.get(fee_mode or "", "—")
    if fee_mode in ("before", "after") and dossier.fee_procedure_vnd:
        fee += f": {_money(dossier.fee_procedure_vnd)}"
    line("Phí, lệ phí:", fee, w=width)

    pdf.ln(1)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(0, 6, "Thành phần hồ sơ đã nhận:", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    for number, doc in enumerate(documents, start=1):
        # Dossiers filed before uploads existed list {code, upload_id} only.
        name = doc.get("name") or doc.get("code") or "—"
        pdf.multi_cell(width, 5.5, f"{number}. {name} (tệp điện tử: {doc.get('filename') or '—'})",
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    if processing_days is not None:
        line("Thời gian giải quyết theo quy định:", f"{processing_days} ngày làm việc", w=width)
    line("Thời gian nhận hồ sơ:", _local(dossier.received_at), w=width)
    line("Thời gian hẹn trả kết quả:", _local(dossier.due_at) if dossier.due_at else "—", w=width)
    if dossier.delivery_method == "post":
        address = dossier.delivery_address or {}
        where = ("Qua dịch vụ bưu chính công ích đến địa chỉ: "
                 + ", ".join(part for part in (address.get("street"), address.get("commune"), address.get("province"))
                             if part))
    else:
        where = f"Tại Bộ phận tiếp nhận và trả kết quả, {agency_name}"
    line("Nơi nhận kết quả:", where, w=width)
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(width, 5, f"Tra cứu tình trạng hồ sơ tại {url} bằng mã hồ sơ và số định danh "
                             "(hoặc mã truy cập) của người nộp.", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(6)
    half = width / 2
    y = pdf.get_y()
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(half, 6, "NGƯỜI NỘP HỒ SƠ", align="C")
    pdf.cell(half, 6, "NGƯỜI TIẾP NHẬN HỒ SƠ", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(half, 5, "(Ký và ghi rõ họ tên)", align="C")
    pdf.cell(half, 5, "(Ký và ghi rõ họ tên)", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(y + 30)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(half, 6, dossier.applicant_name, align="C")
    pdf.cell(half, 6, "(Tiếp nhận điện tử)" if dossier.channel == "online" else "", align="C")
    return bytes(pdf.output())


def _phone(phone: str | None) -> str | None:
    """84912345678 -> 0912 345 678, the way Vietnamese write it."""
    if not phone:
        return None
    local = "0" + phone[2:] if phone.startswith("84") else phone
    return f"{local[:4]} {local[4:7]} {local[7:]}"

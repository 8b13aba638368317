"""The apology slip (form 04, "Phiếu xin lỗi và hẹn lại ngày trả kết quả") as a PDF for the apology email.

Laid out like the form of Circular 01/2018/TT-VPCP: the agency and the national motto side by side, the
title, the dossier's facts, the apology and the new date, then the head of the agency's block. The font
is the kit's (DejaVu Sans), which has every Vietnamese letter.
"""
from __future__ import annotations

from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from servicekit.files import vietnamese_font

from .render import VIETNAM

FILENAME = "phieu-xin-loi-mau-04.pdf"


def apology_slip(values: dict, *, issued: datetime | None = None) -> bytes:
    """`values` are the placeholder values of a dossier.apology_issued message (code, name, procedure,
    agency, reason, old_due, new_due, and time: when the leader apologised, "dd/mm/yyyy HH:MM")."""
    if issued is None:
        issued = datetime.strptime(values["time"], "%d/%m/%Y %H:%M").replace(tzinfo=VIETNAM)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("DejaVu", "", vietnamese_font())
    pdf.add_font("DejaVu", "B", vietnamese_font(bold=True))
    pdf.set_title("Phiếu xin lỗi và hẹn lại ngày trả kết quả")
    pdf.set_author(values.get("agency") or "")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    left, right = width * 0.42, width * 0.58
    top = pdf.get_y()

    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(left, 5, (values.get("agency") or "").upper(), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(left, 5, "BỘ PHẬN TIẾP NHẬN VÀ\nTRẢ KẾT QUẢ", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()
    pdf.line(pdf.l_margin + left / 2 - 12, left_bottom + 1.5, pdf.l_margin + left / 2 + 12, left_bottom + 1.5)

    pdf.set_xy(pdf.l_margin + left, top)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(right, 5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.cell(right, 5, "Độc lập - Tự do - Hạnh phúc", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    motto_x, motto_y = pdf.get_x(), pdf.get_y()
    pdf.line(motto_x + right / 2 - 24, motto_y + 1.5, motto_x + right / 2 + 24, motto_y + 1.5)
    local = issued.astimezone(VIETNAM)
    pdf.set_y(motto_y + 4)
    pdf.set_x(pdf.l_margin + left)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(right, 5, f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}", align="C")

    pdf.set_y(max(left_bottom, pdf.get_y() + 5) + 10)
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(width, 7, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    def line(text: str, *, bold_label: str | None = None) -> None:
        if bold_label:
            pdf.set_font("DejaVu", "B", 11)
            pdf.write(6.5, bold_label)
        pdf.set_font("DejaVu", "", 11)
        pdf.write(6.5, text)
        pdf.ln(8)

    line(f"Ông/Bà {values.get('name') or ''}", bold_label="Kính gửi: ")
    line(f"{values.get('agency') or ''} đã tiếp nhận hồ sơ của Ông/Bà.")
    line(values.get("code") or "", bold_label="Mã hồ sơ: ")
    line(values.get("procedure") or "", bold_label="Thủ tục: ")
    line(values.get("old_due") or "", bold_label="Ngày hẹn trả kết quả: ")
    line("Tuy nhiên đến nay, cơ quan giải quyết hồ sơ chưa trả kết quả giải quyết hồ sơ của Ông/Bà.")
    line(values.get("reason") or "", bold_label="Lý do: ")
    line("Sự chậm trễ này đã gây phiền hà cho Ông/Bà. Chúng tôi thành thật xin lỗi Ông/Bà và hẹn lại "
         "ngày trả kết quả giải quyết hồ sơ:")
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(width, 8, f"Ngày hẹn trả kết quả mới: {values.get('new_due') or ''}", align="C",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    line("Rất mong nhận được sự thông cảm của Ông/Bà.")
    line(f"Ông/Bà theo dõi tình trạng hồ sơ tại: {values.get('url') or ''}")

    pdf.ln(6)
    pdf.set_x(pdf.l_margin + left)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(right, 6, "THỦ TRƯỞNG CƠ QUAN", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(right, 6, "(Phiếu điện tử do hệ thống Một cửa gửi thay)", align="C")
    return bytes(pdf.output())

"""The national public service portal (DVCQG): the mapping of a dossier and its steps to the portal's records.

The transport (session, calls, typed errors) is the kit's (`servicekit.dvcqg`), shared with intake's catalogue
sync; it is re-exported here so processing's code and tests keep one import.
"""
from __future__ import annotations

import unicodedata
from datetime import date, datetime, timezone
from typing import Any

from servicekit.dvcqg import (SUCCESS_CODES, DvcqgAlreadyExists, DvcqgAuthFailed, DvcqgClient, DvcqgError,  # noqa: F401
                              DvcqgRejected, DvcqgUnavailable, DvcqgUnknownDossier, is_success)

try:
    from zoneinfo import ZoneInfo

    VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # no tz database on the host: Vietnam has kept UTC+7 without daylight saving since 1975
    from datetime import timedelta

    VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

# --- the mapping ---------------------------------------------------------------------------------------------

STATUS_CODES = {"submitted": 1, "received": 2, "refused": 3, "in_review": 4, "supplement_requested": 5,
                "awaiting_payment": 6, "withdrawn": 7, "stopped": 8, "result_ready": 9, "returned": 10}
STATUS_LABELS = {1: "Mới đăng ký", 2: "Được tiếp nhận", 3: "Không được tiếp nhận", 4: "Đang xử lý",
                 5: "Yêu cầu bổ sung giấy tờ", 6: "Yêu cầu thực hiện nghĩa vụ tài chính",
                 7: "Công dân yêu cầu rút hồ sơ", 8: "Dừng xử lý", 9: "Đã xử lý xong", 10: "Đã trả kết quả"}
APPLICANT_TYPES = {"citizen": "1", "business": "2", "agency": "3", "organisation": "4"}
CHANNELS = {"counter": "1", "online": "2", "post": "3"}
# Cut as the portal requires (T1 cuts these two before sending): characters, after NFC normalisation.
RECORD_LIMITS = {"TrichYeuHoSo": 1000}
PROGRESS_LIMITS = {"NguoiXuLy": 50}
SYSTEM_ACTOR = "Hệ thống"
FEE_KINDS = {"fee": "1", "charge": "2"}      # LoaiPhiLePhi: 1 phí, 2 lệ phí (the suite's choice)
FEE_METHODS = {"online": "2", "counter": "1"}  # HinhThucThu: 1 at the counter, 2 online (the suite's choice)


def national_date(value: Any) -> str:
    """yyyyMMddHHmmss in Vietnam time, "" when empty. Takes RFC 3339 text, a datetime (naive = UTC) or a date."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%Y%m%d") + "000000"
    if not isinstance(value, datetime):
        raise TypeError(f"not a moment: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def national_status(case: dict) -> int:
    """The national code 1-10 of a dossier or step: `status_code` when given, else its `status` name."""
    code = case.get("status_code")
    if code is None:
        code = STATUS_CODES[case["status"]]
    code = int(code)
    if not 1 <= code <= 10:
        raise ValueError(f"status code {code} is not a national code (1-10)")
    return code


def _text(value: Any) -> str:
    return "" if value is None else unicodedata.normalize("NFC", str(value))


def _cut(item: dict, limits: dict[str, int], cuts: list[dict]) -> None:
    for name, limit in limits.items():
        value = item.get(name, "")
        if len(value) > limit:
            cuts.append({"field": name, "length": len(value), "limit": limit})
            item[name] = value[:limit]


def _identity(applicant: dict) -> list[dict]:
    number = _text(applicant.get("id_number"))
    if applicant.get("type", "citizen") != "citizen" or not number.isdigit() or len(number) not in (9, 12):
        return []
    return [{"LoaiDinhDanh": "1" if len(number) == 12 else "2", "SoDinhDanh": number}]


def national_record(case: dict) -> tuple[dict, list[dict]]:
    """The DongBoHoSoMC dossier object of a case, and the fields cut to the portal's limits.

    `case` is a plain dict:
      code; procedure {code, name, field_code?, field_name?}; agency {code, name};
      applicant {type: citizen|business|agency|organisation, full_name, id_number?, phone?, email?, dvcqg_account?};
      summary?; status (name) or status_code (1-10); channel: online|counter|post; delivery {method: counter|post};
      submitted_at, received_at?, due_at?, completed_at?, returned_at?, refused_at? (RFC 3339 UTC or datetime);
      documents [{code, name?, upload_id, filename?, url}]; results [{code, name, file_id, url}];
      fees [{code, name, amount_vnd, kind?: fee|charge, method?: online|counter}];
      supplements [{request_no, requested_by?, reason, requested_at, supplemented_at?, old_due_at?, new_due_at?}];
      paid_online (bool).
    Each cut is {"field", "length" (the original, in characters), "limit"}.
    """
    procedure, agency = case.get("procedure") or {}, case.get("agency") or {}
    applicant = case.get("applicant") or {}
    status = national_status(case)
    record = {
        "MaHoSo": _text(case["code"]),
        "MaTTHC": _text(procedure.get("code")),
        "TenTTHC": _text(procedure.get("name")),
        "MaLinhVuc": _text(procedure.get("field_code")),
        "TenLinhVuc": _text(procedure.get("field_name")),
        "SoBienNhan": "",
        "ChuHoSo": _text(applicant.get("full_name")),
        "LoaiDoiTuong": APPLICANT_TYPES[applicant.get("type", "citizen")],
        "MaDoiTuong": _text(applicant.get("dvcqg_account")),
        "SoGiayToChuHoSo": _text(applicant.get("id_number")),
        "DinhDanhCHS": _identity(applicant),
        "SoDienThoai": _text(applicant.get("phone")),
        "Email": _text(applicant.get("email")),
        "Fax": "",
        "ThongTinKhac": "",
        "TrichYeuHoSo": _text(case.get("summary") or procedure.get("name")),
        "NgayNopHoSo": national_date(case.get("submitted_at")),
        "NgayTiepNhan": national_date(case.get("received_at")),
        "NgayHenTra": national_date(case.get("due_at")),
        "NgayTra": national_date(case.get("returned_at")),
        "NgayKetThucXuLy": national_date(case.get("completed_at")),
        "NgayTuChoi": national_date(case.get("refused_at")),
        "TrangThaiHoSo": str(status),
        "KenhThucHien": CHANNELS[case.get("channel", "online")],
        "HinhThuc": "1" if (case.get("delivery") or {}).get("method") == "post" else "0",
        "DonViXuLy": _text(agency.get("name")),
        "NoiNopHoSo": "2" if case.get("channel", "online") == "online" else "1",
        "DuocThanhToanTrucTuyen": "1" if case.get("paid_online") else "3",
        "TaiLieuNop": [{
            "TepDinhKemId": _text(doc.get("upload_id") or doc.get("file_id")),
            "TenTepDinhKem": _text(doc.get("filename") or doc.get("name")),
            "IsDeleted": "False",
            "MaThanhPhanHoSo": _text(doc.get("code")),
            "DuongDanTaiTepTin": _text(doc.get("url")),
        } for doc in case.get("documents") or []],
        "DanhSachGiayToKetQua": [{
            "TenGiayTo": _text(result.get("name")),
            "MaThanhPhanHoSo": _text(result.get("code")),
            "GiayToId": _text(result.get("file_id")),
            "DuongDanTepTinKetQua": _text(result.get("url")),
        } for result in case.get("results") or []],
        "DanhSachLePhi": [{
            "TenPhiLePhi": _text(fee.get("name")),
            "MaPhiLePhi": _text(fee.get("code")),
            "HinhThucThu": FEE_METHODS[fee.get("method", "online")],
            "Gia": str(int(fee["amount_vnd"])),
            "LoaiPhiLePhi": FEE_KINDS[fee.get("kind", "charge")],
        } for fee in case.get("fees") or []],
        "DanhSachHoSoBoSung": [{
            "HoSoBoSungId": f"{_text(case['code'])}-BS{int(item['request_no'])}",
            "NguoiYeuCauBoSung": _text(item.get("requested_by")),
            "NoiDungBoSung": _text(item.get("reason")),
            "NgayBoSung": national_date(item.get("requested_at")),
            "TrangThaiBoSung": "1" if item.get("supplemented_at") else "0",
            "NgayTiepNhanBoSung": national_date(item.get("supplemented_at")),
            "NgayHenTraTruoc": national_date(item.get("old_due_at")),
            "NgayHenTraMoi": national_date(item.get("new_due_at")),
        } for item in case.get("supplements") or []],
    }
    cuts: list[dict] = []
    _cut(record, RECORD_LIMITS, cuts)
    return record, cuts


def progress_row(step: dict) -> tuple[dict, list[dict]]:
    """The CapNhatTienDoHoSoMC row of one workflow step, and the fields cut to the portal's limits.

    `step` is a plain dict: code (dossier), status (name) or status_code, at, actor_name? (the officer's name;
    "Hệ thống" for the system), actor_title?, department?, action? (defaults to the national label of the status),
    note?, started_at? (defaults to `at`), due_at?.
    """
    status = national_status(step)
    action = _text(step.get("action")) or STATUS_LABELS[status]
    note = _text(step.get("note")).strip()
    row = {
        "MaHoSo": _text(step["code"]),
        "NguoiXuLy": _text(step.get("actor_name")).strip() or SYSTEM_ACTOR,
        "ChucDanh": _text(step.get("actor_title")),
        "ThoiDiemXuLy": national_date(step["at"]),
        "PhongBanXuLy": _text(step.get("department")),
        "NoiDungXuLy": f"{action} - {note}" if note else action,
        "TrangThai": str(status),
        "NgayBatDau": national_date(step.get("started_at") or step["at"]),
        "NgayKetThucTheoQuyDinh": national_date(step.get("due_at")),
    }
    cuts: list[dict] = []
    _cut(row, PROGRESS_LIMITS, cuts)
    return row, cuts

"""The national public service portal (DVCQG): the client the sync worker calls, and the mapping of a dossier.

Protocol (docs/dvcqg.md): `POST auth_path` {username, password} with a `dstcode` header answers
{"error_code": 0, "session"}; every data call is a `POST integration_path` {session, madonvi, service, ...}.
Success is error_code 0, "0" or "00"; anything the client cannot read is a failure, never a success.

Errors the caller acts on:
- `DvcqgUnavailable`: retry later with backoff (network, timeout, HTTP error, unreadable answer, system error,
  a session the portal keeps refusing, credentials refused).
- `DvcqgRejected(message)`: the portal refused the data; park the sync with the portal's message.
- `DvcqgAlreadyExists`: a new dossier the portal already holds; send it again as an update.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from datetime import date, datetime, timezone
from typing import Any, Callable

import requests

log = logging.getLogger(__name__)

try:
    from zoneinfo import ZoneInfo

    VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
except Exception:  # no tz database on the host: Vietnam has kept UTC+7 without daylight saving since 1975
    from datetime import timedelta

    VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

SUCCESS_CODES = (0, "0", "00")
_INTEGER_CODE = re.compile(r"^-?\d{1,6}$")
_EXPIRED = re.compile(r"(phiên|session|token).*(hết hạn|expired|không hợp lệ|invalid)", re.IGNORECASE)
_TRANSIENT = re.compile(r"lỗi hệ thống|thử lại|quá tải|bảo trì|timeout|time-out", re.IGNORECASE)
_ALREADY_EXISTS = "đã tồn tại"
_NOT_YET = re.compile(r"chưa tồn tại|không tồn tại hồ sơ|hồ sơ .* không tồn tại", re.IGNORECASE)


class DvcqgError(Exception):
    """Something the portal (or the way to it) answered; `answer` is the start of what came back, for the log."""

    def __init__(self, message: str, answer: str = ""):
        super().__init__(message)
        self.message = message
        self.answer = answer


class DvcqgUnavailable(DvcqgError):
    """Try again later: nothing says the portal refused the data."""


class DvcqgAuthFailed(DvcqgUnavailable):
    """The portal refused the credentials or dstcode: a configuration fault, retried until someone fixes it."""


class DvcqgRejected(DvcqgError):
    """The portal refused the data: park the sync with `message`, the portal's own words."""


class DvcqgUnknownDossier(DvcqgRejected):
    """An update or progress row for a dossier the portal never received."""


class DvcqgAlreadyExists(DvcqgError):
    """A new dossier ("isUpdating": "False") the portal already holds: send it as an update."""


def is_success(code: Any) -> bool:
    """0, "0" or "00", and nothing else: not False (which equals 0 in Python), not 0.0, not " 0"."""
    return (type(code) is int and code == 0) or (type(code) is str and code in ("0", "00"))


class DvcqgClient:
    """One client per worker: a pooled HTTP session and a portal session cached until shortly before it expires.

    The portal does not say how long a session lives (OpenCPS keeps it 10 minutes), so the client renews it
    after `session_ttl_s - renew_margin_s`; if the portal ends it sooner, the "expired session" answer makes the
    client fetch one new session and send the call once more.
    """

    def __init__(self, base_url: str, auth_path: str, integration_path: str, username: str, password: str,
                 madonvi: str, dstcode: str = "", timeout: float = 10.0, *, session_ttl_s: float = 600.0,
                 renew_margin_s: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 http: requests.Session | None = None):
        self.auth_url = base_url.rstrip("/") + "/" + auth_path.lstrip("/")
        self.integration_url = base_url.rstrip("/") + "/" + integration_path.lstrip("/")
        self.username, self.password = username, password
        self.madonvi, self.dstcode = madonvi, dstcode
        self.timeout = timeout
        self.session_lifetime_s = session_ttl_s - renew_margin_s if session_ttl_s > renew_margin_s else session_ttl_s / 2
        self.clock = clock
        self.http = http or requests.Session()
        self.http.headers.update({"Accept": "application/json"})
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.sessions_opened = 0

    def close(self) -> None:
        self.http.close()

    # --- the session --------------------------------------------------------------------------------------

    def _headers(self) -> dict:
        return {"dstcode": self.dstcode} if self.dstcode else {}

    def session(self) -> str:
        """The cached session, or a new one when it is due for renewal."""
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._token = self._open_session()
                self._renew_at = self.clock() + self.session_lifetime_s
            return self._token

    def _drop_session(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _open_session(self) -> str:
        started = self.clock()
        body = self._post(self.auth_url, {"username": self.username, "password": self.password}, "auth")
        code, message = body.get("error_code"), _message(body)
        if not is_success(code):
            if _readable_code(code) and not _TRANSIENT.search(message):
                raise DvcqgAuthFailed(f"DVCQG refused the credentials: {message or code}", _short(body))
            raise DvcqgUnavailable(f"DVCQG auth failed: {message or code!r}", _short(body))
        token = body.get("session")
        if not isinstance(token, str) or not token.strip():
            raise DvcqgUnavailable("DVCQG auth answered success without a session", _short(body))
        self.sessions_opened += 1
        log.info("DVCQG session opened", extra={"event": "dvcqg.session_opened",
                                                "duration_ms": round((self.clock() - started) * 1000)})
        return token

    # --- calls --------------------------------------------------------------------------------------------

    def _post(self, url: str, payload: dict, service: str) -> dict:
        try:
            response = self.http.post(url, json=payload, headers=self._headers(), timeout=self.timeout)
        except requests.RequestException as exc:
            raise DvcqgUnavailable(f"DVCQG {service}: {type(exc).__name__}") from exc
        text = response.text[:300]
        if response.status_code != 200:
            raise DvcqgUnavailable(f"DVCQG {service}: HTTP {response.status_code}", text)
        try:
            body = response.json()
        except ValueError:
            raise DvcqgUnavailable(f"DVCQG {service}: the answer is not JSON", text) from None
        if not isinstance(body, dict) or "error_code" not in body:
            raise DvcqgUnavailable(f"DVCQG {service}: the answer has no error_code", text)
        return body

    def call(self, service: str, **fields: Any) -> dict:
        """One data call, with one renewal of the session if the portal says it expired; the parsed answer."""
        for attempt in (1, 2):
            token = self.session()
            body = self._post(self.integration_url,
                              {"session": token, "madonvi": self.madonvi, "service": service, **fields}, service)
            code, message = body["error_code"], _message(body)
            if not _readable_code(code):
                raise DvcqgUnavailable(f"DVCQG {service}: unreadable error_code {code!r}", _short(body))
            if not is_success(code) and _EXPIRED.search(message):
                self._drop_session(token)
                if attempt == 1:
                    log.info("DVCQG session ended early; renewing", extra={"event": "dvcqg.session_expired",
                                                                          "dvcqg_service": service})
                    continue
                raise DvcqgUnavailable(f"DVCQG {service}: a new session was refused at once: {message}",
                                       _short(body))
            if _ALREADY_EXISTS in unicodedata.normalize("NFC", message).lower():
                raise DvcqgAlreadyExists(message, _short(body))
            if is_success(code):
                return body
            if _TRANSIENT.search(message):
                raise DvcqgUnavailable(f"DVCQG {service}: {message}", _short(body))
            if _NOT_YET.search(message):
                raise DvcqgUnknownDossier(message or str(code), _short(body))
            raise DvcqgRejected(message or f"error_code {code}", _short(body))
        raise AssertionError("unreachable")

    def push_dossier(self, record: dict, is_updating: bool) -> dict:
        """DongBoHoSoMC with the whole dossier; raises DvcqgAlreadyExists for a new dossier the portal holds."""
        return self.call("DongBoHoSoMC", isUpdating="True" if is_updating else "False", data=[record])

    def upsert_dossier(self, record: dict, known: bool = False) -> str:
        """Send the dossier as new or as an update, switching once on the portal's answer; "created" or "updated"."""
        try:
            self.push_dossier(record, is_updating=known)
            return "updated" if known else "created"
        except DvcqgAlreadyExists:
            if known:
                raise
            self.push_dossier(record, is_updating=True)
            return "updated"
        except DvcqgUnknownDossier:
            if not known:
                raise
            self.push_dossier(record, is_updating=False)
            return "created"

    def push_progress(self, rows: list[dict]) -> dict:
        """CapNhatTienDoHoSoMC with progress rows, in the order given."""
        if not rows:
            raise ValueError("push_progress needs at least one row")
        return self.call("CapNhatTienDoHoSoMC", data=list(rows))

    def exists(self, code: str) -> bool:
        """TraCuuHoSo: does the portal hold this dossier?"""
        return bool(self._result_list(self.call("TraCuuHoSo", mahoso=code), "TraCuuHoSo"))

    def get_procedure(self, code: str) -> dict | None:
        """LayThuTuc: one procedure of the national catalogue, or None when the portal does not know it."""
        body = self.call("LayThuTuc", maTTHC=code)
        if isinstance(body.get("result"), dict):
            return body["result"]
        result = self._result_list(body, "LayThuTuc")
        if result and not isinstance(result[0], dict):
            raise DvcqgUnavailable("DVCQG LayThuTuc: the result is not a procedure", _short(body))
        return result[0] if result else None

    def list_procedures(self) -> list[dict]:
        """LayDanhSachTTHC: the national catalogue (MATTHC, TENTTHC, ...)."""
        body = self.call("LayDanhSachTTHC")
        result = self._result_list(body, "LayDanhSachTTHC")
        if not all(isinstance(item, dict) and isinstance(item.get("MATTHC"), str) for item in result):
            raise DvcqgUnavailable("DVCQG LayDanhSachTTHC: an item without MATTHC", _short(body))
        return result

    @staticmethod
    def _result_list(body: dict, service: str) -> list:
        result = body.get("result", [])
        if result is None:
            return []
        if not isinstance(result, list):
            raise DvcqgUnavailable(f"DVCQG {service}: result is not a list", _short(body))
        return result


def _readable_code(code: Any) -> bool:
    return (type(code) is int) or (type(code) is str and bool(_INTEGER_CODE.match(code)))


def _message(body: dict) -> str:
    message = body.get("message", "")
    return message if isinstance(message, str) else str(message)


def _short(body: Any) -> str:
    text = str({k: v for k, v in body.items() if k != "session"}) if isinstance(body, dict) else str(body)
    return text[:300]


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

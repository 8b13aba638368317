"""National public service portal (DVCQG) simulator: sessions, dossier and progress sync, catalogue, views for tests.

It speaks the protocol the provincial systems use (docs/dvcqg.md): a `POST` of {username, password} with a
`dstcode` header answers a session; every data call is a `POST` of {session, madonvi, service, ...} to one
integration endpoint, answered with HTTP 200 and {"error_code", "message", "result"}.
"""
from __future__ import annotations

import json
import os
import random
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from motcua_sims import common

SERVICE = "sim_dvcqg"
DEFAULT_PASSWORD = "dev-dvcqg-password"
CATALOGUE_FILE = Path(__file__).with_name("data") / "dvcqg_procedures.json"

# Error codes as the simulator answers them; success is 0 in one of the three forms seen in real code.
OK, INVALID, EXPIRED, EXISTS, UNKNOWN = 0, -1, -2, -3, -4
ERROR_CODE_FORMS = ("number", "string", "padded", "rotate")  # 0, "0", "00", or each in turn
DATE = re.compile(r"^\d{14}$")
STATUS_CODES = {str(n) for n in range(1, 11)}
# Limits seen in real code: T1 cuts the summary to 1000 and the handler's name to 50; notes over 2000 failed (O2).
LIMITS = {"TrichYeuHoSo": 1000, "GhiChu": 2000}
PROGRESS_LIMITS = {"NguoiXuLy": 50}
RECORD_REQUIRED = ("MaHoSo", "MaTTHC", "TenTTHC", "ChuHoSo", "LoaiDoiTuong", "TrangThaiHoSo")
RECORD_DATES = ("NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy")
OPTIONAL_DATES = ("NgayNopHoSo", "NgayTuChoi")
PROGRESS_REQUIRED = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")
PROGRESS_DATES = ("NgayBatDau", "NgayKetThucTheoQuyDinh")
# A received dossier (2), in review (4), result ready (9) or returned (10) has been received at the counter.
NEEDS_RECEIVED = {"2", "4", "9", "10"}
# The file links (DuongDanTaiTepTin, DuongDanTepTinKetQua) are checked when given, not required: the suite sends
# names and file ids without a public link to a citizen's papers (docs/dvcqg.md "Documents").
LISTS = {
    "TaiLieuNop": (("TepDinhKemId", "TenTepDinhKem"), (), "DuongDanTaiTepTin"),
    "DanhSachGiayToKetQua": (("TenGiayTo", "GiayToId"), (), "DuongDanTepTinKetQua"),
    "DanhSachLePhi": (("TenPhiLePhi", "Gia"), (), None),
    "DanhSachHoSoBoSung": (("HoSoBoSungId", "NoiDungBoSung", "NgayBoSung"),
                           ("NgayBoSung", "NgayHenTraTruoc", "NgayHenTraMoi"), None),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dossiers (
    ma_ho_so TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    first_received_at TEXT NOT NULL,
    last_received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ma_ho_so TEXT NOT NULL,
    is_updating TEXT NOT NULL,
    record TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_ma_ho_so ON records (ma_ho_so);
CREATE TABLE IF NOT EXISTS progress (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ma_ho_so TEXT NOT NULL,
    row TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS progress_ma_ho_so ON progress (ma_ho_so);
CREATE TABLE IF NOT EXISTS procedures (
    ma_tthc TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    service TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ma_ho_so TEXT,
    message TEXT
);
CREATE INDEX IF NOT EXISTS calls_service ON calls (service);
"""


@dataclass
class Behaviour:
    """What can be changed while the simulator runs (`PUT /v1/control`): failures, slowness, duplicates, sessions."""
    down: bool = False               # auth and integration answer 503 with an HTML page
    fail_rate: float = 0.0           # share of calls answered HTTP 500 {"error_code": -1, "Lỗi hệ thống"}
    fail_next: int = 0               # the next N calls answered that way (a deterministic script)
    garbage_rate: float = 0.0        # share of calls answered 200 with an HTML page (an answer nobody can parse)
    duplicate_rate: float = 0.0      # share of data calls applied but answered 504: the caller resends a duplicate
    delay_ms: int = 0                # every auth and integration answer is this late
    session_ttl_s: float = 600.0     # a session's lifetime
    error_code_form: str = "number"  # success as 0, "0", "00", or each in turn ("rotate")

    def errors(self) -> dict:
        problems: dict[str, list[str]] = {}
        for name in ("fail_rate", "garbage_rate", "duplicate_rate"):
            value = getattr(self, name)
            if not _number(value) or not 0 <= value <= 1:
                problems[name] = ["Must be a number from 0 to 1."]
        for name in ("fail_next", "delay_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems[name] = ["Must be a whole number, 0 or more."]
        if not _number(self.session_ttl_s) or self.session_ttl_s <= 0:
            problems["session_ttl_s"] = ["Must be a positive number of seconds."]
        if not isinstance(self.down, bool):
            problems["down"] = ["Must be true or false."]
        if self.error_code_form not in ERROR_CODE_FORMS:
            problems["error_code_form"] = [f"Must be one of: {', '.join(ERROR_CODE_FORMS)}."]
        return problems


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Settings:
    db_path: str = "var/data/sim_dvcqg.db"
    username: str = "motcua"
    password: str = DEFAULT_PASSWORD
    dstcode: str = ""                # when set, the auth call must carry this `dstcode` header
    check_procedures: bool = True    # a dossier whose MaTTHC is not in the catalogue is refused
    catalogue_file: str = str(CATALOGUE_FILE)
    seed: int | None = None
    behaviour: Behaviour | None = None

    @classmethod
    def from_env(cls) -> Settings:
        seed = os.environ.get("DVCQG_SIM_SEED", "")
        return cls(
            db_path=os.environ.get("DVCQG_SIM_DB", cls.db_path),
            username=os.environ.get("DVCQG_SIM_USERNAME", cls.username),
            password=os.environ.get("DVCQG_SIM_PASSWORD", DEFAULT_PASSWORD),
            dstcode=os.environ.get("DVCQG_SIM_DSTCODE", ""),
            check_procedures=os.environ.get("DVCQG_SIM_CHECK_PROCEDURES", "1").lower() not in ("0", "false", "no"),
            catalogue_file=os.environ.get("DVCQG_SIM_CATALOGUE", cls.catalogue_file),
            seed=common.env_int("DVCQG_SIM_SEED", 0) if seed else None,
            behaviour=Behaviour(
                down=os.environ.get("DVCQG_SIM_DOWN", "").lower() in ("1", "true", "yes"),
                fail_rate=common.env_float("DVCQG_SIM_FAIL_RATE", 0.0),
                garbage_rate=common.env_float("DVCQG_SIM_GARBAGE_RATE", 0.0),
                duplicate_rate=common.env_float("DVCQG_SIM_DUPLICATE_RATE", 0.0),
                delay_ms=common.env_int("DVCQG_SIM_DELAY_MS", 0),
                session_ttl_s=common.env_float("DVCQG_SIM_SESSION_TTL_S", 600.0),
                error_code_form=os.environ.get("DVCQG_SIM_ERROR_CODE_FORM", "number"),
            ),
        )


# --- field checks -------------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else ""


def _check_date(errors: list[str], where: str, name: str, value: Any, required: bool) -> None:
    if not isinstance(value, str):
        errors.append(f"{where}{name}: bắt buộc, kiểu chuỗi yyyyMMddHHmmss hoặc \"\"")
    elif value == "":
        if required:
            errors.append(f"{where}{name}: bắt buộc")
    elif not DATE.match(value) or not _valid_moment(value):
        errors.append(f"{where}{name}: sai định dạng yyyyMMddHHmmss ({value!r})")


def _valid_moment(value: str) -> bool:
    try:
        time.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def _check_limits(errors: list[str], where: str, item: dict, limits: dict[str, int]) -> None:
    for name, limit in limits.items():
        length = len(_text(item.get(name)))
        if length > limit:
            errors.append(f"{where}{name}: vượt quá {limit} ký tự ({length})")


def check_record(record: Any, catalogue: set[str] | None) -> list[str]:
    """What is wrong with one dossier object, in the portal's words; empty when it is acceptable."""
    if not isinstance(record, dict):
        return ["data: mỗi phần tử phải là một đối tượng hồ sơ"]
    where = f"{record.get('MaHoSo') or '?'}: "
    errors: list[str] = []
    for name in RECORD_REQUIRED:
        if not isinstance(record.get(name), str) or not record[name].strip():
            errors.append(f"{where}{name}: bắt buộc (chuỗi không rỗng)")
    for name in RECORD_DATES:
        _check_date(errors, where, name, record.get(name), required=False)
    for name in OPTIONAL_DATES:
        if name in record:
            _check_date(errors, where, name, record[name], required=False)
    status = record.get("TrangThaiHoSo")
    if isinstance(status, str) and status and status not in STATUS_CODES:
        errors.append(f"{where}TrangThaiHoSo: phải là \"1\" đến \"10\" ({status!r})")
    if status in NEEDS_RECEIVED and record.get("NgayTiepNhan") == "":
        errors.append(f"{where}NgayTiepNhan: bắt buộc khi TrangThaiHoSo là {status}")
    if status == "10" and record.get("NgayTra") == "":
        errors.append(f"{where}NgayTra: bắt buộc khi TrangThaiHoSo là 10")
    if isinstance(record.get("LoaiDoiTuong"), str) and record["LoaiDoiTuong"] and \
            record["LoaiDoiTuong"] not in ("1", "2", "3", "4"):
        errors.append(f"{where}LoaiDoiTuong: phải là \"1\" đến \"4\"")
    for name, allowed in (("KenhThucHien", ("1", "2", "3")), ("HinhThuc", ("0", "1")),
                          ("DuocThanhToanTrucTuyen", ("1", "3"))):
        if name in record and record[name] not in allowed:
            errors.append(f"{where}{name}: phải là một trong {', '.join(allowed)}")
    _check_limits(errors, where, record, LIMITS)
    for name, (required, dates, url) in LISTS.items():
        items = record.get(name, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            errors.append(f"{where}{name}: phải là danh sách đối tượng")
            continue
        for n, item in enumerate(items):
            at = f"{where}{name}[{n}]."
            for field in required:
                if field not in item or item[field] in (None, ""):
                    errors.append(f"{at}{field}: bắt buộc")
            for field in dates:
                if field in item:
                    _check_date(errors, at, field, item[field], required=field in required)
            if url and isinstance(item.get(url), str) and item[url] and \
                    not re.match(r"^https?://", item[url]):
                errors.append(f"{at}{url}: phải là đường dẫn http(s) công khai")
            if name == "DanhSachLePhi" and "Gia" in item and not re.fullmatch(r"\d{1,15}", str(item["Gia"])):
                errors.append(f"{at}Gia: phải là số tiền nguyên, không âm")
    code = record.get("MaTTHC")
    if catalogue is not None and isinstance(code, str) and code.strip() and code not in catalogue:
        errors.append(f"{where}MaTTHC: thủ tục {code} không tồn tại trên CSDL TTHC quốc gia")
    return errors


def check_progress(row: Any) -> list[str]:
    if not isinstance(row, dict):
        return ["data: mỗi phần tử phải là một đối tượng tiến độ"]
    where = f"{row.get('MaHoSo') or '?'}: "
    errors: list[str] = []
    for name in PROGRESS_REQUIRED:
        if not isinstance(row.get(name), str) or not row[name].strip():
            errors.append(f"{where}{name}: bắt buộc (chuỗi không rỗng)")
    if isinstance(row.get("ThoiDiemXuLy"), str) and row["ThoiDiemXuLy"]:
        _check_date(errors, where, "ThoiDiemXuLy", row["ThoiDiemXuLy"], required=True)
    for name in PROGRESS_DATES:
        _check_date(errors, where, name, row.get(name), required=False)
    for name in ("ChucDanh", "PhongBanXuLy"):
        if not isinstance(row.get(name, ""), str):
            errors.append(f"{where}{name}: kiểu chuỗi")
    status = row.get("TrangThai")
    if isinstance(status, str) and status and status not in STATUS_CODES:
        errors.append(f"{where}TrangThai: phải là \"1\" đến \"10\" ({status!r})")
    _check_limits(errors, where, row, PROGRESS_LIMITS)
    return errors


# --- the portal --------------------------------------------------------------------------------------------

class Portal:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.behaviour = settings.behaviour or Behaviour()
        self.lock = threading.Lock()
        self.random = random.Random(settings.seed)
        self.rotation = 0
        self.log = common.EventLog(SERVICE)
        self.store = common.Store(settings.db_path, SCHEMA)
        self._seed_catalogue()

    def _seed_catalogue(self) -> None:
        """Procedures from the data file, once: later changes (PUT /v1/procedures) survive a restart."""
        with open(self.settings.catalogue_file, encoding="utf-8") as handle:
            procedures = json.load(handle)["procedures"]
        now = common.utc_now()
        with self.store.transaction() as conn:
            for procedure in procedures:
                conn.execute("INSERT OR IGNORE INTO procedures (ma_tthc, data, updated_at) VALUES (?, ?, ?)",
                             (procedure["MATTHC"], json.dumps(procedure, ensure_ascii=False), now))

    # answers

    def code(self, value: int) -> int | str:
        with self.lock:
            form = self.behaviour.error_code_form
            if form == "rotate":
                form = ERROR_CODE_FORMS[self.rotation % 3]
                self.rotation += 1
        if form == "number":
            return value
        if value == OK and form == "padded":
            return "00"
        return str(value)

    def answer(self, value: int, message: str, **extra: Any) -> dict:
        return {"error_code": self.code(value), "message": message, **extra}

    def record_call(self, service: str, outcome: str, ma_ho_so: str | None = None, message: str = "") -> None:
        self.store.execute("INSERT INTO calls (at, service, outcome, ma_ho_so, message) VALUES (?, ?, ?, ?, ?)",
                           (common.utc_now(), service, outcome, ma_ho_so, message[:500]))

    def disturbance(self, service: str) -> Response | None:
        """Down, slow, failing or garbled, as configured; None when the call goes through."""
        with self.lock:
            b = self.behaviour
            delay_s = b.delay_ms / 1000
            if b.down:
                kind = "down"
            elif b.fail_next > 0:
                b.fail_next -= 1
                kind = "failed"
            elif self.random.random() < b.fail_rate:
                kind = "failed"
            elif self.random.random() < b.garbage_rate:
                kind = "garbage"
            else:
                kind = None
        if delay_s:
            time.sleep(delay_s)
        if kind is None:
            return None
        self.record_call(service, kind)
        self.log.warning("call.disturbed", service_name=service, outcome=kind)
        if kind == "down":
            return Response("<html><body><h1>503 Service Unavailable</h1></body></html>", 503,
                            content_type="text/html; charset=utf-8")
        if kind == "garbage":
            return Response("<html><body>Hệ thống đang bảo trì</body></html>", 200,
                            content_type="text/html; charset=utf-8")
        return Response(json.dumps(self.answer(INVALID, "Lỗi hệ thống, vui lòng thử lại sau"), ensure_ascii=False),
                        500, content_type="application/json; charset=utf-8")

    def lose_answer(self) -> bool:
        with self.lock:
            return self.random.random() < self.behaviour.duplicate_rate

    # sessions

    def open_session(self, username: str) -> str:
        token = secrets.token_urlsafe(24)
        now = time.time()
        with self.lock:
            ttl = self.behaviour.session_ttl_s
        self.store.execute("INSERT INTO sessions (token, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
                           (token, username, now, now + ttl))
        self.store.execute("DELETE FROM sessions WHERE expires_at < ?", (now - 3600,))
        return token

    def session_valid(self, token: Any) -> bool:
        if not isinstance(token, str) or not token:
            return False
        row = self.store.query_one("SELECT expires_at FROM sessions WHERE token = ?", (token,))
        return bool(row) and row["expires_at"] > time.time()

    # catalogue

    def catalogue_codes(self) -> set[str]:
        return {row["ma_tthc"] for row in self.store.query("SELECT ma_tthc FROM procedures")}

    def procedure(self, code: str) -> dict | None:
        row = self.store.query_one("SELECT data FROM procedures WHERE ma_tthc = ?", (code,))
        return json.loads(row["data"]) if row else None

    def procedures(self) -> list[dict]:
        return [json.loads(row["data"]) for row in self.store.query("SELECT data FROM procedures ORDER BY ma_tthc")]

    def procedure_list(self) -> list[dict]:
        """LayDanhSachTTHC's items. NGAYCAPNHAT, the moment of the procedure's last change (yyyyMMddHHmmssfff,
        UTC), is the simulator's: the reference shows no change mark, so a caller must work without one too."""
        rows = self.store.query("SELECT data, updated_at FROM procedures ORDER BY ma_tthc")
        items = []
        for row in rows:
            p = json.loads(row["data"])
            mark = re.sub(r"\D", "", row["updated_at"])[:17]
            items.append({"MATTHC": p["MATTHC"], "TENTTHC": p["TENTTHC"], "TRANGTHAI": p.get("TRANGTHAI", "1"),
                          "NGAYCAPNHAT": mark})
        return items

    # dossiers

    def known(self, ma_ho_so: str) -> dict | None:
        row = self.store.query_one("SELECT record FROM dossiers WHERE ma_ho_so = ?", (ma_ho_so,))
        return json.loads(row["record"]) if row else None


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    portal = Portal(settings)
    log = portal.log
    app = common.create_app(SERVICE, log)
    app.config["PORTAL"] = portal

    def reply(body: dict, service: str, outcome: str, ma_ho_so: str | None = None) -> tuple[dict, int]:
        portal.record_call(service, outcome, ma_ho_so, str(body.get("message", "")))
        log.info("call.answered", service_name=service, outcome=outcome, ma_ho_so=ma_ho_so)
        return body, 200

    def request_object() -> dict | None:
        body = request.get_json(silent=True, force=True)
        return body if isinstance(body, dict) else None

    @app.post("/dvcqg/auth")
    def auth():
        disturbed = portal.disturbance("auth")
        if disturbed is not None:
            return disturbed
        body = request_object()
        if body is None:
            return reply(portal.answer(INVALID, "Dữ liệu yêu cầu không phải JSON"), "auth", "invalid")
        if settings.dstcode and request.headers.get("dstcode", "") != settings.dstcode:
            return reply(portal.answer(INVALID, "Sai mã hệ thống (dstcode)"), "auth", "refused")
        if body.get("username") != settings.username or body.get("password") != settings.password:
            return reply(portal.answer(INVALID, "Sai tên đăng nhập hoặc mật khẩu"), "auth", "refused")
        token = portal.open_session(settings.username)
        return reply(portal.answer(OK, "Thành công", session=token), "auth", "ok")

    @app.post("/dvcqg/integration")
    def integration():
        body = request_object()
        service = body.get("service") if body else None
        name = service if isinstance(service, str) and service in HANDLERS else "unknown"
        disturbed = portal.disturbance(name)
        if disturbed is not None:
            return disturbed
        if body is None:
            return reply(portal.answer(INVALID, "Dữ liệu yêu cầu không phải JSON"), name, "invalid")
        if not portal.session_valid(body.get("session")):
            return reply(portal.answer(EXPIRED, "Phiên làm việc (session) không hợp lệ hoặc đã hết hạn"),
                         name, "expired")
        if not isinstance(body.get("madonvi"), str) or not body["madonvi"].strip():
            return reply(portal.answer(INVALID, "Thiếu mã đơn vị (madonvi)"), name, "invalid")
        if name == "unknown":
            return reply(portal.answer(INVALID, f"Dịch vụ không được hỗ trợ: {service!r}"), name, "invalid")
        return HANDLERS[name](body)

    def sync_dossiers(body: dict):
        service = "DongBoHoSoMC"
        updating, data = body.get("isUpdating"), body.get("data")
        if updating not in ("True", "False"):
            return reply(portal.answer(INVALID, "isUpdating phải là \"True\" hoặc \"False\""), service, "invalid")
        if not isinstance(data, list) or not data:
            return reply(portal.answer(INVALID, "data phải là danh sách hồ sơ, không rỗng"), service, "invalid")
        catalogue = portal.catalogue_codes() if settings.check_procedures else None
        problems = [problem for record in data for problem in check_record(record, catalogue)]
        codes = [record["MaHoSo"] for record in data if isinstance(record, dict)]
        first = codes[0] if codes else None
        if problems:
            return reply(portal.answer(INVALID, "Dữ liệu không hợp lệ: " + "; ".join(problems)), service,
                         "invalid", first)
        for code in codes:
            known = portal.known(code) is not None
            if updating == "False" and known:
                return reply(portal.answer(EXISTS, f"Hồ sơ {code} đã tồn tại trên Cổng DVCQG"), service,
                             "exists", code)
            if updating == "True" and not known:
                return reply(portal.answer(UNKNOWN, f"Hồ sơ {code} chưa tồn tại trên Cổng DVCQG"), service,
                             "unknown", code)
        now = common.utc_now()
        with portal.store.transaction() as conn:
            for record in data:
                text = json.dumps(record, ensure_ascii=False)
                conn.execute("INSERT INTO records (ma_ho_so, is_updating, record, received_at) VALUES (?, ?, ?, ?)",
                             (record["MaHoSo"], updating, text, now))
                conn.execute("INSERT INTO dossiers (ma_ho_so, record, first_received_at, last_received_at)"
                             " VALUES (?, ?, ?, ?) ON CONFLICT (ma_ho_so) DO UPDATE SET record = excluded.record,"
                             " last_received_at = excluded.last_received_at", (record["MaHoSo"], text, now, now))
        if portal.lose_answer():
            portal.record_call(service, "answer_lost", first)
            return Response("<html><body>504 Gateway Time-out</body></html>", 504, content_type="text/html")
        return reply(portal.answer(OK, "Đồng bộ hồ sơ thành công", result=[{"MaHoSo": c} for c in codes]),
                     service, "ok", first)

    def sync_progress(body: dict):
        service = "CapNhatTienDoHoSoMC"
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return reply(portal.answer(INVALID, "data phải là danh sách tiến độ, không rỗng"), service, "invalid")
        problems = [problem for row in data for problem in check_progress(row)]
        first = data[0].get("MaHoSo") if isinstance(data[0], dict) else None
        if problems:
            return reply(portal.answer(INVALID, "Dữ liệu không hợp lệ: " + "; ".join(problems)), service,
                         "invalid", first)
        for code in {row["MaHoSo"] for row in data}:
            if portal.known(code) is None:
                return reply(portal.answer(UNKNOWN, f"Hồ sơ {code} chưa tồn tại trên Cổng DVCQG"), service,
                             "unknown", code)
        now = common.utc_now()
        with portal.store.transaction() as conn:
            for row in data:
                conn.execute("INSERT INTO progress (ma_ho_so, row, received_at) VALUES (?, ?, ?)",
                             (row["MaHoSo"], json.dumps(row, ensure_ascii=False), now))
        if portal.lose_answer():
            portal.record_call(service, "answer_lost", first)
            return Response("<html><body>504 Gateway Time-out</body></html>", 504, content_type="text/html")
        return reply(portal.answer(OK, "Cập nhật tiến độ thành công"), service, "ok", first)

    def look_up_dossier(body: dict):
        code = body.get("mahoso")
        if not isinstance(code, str) or not code.strip():
            return reply(portal.answer(INVALID, "Thiếu mahoso"), "TraCuuHoSo", "invalid")
        record = portal.known(code)
        return reply(portal.answer(OK, "Thành công", result=[record] if record else []), "TraCuuHoSo", "ok", code)

    def one_procedure(body: dict):
        code = body.get("maTTHC")
        if not isinstance(code, str) or not code.strip():
            return reply(portal.answer(INVALID, "Thiếu maTTHC"), "LayThuTuc", "invalid")
        procedure = portal.procedure(code)
        return reply(portal.answer(OK, "Thành công", result=[procedure] if procedure else []), "LayThuTuc", "ok")

    def all_procedures(body: dict):
        result = portal.procedure_list()
        return reply(portal.answer(OK, "Thành công", result=result), "LayDanhSachTTHC", "ok")

    HANDLERS = {"DongBoHoSoMC": sync_dossiers, "CapNhatTienDoHoSoMC": sync_progress, "TraCuuHoSo": look_up_dossier,
                "LayThuTuc": one_procedure, "LayDanhSachTTHC": all_procedures}

    # --- the simulator's own face, for tests and the demo ---------------------------------------------------

    def dossier_view(code: str) -> dict | None:
        row = portal.store.query_one("SELECT * FROM dossiers WHERE ma_ho_so = ?", (code,))
        if row is None:
            return None
        progress = portal.store.query("SELECT row FROM progress WHERE ma_ho_so = ? ORDER BY id", (code,))
        return {"record": json.loads(row["record"]), "progress": [json.loads(p["row"]) for p in progress],
                "first_received_at": row["first_received_at"], "last_received_at": row["last_received_at"]}

    @app.get("/v1/dossiers/<path:code>/records")
    def dossier_records(code: str):
        rows = portal.store.query("SELECT * FROM records WHERE ma_ho_so = ? ORDER BY id", (code,))
        if not rows:
            return common.error(404, f"Dossier {code} was never received")
        return {"items": [{"is_updating": r["is_updating"], "received_at": r["received_at"],
                           "record": json.loads(r["record"])} for r in rows]}

    @app.get("/v1/dossiers/<path:code>")
    def dossier(code: str):
        view = dossier_view(code)
        if view is None:
            return common.error(404, f"Dossier {code} was never received")
        return view

    @app.get("/v1/dossiers")
    def dossiers():
        rows = portal.store.query(
            "SELECT d.ma_ho_so, d.record, d.first_received_at, d.last_received_at,"
            " (SELECT COUNT(*) FROM progress p WHERE p.ma_ho_so = d.ma_ho_so) AS progress_rows,"
            " (SELECT COUNT(*) FROM records r WHERE r.ma_ho_so = d.ma_ho_so) AS records"
            " FROM dossiers d ORDER BY d.first_received_at, d.ma_ho_so")
        items = []
        for row in rows:
            record = json.loads(row["record"])
            items.append({"MaHoSo": row["ma_ho_so"], "MaTTHC": record.get("MaTTHC"),
                          "TrangThaiHoSo": record.get("TrangThaiHoSo"), "records": row["records"],
                          "progress_rows": row["progress_rows"], "first_received_at": row["first_received_at"],
                          "last_received_at": row["last_received_at"]})
        return {"items": items, "total": len(items)}

    @app.get("/v1/calls")
    def calls():
        service = request.args.get("service")
        where, params = ("WHERE service = ?", (service,)) if service else ("", ())
        rows = portal.store.query(f"SELECT * FROM calls {where} ORDER BY id", params)
        return {"items": rows, "total": len(rows)}

    @app.get("/v1/procedures")
    def procedures():
        return {"items": portal.procedures()}

    @app.put("/v1/procedures/<path:code>")
    def put_procedure(code: str):
        """Adds or changes a procedure of the national catalogue (the catalogue sync's tests use it)."""
        body = common.json_body()
        if not isinstance(body, dict):
            return body
        if not isinstance(body.get("TENTTHC"), str) or not body["TENTTHC"].strip():
            return common.error(422, "Invalid procedure", {"TENTTHC": ["Required: the procedure's name."]})
        procedure = {**body, "MATTHC": code}
        portal.store.execute(
            "INSERT INTO procedures (ma_tthc, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (ma_tthc)"
            " DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (code, json.dumps(procedure, ensure_ascii=False), common.utc_now()))
        log.info("procedure.saved", ma_tthc=code)
        return procedure

    @app.delete("/v1/procedures/<path:code>")
    def delete_procedure(code: str):
        if portal.store.execute("DELETE FROM procedures WHERE ma_tthc = ?", (code,)).rowcount == 0:
            return common.error(404, f"No procedure {code}")
        return "", 204

    @app.get("/v1/control")
    def get_control():
        with portal.lock:
            return asdict(portal.behaviour)

    @app.put("/v1/control")
    def put_control():
        body = common.json_body()
        if not isinstance(body, dict):
            return body
        names = {f.name for f in fields(Behaviour)}
        unknown = sorted(set(body) - names)
        if unknown:
            return common.error(422, "Invalid control", {name: ["Unknown setting."] for name in unknown})
        with portal.lock:
            candidate = Behaviour(**{**asdict(portal.behaviour), **body})
            problems = candidate.errors()
            if not problems:
                portal.behaviour = candidate
        if problems:
            return common.error(422, "Invalid control", problems)
        log.info("control.changed", **body)
        return asdict(candidate)

    @app.post("/v1/control/expire-sessions")
    def expire_sessions():
        expired = portal.store.execute("UPDATE sessions SET expires_at = ? WHERE expires_at > ?",
                                       (time.time() - 1, time.time())).rowcount
        log.info("sessions.expired", count=expired)
        return {"expired": expired}

    @app.delete("/v1/dossiers")
    def clear():
        with portal.store.transaction() as conn:
            deleted = conn.execute("DELETE FROM dossiers").rowcount
            for table in ("records", "progress", "calls"):
                conn.execute(f"DELETE FROM {table}")
        return {"deleted": deleted}

    return app


def main() -> None:
    settings = Settings.from_env()
    log = common.EventLog(SERVICE)
    problems = settings.behaviour.errors()
    if problems:
        log.error("config.invalid", problems=problems)
        raise SystemExit(f"invalid DVCQG_SIM_* setting: {problems}")
    app = create_app(settings)
    common.warn_default_secret(log, "DVCQG_SIM_PASSWORD", settings.password, DEFAULT_PASSWORD)
    common.serve(app, log, common.env_int("DVCQG_SIM_PORT", 8104))


if __name__ == "__main__":
    main()

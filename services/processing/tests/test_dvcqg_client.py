"""The DVCQG client and mapping, against the real national portal simulator served on a local port."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from motcua_sims import dvcqg as sim
from processing.dvcqg import (DvcqgAlreadyExists, DvcqgAuthFailed, DvcqgClient, DvcqgRejected, DvcqgUnavailable,
                              DvcqgUnknownDossier, is_success, national_date, national_record, progress_row)

CODE = "000.00.06.H56-261124-0001"
PASSWORD = sim.DEFAULT_PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Portal:
    """The simulator's app served by werkzeug on 127.0.0.1:<free port> in a thread."""

    def __init__(self, tmp_path, **behaviour):
        settings = sim.Settings(db_path=str(tmp_path / "dvcqg.db"), seed=3, behaviour=sim.Behaviour(**behaviour))
        self.server = make_server("127.0.0.1", 0, sim.create_app(settings), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def control(self, **changes):
        response = requests.put(f"{self.url}/v1/control", json=changes, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def calls(self, service=None):
        return requests.get(f"{self.url}/v1/calls", params={"service": service} if service else {},
                            timeout=5).json()["items"]

    def dossier(self, code=CODE):
        response = requests.get(f"{self.url}/v1/dossiers/{code}", timeout=5)
        return response.json() if response.status_code == 200 else None

    def client(self, **overrides):
        options = {"timeout": 5.0, **overrides}
        return DvcqgClient(self.url, "/dvcqg/auth", "/dvcqg/integration", options.pop("username", "motcua"),
                           options.pop("password", PASSWORD), "000.00.06.H56", options.pop("dstcode", ""),
                           **options)


@pytest.fixture
def portal(tmp_path):
    p = Portal(tmp_path)
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
def make_portal(tmp_path):
    started = []

    def start(**behaviour):
        started.append(Portal(tmp_path / str(len(started)), **behaviour))
        return started[-1]

    yield start
    for p in started:
        p.server.shutdown()
        p.server.server_close()


def case(**overrides):
    data = {
        "code": CODE,
        "procedure": {"code": "1.004873.H56", "name": "Cấp Giấy xác nhận tình trạng hôn nhân",
                      "field_code": "HO_TICH", "field_name": "Hộ tịch"},
        "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
        "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001203004567",
                      "phone": "84912345678", "email": "anh.dang@example.vn"},
        "status": "submitted",
        "channel": "online",
        "delivery": {"method": "post"},
        "submitted_at": "2026-11-24T02:00:00.000Z",
        "documents": [{"code": "TK_XAC_NHAN", "name": "Tờ khai", "upload_id": "up-1", "filename": "to-khai.pdf",
                       "url": "http://127.0.0.1:8001/v1/public-files/up-1"}],
        "fees": [{"code": "LP.1.004873.H56", "name": "Lệ phí cấp giấy xác nhận", "amount_vnd": 10000,
                  "method": "online"}],
        "paid_online": True,
    }
    data.update(overrides)
    return data


def step(status, at, **overrides):
    return {"code": CODE, "status": status, "at": at, "actor_name": "Nguyễn Văn Bình",
            "actor_title": "Công chức một cửa", "department": "Bộ phận một cửa", **overrides}


# --- the session ---------------------------------------------------------------------------------------------

def test_one_session_serves_many_calls(portal):
    client = portal.client()
    for _ in range(40):
        assert client.exists(CODE) is False
    assert len(portal.calls("auth")) == 1 and client.sessions_opened == 1
    assert len(portal.calls("TraCuuHoSo")) == 40


def test_one_kept_alive_connection_serves_many_calls(tmp_path):
    """Werkzeug's server closes every connection, so the simulator runs here under gunicorn's threaded worker."""
    port = free_port()
    env = {**os.environ, "DVCQG_SIM_DB": str(tmp_path / "sim.db"),
           "PYTHONPATH": str(Path(sim.__file__).parents[1])}
    process = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-k", "gthread", "--threads", "2",
                                "--keep-alive", "30", "-b", f"127.0.0.1:{port}", "motcua_sims.dvcqg:create_app()"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=5)
                break
            except requests.RequestException:
                assert process.poll() is None and time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        client = DvcqgClient(url, "/dvcqg/auth", "/dvcqg/integration", "motcua", PASSWORD, "000.00.06.H56")
        for _ in range(30):
            assert client.exists(CODE) is False
        pools = client.http.get_adapter(url).poolmanager.pools
        [pool] = [pools[key] for key in pools.keys()]
        assert pool.num_requests == 31 and pool.num_connections == 1
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_session_is_renewed_before_it_expires_so_no_call_meets_an_expired_one(make_portal):
    portal = make_portal(session_ttl_s=1.2)
    client = portal.client(session_ttl_s=1.2, renew_margin_s=0.5)
    deadline = time.monotonic() + 2.0
    calls = 0
    while time.monotonic() < deadline:
        client.exists(CODE)
        calls += 1
        time.sleep(0.05)
    assert len(portal.calls("auth")) in (3, 4)  # renewed every 0.7 s over 2 s
    assert [c for c in portal.calls() if c["outcome"] == "expired"] == []
    assert len(portal.calls("TraCuuHoSo")) == calls


def test_the_session_is_kept_until_its_renewal_time_and_not_a_moment_longer(portal):
    now = [1000.0]
    client = portal.client(session_ttl_s=600, renew_margin_s=60, clock=lambda: now[0])
    client.exists(CODE)
    now[0] += 539
    client.exists(CODE)
    assert client.sessions_opened == 1
    now[0] += 1
    client.exists(CODE)
    assert client.sessions_opened == 2 and len(portal.calls("auth")) == 2


def test_a_session_ended_mid_stream_is_renewed_once_and_no_step_is_lost(portal):
    client = portal.client()
    record, _ = national_record(case())
    client.push_dossier(record, is_updating=False)
    statuses = ["submitted", "received", "in_review", "result_ready", "returned"]
    for n, status in enumerate(statuses):
        if n == 2:
            assert requests.post(f"{portal.url}/v1/control/expire-sessions", timeout=5).json() == {"expired": 1}
        row, _ = progress_row(step(status, f"2026-11-24T0{2 + n}:00:00.000Z"))
        client.push_progress([row])
    assert [row["TrangThai"] for row in portal.dossier()["progress"]] == ["1", "2", "4", "9", "10"]
    assert len(portal.calls("auth")) == 2
    outcomes = [c["outcome"] for c in portal.calls("CapNhatTienDoHoSoMC")]
    assert outcomes == ["ok", "ok", "expired", "ok", "ok", "ok"]


def test_a_session_refused_again_right_after_renewal_is_a_failure_to_retry(portal):
    client = portal.client(session_ttl_s=0.01, renew_margin_s=0)
    portal.control(session_ttl_s=0.000001)
    with pytest.raises(DvcqgUnavailable, match="refused at once"):
        client.exists(CODE)
    assert len(portal.calls("auth")) == 2


def test_refused_credentials_are_a_configuration_fault_retried_not_parked(portal):
    with pytest.raises(DvcqgAuthFailed, match="Sai tên đăng nhập") as raised:
        portal.client(password="wrong").exists(CODE)
    assert isinstance(raised.value, DvcqgUnavailable) and not isinstance(raised.value, DvcqgRejected)


def test_the_dstcode_header_goes_with_the_auth_call(tmp_path):
    settings = sim.Settings(db_path=str(tmp_path / "d.db"), dstcode="MOTCUA-H56")
    server = make_server("127.0.0.1", 0, sim.create_app(settings), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        args = (url, "dvcqg/auth", "dvcqg/integration", "motcua", PASSWORD, "000.00.06.H56")
        assert DvcqgClient(*args, dstcode="MOTCUA-H56").exists(CODE) is False
        with pytest.raises(DvcqgAuthFailed):
            DvcqgClient(*args).exists(CODE)
    finally:
        server.shutdown()
        server.server_close()


# --- answers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["number", "string", "padded", "rotate"])
def test_success_in_each_error_code_form_is_success(make_portal, form):
    portal = make_portal(error_code_form=form)
    client = portal.client()
    record, _ = national_record(case())
    assert client.upsert_dossier(record) == "created"
    client.push_progress([progress_row(step("submitted", "2026-11-24T02:00:00Z"))[0]])
    assert client.exists(CODE) is True
    assert len(client.list_procedures()) == 25
    with pytest.raises(DvcqgAlreadyExists):
        client.push_dossier(record, is_updating=False)
    assert len(portal.dossier()["progress"]) == 1


@pytest.mark.parametrize("code, success", [
    (0, True), ("0", True), ("00", True), (False, False), (0.0, False), (" 0", False), ("000", False),
    (None, False), ("OK", False), (1, False),
])
def test_only_the_three_forms_of_zero_are_success(code, success):
    assert is_success(code) is success


def test_a_new_dossier_the_portal_already_holds_is_sent_again_as_an_update(portal):
    client = portal.client()
    record, _ = national_record(case())
    client.push_dossier(record, is_updating=False)
    received, _ = national_record(case(status="received", received_at="2026-11-24T02:30:00Z",
                                       due_at="2026-11-27T02:30:00Z"))
    with pytest.raises(DvcqgAlreadyExists, match="đã tồn tại"):
        client.push_dossier(received, is_updating=False)
    assert client.upsert_dossier(received) == "updated"
    history = requests.get(f"{portal.url}/v1/dossiers/{CODE}/records", timeout=5).json()["items"]
    assert [(h["is_updating"], h["record"]["TrangThaiHoSo"]) for h in history] == [("False", "1"), ("True", "2")]
    assert portal.dossier()["record"]["NgayTiepNhan"] == "20261124093000"


def test_an_update_of_a_dossier_the_portal_never_got_is_sent_as_new(portal):
    client = portal.client()
    record, _ = national_record(case())
    with pytest.raises(DvcqgUnknownDossier):
        client.push_dossier(record, is_updating=True)
    assert client.upsert_dossier(record, known=True) == "created"
    assert portal.dossier()["record"] == record


def test_an_unknown_procedure_is_rejected_with_the_portals_message(portal):
    record, _ = national_record(case(procedure={"code": "9.999999.H56", "name": "Không có"}))
    with pytest.raises(DvcqgRejected, match="không tồn tại trên CSDL TTHC") as raised:
        portal.client().upsert_dossier(record)
    assert not isinstance(raised.value, DvcqgUnavailable)
    assert portal.dossier() is None


def test_an_empty_progress_call_is_refused_before_it_leaves(portal):
    with pytest.raises(ValueError):
        portal.client().push_progress([])
    assert portal.calls() == []


def test_progress_of_a_dossier_the_portal_never_got_is_rejected(portal):
    with pytest.raises(DvcqgUnknownDossier, match=CODE):
        portal.client().push_progress([progress_row(step("received", "2026-11-24T02:00:00Z"))[0]])


@pytest.mark.parametrize("behaviour", [{"down": True}, {"fail_next": 1}, {"garbage_rate": 1.0}])
def test_down_failing_or_garbled_portal_is_a_failure_to_retry_and_then_it_goes_through(make_portal, behaviour):
    portal = make_portal()
    client = portal.client()
    client.exists(CODE)  # a session first, so the disturbance hits the data call
    portal.control(**behaviour)
    record, _ = national_record(case())
    with pytest.raises(DvcqgUnavailable):
        client.push_dossier(record, is_updating=False)
    assert portal.dossier() is None
    portal.control(down=False, garbage_rate=0.0)
    assert client.upsert_dossier(record) == "created"
    assert client.sessions_opened == 1


def test_a_slow_portal_is_a_timeout_to_retry(make_portal):
    portal = make_portal()
    client = portal.client(timeout=0.3)
    client.exists(CODE)
    portal.control(delay_ms=800)
    with pytest.raises(DvcqgUnavailable, match="Timeout"):
        client.exists(CODE)


class Stub:
    """A portal that answers every POST with the next canned body: for answers the simulator never gives."""

    def __init__(self, bodies):
        self.bodies = list(bodies)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = stub.bodies.pop(0)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = DvcqgClient(f"http://127.0.0.1:{self.server.server_port}", "/auth", "/api", "u", "p", "x")


@pytest.mark.parametrize("answer", [
    {"error_code": False, "message": "thành công"},
    {"error_code": None},
    {"error_code": "OK"},
    {"error_code": 0.0},
    {"message": "Đồng bộ thành công"},
    ["error_code", 0],
    b"",
    b"<html>Gateway</html>",
    b'{"error_code": 0',
])
def test_an_answer_that_cannot_be_read_is_a_failure_never_a_success(answer):
    stub = Stub([{"error_code": 0, "session": "s1"}, answer])
    try:
        with pytest.raises(DvcqgUnavailable):
            stub.client.push_progress([{"MaHoSo": CODE}])
    finally:
        stub.server.shutdown()
        stub.server.server_close()


@pytest.mark.parametrize("auth", [{"error_code": 0}, {"error_code": 0, "session": ""}, {"error_code": "x"}])
def test_an_auth_answer_without_a_usable_session_is_a_failure(auth):
    stub = Stub([auth])
    try:
        with pytest.raises(DvcqgUnavailable):
            stub.client.exists(CODE)
    finally:
        stub.server.shutdown()
        stub.server.server_close()


def test_already_exists_is_recognised_even_beside_a_zero_code_and_system_errors_are_retried():
    stub = Stub([{"error_code": 0, "session": "s1"},
                 {"error_code": "0", "message": "Hồ sơ đã tồn tại"},
                 {"error_code": -1, "message": "Lỗi hệ thống, vui lòng thử lại sau"},
                 {"error_code": 3, "message": "Thông tin không hợp lệ"}])
    try:
        with pytest.raises(DvcqgAlreadyExists):
            stub.client.push_dossier({"MaHoSo": CODE}, is_updating=False)
        with pytest.raises(DvcqgUnavailable):
            stub.client.push_dossier({"MaHoSo": CODE}, is_updating=True)
        with pytest.raises(DvcqgRejected, match="Thông tin không hợp lệ"):
            stub.client.push_dossier({"MaHoSo": CODE}, is_updating=True)
    finally:
        stub.server.shutdown()
        stub.server.server_close()


# --- catalogue -------------------------------------------------------------------------------------------

def test_the_catalogue_and_one_procedure_come_down_from_the_portal(portal):
    client = portal.client()
    listed = client.list_procedures()
    birth = next(item for item in listed if item["MATTHC"] == "1.001193.H56")
    assert birth["TENTTHC"] == "Đăng ký khai sinh" and birth["TRANGTHAI"] == "1"
    procedure = client.get_procedure("1.001193.H56")
    assert procedure["LINHVUCTHUCHIEN"] == [{"MALINHVUC": "HO_TICH", "TENLINHVUC": "Hộ tịch"}]
    assert client.get_procedure("9.999999.H56") is None


# --- the mapping -----------------------------------------------------------------------------------------

def test_dates_are_vietnam_time_in_the_portals_format_and_empty_when_missing():
    assert national_date("2026-11-24T02:00:00.000Z") == "20261124090000"
    assert national_date("2026-11-24T20:30:15+00:00") == "20261125033015"
    assert national_date(None) == "" and national_date("") == ""


def test_a_case_maps_to_the_national_record_the_portal_accepts(portal):
    record, cuts = national_record(case(
        status="supplement_requested", received_at="2026-11-24T02:30:00.000Z", due_at="2026-11-27T10:00:00.000Z",
        supplements=[{"request_no": 1, "requested_by": "Nguyễn Văn Bình", "reason": "Thiếu tờ khai có chữ ký",
                      "requested_at": "2026-11-24T03:00:00.000Z"}],
        results=[{"code": "GXN", "name": "Giấy xác nhận", "file_id": "f-9", "url": "https://motcua.example/f/f-9"}]))
    assert cuts == []
    assert {k: record[k] for k in ("MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "ChuHoSo", "LoaiDoiTuong",
                                   "TrangThaiHoSo", "KenhThucHien", "HinhThuc", "DuocThanhToanTrucTuyen",
                                   "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy")} == {
        "MaHoSo": CODE, "MaTTHC": "1.004873.H56", "TenTTHC": "Cấp Giấy xác nhận tình trạng hôn nhân",
        "MaLinhVuc": "HO_TICH", "ChuHoSo": "Đặng Thị Ngọc Ánh", "LoaiDoiTuong": "1", "TrangThaiHoSo": "5",
        "KenhThucHien": "2", "HinhThuc": "1", "DuocThanhToanTrucTuyen": "1", "NgayNopHoSo": "20261124090000",
        "NgayTiepNhan": "20261124093000", "NgayHenTra": "20261127170000", "NgayTra": "", "NgayKetThucXuLy": ""}
    assert record["DinhDanhCHS"] == [{"LoaiDinhDanh": "1", "SoDinhDanh": "001203004567"}]
    assert record["TaiLieuNop"] == [{"TepDinhKemId": "up-1", "TenTepDinhKem": "to-khai.pdf", "IsDeleted": "False",
                                     "MaThanhPhanHoSo": "TK_XAC_NHAN",
                                     "DuongDanTaiTepTin": "http://127.0.0.1:8001/v1/public-files/up-1"}]
    assert record["DanhSachLePhi"] == [{"TenPhiLePhi": "Lệ phí cấp giấy xác nhận", "MaPhiLePhi": "LP.1.004873.H56",
                                        "HinhThucThu": "2", "Gia": "10000", "LoaiPhiLePhi": "2"}]
    assert record["DanhSachHoSoBoSung"][0]["HoSoBoSungId"] == f"{CODE}-BS1"
    assert record["DanhSachHoSoBoSung"][0]["NgayBoSung"] == "20261124100000"
    assert record["DanhSachGiayToKetQua"][0]["DuongDanTepTinKetQua"] == "https://motcua.example/f/f-9"
    assert portal.client().upsert_dossier(record) == "created"
    assert portal.dossier()["record"] == record


@pytest.mark.parametrize("overrides, expected", [
    ({"channel": "counter", "delivery": {"method": "counter"}, "paid_online": False},
     {"KenhThucHien": "1", "HinhThuc": "0", "DuocThanhToanTrucTuyen": "3", "NoiNopHoSo": "1"}),
    ({"channel": "post"}, {"KenhThucHien": "3"}),
    ({"applicant": {"type": "business", "full_name": "Công ty TNHH Ánh Dương", "id_number": "0101234567"}},
     {"LoaiDoiTuong": "2", "DinhDanhCHS": [], "SoGiayToChuHoSo": "0101234567"}),
    ({"applicant": {"type": "agency", "full_name": "UBND xã Ngọc Thanh"}}, {"LoaiDoiTuong": "3"}),
    ({"applicant": {"type": "organisation", "full_name": "Hội Chữ thập đỏ"}}, {"LoaiDoiTuong": "4"}),
    ({"status": "returned"}, {"TrangThaiHoSo": "10"}),
    ({"status_code": 7}, {"TrangThaiHoSo": "7"}),
])
def test_channel_applicant_type_delivery_payment_and_status_map_to_national_codes(overrides, expected):
    record, _ = national_record(case(**overrides))
    assert {k: record[k] for k in expected} == expected


def test_every_status_name_maps_to_its_national_code():
    names = ["submitted", "received", "refused", "in_review", "supplement_requested", "awaiting_payment",
             "withdrawn", "stopped", "result_ready", "returned"]
    assert [national_record(case(status=n))[0]["TrangThaiHoSo"] for n in names] == [str(n) for n in range(1, 11)]
    with pytest.raises(ValueError):
        national_record(case(status_code=11))


def test_an_over_long_summary_is_cut_to_1000_characters_and_the_cut_reported(portal):
    summary = unicodedata.normalize("NFD", "Đề nghị xác nhận tình trạng hôn nhân. " * 40)  # decomposed: longer
    record, cuts = national_record(case(summary=summary))
    nfc_length = len(unicodedata.normalize("NFC", summary))
    assert cuts == [{"field": "TrichYeuHoSo", "length": nfc_length, "limit": 1000}]
    assert len(record["TrichYeuHoSo"]) == 1000 and nfc_length == 38 * 40
    assert record["TrichYeuHoSo"] == unicodedata.normalize("NFC", summary)[:1000]
    assert portal.client().upsert_dossier(record) == "created"


def test_an_over_long_handler_name_is_cut_to_50_characters_and_the_portal_takes_the_row(portal):
    client = portal.client()
    client.upsert_dossier(national_record(case())[0])
    name = "Nguyễn Thị Phương Thảo Hoàng Lê Minh Khai Bảo Ngọc Trâm Anh"
    row, cuts = progress_row(step("received", "2026-11-24T02:30:00Z", actor_name=name))
    assert cuts == [{"field": "NguoiXuLy", "length": len(name), "limit": 50}]
    assert row["NguoiXuLy"] == name[:50]
    client.push_progress([row])
    assert portal.dossier()["progress"] == [row]


def test_a_progress_row_carries_the_step_in_the_portals_words():
    row, cuts = progress_row(step("supplement_requested", "2026-11-24T03:00:00.000Z", note="Thiếu tờ khai",
                                  started_at="2026-11-24T02:30:00.000Z", due_at="2026-11-27T10:00:00.000Z"))
    assert cuts == []
    assert row == {"MaHoSo": CODE, "NguoiXuLy": "Nguyễn Văn Bình", "ChucDanh": "Công chức một cửa",
                   "ThoiDiemXuLy": "20261124100000", "PhongBanXuLy": "Bộ phận một cửa",
                   "NoiDungXuLy": "Yêu cầu bổ sung giấy tờ - Thiếu tờ khai", "TrangThai": "5",
                   "NgayBatDau": "20261124093000", "NgayKetThucTheoQuyDinh": "20261127170000"}
    system, _ = progress_row({"code": CODE, "status_code": 8, "at": "2026-11-24T03:00:00Z", "actor_name": None})
    assert system["NguoiXuLy"] == "Hệ thống" and system["NoiDungXuLy"] == "Dừng xử lý"
    assert system["NgayBatDau"] == "20261124100000" and system["NgayKetThucTheoQuyDinh"] == ""


def test_a_dossier_through_its_statuses_reaches_the_portal_with_every_step_in_order(portal):
    client = portal.client()
    moments = {"submitted": "2026-11-24T02:00:00.000Z", "received": "2026-11-24T02:30:00.000Z",
               "in_review": "2026-11-24T04:00:00.000Z", "result_ready": "2026-11-26T08:00:00.000Z",
               "returned": "2026-11-27T03:15:00.000Z"}
    dates = {"submitted": {}, "received": {"received_at": moments["received"], "due_at": "2026-11-27T10:00:00Z"}}
    dates["in_review"] = dates["received"]
    dates["result_ready"] = {**dates["received"], "completed_at": moments["result_ready"]}
    dates["returned"] = {**dates["result_ready"], "returned_at": moments["returned"]}
    known = False
    for status, at in moments.items():
        client.upsert_dossier(national_record(case(status=status, **dates[status]))[0], known=known)
        known = True
        client.push_progress([progress_row(step(status, at, due_at=dates[status].get("due_at")))[0]])
    view = portal.dossier()
    assert view["record"]["TrangThaiHoSo"] == "10"
    assert (view["record"]["NgayTiepNhan"], view["record"]["NgayKetThucXuLy"], view["record"]["NgayTra"]) == (
        "20261124093000", "20261126150000", "20261127101500")
    assert [(r["TrangThai"], r["ThoiDiemXuLy"]) for r in view["progress"]] == [
        ("1", "20261124090000"), ("2", "20261124093000"), ("4", "20261124110000"), ("9", "20261126150000"),
        ("10", "20261127101500")]
    assert len(portal.calls("auth")) == 1


def test_personal_data_and_the_session_stay_out_of_the_clients_logs(portal, caplog):
    caplog.set_level("DEBUG")
    client = portal.client()
    client.upsert_dossier(national_record(case())[0])
    requests.post(f"{portal.url}/v1/control/expire-sessions", timeout=5)
    client.exists(CODE)
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name.startswith(("processing", "servicekit")))
    assert "dvcqg.session_opened" in text and "dvcqg.session_expired" in text
    assert "84912345678" not in text and "001203004567" not in text and client._token not in text

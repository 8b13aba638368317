"""The national public service portal (DVCQG) simulator, through its protocol and its own face."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import motcua_sims
from motcua_sims import dvcqg
from motcua_sims.dvcqg import Behaviour, Settings, create_app

AUTH = "/dvcqg/auth"
API = "/dvcqg/integration"
CODE = "000.00.06.H56-261124-0001"


def make_client(tmp_path, **behaviour):
    settings = Settings(db_path=str(tmp_path / "dvcqg.db"), seed=7, behaviour=Behaviour(**behaviour))
    return create_app(settings).test_client()


@pytest.fixture
def client(tmp_path):
    return make_client(tmp_path)


def session_of(client):
    answer = client.post(AUTH, json={"username": "motcua", "password": dvcqg.DEFAULT_PASSWORD}).get_json()
    assert answer["error_code"] == 0 and answer["session"]
    return answer["session"]


def call(client, session, service, **fields):
    response = client.post(API, json={"session": session, "madonvi": "000.00.06.H56", "service": service, **fields})
    assert response.status_code == 200
    return response.get_json()


def record(**overrides):
    data = {
        "MaHoSo": CODE, "MaTTHC": "1.001193.H56", "TenTTHC": "Đăng ký khai sinh", "MaLinhVuc": "HO_TICH",
        "TenLinhVuc": "Hộ tịch", "ChuHoSo": "Đặng Thị Ngọc Ánh", "SoDienThoai": "84912345678", "Email": "",
        "LoaiDoiTuong": "1", "MaDoiTuong": "", "TrichYeuHoSo": "Đăng ký khai sinh cho con",
        "NgayTiepNhan": "20261124090000", "NgayHenTra": "20261125090000", "NgayTra": "", "NgayKetThucXuLy": "",
        "TrangThaiHoSo": "2", "KenhThucHien": "2", "HinhThuc": "0", "DonViXuLy": "UBND phường Phúc Yên",
        "TaiLieuNop": [{"TepDinhKemId": "u1", "TenTepDinhKem": "to-khai.pdf", "IsDeleted": "False",
                        "MaThanhPhanHoSo": "TK_KHAI_SINH", "DuongDanTaiTepTin": "https://motcua.example/f/u1"}],
        "DanhSachGiayToKetQua": [], "DanhSachLePhi": [], "DanhSachHoSoBoSung": [], "DuocThanhToanTrucTuyen": "3",
    }
    data.update(overrides)
    return data


def progress(**overrides):
    data = {"MaHoSo": CODE, "NguoiXuLy": "Nguyễn Văn Bình", "ChucDanh": "Công chức một cửa",
            "ThoiDiemXuLy": "20261124090000", "PhongBanXuLy": "Bộ phận một cửa", "NoiDungXuLy": "Tiếp nhận hồ sơ",
            "TrangThai": "2", "NgayBatDau": "20261124090000", "NgayKetThucTheoQuyDinh": "20261125090000"}
    data.update(overrides)
    return data


def push(client, session, rec=None, updating="False"):
    return call(client, session, "DongBoHoSoMC", isUpdating=updating, data=[rec or record()])


def test_a_dossier_and_its_steps_are_held_as_received(client):
    session = session_of(client)
    assert push(client, session)["error_code"] == 0
    assert call(client, session, "CapNhatTienDoHoSoMC", data=[progress()])["error_code"] == 0
    assert push(client, session, record(TrangThaiHoSo="4"), updating="True")["error_code"] == 0
    assert call(client, session, "CapNhatTienDoHoSoMC",
                data=[progress(TrangThai="4", NoiDungXuLy="Phân công thụ lý")])["error_code"] == 0

    view = client.get(f"/v1/dossiers/{CODE}").get_json()
    assert view["record"] == record(TrangThaiHoSo="4")
    assert [row["TrangThai"] for row in view["progress"]] == ["2", "4"]
    assert view["progress"][0] == progress()
    history = client.get(f"/v1/dossiers/{CODE}/records").get_json()["items"]
    assert [(h["is_updating"], h["record"]["TrangThaiHoSo"]) for h in history] == [("False", "2"), ("True", "4")]
    listed = client.get("/v1/dossiers").get_json()
    assert listed["total"] == 1 and listed["items"][0]["progress_rows"] == 2 and listed["items"][0]["records"] == 2


def test_an_unknown_dossier_is_a_404_in_the_views(client):
    assert client.get("/v1/dossiers/NOPE-1").status_code == 404
    assert client.get("/v1/dossiers/NOPE-1/records").status_code == 404


def test_a_dossier_pushed_as_new_twice_is_answered_already_exists(client):
    session = session_of(client)
    push(client, session)
    answer = push(client, session)
    assert answer["error_code"] == dvcqg.EXISTS and "đã tồn tại" in answer["message"]
    assert len(client.get(f"/v1/dossiers/{CODE}/records").get_json()["items"]) == 1


def test_an_update_of_a_dossier_never_received_is_refused(client):
    answer = push(client, session_of(client), updating="True")
    assert answer["error_code"] == dvcqg.UNKNOWN and "chưa tồn tại" in answer["message"]
    assert client.get(f"/v1/dossiers/{CODE}").status_code == 404


def test_progress_of_a_dossier_never_received_is_refused(client):
    answer = call(client, session_of(client), "CapNhatTienDoHoSoMC", data=[progress()])
    assert answer["error_code"] == dvcqg.UNKNOWN and CODE in answer["message"]


@pytest.mark.parametrize("overrides, words", [
    ({"MaHoSo": ""}, "MaHoSo"),
    ({"ChuHoSo": None}, "ChuHoSo"),
    ({"TrangThaiHoSo": "11"}, "TrangThaiHoSo"),
    ({"TrangThaiHoSo": 2}, "TrangThaiHoSo"),
    ({"NgayHenTra": "2026-11-25"}, "NgayHenTra"),
    ({"NgayHenTra": "20261332090000"}, "NgayHenTra"),
    ({"NgayTra": None}, "NgayTra"),
    ({"TrangThaiHoSo": "4", "NgayTiepNhan": ""}, "NgayTiepNhan"),
    ({"TrangThaiHoSo": "10"}, "NgayTra"),
    ({"LoaiDoiTuong": "5"}, "LoaiDoiTuong"),
    ({"KenhThucHien": "4"}, "KenhThucHien"),
    ({"TrichYeuHoSo": "x" * 1001}, "TrichYeuHoSo: vượt quá 1000 ký tự (1001)"),
    ({"GhiChu": "x" * 2001}, "GhiChu"),
    ({"MaTTHC": "9.999999.H56"}, "không tồn tại trên CSDL TTHC"),
    ({"TaiLieuNop": [{"TepDinhKemId": "u1", "TenTepDinhKem": "a.pdf", "DuongDanTaiTepTin": "/tmp/a.pdf"}]},
     "DuongDanTaiTepTin"),
    ({"DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "-5"}]}, "Gia"),
    ({"DanhSachHoSoBoSung": [{"HoSoBoSungId": "1", "NoiDungBoSung": "Thiếu", "NgayBoSung": "hôm nay"}]},
     "NgayBoSung"),
])
def test_a_dossier_with_a_bad_field_is_refused_naming_it_and_not_stored(client, overrides, words):
    answer = push(client, session_of(client), record(**overrides))
    assert answer["error_code"] == dvcqg.INVALID and words in answer["message"]
    assert client.get("/v1/dossiers").get_json()["total"] == 0


def test_a_summary_of_exactly_1000_characters_and_empty_dates_are_accepted(client):
    rec = record(TrichYeuHoSo="ế" * 1000, TrangThaiHoSo="1", NgayTiepNhan="", NgayHenTra="")
    assert push(client, session_of(client), rec)["error_code"] == 0


@pytest.mark.parametrize("overrides, words", [
    ({"NguoiXuLy": "N" * 51}, "NguoiXuLy: vượt quá 50 ký tự (51)"),
    ({"NoiDungXuLy": None}, "NoiDungXuLy"),
    ({"ThoiDiemXuLy": ""}, "ThoiDiemXuLy"),
    ({"TrangThai": "0"}, "TrangThai"),
    ({"NgayKetThucTheoQuyDinh": "25/11/2026"}, "NgayKetThucTheoQuyDinh"),
])
def test_a_progress_row_with_a_bad_field_is_refused_naming_it(client, overrides, words):
    session = session_of(client)
    push(client, session)
    answer = call(client, session, "CapNhatTienDoHoSoMC", data=[progress(**overrides)])
    assert answer["error_code"] == dvcqg.INVALID and words in answer["message"]
    assert client.get(f"/v1/dossiers/{CODE}").get_json()["progress"] == []


def test_wrong_credentials_or_dstcode_get_no_session(tmp_path):
    client = create_app(Settings(db_path=str(tmp_path / "d.db"), dstcode="MOTCUA")).test_client()
    good = {"username": "motcua", "password": dvcqg.DEFAULT_PASSWORD}
    assert client.post(AUTH, json=good).get_json()["error_code"] == dvcqg.INVALID
    assert client.post(AUTH, json={**good, "password": "x"}, headers={"dstcode": "MOTCUA"}).get_json() == {
        "error_code": dvcqg.INVALID, "message": "Sai tên đăng nhập hoặc mật khẩu"}
    answer = client.post(AUTH, json=good, headers={"dstcode": "MOTCUA"}).get_json()
    assert answer["error_code"] == 0 and len(answer["session"]) >= 32


def test_a_call_without_a_valid_session_is_answered_session_expired(client):
    for session in ("", "made-up", None):
        answer = call(client, session, "TraCuuHoSo", mahoso=CODE)
        assert answer["error_code"] == dvcqg.EXPIRED and "hết hạn" in answer["message"]


def test_a_session_expires_after_its_lifetime(tmp_path):
    client = make_client(tmp_path, session_ttl_s=0.3)
    session = session_of(client)
    assert call(client, session, "TraCuuHoSo", mahoso=CODE)["error_code"] == 0
    time.sleep(0.4)
    assert call(client, session, "TraCuuHoSo", mahoso=CODE)["error_code"] == dvcqg.EXPIRED


def test_sessions_can_be_expired_on_demand(client):
    session = session_of(client)
    assert client.post("/v1/control/expire-sessions").get_json() == {"expired": 1}
    assert call(client, session, "TraCuuHoSo", mahoso=CODE)["error_code"] == dvcqg.EXPIRED
    assert call(client, session_of(client), "TraCuuHoSo", mahoso=CODE)["error_code"] == 0


def test_madonvi_and_a_known_service_are_required(client):
    session = session_of(client)
    body = {"session": session, "service": "TraCuuHoSo", "mahoso": CODE}
    assert client.post(API, json=body).get_json()["error_code"] == dvcqg.INVALID
    assert call(client, session, "XoaHoSo")["message"].startswith("Dịch vụ không được hỗ trợ")


def test_look_up_answers_the_record_once_received(client):
    session = session_of(client)
    assert call(client, session, "TraCuuHoSo", mahoso=CODE)["result"] == []
    push(client, session)
    assert call(client, session, "TraCuuHoSo", mahoso=CODE)["result"] == [record()]


def test_the_catalogue_holds_the_suites_procedures_with_national_field_names(client):
    session = session_of(client)
    suite = json.loads((Path(motcua_sims.__file__).parents[2] / "services/intake/intake/data/procedures.json")
                       .read_text(encoding="utf-8"))["procedures"]
    listed = call(client, session, "LayDanhSachTTHC")["result"]
    assert {(p["MATTHC"], p["TENTTHC"]) for p in listed} == {(p["code"], p["name"]) for p in suite}
    [one] = call(client, session, "LayThuTuc", maTTHC="1.004873.H56")["result"]
    assert one["TENTTHC"] == "Cấp Giấy xác nhận tình trạng hôn nhân"
    assert one["COQUANTHUCHIEN"] == [{"MADONVI": "000.00.06.H56", "TENDONVI": "UBND phường Phúc Yên"}]
    assert one["LINHVUCTHUCHIEN"][0]["TENLINHVUC"] == "Hộ tịch"
    assert [c["KENH"] for c in one["CACHTHUCTHUCHIEN"]] == ["1", "2", "3"]
    timing = one["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0]
    assert timing["THOIGIANGIAIQUYET"] == "3" and timing["PHILEPHI"][0]["SOTIEN"] == "10000"
    assert call(client, session, "LayThuTuc", maTTHC="9.999999.H56")["result"] == []


def test_a_procedure_added_or_changed_shows_in_the_catalogue_and_a_dossier_may_use_it(client):
    session = session_of(client)
    assert client.put("/v1/procedures/1.999999.H56", json={"TENTTHC": "Thủ tục mới"}).status_code == 200
    client.put("/v1/procedures/1.001193.H56", json={"TENTTHC": "Đăng ký khai sinh (sửa đổi)"})
    names = {p["MATTHC"]: p["TENTTHC"] for p in call(client, session, "LayDanhSachTTHC")["result"]}
    assert names["1.999999.H56"] == "Thủ tục mới" and names["1.001193.H56"] == "Đăng ký khai sinh (sửa đổi)"
    assert push(client, session, record(MaTTHC="1.999999.H56"))["error_code"] == 0
    assert client.delete("/v1/procedures/1.999999.H56").status_code == 204
    assert client.put("/v1/procedures/x", json={}).status_code == 422


def test_the_list_marks_each_procedure_with_its_last_change_and_the_mark_moves_only_on_a_change(client):
    session = session_of(client)
    before = {p["MATTHC"]: p["NGAYCAPNHAT"] for p in call(client, session, "LayDanhSachTTHC")["result"]}
    assert all(len(mark) == 17 and mark.isdigit() for mark in before.values())
    changed = client.get("/v1/procedures").get_json()["items"][0]
    client.put(f"/v1/procedures/{changed['MATTHC']}", json={**changed, "TENTTHC": changed["TENTTHC"] + " (sửa)"})
    after = {p["MATTHC"]: p["NGAYCAPNHAT"] for p in call(client, session, "LayDanhSachTTHC")["result"]}
    assert [code for code in before if before[code] != after[code]] == [changed["MATTHC"]]


def test_documents_without_a_public_link_are_taken_by_name_and_file_id(client):
    papers = {"TaiLieuNop": [{"TepDinhKemId": "u1", "TenTepDinhKem": "to-khai.pdf", "IsDeleted": "False",
                              "MaThanhPhanHoSo": "TK_KHAI_SINH", "DuongDanTaiTepTin": ""}],
              "DanhSachGiayToKetQua": [{"TenGiayTo": "Giấy khai sinh", "GiayToId": "r1", "MaThanhPhanHoSo": "",
                                        "DuongDanTepTinKetQua": ""}]}
    assert push(client, session_of(client), record(**papers))["error_code"] == 0
    missing = push(client, session_of(client), record(MaHoSo=CODE + "9", TaiLieuNop=[{"TenTepDinhKem": "a.pdf"}]))
    assert missing["error_code"] == dvcqg.INVALID and "TepDinhKemId: bắt buộc" in missing["message"]


@pytest.mark.parametrize("form, success", [("number", 0), ("string", "0"), ("padded", "00")])
def test_success_is_answered_in_the_configured_error_code_form(tmp_path, form, success):
    client = make_client(tmp_path, error_code_form=form)
    session = client.post(AUTH, json={"username": "motcua", "password": dvcqg.DEFAULT_PASSWORD}).get_json()
    assert session["error_code"] == success
    assert push(client, session["session"])["error_code"] == success
    assert push(client, session["session"])["error_code"] == (-3 if form == "number" else "-3")


def test_rotating_forms_answer_each_of_the_three_in_turn(tmp_path):
    client = make_client(tmp_path, error_code_form="rotate")
    credentials = {"username": "motcua", "password": dvcqg.DEFAULT_PASSWORD}
    codes = [client.post(AUTH, json=credentials).get_json()["error_code"] for _ in range(4)]
    assert codes == [0, "0", "00", 0]


def test_down_answers_503_html_until_switched_back(client):
    assert client.put("/v1/control", json={"down": True}).get_json()["down"] is True
    response = client.post(AUTH, json={"username": "motcua", "password": dvcqg.DEFAULT_PASSWORD})
    assert response.status_code == 503 and response.content_type.startswith("text/html")
    assert client.post(API, json={"service": "TraCuuHoSo"}).status_code == 503
    assert client.get("/healthz").status_code == 200
    client.put("/v1/control", json={"down": False})
    assert session_of(client)


def test_the_next_calls_can_be_scripted_to_fail_with_a_500(client):
    session = session_of(client)
    client.put("/v1/control", json={"fail_next": 2})
    statuses = [client.post(API, json={"session": session, "madonvi": "x", "service": "TraCuuHoSo",
                                       "mahoso": CODE}).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    outcomes = [c["outcome"] for c in client.get("/v1/calls?service=TraCuuHoSo").get_json()["items"]]
    assert outcomes == ["failed", "failed", "ok"]


def test_fail_and_garbage_rates_of_one_answer_500_and_unparseable_pages(tmp_path):
    failing = make_client(tmp_path, fail_rate=1.0)
    assert failing.post(AUTH, json={}).status_code == 500
    garbled = make_client(tmp_path / "g", garbage_rate=1.0)
    response = garbled.post(AUTH, json={"username": "motcua", "password": dvcqg.DEFAULT_PASSWORD})
    assert response.status_code == 200 and response.get_json(silent=True) is None


def test_a_lost_answer_stores_the_call_so_the_resend_is_a_duplicate(tmp_path):
    client = make_client(tmp_path, duplicate_rate=1.0)
    session = session_of(client)
    response = client.post(API, json={"session": session, "madonvi": "x", "service": "DongBoHoSoMC",
                                      "isUpdating": "False", "data": [record()]})
    assert response.status_code == 504
    assert client.get(f"/v1/dossiers/{CODE}").status_code == 200
    client.post(API, json={"session": session, "madonvi": "x", "service": "CapNhatTienDoHoSoMC",
                           "data": [progress()]})
    client.post(API, json={"session": session, "madonvi": "x", "service": "CapNhatTienDoHoSoMC",
                           "data": [progress()]})
    assert len(client.get(f"/v1/dossiers/{CODE}").get_json()["progress"]) == 2


def test_slowness_delays_every_protocol_answer(tmp_path):
    client = make_client(tmp_path, delay_ms=300)
    started = time.monotonic()
    session_of(client)
    assert time.monotonic() - started >= 0.3


def test_control_refuses_unknown_or_bad_settings(client):
    assert client.put("/v1/control", json={"speed": 1}).status_code == 422
    response = client.put("/v1/control", json={"fail_rate": 2, "error_code_form": "hex", "delay_ms": -1})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"fail_rate", "error_code_form", "delay_ms"}
    assert client.get("/v1/control").get_json() == {**Behaviour().__dict__}


def test_auth_calls_are_counted_in_the_call_log(client):
    for _ in range(3):
        session_of(client)
    assert client.get("/v1/calls?service=auth").get_json()["total"] == 3


def test_personal_data_never_reaches_the_logs(client, capsys):
    session = session_of(client)
    push(client, session)
    call(client, session, "CapNhatTienDoHoSoMC", data=[progress()])
    err = capsys.readouterr().err
    assert "84912345678" not in err and "Đặng Thị Ngọc Ánh" not in err and session not in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_simulator_runs_on_its_port_keeps_what_it_received_and_exits_cleanly(tmp_path, stop_signal):
    port = free_port()
    env = {**os.environ, "DVCQG_SIM_PORT": str(port), "DVCQG_SIM_DB": str(tmp_path / "sim.db"),
           "DVCQG_SIM_ERROR_CODE_FORM": "padded", "PYTHONPATH": str(Path(motcua_sims.__file__).parents[1])}
    base = f"http://127.0.0.1:{port}"
    for _ in range(2):  # the second start finds what the first one received
        process = subprocess.Popen([sys.executable, "-m", "motcua_sims.dvcqg"], env=env, stderr=subprocess.PIPE,
                                   text=True)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    assert requests.get(f"{base}/healthz", timeout=1).json() == {"status": "ok"}
                    break
                except requests.ConnectionError:
                    assert process.poll() is None and time.monotonic() < deadline, "simulator did not start"
                    time.sleep(0.05)
            answer = requests.post(base + AUTH, json={"username": "motcua", "password": dvcqg.DEFAULT_PASSWORD},
                                   timeout=5).json()
            assert answer["error_code"] == "00"
            requests.post(base + API, json={"session": answer["session"], "madonvi": "000.00.06.H56",
                                            "service": "DongBoHoSoMC", "isUpdating": "False", "data": [record()]},
                          timeout=5)
            assert requests.get(f"{base}/v1/dossiers/{CODE}", timeout=5).json()["record"] == record()
            process.send_signal(stop_signal)
            assert process.wait(timeout=10) == 0
            log = process.stderr.read()
            assert '"event": "server.stopped"' in log and "Traceback" not in log
            assert '"config.default_secret"' in log
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_an_invalid_setting_in_the_environment_stops_the_start(tmp_path):
    env = {**os.environ, "DVCQG_SIM_PORT": str(free_port()), "DVCQG_SIM_DB": str(tmp_path / "sim.db"),
           "DVCQG_SIM_ERROR_CODE_FORM": "hex", "PYTHONPATH": str(Path(motcua_sims.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-m", "motcua_sims.dvcqg"], env=env, capture_output=True, text=True,
                            timeout=20)
    assert result.returncode != 0 and "error_code_form" in result.stderr

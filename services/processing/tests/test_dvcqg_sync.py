"""The national portal (DVCQG) sync: queued with each change of status, sent in order per dossier by the worker's
job to the real simulator (served in a thread), retried, parked, re-synced by an admin."""
import dataclasses
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from motcua_sims import dvcqg as sim
from servicekit.tables import now as utcnow
from servicekit.testing import deliver_event

from processing import queries, use_cases
from processing.dvcqg import national_date
from processing.handlers import SUBSCRIPTION
from processing.jobs import DvcqgSync
from processing.metrics import DVCQG_SYNC_OLDEST_PENDING, DVCQG_SYNC_PARKED
from processing.models import cases, dvcqg_sync, inbox, outbox

AGENCY = "000.00.06.H56"
PROCEDURE = "1.004873.H56"  # in the simulator's catalogue
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


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

    def calls(self, service=None):
        return requests.get(f"{self.url}/v1/calls", params={"service": service} if service else {},
                            timeout=5).json()["items"]

    def dossier(self, code):
        response = requests.get(f"{self.url}/v1/dossiers/{code}", timeout=5)
        return response.json() if response.status_code == 200 else None

    def codes(self, code):
        return [row["TrangThai"] for row in (self.dossier(code) or {"progress": []})["progress"]]


@pytest.fixture
def portal(tmp_path):
    p = Portal(tmp_path / "portal")
    yield p
    p.server.shutdown()
    p.server.server_close()


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sync(db, settings, portal, clock):
    synced = dataclasses.replace(settings, dvcqg=dataclasses.replace(settings.dvcqg, url=portal.url, madonvi=AGENCY,
                                                                     timeout_seconds=5),
                                 dvcqg_sync_seconds=2, dvcqg_max_backoff_seconds=30)
    job = DvcqgSync(db, synced, client=synced.dvcqg.client(), clock=clock)
    yield job
    job.client.close()


def submitted(code, procedure=PROCEDURE, fee=0, delivery="counter", field=None):
    """The event as intake publishes it; `field` (code, name) adds the procedure's field, as intake's newer events do."""
    return {
        "code": code,
        "procedure": {"code": procedure, "name": "Cấp giấy phép xây dựng", "processing_days": 3, "fee_vnd": fee,
                      "fee_mode": "before" if fee else "none", "level": "full_online", "result_is_paper": False,
                      "documents": [{"code": "TK", "name": "Tờ khai", "required": True}],
                      **({"field_code": field[0], "field_name": field[1]} if field else {})},
        "agency": {"code": AGENCY, "name": "UBND phường Phúc Yên"},
        "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "phone": "84912345678",
                      "id_number": "001190012345"},
        "delivery": {"method": delivery},
        "channel": "online",
        "submitted_at": "2026-11-24T02:00:00.000Z",
        "documents": [{"code": "TK", "name": "Tờ khai", "upload_id": "u1", "filename": "to-khai.pdf",
                       "sha256": "1" * 64, "size": 10}],
    }


def deliver(db, type_, data, event_id=None):
    return deliver_event(db, inbox, SUBSCRIPTION, "processing", type_, data, event_id=event_id)


def act(client, headers, code, action, body=None, role="clerk", expect=200):
    response = client.post(f"/v1/dossiers/{code}/{action}", json=body or {}, headers=headers(role))
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def steps(db, code):
    with db.transaction(readonly=True) as conn:
        return queries.sync_steps_of(conn, code)


def code_of(n):
    return f"{AGENCY}-261124-{n:04d}"


def test_a_dossier_through_every_status_reaches_the_portal_with_every_step_in_order(
        db, client, headers, portal, sync):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code, fee=50000, field=("HO_TICH", "Hộ tịch")))
    assert sync.run()["sent"] == 2  # 1 opened, 6 waiting for the fee paid before processing
    deliver(db, "payment.completed.v1", {"dossier_code": code, "agency_code": AGENCY, "reference": "MCK7QX2MZP4A",
                                          "amount_vnd": 50000, "paid_at": "2026-11-24T03:00:00.000Z",
                                          "bank_txn_id": "FT1", "method": "online"})
    act(client, headers, code, "receive")
    sync.run()
    act(client, headers, code, "assign", {"assignee": "specialist-1"}, role="leader")
    act(client, headers, code, "request-supplement",
        {"reason": "Tờ khai thiếu chữ ký", "documents": ["TK"], "deadline": (date.today() + timedelta(days=10)).isoformat()},
        role="specialist")
    sync.run()
    deliver(db, "dossier.supplemented.v1", {
        "code": code, "agency_code": AGENCY, "note": None,
        "supplemented_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "documents": [{"code": "TK", "name": "Tờ khai", "upload_id": "u2", "filename": "tk.pdf",
                       "sha256": "0" * 64, "size": 10}]})
    act(client, headers, code, "submit-for-approval", {"summary": "Đủ điều kiện"}, role="specialist")
    act(client, headers, code, "approve", role="leader")
    file = client.post("/v1/files", data={"file": (__import__("io").BytesIO(PDF_BYTES), "kq.pdf")},
                       headers=headers("specialist"), content_type="multipart/form-data").get_json()
    act(client, headers, code, "issue-result", {"result_file_id": file["id"], "paper_original": False},
        role="specialist")
    sync.run()
    act(client, headers, code, "return-result")
    assert sync.run() == {"sent": 1, "retry": 0, "parked": 0}

    queued = steps(db, code)
    assert [s.status_code for s in queued] == [1, 6, 1, 2, 4, 5, 4, 9, 10]  # approval steps keep the status
    assert [s.seq for s in queued] == sorted(s.seq for s in queued) and all(s.state == "sent" for s in queued)
    held = portal.dossier(code)
    assert [r["TrangThai"] for r in held["progress"]] == ["1", "6", "1", "2", "4", "5", "4", "9", "10"]
    assert [r["ThoiDiemXuLy"] for r in held["progress"]] == [national_date(s.at) for s in queued]
    assert held["progress"][0]["ThoiDiemXuLy"] == "20261124090000" and held["progress"][0]["NguoiXuLy"] == "Hệ thống"
    assert held["progress"][3]["NguoiXuLy"] == "clerk-1" and held["progress"][3]["ChucDanh"] == "Cán bộ tiếp nhận"
    assert held["progress"][3]["NoiDungXuLy"].startswith("Được tiếp nhận - Tiếp nhận hồ sơ")
    with db.transaction(readonly=True) as conn:
        case = conn.execute(sa.select(cases).where(cases.c.code == code)).one()
    record = held["record"]
    assert record["TrangThaiHoSo"] == "10" and record["NgayNopHoSo"] == "20261124090000"
    assert record["NgayTiepNhan"] == national_date(case.received_at)
    assert record["NgayHenTra"] == national_date(case.due_at) and record["NgayTra"] == national_date(case.returned_at)
    assert record["DuocThanhToanTrucTuyen"] == "1" and record["DanhSachLePhi"][0]["Gia"] == "50000"
    assert held["progress"][-1]["NgayKetThucTheoQuyDinh"] == national_date(case.due_at)
    records = requests.get(f"{portal.url}/v1/dossiers/{code}/records", timeout=5).json()["items"]
    assert [r["is_updating"] for r in records] == ["False"] + ["True"] * 8  # the whole dossier before each step
    assert len(portal.calls("auth")) == 1  # one session served the whole run
    view = client.get(f"/v1/dossiers/{code}", headers=headers("clerk")).get_json()
    assert view["national_sync"]["state"] == "sent" and view["national_sync"]["status_code"] == 10

    # The procedure with its field, the agency, the papers handed in (filing and supplement), the result and the
    # supplement history.
    assert (record["MaTTHC"], record["TenTTHC"]) == (PROCEDURE, "Cấp giấy phép xây dựng")
    assert (record["MaLinhVuc"], record["TenLinhVuc"]) == ("HO_TICH", "Hộ tịch")
    assert record["DonViXuLy"] == "UBND phường Phúc Yên"
    assert [(d["TepDinhKemId"], d["TenTepDinhKem"], d["MaThanhPhanHoSo"], d["DuongDanTaiTepTin"])
            for d in record["TaiLieuNop"]] == [("u1", "to-khai.pdf", "TK", ""), ("u2", "tk.pdf", "TK", "")]
    assert record["DanhSachGiayToKetQua"] == [{
        "TenGiayTo": "Kết quả giải quyết thủ tục hành chính: Cấp giấy phép xây dựng", "MaThanhPhanHoSo": "",
        "GiayToId": file["id"], "DuongDanTepTinKetQua": ""}]
    requested, answered = held["progress"][5], held["progress"][6]
    assert record["DanhSachHoSoBoSung"] == [{
        "HoSoBoSungId": f"{code}-BS1", "NguoiYeuCauBoSung": "specialist-1",
        "NoiDungBoSung": "Tờ khai thiếu chữ ký (giấy tờ cần bổ sung: Tờ khai)",
        "NgayBoSung": requested["ThoiDiemXuLy"], "TrangThaiBoSung": "1",
        "NgayTiepNhanBoSung": answered["ThoiDiemXuLy"], "NgayHenTraTruoc": held["progress"][3]["NgayKetThucTheoQuyDinh"],
        "NgayHenTraMoi": record["NgayHenTra"]}]
    # The record as it stood at the supplement request: the request open, nothing answered yet.
    at_request = records[5]["record"]["DanhSachHoSoBoSung"]
    assert [(i["TrangThaiBoSung"], i["NgayTiepNhanBoSung"]) for i in at_request] == [("0", "")]


@pytest.mark.parametrize("ending, status_code", [("refused", "3"), ("withdrawn", "7"), ("stopped", "8")])
def test_a_dossier_that_ends_early_reaches_the_portal_with_its_closing_code_and_dates(
        db, client, headers, portal, sync, ending, status_code):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))
    if ending == "refused":
        act(client, headers, code, "refuse", {"reason": "Hồ sơ không thuộc thẩm quyền"})
        expected = ["1", "3"]
    else:
        act(client, headers, code, "receive")
        act(client, headers, code, "assign", {"assignee": "specialist-1"}, role="leader")
        expected = ["1", "2", "4", status_code]
        if ending == "withdrawn":
            deliver(db, "dossier.withdrawal_requested.v1", {"code": code, "agency_code": AGENCY,
                                                            "reason": "Tôi nộp nhầm thủ tục",
                                                            "requested_at": "2026-11-25T02:00:00.000Z"})
        else:
            act(client, headers, code, "stop", {"reason": "Người nộp không đủ điều kiện"}, role="specialist")
    assert sync.run() == {"sent": len(expected), "retry": 0, "parked": 0}

    held = portal.dossier(code)
    with db.transaction(readonly=True) as conn:
        case = conn.execute(sa.select(cases).where(cases.c.code == code)).one()
    assert portal.codes(code) == expected and held["record"]["TrangThaiHoSo"] == status_code
    assert held["record"]["NgayKetThucXuLy"] == national_date(case.finished_at) != ""
    assert held["record"]["NgayTuChoi"] == (national_date(case.finished_at) if ending == "refused" else "")
    assert held["record"]["NgayTra"] == ""
    assert held["progress"][-1]["ThoiDiemXuLy"] == national_date(steps(db, code)[-1].at)
    assert held["record"]["NgayTiepNhan"] == ("" if ending == "refused" else national_date(case.received_at))


def counted(name, **labels):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0


def test_the_portal_down_for_a_while_then_back_gets_everything_once_in_order(db, client, headers, portal, sync,
                                                                           clock):
    before = {name: counted(name) for name in ("motcua_dvcqg_sync_queued_total", "motcua_dvcqg_sync_sent_total")}
    retried = counted("motcua_dvcqg_sync_failed_total", outcome="retry")
    portal.control(down=True)
    for n in (1, 2):
        deliver(db, "dossier.submitted.v1", submitted(code_of(n)))
        act(client, headers, code_of(n), "receive")
    assert sync.run() == {"sent": 0, "retry": 2, "parked": 0}  # one try per dossier: its later steps wait
    head = steps(db, code_of(1))[0]
    assert head.state == "pending" and head.attempts == 1 and "503" in head.last_answer
    assert head.next_attempt_at == clock.now + timedelta(seconds=2)
    assert sync.run() == {"sent": 0, "retry": 0, "parked": 0}  # still backing off
    for attempts, wait in ((2, 4), (3, 8), (4, 16), (5, 30), (6, 30)):  # doubling, capped
        clock.advance(60)
        sync.run()
        head = steps(db, code_of(1))[0]
        assert head.attempts == attempts and head.next_attempt_at == clock.now + timedelta(seconds=wait)
    sync.refresh_gauges()
    assert DVCQG_SYNC_OLDEST_PENDING._value.get() >= 290  # five minutes down
    portal.control(down=False)
    act(client, headers, code_of(1), "assign", {"assignee": "specialist-1"}, role="leader")  # queued meanwhile
    clock.advance(60)
    assert sync.run() == {"sent": 5, "retry": 0, "parked": 0}
    assert portal.codes(code_of(1)) == ["1", "2", "4"] and portal.codes(code_of(2)) == ["1", "2"]
    assert sync.run() == {"sent": 0, "retry": 0, "parked": 0}  # nothing sent twice
    assert portal.codes(code_of(1)) == ["1", "2", "4"]
    assert DVCQG_SYNC_OLDEST_PENDING._value.get() == 0
    assert counted("motcua_dvcqg_sync_queued_total") - before["motcua_dvcqg_sync_queued_total"] == 5
    assert counted("motcua_dvcqg_sync_sent_total") - before["motcua_dvcqg_sync_sent_total"] == 5
    assert counted("motcua_dvcqg_sync_failed_total", outcome="retry") - retried == 12  # 6 tries of each head


def test_a_session_the_portal_ends_mid_stream_is_renewed_and_no_step_is_lost(db, client, headers, portal, sync):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))
    act(client, headers, code, "receive")
    sync.run()
    assert requests.post(f"{portal.url}/v1/control/expire-sessions", timeout=5).json()["expired"] == 1
    act(client, headers, code, "assign", {"assignee": "specialist-1"}, role="leader")
    act(client, headers, code, "stop", {"reason": "Hồ sơ giả mạo"}, role="specialist")
    assert sync.run() == {"sent": 2, "retry": 0, "parked": 0}
    assert portal.codes(code) == ["1", "2", "4", "8"]
    assert len(portal.calls("auth")) == 2 and all(s.attempts == 1 for s in steps(db, code))
    assert any(c["outcome"] == "expired" for c in portal.calls())


def test_a_dossier_the_portal_refuses_is_parked_without_holding_up_others_then_an_admin_resyncs_it(
        db, client, headers, portal, sync, audit):
    bad, good = code_of(1), code_of(2)
    deliver(db, "dossier.submitted.v1", submitted(bad, procedure="9.999999.H56"))  # unknown to the portal
    deliver(db, "dossier.submitted.v1", submitted(good))
    assert sync.run() == {"sent": 1, "retry": 0, "parked": 1}
    parked = steps(db, bad)[0]
    assert parked.state == "parked" and "MaTTHC" in parked.last_answer
    act(client, headers, bad, "receive")  # a later step still queues, behind the parked one
    act(client, headers, good, "receive")
    assert sync.run() == {"sent": 1, "retry": 0, "parked": 0}
    assert [s.state for s in steps(db, bad)] == ["parked", "pending"]
    assert portal.dossier(bad) is None and portal.codes(good) == ["1", "2"]
    assert DVCQG_SYNC_PARKED._value.get() == 1
    assert "dvcqg_parked" in [a.action for a in audit(bad)]

    listed = client.get("/v1/sync/dvcqg?state=parked", headers=headers("admin")).get_json()["items"]
    assert [(i["code"], i["status_code"]) for i in listed] == [(bad, 1)] and "MaTTHC" in listed[0]["last_answer"]
    pending = client.get("/v1/sync/dvcqg?state=pending", headers=headers("admin")).get_json()["items"]
    assert [(i["code"], i["status_code"]) for i in pending] == [(bad, 2)]
    assert client.get("/v1/sync/dvcqg", headers=headers("admin", agency="000.00.99.H56")).get_json()["items"] == []
    assert client.get("/v1/sync/dvcqg", headers=headers("clerk")).status_code == 403
    assert client.get("/v1/sync/dvcqg?state=sent", headers=headers("admin")).status_code == 422
    view = client.get(f"/v1/dossiers/{bad}", headers=headers("clerk")).get_json()["national_sync"]
    assert view["state"] == "pending" and view["parked"] == 1 and "MaTTHC" in view["last_answer"]

    # The province adds the procedure to the national catalogue; the admin re-syncs the dossier.
    assert requests.put(f"{portal.url}/v1/procedures/9.999999.H56", json={"TENTTHC": "Thủ tục mới"},
                        timeout=5).status_code == 200
    assert client.post(f"/v1/sync/dvcqg/{bad}/resync", headers=headers("clerk")).status_code == 403
    assert client.post(f"/v1/sync/dvcqg/{bad}/resync",
                       headers=headers("admin", agency="000.00.99.H56")).status_code == 404
    answer = client.post(f"/v1/sync/dvcqg/{bad}/resync", headers=headers("admin"))
    assert answer.status_code == 200 and answer.get_json() == {"code": bad, "requeued": 1}
    assert client.post(f"/v1/sync/dvcqg/{bad}/resync", headers=headers("admin")).status_code == 409
    assert "dvcqg_resync" in [a.action for a in audit(bad)]
    assert sync.run() == {"sent": 2, "retry": 0, "parked": 0}
    assert portal.codes(bad) == ["1", "2"] and [s.state for s in steps(db, bad)] == ["sent", "sent"]
    assert DVCQG_SYNC_PARKED._value.get() == 0


def test_a_refused_action_or_a_failed_enqueue_leaves_nothing_half_written(db, client, headers):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))
    act(client, headers, code, "assign", {"assignee": "specialist-1"}, role="leader", expect=409)
    assert [s.status_code for s in steps(db, code)] == [1]
    # A step for seq 1 already queued (an impossible state, forced here): the enqueue fails, so the whole
    # action rolls back: no status change, no event, no audit entry.
    with db.transaction() as conn:
        case = queries.get_case(conn, code)
        queries.insert_sync_step(conn, code=code, agency_code=AGENCY, seq=1, status_code=2, actor_name="x",
                                 at=utcnow(), created_at=utcnow(), state="parked")
    with pytest.raises(sa.exc.IntegrityError):
        with db.transaction() as conn:
            use_cases.perform_action(conn, code=code, action_name="receive", body={},
                                     officer={"sub": "clerk-1", "role": "clerk", "agency": AGENCY},
                                     calendar=use_cases.load_calendar(conn, "07:00-11:30,13:30-17:00"))
    with db.transaction(readonly=True) as conn:
        assert queries.get_case(conn, code).status == "submitted"
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 0
        assert len(queries.list_audit(conn, case.id)) == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(dvcqg_sync)).scalar_one() == 2


def test_a_handler_name_over_the_portal_limit_is_cut_and_the_cut_recorded_on_the_step(db, client, headers, portal,
                                                                                     sync):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))
    long_name = "cán-bộ-tiếp-nhận-" + "x" * 43  # 60 characters
    response = client.post(f"/v1/dossiers/{code}/receive", json={}, headers=headers("clerk", sub=long_name))
    assert response.status_code == 200
    assert sync.run()["sent"] == 2
    import json

    assert json.loads(steps(db, code)[1].cuts) == [{"field": "NguoiXuLy", "length": 60, "limit": 50}]
    assert steps(db, code)[0].cuts is None
    assert portal.dossier(code)["progress"][1]["NguoiXuLy"] == long_name[:50]
    listed = client.get("/v1/sync/dvcqg?state=pending", headers=headers("admin")).get_json()["items"]
    assert listed == []


def test_an_event_from_before_the_procedures_field_still_opens_a_case_and_sends_the_field_empty(db, portal, sync):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))  # no field_code / field_name, as intake once published
    with db.transaction(readonly=True) as conn:
        case = queries.get_case(conn, code)
    assert case.status == "submitted" and (case.procedure_field_code, case.procedure_field_name) == (None, None)
    assert sync.run() == {"sent": 1, "retry": 0, "parked": 0}
    record = portal.dossier(code)["record"]
    assert (record["MaTTHC"], record["MaLinhVuc"], record["TenLinhVuc"]) == (PROCEDURE, "", "")


def test_the_procedures_field_is_kept_on_the_case_as_filed(db):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code, field=("XAY_DUNG", "Hoạt động xây dựng")))
    with db.transaction(readonly=True) as conn:
        case = queries.get_case(conn, code)
    assert (case.procedure_field_code, case.procedure_field_name) == ("XAY_DUNG", "Hoạt động xây dựng")
    # A code the column cannot hold is a malformed event (dead-lettered), never a failed insert retried.
    from processing.events import CONSUMES
    from servicekit.events import MalformedEvent

    with pytest.raises(MalformedEvent):
        CONSUMES["dossier.submitted.v1"].load(submitted(code_of(2), field=("X" * 41, "Quá dài")))


def test_the_opening_delivered_twice_queues_one_step(db):
    code = code_of(1)
    for event_id in ("e-1", "e-1", "e-2"):
        deliver(db, "dossier.submitted.v1", submitted(code), event_id=event_id)
    assert [(s.seq, s.status_code, s.state) for s in steps(db, code)] == [(0, 1, "pending")]


def test_steps_that_keep_the_status_queue_nothing(db, client, headers):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))
    act(client, headers, code, "receive")
    act(client, headers, code, "assign", {"assignee": "specialist-1"}, role="leader")
    act(client, headers, code, "submit-for-approval", {"summary": "Đủ điều kiện"}, role="specialist")
    act(client, headers, code, "approve", role="leader")
    assert [s.status_code for s in steps(db, code)] == [1, 2, 4]


def test_the_sync_settings_default_to_off_warn_about_the_dev_password_and_refuse_a_bad_interval(monkeypatch):
    from servicekit.config import ConfigError

    from processing.config import Settings

    for name in ("PROCESSING_DVCQG_URL", "PROCESSING_DVCQG_PASSWORD", "PROCESSING_DVCQG_SYNC_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOTCUA_FILE_LINK_SECRET", "a-real-file-link-secret")
    settings = Settings.from_env()
    assert settings.dvcqg.url == "" and settings.dvcqg.auth_path == "/dvcqg/auth"
    assert settings.dvcqg.integration_path == "/dvcqg/integration" and settings.dvcqg.username == "motcua"
    assert settings.dvcqg_sync_seconds == 2 and settings.dvcqg_max_backoff_seconds == 300
    # The sync off: its development password guards nothing, so a production start is not refused for it.
    assert settings.dvcqg.timeout_seconds == 10 and settings.dev_defaults == ()
    monkeypatch.setenv("PROCESSING_DVCQG_URL", "https://lgsp.example.gov.vn/")
    assert Settings.from_env().dev_defaults == ("PROCESSING_DVCQG_PASSWORD",)
    monkeypatch.setenv("PROCESSING_DVCQG_PASSWORD", "a-real-secret")
    settings = Settings.from_env()
    assert settings.dev_defaults == () and settings.dvcqg.url == "https://lgsp.example.gov.vn"
    monkeypatch.setenv("PROCESSING_DVCQG_URL", "lgsp.example.gov.vn")  # no scheme: every call would fail, parked
    with pytest.raises(ConfigError, match="PROCESSING_DVCQG_URL"):
        Settings.from_env()
    monkeypatch.setenv("PROCESSING_DVCQG_URL", "https://lgsp.example.gov.vn")
    monkeypatch.setenv("PROCESSING_DVCQG_SYNC_SECONDS", "0")
    with pytest.raises(ConfigError, match="PROCESSING_DVCQG_SYNC_SECONDS"):
        Settings.from_env()


def test_the_worker_runs_the_sync_only_when_the_portal_url_is_set(monkeypatch):
    from processing import worker

    started = {}
    monkeypatch.setattr(worker, "run_worker", lambda settings, **kw: started.update(jobs=[j.name for j in kw["jobs"]]))
    monkeypatch.delenv("PROCESSING_DVCQG_URL", raising=False)
    worker.main()
    assert "dvcqg-sync" not in started["jobs"]
    monkeypatch.setenv("PROCESSING_DVCQG_URL", "http://127.0.0.1:8104")
    worker.main()
    assert "dvcqg-sync" in started["jobs"]


def test_an_answer_the_suite_cannot_read_is_retried_never_taken_for_a_success(db, portal, sync, clock):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))
    portal.control(garbage_rate=1.0)
    assert sync.run() == {"sent": 0, "retry": 1, "parked": 0}
    step = steps(db, code)[0]
    assert step.state == "pending" and "not JSON" in step.last_answer
    portal.control(garbage_rate=0.0)
    clock.advance(5)
    assert sync.run() == {"sent": 1, "retry": 0, "parked": 0} and portal.codes(code) == ["1"]


def test_a_step_claimed_by_one_worker_replica_is_not_taken_by_another_until_its_lease_ends(db):
    code = code_of(1)
    deliver(db, "dossier.submitted.v1", submitted(code))
    step, now = steps(db, code)[0], utcnow()
    with db.transaction() as conn:
        assert queries.claim_sync_step(conn, step.id, now, now + timedelta(seconds=60))
    with db.transaction() as conn:
        assert not queries.claim_sync_step(conn, step.id, now + timedelta(seconds=1), now + timedelta(seconds=61))
        assert queries.due_sync_heads(conn, now + timedelta(seconds=1)) == []
        assert queries.claim_sync_step(conn, step.id, now + timedelta(seconds=61), now + timedelta(seconds=121))

"""The national catalogue sync: the worker's job against the real DVCQG simulator (served in a thread), the admin
API that asks for runs and reads their reports, the code mapping, and what citizens then see."""
import copy
import dataclasses
import json
import threading
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from motcua_sims import dvcqg as sim
from servicekit.auth import issue_token
from servicekit.tables import now as utcnow

from intake import queries
from intake.catalogue_sync import CatalogueSync
from intake.models import catalogue_runs, procedures
from intake.seed import seed

from .conftest import BIRTH

MARRIAGE_STATUS = "1.004873.H56"  # 3 working days, a 10,000 VND fee, UBND phường Phúc Yên
NEW = "1.013999.H56"
AGENCY = "000.00.06.H56"


class Portal:
    """The simulator's app served by werkzeug on 127.0.0.1:<free port> in a thread."""

    def __init__(self, tmp_path):
        settings = sim.Settings(db_path=str(tmp_path / "dvcqg.db"), seed=3)
        self.server = make_server("127.0.0.1", 0, sim.create_app(settings), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def control(self, **changes):
        assert requests.put(f"{self.url}/v1/control", json=changes, timeout=5).status_code == 200

    def procedure(self, code):
        return next(p for p in requests.get(f"{self.url}/v1/procedures", timeout=5).json()["items"]
                    if p["MATTHC"] == code)

    def put(self, code, procedure):
        response = requests.put(f"{self.url}/v1/procedures/{code}", json=procedure, timeout=5)
        assert response.status_code == 200, response.text

    def delete(self, code):
        assert requests.delete(f"{self.url}/v1/procedures/{code}", timeout=5).status_code == 204


@pytest.fixture
def portal(tmp_path):
    p = Portal(tmp_path / "portal")
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
def synced_settings(settings, portal):
    return dataclasses.replace(settings, dvcqg=dataclasses.replace(settings.dvcqg, url=portal.url,
                                                                   madonvi="000.00.00.H56", timeout_seconds=5))


@pytest.fixture
def sync(db, synced_settings):
    job = CatalogueSync(db, synced_settings, client=synced_settings.dvcqg.client())
    yield job
    job.client.close()


@pytest.fixture
def admin_client(synced_settings, db):
    from intake.app import create_app

    app = create_app(synced_settings)
    app.config["TESTING"] = True
    return app.test_client()


def bearer(settings, role="admin", sub="admin-01"):
    return {"Authorization": f"Bearer {issue_token(settings.kit, sub=sub, role=role, agency=AGENCY)}"}


def run_now(admin_client, settings, sync, **body):
    """An admin asks for a run, the worker's next tick runs it; the run's report as the admin API gives it."""
    asked = admin_client.post("/v1/admin/catalogue/runs", json=body, headers=bearer(settings))
    assert asked.status_code == 202, asked.get_json()
    sync.tick()
    run = admin_client.get(f"/v1/admin/catalogue/runs/{asked.get_json()['id']}", headers=bearer(settings))
    assert run.status_code == 200
    return run.get_json()


def counted(name, **labels):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0


def with_time_and_fee(procedure, days, fee):
    changed = copy.deepcopy(procedure)
    for way in changed["CACHTHUCTHUCHIEN"]:
        way["THOIGIAN"][0]["THOIGIANGIAIQUYET"] = str(days)
        way["THOIGIAN"][0]["PHILEPHI"] = [{"MAPHILEPHI": f"LP.{procedure['MATTHC']}", "SOTIEN": str(fee),
                                           "DONVI": "VNĐ", "MOTA": "Lệ phí"}] if fee else []
    return changed


GUARDIANSHIP = {
    "TENTTHC": "Đăng ký giám hộ", "TRANGTHAI": "1", "MUCDO": "MOT_PHAN",
    "LINHVUCTHUCHIEN": [{"MALINHVUC": "HO_TICH", "TENLINHVUC": "Hộ tịch"}],
    "COQUANTHUCHIEN": [{"MADONVI": AGENCY, "TENDONVI": "UBND phường Phúc Yên"}],
    "CACHTHUCTHUCHIEN": [{"KENH": "1", "THOIGIAN": [{"THOIGIANGIAIQUYET": "3", "DONVITINH": "Ngày làm việc",
                                                     "MOTA": "", "PHILEPHI": []}]},
                         {"KENH": "3", "THOIGIAN": [{"THOIGIANGIAIQUYET": "3", "DONVITINH": "Ngày làm việc",
                                                     "MOTA": "", "PHILEPHI": []}]}],
    "THANHPHANHOSO": [{"GIAYTO": [
        {"MAGIAYTO": "TK_GIAM_HO", "TENGIAYTO": "Tờ khai đăng ký giám hộ (theo mẫu)", "TENMAUDON": "", "URL": "",
         "BATBUOC": "1"},
        {"MAGIAYTO": "VB_CU_GIAM_HO", "TENGIAYTO": "Văn bản cử người giám hộ", "TENMAUDON": "", "URL": ""}]}],
}


# ---- the catalogue sync adding and changing procedures --------------------------------------------------------
def test_the_first_run_finds_the_seeded_catalogue_as_the_portal_has_it_and_changes_nothing(
        admin_client, synced_settings, sync):
    run = run_now(admin_client, synced_settings, sync)
    assert run["state"] == "ok" and run["trigger"] == "admin" and run["requested_by"] == "admin-01"
    assert run["summary"] == {"listed": 25, "fetched": 25, "unchanged": 25, "added": 0, "changed": 0,
                              "withdrawn": 0, "restored": 0, "skipped": 0}
    # The marks are now known: a second run asks LayThuTuc for nothing.
    assert run_now(admin_client, synced_settings, sync)["summary"]["fetched"] == 0


def test_the_catalogue_sync_adds_a_procedure_and_changes_a_fee_and_a_deadline_reporting_each_field(
        admin_client, client, synced_settings, sync, portal, filing_body, file_dossier, documents):
    run_now(admin_client, synced_settings, sync)
    added_before = counted("motcua_dvcqg_catalogue_procedures_changed_total", change="added")
    portal.put(NEW, GUARDIANSHIP)
    portal.put(MARRIAGE_STATUS, with_time_and_fee(portal.procedure(MARRIAGE_STATUS), days=2, fee=15000))

    run = run_now(admin_client, synced_settings, sync)

    assert run["state"] == "ok" and run["error"] is None
    assert run["summary"] == {"listed": 26, "fetched": 2, "unchanged": 24, "added": 1, "changed": 1,
                              "withdrawn": 0, "restored": 0, "skipped": 0}
    [added] = run["report"]["added"]
    assert added == {"code": NEW, "national_code": NEW, "name": "Đăng ký giám hộ", "agency_code": AGENCY,
                     "field_code": "HO_TICH", "field_name": "Hộ tịch", "level": "partial_online", "processing_days": 3, "fee_vnd": 0, "fee_mode": "none",
                     "documents": [{"code": "TK_GIAM_HO", "name": "Tờ khai đăng ký giám hộ (theo mẫu)", "required": True},
                                   {"code": "VB_CU_GIAM_HO", "name": "Văn bản cử người giám hộ", "required": True}]}
    assert run["report"]["changed"] == [{"code": MARRIAGE_STATUS, "national_code": MARRIAGE_STATUS, "changes": {
        "processing_days": {"from": 3, "to": 2}, "fee_vnd": {"from": 10000, "to": 15000}}}]
    assert counted("motcua_dvcqg_catalogue_procedures_changed_total", change="added") - added_before == 1

    # Citizens see both at once: the new procedure (post offered: KENH 3) and the new fee and deadline.
    shown = client.get(f"/v1/procedures/{NEW}").get_json()
    assert shown["name"] == "Đăng ký giám hộ" and shown["delivery_methods"] == ["counter", "post"]
    assert shown["agency"] == {"code": AGENCY, "name": "UBND phường Phúc Yên"}
    changed = client.get(f"/v1/procedures/{MARRIAGE_STATUS}").get_json()
    assert (changed["fee_vnd"], changed["processing_days"], changed["fee_mode"]) == (15000, 2, "before")  # the mode stays local
    found = client.get("/v1/procedures", query_string={"q": "giam ho"}).get_json()
    assert [p["code"] for p in found["items"]] == [NEW]
    filed = file_dossier(filing_body(procedure_code=NEW, documents=documents("TK_GIAM_HO", "VB_CU_GIAM_HO"),
                                     delivery={"method": "counter", "address": None}))
    assert filed.status_code == 201, filed.get_json()


def test_the_catalogue_sync_brings_down_a_procedures_field_and_reports_a_changed_one(
        admin_client, client, synced_settings, sync, portal, db):
    run_now(admin_client, synced_settings, sync)
    with db.transaction() as conn:  # a row from before the field was kept: the next record fills it
        conn.execute(procedures.update().where(procedures.c.code == BIRTH).values(field_code=None, field_name=None))
    portal.put(BIRTH, {**portal.procedure(BIRTH), "TENTTHC": "Đăng ký khai sinh (sửa đổi)"})
    portal.put(MARRIAGE_STATUS, {**portal.procedure(MARRIAGE_STATUS),
                                 "LINHVUCTHUCHIEN": [{"MALINHVUC": "CHUNG_THUC", "TENLINHVUC": "Chứng thực"},
                                                     {"MALINHVUC": "HO_TICH", "TENLINHVUC": "Hộ tịch"}]})
    portal.put(NEW, {**GUARDIANSHIP, "LINHVUCTHUCHIEN": []})  # no field upstream: null, not a failure

    run = run_now(admin_client, synced_settings, sync)

    assert run["state"] == "ok", run["error"]
    [added] = run["report"]["added"]
    assert (added["code"], added["field_code"], added["field_name"]) == (NEW, None, None)
    changed = {item["code"]: item["changes"] for item in run["report"]["changed"]}
    assert changed[MARRIAGE_STATUS] == {"field_code": {"from": "HO_TICH", "to": "CHUNG_THUC"},
                                        "field_name": {"from": "Hộ tịch", "to": "Chứng thực"}}
    assert changed[BIRTH] == {"name": {"from": "Đăng ký khai sinh", "to": "Đăng ký khai sinh (sửa đổi)"},
                              "field_code": {"from": None, "to": "HO_TICH"},
                              "field_name": {"from": None, "to": "Hộ tịch"}}
    assert client.get(f"/v1/procedures/{MARRIAGE_STATUS}").get_json()["field"] == {"code": "CHUNG_THUC",
                                                                                  "name": "Chứng thực"}
    assert client.get(f"/v1/procedures/{BIRTH}").get_json()["field"] == {"code": "HO_TICH", "name": "Hộ tịch"}
    assert client.get(f"/v1/procedures/{NEW}").get_json()["field"] is None
    # A record that drops its field later leaves the one the procedure has.
    portal.put(MARRIAGE_STATUS, {k: v for k, v in portal.procedure(MARRIAGE_STATUS).items()
                                 if k != "LINHVUCTHUCHIEN"} | {"TENTTHC": "Cấp Giấy xác nhận tình trạng hôn nhân (sửa)"})
    again = run_now(admin_client, synced_settings, sync)
    assert again["report"]["changed"][0]["changes"].keys() == {"name"}
    assert client.get(f"/v1/procedures/{MARRIAGE_STATUS}").get_json()["field"]["code"] == "CHUNG_THUC"


def test_the_seed_of_a_redeploy_leaves_what_the_sync_brought_down(admin_client, synced_settings, sync, portal,
                                                                  db, client):
    portal.put(MARRIAGE_STATUS, with_time_and_fee(portal.procedure(MARRIAGE_STATUS), days=2, fee=15000))
    run_now(admin_client, synced_settings, sync)
    seed(db)  # `manage migrate` seeds again at every deploy
    assert client.get(f"/v1/procedures/{MARRIAGE_STATUS}").get_json()["fee_vnd"] == 15000


def test_a_procedure_gone_from_the_national_list_is_withdrawn_not_deleted_and_comes_back_when_listed_again(
        admin_client, synced_settings, sync, portal, client, file_dossier, db):
    client.application.extensions["intake.catalogue"].ttl_seconds = 0  # filings see the change at once
    assert file_dossier().status_code == 201  # a dossier of the birth registration
    birth = portal.procedure(BIRTH)
    portal.delete(BIRTH)

    run = run_now(admin_client, synced_settings, sync)

    assert run["report"]["withdrawn"] == [{"code": BIRTH, "national_code": BIRTH, "reason": "missing_upstream",
                                           "dossiers": 1}]
    with db.transaction(readonly=True) as conn:
        row = conn.execute(sa.select(procedures).where(procedures.c.code == BIRTH)).one()
    assert row.withdrawn_at is not None and row.name == "Đăng ký khai sinh"  # kept for its dossiers
    assert client.get(f"/v1/procedures/{BIRTH}").status_code == 404
    assert BIRTH not in [p["code"] for p in client.get("/v1/procedures?per_page=100").get_json()["items"]]
    refused = file_dossier()
    assert refused.status_code == 422 and "ngừng áp dụng" in refused.get_json()["message"]

    portal.put(BIRTH, birth)
    again = run_now(admin_client, synced_settings, sync)
    assert again["report"]["restored"] == [{"code": BIRTH, "national_code": BIRTH}]
    assert client.get(f"/v1/procedures/{BIRTH}").status_code == 200


def test_a_procedure_the_portal_marks_not_public_is_withdrawn(admin_client, synced_settings, sync, portal):
    run_now(admin_client, synced_settings, sync)
    portal.put(BIRTH, {**portal.procedure(BIRTH), "TRANGTHAI": "0"})
    run = run_now(admin_client, synced_settings, sync)
    assert run["report"]["withdrawn"] == [{"code": BIRTH, "national_code": BIRTH, "reason": "not_public"}]


def test_a_national_code_maps_to_the_provinces_own_through_the_admin_mapping(admin_client, synced_settings, sync,
                                                                            portal, client):
    national = "1.001193.000.00.00.H56"
    birth = portal.procedure(BIRTH)
    portal.delete(BIRTH)
    portal.put(national, {**birth, "TENTTHC": "Đăng ký khai sinh (mã quốc gia)"})
    put = admin_client.put(f"/v1/admin/catalogue/mappings/{national}", headers=bearer(synced_settings),
                           json={"local_code": BIRTH, "note": "Mã đầy đủ trên CSDL quốc gia"})
    assert put.status_code == 200 and put.get_json()["updated_by"] == "admin-01"

    run = run_now(admin_client, synced_settings, sync)

    assert run["report"]["added"] == [] and run["report"]["withdrawn"] == []
    assert run["report"]["changed"] == [{"code": BIRTH, "national_code": national, "changes": {
        "name": {"from": "Đăng ký khai sinh", "to": "Đăng ký khai sinh (mã quốc gia)"}}}]
    assert client.get(f"/v1/procedures/{BIRTH}").get_json()["name"] == "Đăng ký khai sinh (mã quốc gia)"
    listed = admin_client.get("/v1/admin/catalogue/mappings", headers=bearer(synced_settings)).get_json()["items"]
    assert [(m["national_code"], m["local_code"]) for m in listed] == [(national, BIRTH)]
    # One province code, one national code: a second mapping onto it is refused.
    taken = admin_client.put("/v1/admin/catalogue/mappings/1.001193.999.99.99.H56", headers=bearer(synced_settings),
                             json={"local_code": BIRTH})
    assert taken.status_code == 422
    assert admin_client.put(f"/v1/admin/catalogue/mappings/{national}", headers=bearer(synced_settings),
                            json={"local_code": "khai sinh"}).status_code == 422
    assert admin_client.delete(f"/v1/admin/catalogue/mappings/{national}",
                               headers=bearer(synced_settings)).status_code == 204
    assert admin_client.delete(f"/v1/admin/catalogue/mappings/{national}",
                               headers=bearer(synced_settings)).status_code == 404


# ---- a bad answer fails the run with nothing applied -----------------------------------------------------------
@pytest.mark.parametrize("trouble", ["portal_error", "garbage", "unreadable_procedure", "malformed_field",
                                     "empty_list"])
def test_a_bad_answer_fails_the_run_cleanly_with_nothing_half_applied(admin_client, synced_settings, sync, portal,
                                                                      client, trouble, db):
    run_now(admin_client, synced_settings, sync)
    portal.put(MARRIAGE_STATUS, with_time_and_fee(portal.procedure(MARRIAGE_STATUS), days=2, fee=15000))
    portal.put(NEW, GUARDIANSHIP)
    failed_before = counted("motcua_dvcqg_catalogue_runs_total", outcome="failed")
    if trouble == "portal_error":
        portal.control(fail_next=1)  # HTTP 500 {"error_code": -1, "Lỗi hệ thống"}
    elif trouble == "garbage":
        portal.control(garbage_rate=1.0)
    elif trouble == "unreadable_procedure":
        broken = copy.deepcopy(GUARDIANSHIP)
        broken["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0]["THOIGIANGIAIQUYET"] = "ba ngày"
        portal.put(NEW, broken)
    elif trouble == "malformed_field":
        portal.put(NEW, {**GUARDIANSHIP, "LINHVUCTHUCHIEN": [{"TENLINHVUC": "Hộ tịch"}]})  # no MALINHVUC
    else:
        for code in [p["MATTHC"] for p in requests.get(f"{portal.url}/v1/procedures", timeout=5).json()["items"]]:
            portal.delete(code)

    run = run_now(admin_client, synced_settings, sync)

    assert run["state"] == "failed" and run["report"] is None and run["summary"] is None and run["error"]
    assert counted("motcua_dvcqg_catalogue_runs_total", outcome="failed") - failed_before == 1
    assert client.get(f"/v1/procedures/{MARRIAGE_STATUS}").get_json()["fee_vnd"] == 10000  # nothing applied
    assert client.get(f"/v1/procedures/{NEW}").status_code == 404
    assert client.get(f"/v1/procedures/{BIRTH}").status_code == 200
    portal.control(garbage_rate=0.0)
    if trouble in ("unreadable_procedure", "malformed_field"):
        portal.put(NEW, GUARDIANSHIP)
    if trouble != "empty_list":  # and the next run brings everything at once
        assert run_now(admin_client, synced_settings, sync)["summary"]["added"] == 1


def test_a_run_that_would_withdraw_most_of_the_catalogue_on_one_answer_fails(admin_client, synced_settings, sync,
                                                                            portal, client):
    for code in [p["MATTHC"] for p in requests.get(f"{portal.url}/v1/procedures", timeout=5).json()["items"]][1:]:
        portal.delete(code)
    run = run_now(admin_client, synced_settings, sync)
    assert run["state"] == "failed" and "lacks 24 of 25" in run["error"]
    assert client.get("/v1/procedures?per_page=100").get_json()["total"] == 25


def test_a_run_left_running_by_a_dead_worker_is_failed_and_the_next_one_goes_ahead(db, synced_settings):
    long_ago = utcnow() - timedelta(hours=2)
    with db.transaction() as conn:
        dead = queries.insert_catalogue_run(conn, trigger="schedule", state="running", requested_at=long_ago,
                                            started_at=long_ago)
    hourly = dataclasses.replace(synced_settings, dvcqg_catalogue_interval_seconds=3600)
    assert CatalogueSync(db, hourly, client=hourly.dvcqg.client()).tick()["state"] == "ok"  # due: started 2 h ago
    with db.transaction(readonly=True) as conn:
        assert queries.get_catalogue_run(conn, dead).state == "failed"


# ---- the schedule and the admin API -----------------------------------------------------------------------------
def test_the_schedule_runs_when_due_and_not_again_before_its_interval(db, synced_settings):
    class Clock:
        now = utcnow()

        def __call__(self):
            return self.now

    clock = Clock()
    job = CatalogueSync(db, dataclasses.replace(synced_settings, dvcqg_catalogue_interval_seconds=3600),
                        client=synced_settings.dvcqg.client(), clock=clock)
    assert job.tick()["state"] == "ok"
    clock.now += timedelta(minutes=59)
    assert job.tick() is None
    clock.now += timedelta(minutes=2)
    assert job.tick()["state"] == "ok"
    off = CatalogueSync(db, dataclasses.replace(synced_settings, dvcqg_catalogue_interval_seconds=0),
                        client=synced_settings.dvcqg.client(), clock=clock)
    clock.now += timedelta(days=3)
    assert off.tick() is None  # 0: only on an admin's request
    with db.transaction(readonly=True) as conn:
        assert [r.trigger for r in conn.execute(sa.select(catalogue_runs)).all()] == ["schedule", "schedule"]


def test_only_an_admin_asks_for_a_run_and_a_second_request_joins_the_waiting_one(admin_client, synced_settings,
                                                                                  settings, db):
    assert admin_client.post("/v1/admin/catalogue/runs", json={}).status_code == 401
    assert admin_client.post("/v1/admin/catalogue/runs", json={},
                             headers=bearer(synced_settings, role="clerk")).status_code == 403
    assert admin_client.get("/v1/admin/catalogue/runs", headers=bearer(synced_settings, role="leader")).status_code == 403
    first = admin_client.post("/v1/admin/catalogue/runs", json={"full": True}, headers=bearer(synced_settings))
    second = admin_client.post("/v1/admin/catalogue/runs", json={}, headers=bearer(synced_settings, sub="admin-02"))
    assert first.status_code == second.status_code == 202
    assert first.get_json()["id"] == second.get_json()["id"] and second.get_json()["state"] == "requested"
    assert admin_client.post("/v1/admin/catalogue/runs", json={"full": "yes please"},
                             headers=bearer(synced_settings)).status_code == 422
    listed = admin_client.get("/v1/admin/catalogue/runs", headers=bearer(synced_settings)).get_json()["items"]
    assert [(r["id"], r["full"], r["requested_by"]) for r in listed] == [(first.get_json()["id"], True, "admin-01")]
    assert "report" not in listed[0]
    assert admin_client.get("/v1/admin/catalogue/runs/999", headers=bearer(synced_settings)).status_code == 404
    assert admin_client.get("/v1/admin/catalogue/runs?limit=0", headers=bearer(synced_settings)).status_code == 422

    from intake.app import create_app

    unconfigured = create_app(settings).test_client()  # no INTAKE_DVCQG_URL
    answer = unconfigured.post("/v1/admin/catalogue/runs", json={}, headers=bearer(settings))
    assert answer.status_code == 409 and "INTAKE_DVCQG_URL" in answer.get_json()["message"]
    assert admin_client.get(f"/v1/admin/catalogue/runs/{10**30}", headers=bearer(synced_settings)).status_code == 404


def test_the_admin_examples_are_what_the_schemas_produce():
    from intake import admin_api

    assert set(admin_api.RUN_EXAMPLE) == set(admin_api.RunSchema().fields)
    assert set(admin_api.REPORT_EXAMPLE) == set(admin_api.RunReportSchema().fields)
    assert set(admin_api.MAPPING_EXAMPLE) == set(admin_api.MappingSchema().fields)
    json.dumps(admin_api.REPORT_EXAMPLE)


def test_the_worker_runs_the_catalogue_sync_only_when_the_portal_url_is_set(monkeypatch, tmp_path):
    from intake.config import Settings
    from intake.worker import jobs

    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.delenv("INTAKE_DVCQG_URL", raising=False)
    assert [job.name for job in jobs(Settings.from_env())] == ["sweep-uploads"]
    monkeypatch.setenv("INTAKE_DVCQG_URL", "http://127.0.0.1:8104")
    monkeypatch.setenv("INTAKE_DVCQG_CATALOGUE_POLL_SECONDS", "7")
    settings = Settings.from_env()
    assert [(job.name, job.every_seconds) for job in jobs(settings)] == [("sweep-uploads", 300.0),
                                                                          ("dvcqg-catalogue", 7.0)]
    assert "INTAKE_DVCQG_PASSWORD" in settings.dev_defaults
    monkeypatch.setenv("INTAKE_DVCQG_URL", "ftp://portal")
    from servicekit.config import ConfigError

    with pytest.raises(ConfigError, match="INTAKE_DVCQG_URL"):
        Settings.from_env()


def test_a_session_the_portal_ends_between_runs_is_renewed_once_and_the_run_goes_through(
        admin_client, synced_settings, sync, portal):
    run_now(admin_client, synced_settings, sync)
    assert requests.post(f"{portal.url}/v1/control/expire-sessions", timeout=5).json()["expired"] == 1
    portal.put(NEW, GUARDIANSHIP)
    run = run_now(admin_client, synced_settings, sync)
    assert run["state"] == "ok" and run["summary"]["added"] == 1
    calls = requests.get(f"{portal.url}/v1/calls", timeout=5).json()["items"]
    assert [c["service"] for c in calls].count("auth") == 2  # the first session, then one renewal
    assert any(c["outcome"] == "expired" for c in calls)


# ---- reading one national record --------------------------------------------------------------------------------
def national(**changes):
    item = {"MATTHC": NEW, **copy.deepcopy(GUARDIANSHIP)}
    item.update(changes)
    return item


def timed(value, unit="Ngày làm việc", fee="0"):
    return [{"KENH": "2", "THOIGIAN": [{"THOIGIANGIAIQUYET": value, "DONVITINH": unit, "MOTA": "",
                                        "PHILEPHI": [{"MAPHILEPHI": "LP", "SOTIEN": fee, "DONVI": "VNĐ"}]}]}]


@pytest.mark.parametrize("changes, words", [
    ({"MATTHC": "1.000001.H56"}, "another procedure"),
    ({"TENTTHC": ""}, "TENTTHC"),
    ({"MUCDO": "CAO_NHAT"}, "MUCDO"),
    ({"CACHTHUCTHUCHIEN": timed("ba ngày")}, "THOIGIANGIAIQUYET"),
    ({"CACHTHUCTHUCHIEN": timed(float("nan"))}, "THOIGIANGIAIQUYET"),
    ({"CACHTHUCTHUCHIEN": timed("99999999")}, "THOIGIANGIAIQUYET"),
    ({"CACHTHUCTHUCHIEN": timed("3", fee="1500.5")}, "whole VND"),
    ({"CACHTHUCTHUCHIEN": timed("3", fee="-5")}, "SOTIEN"),
    ({"CACHTHUCTHUCHIEN": "3 ngày"}, "CACHTHUCTHUCHIEN"),
    ({"THANHPHANHOSO": [{"GIAYTO": [{"TENGIAYTO": "Tờ khai"}]}]}, "MAGIAYTO"),
    ({"THANHPHANHOSO": [{"GIAYTO": [{"MAGIAYTO": "!!", "TENGIAYTO": "Tờ khai"}]}]}, "MAGIAYTO"),
    ({"LINHVUCTHUCHIEN": {"MALINHVUC": "HO_TICH", "TENLINHVUC": "Hộ tịch"}}, "LINHVUCTHUCHIEN"),
    ({"LINHVUCTHUCHIEN": ["HO_TICH"]}, "LINHVUCTHUCHIEN"),
    ({"LINHVUCTHUCHIEN": [{"MALINHVUC": "", "TENLINHVUC": "Hộ tịch"}]}, "MALINHVUC"),
    ({"LINHVUCTHUCHIEN": [{"MALINHVUC": "X" * 41, "TENLINHVUC": "Hộ tịch"}]}, "MALINHVUC"),
    ({"LINHVUCTHUCHIEN": [{"MALINHVUC": "HO_TICH", "TENLINHVUC": None}]}, "TENLINHVUC"),
])
def test_a_national_record_the_suite_cannot_read_is_a_bad_answer_naming_the_field(changes, words):
    from intake.catalogue_sync import BadAnswer, read_procedure

    with pytest.raises(BadAnswer, match=words):
        read_procedure(national(**changes), NEW)


def test_the_field_is_the_first_of_linhvucthuchien_and_optional():
    from intake.catalogue_sync import read_procedure

    read = read_procedure(national(LINHVUCTHUCHIEN=[{"MALINHVUC": " HO_TICH ", "TENLINHVUC": "Hộ tịch"},
                                                    {"MALINHVUC": "CHUNG_THUC", "TENLINHVUC": "Chứng thực"}]), NEW)
    assert (read["field_code"], read["field_name"]) == ("HO_TICH", "Hộ tịch")
    for absent in ({"LINHVUCTHUCHIEN": []}, {"LINHVUCTHUCHIEN": None}):
        assert "field_code" not in read_procedure(national(**absent), NEW)
    item = national()
    del item["LINHVUCTHUCHIEN"]
    assert not {"field_code", "field_name"} & set(read_procedure(item, NEW))


def test_hours_become_working_days_rounded_up_and_document_codes_are_folded():
    from intake.catalogue_sync import read_procedure

    read = read_procedure(national(CACHTHUCTHUCHIEN=timed("12", "Giờ làm việc", fee="25000"), THANHPHANHOSO=[
        {"GIAYTO": [{"MAGIAYTO": "tờ-khai 01", "TENGIAYTO": "Tờ khai", "BATBUOC": "0"}]}]), NEW)
    assert read["processing_days"] == 2 and read["fee_vnd"] == 25000
    assert read["documents"] == [{"code": "TO_KHAI_01", "name": "Tờ khai", "required": False}]


def test_the_dossiers_of_a_withdrawn_procedure_keep_working(admin_client, synced_settings, sync, portal, client,
                                                            file_dossier, documents, db):
    from servicekit.testing import deliver_event

    from intake.events import CONSUMES
    from intake.handlers import SUBSCRIPTION
    from intake.models import inbox

    client.application.extensions["intake.catalogue"].ttl_seconds = 0
    filed = file_dossier().get_json()
    portal.delete(BIRTH)
    assert run_now(admin_client, synced_settings, sync)["summary"]["withdrawn"] == 1
    for seq, type_ in ((3, "dossier.received.v1"), (4, "dossier.supplement_requested.v1")):
        data = {**json.loads(json.dumps(CONSUMES[type_].example)), "code": filed["code"], "seq": seq}
        assert deliver_event(db, inbox, SUBSCRIPTION, "intake", type_, data, subject=filed["code"]) == "ok"
    token = {"Authorization": f"Bearer {filed['access_token']}"}
    answer = client.post(f"/v1/dossiers/{filed['code']}/supplements", headers=token,
                         json={"documents": documents("GIAY_CHUNG_SINH"), "note": None})
    assert answer.status_code == 201, answer.get_json()
    assert client.get(f"/v1/dossiers/{filed['code']}", headers=token).get_json()["procedure"]["code"] == BIRTH
    assert client.get(f"/v1/dossiers/{filed['code']}/receipt.pdf", headers=token).status_code == 200

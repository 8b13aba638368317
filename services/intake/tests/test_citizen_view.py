"""The citizen's view by access token, and finding a dossier by code and ID number (rate limited)."""
from datetime import timedelta

import sqlalchemy as sa

from servicekit.tables import now

from intake.models import lookup_limits


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_citizen_sees_their_dossier_with_the_filing_token(client, file_dossier):
    filed = file_dossier().get_json()
    response = client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"]))
    assert response.status_code == 200
    view = response.get_json()
    assert view["code"] == filed["code"] and view["status"] == "submitted" and view["status_code"] == 1
    assert view["procedure"] == {"code": "1.001193.H56", "name": "Đăng ký khai sinh"}
    assert view["submitted_at"] == filed["submitted_at"]
    assert view["timeline"] == [{"at": filed["submitted_at"], "status": "submitted", "note": "Hồ sơ đã được nộp trực tuyến"}]
    assert view["delivery"] == {"method": "post", "tracking_no": None, "status": None}
    assert view["payment"] is None and view["supplement_request"] is None and view["overdue"] is False
    assert "id_number" not in view and "access_token" not in view


def test_wrong_token_and_unknown_code_are_the_same_404(client, file_dossier):
    mine = file_dossier().get_json()
    theirs = file_dossier().get_json()
    wrong = client.get(f"/v1/dossiers/{mine['code']}", headers=bearer(theirs["access_token"]))
    unknown = client.get("/v1/dossiers/000.00.06.H56-261124-9999", headers=bearer(mine["access_token"]))
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.get_json() == unknown.get_json()


def test_missing_token_is_a_401(client, file_dossier):
    code = file_dossier().get_json()["code"]
    assert client.get(f"/v1/dossiers/{code}").status_code == 401


def test_lookup_by_code_and_id_number_gives_the_view_and_a_fresh_token_and_the_filing_token_keeps_working(
        client, file_dossier):
    filed = file_dossier().get_json()
    response = client.post("/v1/dossiers/lookup", json={"code": filed["code"], "id_number": " 001190012345 "})
    assert response.status_code == 200
    found = response.get_json()
    assert found["code"] == filed["code"] and found["status_code"] == 1 and found["timeline"]
    assert found["access_token"] != filed["access_token"]
    assert client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(found["access_token"])).status_code == 200
    # Whoever knows the code and ID number gets a token of their own; the citizen's is not taken away.
    assert client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).status_code == 200


def test_lookup_finds_a_branch_by_its_tax_code_written_either_way(client, file_dossier, filing_body):
    body = filing_body()
    body["applicant"].update(type="business", id_number="0123456789-001", full_name="Chi nhánh Công ty Ánh Dương")
    code = file_dossier(body).get_json()["code"]
    assert client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "0123456789001"}).status_code == 200


def test_lookup_mismatch_is_a_404_like_an_unknown_code(client, file_dossier):
    code = file_dossier().get_json()["code"]
    mismatch = client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190099999"})
    unknown = client.post("/v1/dossiers/lookup", json={"code": "nope", "id_number": "001190012345"})
    assert mismatch.status_code == unknown.status_code == 404
    assert mismatch.get_json() == unknown.get_json()


def test_lookup_without_fields_is_a_422_naming_them(client):
    errors = client.post("/v1/dossiers/lookup", json={}).get_json()["errors"]["json"]
    assert set(errors) == {"code", "id_number"}


def test_five_misses_from_one_address_block_it_with_retry_after(client, file_dossier):
    code = file_dossier().get_json()["code"]
    miss = {"code": code, "id_number": "001190099999"}
    assert [client.post("/v1/dossiers/lookup", json=miss).status_code for _ in range(5)] == [404] * 5
    blocked = client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190012345"})
    assert blocked.status_code == 429
    assert 590 <= int(blocked.headers["Retry-After"]) <= 600
    assert blocked.get_json()["code"] == 429
    other = client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190012345"},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_the_block_lifts_when_the_window_ends(client, db, file_dossier):
    code = file_dossier().get_json()["code"]
    for _ in range(5):
        client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190099999"})
    with db.transaction() as conn:
        conn.execute(lookup_limits.update().values(window_started_at=now() - timedelta(minutes=10, seconds=1)))
    assert client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190012345"}).status_code == 200
    # A miss after the window starts a new count of one instead of adding to the old one.
    client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190099999"})
    with db.transaction(readonly=True) as conn:
        assert conn.execute(sa.select(lookup_limits.c.misses)).scalar_one() == 1


def test_misses_are_counted_in_the_database_across_app_instances(app, settings, file_dossier):
    from intake.app import create_app

    code = file_dossier().get_json()["code"]
    other_worker = create_app(settings).test_client()  # another gunicorn worker: nothing shared in memory
    for client in (app.test_client(), other_worker) * 3:
        client.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190099999"})
    assert other_worker.post("/v1/dossiers/lookup", json={"code": code, "id_number": "001190012345"}).status_code == 429

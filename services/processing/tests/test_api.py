from servicekit.auth import issue_token
from servicekit.testing import deliver_event

from processing.handlers import SUBSCRIPTION
from processing.models import inbox


def auth(settings, agency="000.00.06.H56", role="clerk"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub="clerk-1", role=role, agency=agency)}


def file_two_agencies(db, dossier_submitted):
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", dossier_submitted())
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1",
                  dossier_submitted(code="000.00.07.H56-261124-0001", agency="000.00.07.H56"))


def test_officer_lists_only_their_agencys_dossiers(client, db, settings, dossier_submitted):
    file_two_agencies(db, dossier_submitted)
    body = client.get("/v1/dossiers", headers=auth(settings)).get_json()
    assert body["total"] == 1 and body["items"][0]["code"] == "000.00.06.H56-261124-0001"


def test_another_agencys_dossier_is_a_404_like_an_unknown_one(client, db, settings, dossier_submitted):
    file_two_agencies(db, dossier_submitted)
    other = client.get("/v1/dossiers/000.00.07.H56-261124-0001", headers=auth(settings))
    unknown = client.get("/v1/dossiers/nope", headers=auth(settings))
    assert other.status_code == unknown.status_code == 404
    assert other.get_json()["message"] == unknown.get_json()["message"]


def test_dossier_detail_carries_its_audit_trail(client, db, settings, dossier_submitted):
    file_two_agencies(db, dossier_submitted)
    body = client.get("/v1/dossiers/000.00.06.H56-261124-0001", headers=auth(settings)).get_json()
    assert body["audit"][0]["action"] == "open"


def test_missing_or_forged_token_is_a_401_in_the_common_error_shape(client, settings):
    assert client.get("/v1/dossiers").status_code == 401
    forged = client.get("/v1/dossiers", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert set(forged.get_json()) >= {"code", "status", "message"}


def test_invalid_query_is_a_422_naming_the_field(client, settings):
    response = client.get("/v1/dossiers?status=flying", headers=auth(settings))
    assert response.status_code == 422
    assert "status" in response.get_json()["errors"]["query"]


def test_health_openapi_and_metrics_are_served(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").get_json()["info"]["title"].startswith("Mot Cua processing")
    assert client.get("/docs").status_code == 200
    assert b"motcua_http_requests_total" in client.get("/metrics").data

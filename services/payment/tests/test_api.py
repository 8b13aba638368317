"""Officer API: the payment order of a dossier of the officer's own agency."""
import pytest

from servicekit.auth import issue_token
from servicekit.testing import deliver_event

from payment.models import inbox


def auth(settings, agency="000.00.06.H56", role="clerk"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub="officer-1", role=role, agency=agency)}


def file_dossier(db, subscription, data):
    deliver_event(db, inbox, subscription, "payment", "dossier.submitted.v1", data)


@pytest.mark.parametrize("role", ["clerk", "specialist", "leader", "admin"])
def test_any_officer_of_the_agency_sees_the_payment_order(client, db, settings, subscription, dossier_submitted, role):
    file_dossier(db, subscription, dossier_submitted(fee_vnd=50000, fee_mode="before"))
    response = client.get("/v1/payments/000.00.06.H56-261124-0001", headers=auth(settings, role=role))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["amount_vnd"], body["fee_mode"]) == ("pending", 50000, "before")
    assert body["qr_payload"].startswith("000201010212") and body["reference"].startswith("MC")
    assert body["expires_at"] and body["dossier_code"] == "000.00.06.H56-261124-0001"


def test_unknown_dossier_and_another_agencys_order_are_the_same_404(client, db, settings, subscription, dossier_submitted):
    file_dossier(db, subscription, dossier_submitted(code="000.00.07.H56-261124-0001", agency="000.00.07.H56"))
    other = client.get("/v1/payments/000.00.07.H56-261124-0001", headers=auth(settings))
    unknown = client.get("/v1/payments/nope", headers=auth(settings))
    assert other.status_code == unknown.status_code == 404
    assert other.get_json()["message"] == unknown.get_json()["message"]


def test_missing_or_forged_token_is_a_401_in_the_common_error_shape(client, db):
    assert client.get("/v1/payments/000.00.06.H56-261124-0001").status_code == 401
    forged = client.get("/v1/payments/000.00.06.H56-261124-0001", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert set(forged.get_json()) >= {"code", "status", "message"}


def test_health_openapi_and_metrics_are_served(client, db, subscription, dossier_submitted):
    file_dossier(db, subscription, dossier_submitted())
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"].startswith("Mot Cua payment") and spec["info"]["description"]
    assert "/v1/payments/{dossier_code}" in spec["paths"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/docs").status_code == 200
    assert b"motcua_payments_total" in client.get("/metrics").data

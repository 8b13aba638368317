"""Postal's HTTP API: public quotes and the officer view of a dossier's shipment."""
import pytest

from servicekit.auth import issue_token
from servicekit.testing import deliver_event

from postal.handlers import SUBSCRIPTION
from postal.models import inbox


def auth(settings, agency="000.00.06.H56", role="clerk"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub="officer-1", role=role, agency=agency)}


def test_anyone_gets_a_quote_without_a_token(client):
    response = client.get("/v1/quotes?zone=inter_region&weight_g=600&service=return&on=2026-11-24")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["operator_vnd"], body["citizen_vnd"], body["tariff_version"]) == (46300, 10000, "vnpost-2021")


def test_a_quote_without_a_date_uses_today(client):
    body = client.get("/v1/quotes?zone=intra_district&weight_g=100&service=collect").get_json()
    assert body["operator_vnd"] == 26000 and body["on"]


@pytest.mark.parametrize("query, field", [
    ("zone=inter_region&weight_g=0&service=return", "weight_g"),
    ("zone=inter_region&weight_g=heavy&service=return", "weight_g"),
    ("zone=inter_region&weight_g=100&service=express", "service"),
    ("weight_g=100&service=return", "zone"),
    ("zone=moon&weight_g=100&service=return", "zone"),
    ("zone=inter_region&weight_g=100&service=return&on=2020-01-01", "on"),
])
def test_bad_quote_parameters_are_a_422_naming_the_field(client, query, field):
    response = client.get(f"/v1/quotes?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["query"]


def test_officer_sees_the_shipment_of_their_agencys_dossier(client, seeded_db, settings, dossier_submitted):
    deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1", dossier_submitted())
    response = client.get("/v1/shipments/000.00.06.H56-261124-0001", headers=auth(settings, role="specialist"))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["service"], body["status"]) == ("return", "awaiting_result")
    assert body["tracking_no"].startswith("MC") and body["recipient"]["province"] == "Phú Thọ"


def test_unknown_dossier_and_another_agencys_shipment_are_the_same_404(client, seeded_db, settings, dossier_submitted):
    deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1",
                  dossier_submitted(code="000.00.07.H56-261124-0001", agency="000.00.07.H56"))
    other = client.get("/v1/shipments/000.00.07.H56-261124-0001", headers=auth(settings))
    unknown = client.get("/v1/shipments/nope", headers=auth(settings))
    assert other.status_code == unknown.status_code == 404
    assert other.get_json()["message"] == unknown.get_json()["message"]


def test_missing_or_forged_token_is_a_401_in_the_common_error_shape(client):
    assert client.get("/v1/shipments/000.00.06.H56-261124-0001").status_code == 401
    forged = client.get("/v1/shipments/000.00.06.H56-261124-0001", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert set(forged.get_json()) >= {"code", "status", "message"}


def test_health_openapi_and_metrics_are_served(client, seeded_db, dossier_submitted):
    deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1", dossier_submitted())
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"].startswith("Mot Cua postal") and spec["info"]["description"]
    assert {"/v1/quotes", "/v1/shipments/{dossier_code}"} <= set(spec["paths"])
    assert client.get("/healthz").status_code == 200
    assert client.get("/docs").status_code == 200
    assert b"motcua_shipments_total" in client.get("/metrics").data

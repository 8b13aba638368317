"""Postal's HTTP API: public quotes and the officer view of a dossier's shipment."""
import pytest

from servicekit.auth import issue_token
from servicekit.testing import deliver_event

from postal.handlers import SUBSCRIPTION
from postal.models import inbox

from .conftest import DA_NANG_AGENCY


def auth(settings, agency="000.00.06.H56", role="clerk"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub="officer-1", role=role, agency=agency)}


def test_anyone_gets_a_quote_from_an_address_without_a_token(client):
    response = client.get("/v1/quotes?province=Ha%20Noi&commune=Hoan%20Kiem&weight_g=1200&service=return"
                          f"&agency={DA_NANG_AGENCY}&on=2026-11-24")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["zone"], body["operator_vnd"], body["citizen_vnd"], body["subsidy_vnd"]) == ("inter_region", 52600,
                                                                                             10000, 42600)
    assert (body["tariff_version"], body["citizen_policy"], body["zoning_version"]) == ("vnpost-2021", "ha-tinh-2022",
                                                                                       "vn-34-2025-07")
    assert body["recipient"] == {"province": "Hà Nội", "commune": "Phường Hoàn Kiếm", "region": "north"}
    assert [line["vnd"] for line in body["breakdown"]["operator"]] == [40000, 12600]


def test_a_quote_with_exemption_and_fee_transfer_from_the_default_sender(client):
    body = client.get("/v1/quotes?province=Tỉnh%20Phú%20Thọ&commune=Phường%20Việt%20Trì&weight_g=100"
                      "&service=collect&exemption=half&fee_transfer=true").get_json()
    assert (body["zone"], body["operator_vnd"], body["citizen_vnd"], body["exemption"], body["fee_transfer"]) == (
        "intra_district", 26000 + 8000, 5000 + 8000, "half", True)
    assert body["on"] and body["sender"]["commune"] == "Phường Việt Trì"


@pytest.mark.parametrize("query, field", [
    ("province=Hà Nội&commune=Hoàn Kiếm&weight_g=0&service=return", "weight_g"),
    ("province=Hà Nội&commune=Hoàn Kiếm&weight_g=30001&service=return", "weight_g"),
    ("province=Hà Nội&commune=Hoàn Kiếm&weight_g=heavy&service=return", "weight_g"),
    ("province=Hà Nội&commune=Hoàn Kiếm&weight_g=100&service=express", "service"),
    ("province=Hà Nội&commune=Hoàn Kiếm&weight_g=100&service=return&exemption=vip", "exemption"),
    ("province=Atlantis&commune=Hoàn Kiếm&weight_g=100&service=return", "province"),
    ("province=Hà Nội&commune=Phường Hải Châu&weight_g=100&service=return", "commune"),
    ("commune=Hoàn Kiếm&weight_g=100&service=return", "province"),
    ("province=Hà Nội&commune=Hoàn Kiếm&weight_g=100&service=return&on=2024-01-01", "on"),
])
def test_bad_quote_parameters_are_a_422_naming_the_field(client, query, field):
    response = client.get(f"/v1/quotes?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["query"]


def test_the_map_behind_quotes_is_listed_for_address_pickers(client):
    body = client.get("/v1/places").get_json()
    assert body["version"] == "vn-34-2025-07" and len(body["provinces"]) == 34
    assert {"name": "Đà Nẵng", "region": "central", "communes": 94} in body["provinces"]
    da_nang = client.get("/v1/places/thanh pho da nang").get_json()
    assert da_nang["name"] == "Đà Nẵng" and len(da_nang["communes"]) == 94
    assert {"name": "Phường Hải Châu", "inner_city": True} in da_nang["communes"]
    assert {"name": "Xã Bà Nà", "inner_city": False} in da_nang["communes"]
    missing = client.get("/v1/places/Atlantis")
    assert missing.status_code == 404 and "Atlantis" in missing.get_json()["message"]


def test_officer_sees_the_shipment_of_their_agencys_dossier(client, seeded_db, settings, dossier_submitted):
    deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1", dossier_submitted())
    response = client.get("/v1/shipments/000.00.06.H56-261124-0001", headers=auth(settings, role="specialist"))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["service"], body["status"]) == ("return", "awaiting_result")
    assert body["tracking_no"].startswith("MC") and body["recipient"]["province"] == "Phú Thọ"
    assert (body["operator_vnd"], body["citizen_vnd"], body["zone"]) == (26000, 10000, "intra_district")
    assert [(h["status"], h["source"]) for h in body["history"]] == [("awaiting_result", "postal")]


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
    assert {"/v1/quotes", "/v1/shipments/{dossier_code}", "/v1/carrier/events",
            "/v1/statements/{agency}/{month}"} <= set(spec["paths"])
    carrier = spec["paths"]["/v1/carrier/events"]["post"]
    assert any(p["name"] == "X-Motcua-Signature" for p in carrier["parameters"])
    assert client.get("/healthz").status_code == 200
    assert client.get("/docs").status_code == 200
    assert b"motcua_shipments_total" in client.get("/metrics").data

"""The service's common endpoints: health, OpenAPI and metrics."""


def test_health_openapi_and_metrics_are_served(client, file_dossier):
    file_dossier()
    assert client.get("/healthz").status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"].startswith("Mot Cua intake")
    assert {"/v1/procedures", "/v1/procedures/{code}", "/v1/dossiers", "/v1/dossiers/{code}",
            "/v1/dossiers/lookup"} <= set(spec["paths"])
    assert any(p["name"] == "Idempotency-Key" for p in spec["paths"]["/v1/dossiers"]["post"]["parameters"])
    assert client.get("/docs").status_code == 200
    metrics = client.get("/metrics").data
    assert b"motcua_http_requests_total" in metrics
    assert b'motcua_dossiers_submitted_total{channel="online",procedure="1.001193.H56"}' in metrics

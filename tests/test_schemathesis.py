"""Schemathesis over every service's OpenAPI document: no 5xx, and every answer as the document says.

Each service's app runs in-process (WSGI) on a migrated, seeded SQLite database of its own; the
officer token goes in the Authorization header. Cases are generated from the document itself, both
valid ones (positive) and ones that break it (negative), with a fixed seed (derandomized), so a run
is repeatable and a failure reproduces.
"""
from __future__ import annotations

import importlib
import json
import os
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from servicekit.auth import issue_token
from servicekit.migrate import upgrade
from servicekit.testing import kit_settings_for_tests

SERVICES = ("intake", "processing", "payment", "postal", "notify")
AGENCY = "000.00.06.H56"
CASES_PER_SERVICE = 500
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def service_app(service: str, tmp_path, monkeypatch):
    """The service's web app as `make run` builds it, on a fresh database migrated and seeded by its manage."""
    db_url = f"sqlite:///{tmp_path}/{service}.db"
    monkeypatch.setenv("MOTCUA_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", db_url)
    monkeypatch.setenv("MOTCUA_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2F")  # readiness reports it down
    monkeypatch.setenv("MOTCUA_LOG_LEVEL", "WARNING")
    manage = importlib.import_module(f"{service}.manage")
    upgrade(manage.MIGRATIONS, db_url)
    assert manage.main(["seed"]) == 0
    config = importlib.import_module(f"{service}.config")
    app_settings = config.Settings.from_env()
    app_settings = replace(app_settings, kit=kit_settings_for_tests(service, db_url))
    app = importlib.import_module(f"{service}.app").create_app(app_settings)
    return app, app_settings.kit


def run_schema(app, headers: dict, budget: int) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    per_operation = max(budget // (2 * len(operations)), 5)
    failures: dict[str, str] = {}
    count = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=per_operation, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def exercise(case):
                nonlocal count
                count += 1
                try:
                    case.call_and_validate(headers=headers, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # collected: one run reports every operation's findings
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    failures.setdefault(f"{operation.label} [{mode.value}] {first}", _reproduce(case, exc))

            try:
                exercise()
            except Unsatisfiable:
                pass  # nothing in this operation can be made invalid (e.g. only free-text path parameters)
    return count, [f"{key}\n    {how}" for key, how in failures.items()]


def _reproduce(case, exc) -> str:
    detail = " ".join(str(exc).split())[:600]
    return (f"{case.method} {case.formatted_path} query={case.query!r} body={str(case.body)[:300]!r} -> {detail}")


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_conforms_to_the_openapi_document_and_none_is_a_5xx(service, tmp_path, monkeypatch, figures):
    app, kit = service_app(service, tmp_path, monkeypatch)
    token = issue_token(kit, sub="officer-schemathesis", role="admin", agency=AGENCY)
    count, failures = run_schema(app, {"Authorization": f"Bearer {token}"}, CASES_PER_SERVICE)
    figures("schemathesis", {"service": service, "cases": count, "findings": len(failures)})
    assert count >= CASES_PER_SERVICE // 2
    assert not failures, f"{service}: {len(failures)} findings\n" + "\n".join(failures)


# ---- the hostile inputs found by hand, at every service's real app ------------------------------------
DEEP = "[" * 10_000 + "]" * 10_000
HOSTILE_BODIES = {"nested 10,000 deep": DEEP, "5,000-digit integer": '{"x": ' + "9" * 5000 + "}",
                  "lone surrogate": '{"x": "A\\ud800"}', "NUL": '{"x": "A\\u0000"}'}


def _operations(app):
    spec = app.test_client().get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                concrete = path.replace("{", "").replace("}", "")  # a path parameter becomes its own name
                yield method, path, concrete, operation


def _is_error_shape(response) -> bool:
    body = response.get_json(silent=True) or {}
    return body.get("code") == response.status_code and isinstance(body.get("message"), str)


@pytest.mark.parametrize("service", SERVICES)
def test_hostile_json_at_every_door_of_every_service_is_a_4xx_in_the_error_shape(service, tmp_path, monkeypatch):
    app, kit = service_app(service, tmp_path, monkeypatch)
    client = app.test_client()
    token = issue_token(kit, sub="officer-1", role="admin", agency=AGENCY)
    answers = {}
    for method, path, concrete, _operation in _operations(app):
        if method not in ("post", "put", "patch"):
            continue
        for name, body in HOSTILE_BODIES.items():
            response = client.open(concrete, method=method.upper(), data=body, content_type="application/json",
                                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{name}"})
            answers[f"{method.upper()} {path} {name}"] = response.status_code
            assert 400 <= response.status_code < 500 and _is_error_shape(response), (path, name, response.data[:300])
    if not answers:
        pytest.skip(f"{service} has no route that takes a JSON body")


@pytest.mark.parametrize("service,path", [("intake", "/v1/procedures"), ("processing", "/v1/dossiers")])
def test_a_huge_page_number_is_a_422_not_an_integer_overflow(service, path, tmp_path, monkeypatch):
    app, kit = service_app(service, tmp_path, monkeypatch)
    headers = {"Authorization": f"Bearer {issue_token(kit, sub='o', role='admin', agency=AGENCY)}"}
    for page in ("99999999999999999999", "10001"):
        response = app.test_client().get(f"{path}?page={page}", headers=headers)
        assert response.status_code == 422 and "page" in json.dumps(response.get_json()["errors"]), response.data


def test_a_blank_optional_recipient_name_at_filing_is_not_a_500(tmp_path, monkeypatch):
    app, _kit = service_app("intake", tmp_path, monkeypatch)
    body = {"procedure_code": "1.001193.H56",
            "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                          "phone": "0912345678", "email": None, "address": "12 Trần Phú, Phúc Yên"},
            "documents": [], "notify_channels": ["sms"],
            "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                                                       "province": "Phú Thọ", "recipient_name": "", "phone": ""}}}
    response = app.test_client().post("/v1/dossiers", json=body, headers={"Idempotency-Key": "blank-recipient"})
    assert response.status_code < 500, response.data
    errors = json.dumps((response.get_json() or {}).get("errors") or {})
    assert "recipient_name" not in errors  # blank optional is missing, not invalid


@pytest.mark.parametrize("service", ("processing", "payment", "postal", "notify"))
def test_an_officer_token_whose_agency_is_a_list_or_a_number_is_a_401(service, tmp_path, monkeypatch):
    import time

    import jwt

    app, kit = service_app(service, tmp_path, monkeypatch)
    protected = [(m, concrete) for m, _p, concrete, op in _operations(app) if m == "get" and op.get("security")]
    assert protected, f"{service} declares no protected GET operation"
    for agency in (["000.00.06.H56", "000.00.07.H56"], 12):
        now = int(time.time())
        token = jwt.encode({"sub": "o", "role": "admin", "agency": agency, "exp": now + 600}, kit.jwt_secret,
                           algorithm="HS256")
        for _method, concrete in protected:
            response = app.test_client().get(concrete, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401 and _is_error_shape(response), (concrete, response.data[:300])


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_that_answers_401_without_credentials_declares_its_security(service, tmp_path, monkeypatch):
    app, _kit = service_app(service, tmp_path, monkeypatch)
    client = app.test_client()
    undeclared = []
    for method, path, concrete, operation in _operations(app):
        signed = any(p.get("name") == "X-Motcua-Signature" for p in operation.get("parameters", []))
        response = client.open(concrete, method=method.upper(), json={} if method != "get" else None,
                               headers={"Idempotency-Key": "k"})
        if response.status_code == 401 and not signed and not operation.get("security"):
            undeclared.append(f"{method.upper()} {path}")
    assert not undeclared, f"{service}: protected but no security in the OpenAPI document: {undeclared}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_405_names_the_allowed_methods(service, tmp_path, monkeypatch):
    app, _kit = service_app(service, tmp_path, monkeypatch)
    response = app.test_client().delete("/healthz")
    assert response.status_code == 405 and _is_error_shape(response)
    assert "GET" in response.headers["Allow"]

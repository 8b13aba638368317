"""Schemathesis over every service's OpenAPI document: no 5xx, and every answer as the document says.

Each service's app runs in-process (WSGI) on a migrated, seeded SQLite database of its own; the
officer token goes in the Authorization header. Cases are generated from the document itself, both
valid ones (positive) and ones that break it (negative), with a fixed seed (derandomized), so a run
is repeatable and a failure reproduces.
"""
from __future__ import annotations

import importlib
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

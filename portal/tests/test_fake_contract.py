"""The fakes the portal's tests run against answer with the real services' shapes: every field of intake's dossier
view and of processing's case view (the real suite's journey, test_real_journeys.py, found fields the fake lacked)."""
from __future__ import annotations

import requests

from intake.schemas import DossierViewSchema, ResultViewSchema
from processing.schemas import CaseDetailSchema, NationalSyncSchema
from servicekit.auth import issue_token


def test_the_fake_citizen_view_has_exactly_intake_s_fields(world):
    d = world.add(status="received", due_in_days=2)
    assert set(world.citizen_view(d)) == set(DossierViewSchema().fields)


def test_the_fake_result_has_exactly_intake_s_fields(world):
    d = world.add(status="result_ready", due_in_days=2)
    world.files["f" * 32] = b"%PDF-1.4 fake"
    d["result_file_id"], d["paper_original"] = "f" * 32, False
    assert set(world.citizen_view(d)["result"]) == set(ResultViewSchema().fields)


def test_the_fake_case_view_has_every_field_of_processing_s_case_view(world, settings):
    d = world.add(status="received", due_in_days=2)
    d["national_sync"] = {"state": "sent", "status_code": 2, "seq": 2, "steps": 2, "parked": 0, "attempts": 1,
                          "next_attempt_at": None, "last_answer": "ok"}
    token = issue_token(settings.kit, sub="c1", role="clerk", agency="000.00.06.H56")
    case = requests.get(f"{settings.processing_url}/v1/dossiers/{d['code']}", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).json()
    missing = set(CaseDetailSchema().fields) - set(case)
    assert missing == set(), f"the fake's case view lacks {sorted(missing)}"
    assert set(case["national_sync"]) == set(NationalSyncSchema().fields)

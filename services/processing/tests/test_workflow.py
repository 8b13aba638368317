"""The graph: every action from every state by every role, its guards, and the generated diagram."""
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from processing import queries
from processing.workflow import ACTIONS, STATUSES, render_doc

ROLES = ("clerk", "specialist", "leader", "admin")
FILE_ID = "ab" * 16
FAR_DUE = datetime(2030, 1, 2, 10, 0, tzinfo=timezone.utc)  # Wed 2/1/2030 17:00 in Hà Nội

# CONTRACT.md's Officer API, written out independently of workflow.py: the graph must say the same.
CONTRACT = {
    "receive": (("clerk",), ("submitted",), "received"),
    "refuse": (("clerk",), ("submitted",), "refused"),
    "request-supplement": (("clerk", "specialist"), ("submitted", "received", "in_review"), "supplement_requested"),
    "assign": (("leader", "specialist"), ("received",), "in_review"),
    "submit-for-approval": (("specialist",), ("in_review",), None),
    "approve": (("leader",), ("in_review",), None),
    "reject": (("leader",), ("in_review",), "stopped"),
    "stop": (("specialist",), ("in_review",), "stopped"),
    "issue-result": (("specialist",), ("in_review",), "result_ready"),
    "return-result": (("clerk",), ("result_ready",), "returned"),
    "apologize": (("leader",), ("received", "in_review"), None),
}


def test_the_graph_holds_exactly_the_actions_roles_and_states_of_the_contract():
    assert {name: (a.roles, a.sources, a.target) for name, a in ACTIONS.items()} == CONTRACT


def valid_body(action, role):
    return {
        "receive": {}, "approve": {}, "return-result": {},
        "refuse": {"reason": "Không thuộc thẩm quyền"},
        "reject": {"reason": "Không đủ điều kiện"},
        "stop": {"reason": "Không đủ điều kiện"},
        "request-supplement": {"reason": "Thiếu giấy chứng sinh", "documents": ["GKS"],
                               "deadline": (date.today() + timedelta(days=10)).isoformat()},
        "assign": {"assignee": f"{role}-1"},
        "submit-for-approval": {"summary": "Đủ điều kiện"},
        "issue-result": {"result_file_id": FILE_ID, "paper_original": True},
        "apologize": {"reason": "Cần xác minh thêm", "new_due_date": "2030-01-03"},
    }[action]


def guard_state(action):
    """Columns that satisfy the action's guard, so only role and state decide."""
    approval = {"approve": "requested", "reject": "requested", "issue-result": "approved"}.get(action)
    return {"approval": approval, "due_at": FAR_DUE, "received_at": FAR_DUE - timedelta(days=3)}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_from_every_state_by_every_role(action, client, db, headers, make_case, case_of, outbox_events):
    spec = ACTIONS[action]
    with db.transaction() as conn:
        queries.insert_result_file(conn, id=FILE_ID, agency_code="000.00.06.H56", sha256="0" * 64, size=10,
                                   content_type="application/pdf", uploaded_by="specialist-1",
                                   created_at=datetime.now(timezone.utc))
    outcomes = {}
    for status in STATUSES:
        for role in ROLES:
            code = make_case(status=status, **guard_state(action))
            response = client.post(f"/v1/dossiers/{code}/{action}", json=valid_body(action, role),
                                   headers=headers(role))
            if role not in spec.roles:
                expected = 403
            elif status not in spec.sources:
                expected = 409
            else:
                expected = 200
            outcomes[(status, role)] = response.status_code
            assert response.status_code == expected, (status, role, response.get_json())
            after = case_of(code)
            if expected == 200:
                assert after.status == (spec.target or status)
                assert after.version == 2
                events = outbox_events(code)
                assert [t for t, _ in events] == [spec.event]
                assert events[0][1]["status"] == after.status and events[0][1]["seq"] == 1
                assert events[0][1]["actor"] == f"{role}-1"
                assert response.get_json()["audit"][-1]["action"] == action
            else:
                assert after.status == status and after.version == 1, "nothing half-written"
                assert outbox_events(code) == []
    assert 200 in outcomes.values()


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_allowed_actions_in_the_view_match_what_the_endpoint_accepts(action, client, db, headers, make_case):
    spec = ACTIONS[action]
    for role in ROLES:
        code = make_case(status=spec.sources[0], **guard_state(action))
        body = client.get(f"/v1/dossiers/{code}", headers=headers(role)).get_json()
        assert (action in body["allowed_actions"]) == (role in spec.roles)


def test_guards_refuse_with_409_and_a_vietnamese_reason(client, headers, make_case):
    cases = {
        "approve": make_case(status="in_review"),
        "reject": make_case(status="in_review"),
        "issue-result": make_case(status="in_review", approval="requested"),
        "submit-for-approval": make_case(status="in_review", approval="requested"),
        "apologize": make_case(status="in_review", due_at=datetime(2026, 1, 5, 10, tzinfo=timezone.utc),
                               received_at=datetime(2026, 1, 1, 2, tzinfo=timezone.utc)),
    }
    roles = {"approve": "leader", "reject": "leader", "issue-result": "specialist",
             "submit-for-approval": "specialist", "apologize": "leader"}
    for action, code in cases.items():
        response = client.post(f"/v1/dossiers/{code}/{action}", json=valid_body(action, roles[action]),
                               headers=headers(roles[action]))
        assert response.status_code == 409, action
        assert response.get_json()["message"]


def test_return_at_the_counter_waits_for_a_fee_paid_after_processing(client, headers, make_case):
    code = make_case(status="result_ready", fee_mode="after", fee_vnd=50000)
    refused = client.post(f"/v1/dossiers/{code}/return-result", json={}, headers=headers("clerk"))
    assert refused.status_code == 409
    assert refused.get_json()["message"] == ("Người nộp chưa thanh toán phí, lệ phí 50.000 đồng; chỉ trả kết quả "
                                             "sau khi đã nhận được thanh toán.")
    post = make_case(status="result_ready", delivery_method="post")
    assert client.post(f"/v1/dossiers/{post}/return-result", json={}, headers=headers("clerk")).status_code == 409
    paid = make_case(status="result_ready", fee_mode="after", fee_vnd=50000, fee_paid=True)
    assert client.post(f"/v1/dossiers/{paid}/return-result", json={}, headers=headers("clerk")).status_code == 200


def test_a_specialist_may_assign_only_to_themself(client, headers, make_case, case_of):
    code = make_case(status="received")
    response = client.post(f"/v1/dossiers/{code}/assign", json={"assignee": "someone-else"},
                           headers=headers("specialist"))
    assert response.status_code == 403 and case_of(code).status == "received"
    leader = client.post(f"/v1/dossiers/{code}/assign", json={"assignee": "someone-else"}, headers=headers("leader"))
    assert leader.status_code == 200 and leader.get_json()["assignee"] == "someone-else"


def test_docs_workflow_md_is_the_diagram_of_the_graph():
    doc = Path(__file__).resolve().parents[3] / "docs" / "workflow.md"
    assert doc.read_text(encoding="utf-8") == render_doc(), (
        "docs/workflow.md is stale: run `cd services/processing && python -m processing.workflow > ../../docs/workflow.md`")

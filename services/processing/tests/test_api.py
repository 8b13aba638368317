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


def test_the_queue_filters_and_puts_overdue_first_then_by_due_date(client, headers, make_case):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    late = make_case(status="in_review", assignee="s-1", due_at=now - timedelta(days=1),
                     received_at=now - timedelta(days=5))
    soon = make_case(status="received", due_at=now + timedelta(days=1), received_at=now - timedelta(days=2))
    later = make_case(status="in_review", assignee="s-1", due_at=now + timedelta(days=5),
                      received_at=now - timedelta(days=1), procedure_code="2.001218.H38")
    waiting = make_case(status="submitted")
    make_case(status="in_review", agency="000.00.07.H56", due_at=now - timedelta(days=3))

    def codes(query=""):
        body = client.get(f"/v1/dossiers{query}", headers=headers("leader")).get_json()
        return [item["code"] for item in body["items"]], body["total"]

    assert codes() == ([late, soon, later, waiting], 4)
    assert codes("?overdue=true") == ([late], 1)
    assert codes("?overdue=false")[0] == [soon, later, waiting]
    assert codes("?assignee=s-1") == ([late, later], 2)
    assert codes("?procedure=2.001218.H38") == ([later], 1)
    today = now.astimezone(timezone(timedelta(hours=7))).date()
    assert codes(f"?received_from={today - timedelta(days=2)}&received_to={today}")[0] == [soon, later]
    assert codes("?per_page=2&page=2") == ([later, waiting], 4)
    items = client.get("/v1/dossiers", headers=headers("leader")).get_json()["items"]
    assert items[0]["overdue"] is True and items[0]["status_code"] == 4
    assert items[0]["allowed_actions"] == []  # past due: no apology any more; nothing submitted to sign
    assert items[1]["allowed_actions"] == ["assign", "apologize"]

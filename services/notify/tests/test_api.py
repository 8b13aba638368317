"""The HTTP side: signed delivery receipts from the gateway, and the admin's message list."""
import json
import time
from dataclasses import replace

import pytest

from servicekit.auth import issue_token
from servicekit.signing import sign

from notify.models import receipts

SECRET = "dev-sms-webhook-secret"


def auth(settings, role="admin", agency="000.00.06.H56"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub=f"{role}-1", role=role, agency=agency)}


def post_receipt(client, body: dict, secret=SECRET, *, timestamp=None, header=True, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if header:
        headers["X-Motcua-Signature"] = sign(data, secret, timestamp)
    return client.post("/v1/providers/receipts", data=data, headers=headers)


def receipt(message_id, status="delivered", event_id="r-1"):
    return {"event_id": event_id, "message_id": message_id, "status": status, "at": "2026-11-24T02:00:01.000Z"}


@pytest.fixture
def sent_message(submit, rows, make_sender):
    submit(channels=("sms",))
    make_sender().send_next()
    [message] = rows()
    assert message.status == "sent"
    return message


def test_valid_receipt_marks_the_message_delivered(client, sent_message, rows):
    response = post_receipt(client, receipt(sent_message.id))
    assert response.status_code == 200 and response.get_json() == {"result": "applied"}
    [message] = rows()
    assert message.status == "delivered" and message.delivered_at is not None


def test_failed_receipt_marks_the_message_failed_and_says_so(client, sent_message, rows, published):
    assert post_receipt(client, receipt(sent_message.id, "failed")).get_json() == {"result": "applied"}
    [message] = rows()
    assert message.status == "failed"
    [(_, event)] = published("notification.failed.v1")
    assert event["message_id"] == sent_message.id and "undeliverable" in event["reason"]


@pytest.mark.parametrize("case", ["missing", "wrong secret", "stale", "tampered", "garbled"])
def test_bad_missing_or_old_signature_is_a_401_and_changes_nothing(client, sent_message, rows, case):
    body = receipt(sent_message.id)
    if case == "missing":
        response = post_receipt(client, body, header=False)
    elif case == "wrong secret":
        response = post_receipt(client, body, "not-the-secret")
    elif case == "stale":
        response = post_receipt(client, body, timestamp=int(time.time()) - 301)
    elif case == "garbled":
        response = client.post("/v1/providers/receipts", data=json.dumps(body),
                               headers={"Content-Type": "application/json", "X-Motcua-Signature": "v1=abc"})
    else:
        signed = json.dumps(body).encode()
        header = sign(signed, SECRET)
        tampered = json.dumps({**body, "status": "failed"}).encode()
        response = client.post("/v1/providers/receipts", data=tampered,
                               headers={"Content-Type": "application/json", "X-Motcua-Signature": header})
    assert response.status_code == 401
    assert set(response.get_json()) >= {"code", "status", "message"}
    assert rows()[0].status == "sent" and rows(receipts) == []


def test_old_secret_still_works_while_keys_rotate(settings, db, sent_message, rows):
    from notify.app import create_app

    rotating = replace(settings, webhook_secret="new-secret", webhook_secret_old=SECRET)
    client = create_app(rotating).test_client()
    assert post_receipt(client, receipt(sent_message.id), SECRET).status_code == 200
    assert post_receipt(client, receipt(sent_message.id, event_id="r-2"), "new-secret").status_code == 200
    assert post_receipt(client, receipt(sent_message.id, event_id="r-3"), "retired").status_code == 401
    assert rows()[0].status == "delivered"


def test_duplicate_receipt_changes_nothing(client, sent_message, rows):
    assert post_receipt(client, receipt(sent_message.id)).get_json() == {"result": "applied"}
    delivered_at = rows()[0].delivered_at
    again = post_receipt(client, receipt(sent_message.id))
    assert again.status_code == 200 and again.get_json() == {"result": "duplicate"}
    assert rows()[0].delivered_at == delivered_at and len(rows(receipts)) == 1


def test_late_receipt_for_a_message_no_longer_in_flight_is_ignored(client, sent_message, rows):
    post_receipt(client, receipt(sent_message.id, "delivered", event_id="r-1"))
    late = post_receipt(client, receipt(sent_message.id, "failed", event_id="r-2"))
    assert late.status_code == 200 and late.get_json() == {"result": "ignored"}
    assert rows()[0].status == "delivered"


def test_receipt_for_an_unknown_or_unsent_message_is_recorded_without_effect(client, submit, rows):
    assert post_receipt(client, receipt("no-such-message")).get_json() == {"result": "ignored"}
    [kept] = rows(receipts)
    assert kept.message_id == "no-such-message" and kept.outcome == "ignored"
    submit(channels=("sms",))
    created = rows()[0]
    assert post_receipt(client, receipt(created.id, event_id="r-2")).get_json() == {"result": "ignored"}
    assert rows()[0].status == "created"


def test_receipt_that_overtakes_the_gateways_202_still_counts(client, db, submit, rows, make_sender, clock):
    from notify import queries, use_cases

    submit(channels=("sms",))
    with db.transaction() as conn:
        row = queries.claim_next(conn, sender_id="s-1", moment=clock(), lease_until=clock().replace(year=2100))
    assert post_receipt(client, receipt(row.id)).get_json() == {"result": "applied"}
    with db.transaction() as conn:
        state = use_cases.record_sent(conn, use_cases.Claimed.from_row(row), sender_id="s-1", moment=clock(),
                                      provider_status="accepted")
    [message] = rows()
    assert state == "overtaken" and message.status == "delivered" and message.sent_at is not None


def test_signed_but_malformed_receipt_is_a_422(client, sent_message):
    response = post_receipt(client, {"event_id": "r-1", "message_id": sent_message.id, "status": "read"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"status", "at"}
    assert post_receipt(client, {}, raw=b"[1, 2").status_code == 400


def test_an_officer_of_any_role_reads_a_dossiers_history_with_attempts_and_receipts_and_masked_addresses(
        client, settings, submit, make_sender, gateway):
    submit(channels=("sms", "email"))
    gateway.script.append((503, {}))
    sender = make_sender()
    sender.send_next()  # sms: 503, to be retried
    sms_id = next(m for m in gateway.received)["message_id"]
    post_receipt(client, receipt(sms_id, event_id="r-early"))  # answered while awaiting its retry: applied
    response = client.get("/v1/notifications?dossier_code=000.00.06.H56-261124-0001",
                          headers=auth(settings, role="clerk"))
    assert response.status_code == 200
    items = {item["channel"]: item for item in response.get_json()["items"]}
    assert items["sms"]["to"] == "********678" and items["email"]["to"] == "a***@example.vn"
    assert "84912345678" not in response.get_data(as_text=True)
    sms = items["sms"]
    assert sms["kind"] == "dossier.submitted" and sms["status"] == "delivered" and sms["segments"] == 2
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in sms["delivery_attempts"]] == [(1, "retry", 503)]
    assert [(r["event_id"], r["status"], r["outcome"]) for r in sms["receipts"]] == [("r-early", "delivered", "applied")]
    assert items["email"]["status"] == "created" and items["email"]["delivery_attempts"] == []


def test_the_history_shows_a_skipped_message_and_why(client, settings, submit, deliver):
    submit(channels=("sms",))
    deliver("dossier.returned.v1", seq=6)
    deliver("dossier.overdue.v1", seq=7, status="returned")
    items = client.get("/v1/notifications?dossier_code=000.00.06.H56-261124-0001",
                       headers=auth(settings, role="specialist")).get_json()["items"]
    by_kind = {item["kind"]: item for item in items}
    assert by_kind["dossier.overdue"]["status"] == "skipped" and by_kind["dossier.overdue"]["delivery_attempts"] == []
    assert "no longer matters" in by_kind["dossier.overdue"]["skip_reason"]
    assert by_kind["dossier.returned"]["status"] == "created" and by_kind["dossier.returned"]["skip_reason"] is None


def test_the_history_needs_an_officer_token(client, settings, submit):
    submit(channels=("sms",))
    url = "/v1/notifications?dossier_code=000.00.06.H56-261124-0001"
    assert client.get(url).status_code == 401
    for role in ("clerk", "specialist", "leader", "admin"):
        assert len(client.get(url, headers=auth(settings, role=role)).get_json()["items"]) == 1


def test_another_agencys_dossier_lists_no_messages(client, settings, submit):
    submit(channels=("sms",))
    response = client.get("/v1/notifications?dossier_code=000.00.06.H56-261124-0001",
                          headers=auth(settings, agency="000.00.07.H56"))
    assert response.status_code == 200 and response.get_json() == {"items": []}


def test_listing_without_a_dossier_code_is_a_422_naming_the_field(client, settings):
    response = client.get("/v1/notifications", headers=auth(settings))
    assert response.status_code == 422 and "dossier_code" in response.get_json()["errors"]["query"]


def test_health_openapi_and_metrics_are_served(client):
    assert client.get("/healthz").status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"].startswith("Mot Cua notify")
    assert {"/v1/providers/receipts", "/v1/notifications", "/v1/templates/{kind}/{channel}"} <= set(spec["paths"])
    header = spec["paths"]["/v1/providers/receipts"]["post"]["parameters"][0]
    assert header["name"] == "X-Motcua-Signature" and header["in"] == "header"
    assert b"motcua_http_requests_total" in client.get("/metrics").data


def test_receipt_for_a_message_awaiting_retry_after_a_timeout_spares_a_second_copy(
        client, submit, rows, make_sender, gateway, clock):
    gateway.delay = 0.5
    sender = make_sender(send_timeout_seconds=0.1)
    submit(channels=("sms",))
    sender.send_next()  # the gateway stored it, but its answer came too late
    [waiting] = rows()
    assert waiting.status == "created" and waiting.attempts == 1
    assert post_receipt(client, receipt(waiting.id)).get_json() == {"result": "applied"}
    clock.advance(3600)
    assert sender.send_next() is False
    assert rows()[0].status == "delivered"

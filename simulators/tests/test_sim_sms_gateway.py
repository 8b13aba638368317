"""The SMS/Zalo gateway simulator, through its HTTP face."""
import json

import pytest

from motcua_sims import sms_gateway
from motcua_sims.sms_gateway import Settings, create_app

SECRET = "test-sms-secret"


@pytest.fixture
def client(tmp_path):
    return create_app(Settings(db_path=tmp_path / "sms.db")).test_client()


def sms(message_id="msg-1", to="84912345678", text="Ho so 000.00.06.H56-231027-0361 da duoc tiep nhan"):
    return {"message_id": message_id, "channel": "sms", "to": to, "text": text}


def test_accepted_sms_is_listed_for_its_number(client):
    response = client.post("/v1/messages", json=sms())
    assert response.status_code == 202
    assert response.get_json() == {"message_id": "msg-1", "status": "accepted"}

    client.post("/v1/messages", json=sms("msg-2", to="84987654321"))
    items = client.get("/v1/messages?to=84912345678").get_json()["items"]
    assert [(m["message_id"], m["channel"], m["to"], m["status"]) for m in items] == [
        ("msg-1", "sms", "84912345678", "accepted")]
    assert items[0]["text"].startswith("Ho so") and items[0]["received_at"].endswith("Z")


def test_all_messages_are_listed_oldest_first_without_a_number(client):
    for n in range(3):
        client.post("/v1/messages", json=sms(f"msg-{n}", to=f"8491234567{n}"))
    assert [m["message_id"] for m in client.get("/v1/messages").get_json()["items"]] == ["msg-0", "msg-1", "msg-2"]


def test_same_message_id_posted_twice_is_stored_twice(client):
    assert client.post("/v1/messages", json=sms()).status_code == 202
    assert client.post("/v1/messages", json=sms()).status_code == 202
    assert len(client.get("/v1/messages?to=84912345678").get_json()["items"]) == 2
    assert client.get("/v1/messages/count").get_json() == {"total": 2, "distinct_message_ids": 1}


def test_zalo_template_message_is_accepted_with_its_params(client):
    body = {"message_id": "z-1", "channel": "zalo", "to": "84912345678", "template_id": "231027",
            "params": {"ho_ten": "Đặng Thị Ngọc Ánh", "ma_ho_so": "000.00.06.H56-231027-0361"}}
    assert client.post("/v1/messages", json=body).status_code == 202
    [item] = client.get("/v1/messages").get_json()["items"]
    assert item["template_id"] == "231027" and item["params"]["ho_ten"] == "Đặng Thị Ngọc Ánh"


def test_sms_with_diacritics_is_counted_in_ucs2_segments(client):
    client.post("/v1/messages", json=sms(text="Hồ sơ đã được tiếp nhận"))
    client.post("/v1/messages", json=sms("msg-2", text="Ho so da duoc tiep nhan"))
    items = client.get("/v1/messages").get_json()["items"]
    assert [(m["encoding"], m["segments"]) for m in items] == [("ucs2", 1), ("gsm7", 1)]
    assert sms_gateway.sms_encoding("a" * 161) == ("gsm7", 2)


@pytest.mark.parametrize("field, value", [
    ("to", "0912345678"), ("to", "84-912-345-678"), ("to", 84912345678), ("channel", "email"),
    ("message_id", ""), ("text", None),
])
def test_bad_phone_channel_or_missing_field_is_a_422_naming_the_field(client, field, value):
    response = client.post("/v1/messages", json={**sms(), field: value})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    assert field in body["errors"]["json"]
    assert client.get("/v1/messages/count").get_json()["total"] == 0


@pytest.mark.parametrize("params", [{"ma_ho_so": "x" * 401}, {"a": "x" * 200, "b": "y" * 201}, {"a": {"nested": 1}},
                                    {"a": True}])
def test_zalo_params_that_no_zns_message_could_hold_are_a_422(client, params):
    body = {"message_id": "z-1", "channel": "zalo", "to": "84912345678", "template_id": "231027", "params": params}
    response = client.post("/v1/messages", json=body)
    assert response.status_code == 422 and "params" in response.get_json()["errors"]["json"]
    ok = {"message_id": "z-2", "channel": "zalo", "to": "84912345678", "template_id": "231027",
          "params": {"a": "x" * 200, "b": "y" * 199, "n": 5}}
    assert client.post("/v1/messages", json=ok).status_code == 202


def test_zalo_without_text_or_template_is_a_422(client):
    response = client.post("/v1/messages", json={"message_id": "z", "channel": "zalo", "to": "84912345678"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"template_id", "params"}


def test_malformed_json_is_a_400_and_another_content_type_a_415(client):
    assert client.post("/v1/messages", data="{not json", content_type="application/json").status_code == 400
    assert client.post("/v1/messages", json=["a", "list"]).status_code == 400
    response = client.post("/v1/messages", data="to=84912345678")
    assert response.status_code == 415
    assert set(response.get_json()) == {"code", "status", "message"}


def test_scripted_number_is_answered_503_and_not_stored(client):
    response = client.post("/v1/messages", json=sms(to=sms_gateway.FAIL_503_NUMBER))
    assert response.status_code == 503
    assert response.get_json()["code"] == 503
    assert client.get("/v1/messages/count").get_json()["total"] == 0


def test_fail_rate_of_one_refuses_every_message(tmp_path):
    client = create_app(Settings(db_path=tmp_path / "sms.db", fail_rate=1.0)).test_client()
    assert [client.post("/v1/messages", json=sms(f"m{n}")).status_code for n in range(5)] == [503] * 5


def test_delete_clears_the_store(client):
    client.post("/v1/messages", json=sms())
    assert client.delete("/v1/messages").get_json() == {"deleted": 1}
    assert client.get("/v1/messages").get_json() == {"items": []}


def test_unknown_path_is_a_json_404_and_healthz_answers_ok(client):
    response = client.get("/v1/nothing")
    assert response.status_code == 404 and response.get_json()["code"] == 404
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_delivery_receipt_is_posted_signed_after_the_202(tmp_path, receiver, verify_signature):
    client = create_app(Settings(db_path=tmp_path / "sms.db", receipt_url=receiver.url, webhook_secret=SECRET,
                                 receipt_delay_s=0)).test_client()
    assert client.post("/v1/messages", json=sms()).status_code == 202

    [received] = receiver.wait_for(1)
    receipt = json.loads(received["body"])
    assert receipt["message_id"] == "msg-1" and receipt["status"] == "delivered"
    assert receipt["event_id"] and receipt["at"].endswith("Z")
    assert verify_signature(received["headers"]["X-Motcua-Signature"], received["body"], SECRET)
    assert not verify_signature(received["headers"]["X-Motcua-Signature"], received["body"], "another secret")
    assert client.get("/v1/messages").get_json()["items"][0]["status"] == "delivered"


def test_scripted_number_gets_a_failed_receipt(tmp_path, receiver):
    client = create_app(Settings(db_path=tmp_path / "sms.db", receipt_url=receiver.url,
                                 receipt_delay_s=0)).test_client()
    client.post("/v1/messages", json=sms(to=sms_gateway.FAIL_RECEIPT_NUMBER))
    receiver.wait_for(1)
    assert receiver.json_bodies()[0]["status"] == "failed"


def test_receipt_is_retried_while_the_receiver_answers_503(tmp_path, receiver):
    receiver.status = 503
    client = create_app(Settings(db_path=tmp_path / "sms.db", receipt_url=receiver.url,
                                 receipt_delay_s=0)).test_client()
    client.post("/v1/messages", json=sms())
    assert len(receiver.wait_for(2)) >= 2
    assert len({r["event_id"] for r in receiver.json_bodies()}) == 1


def test_phone_numbers_are_masked_in_logs(client, capsys):
    client.post("/v1/messages", json=sms(to="84912345678"))
    client.get("/v1/messages?to=84912345678")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert any(line.get("to") == "********678" for line in lines)
    assert all("84912345678" not in json.dumps(line) for line in lines)
    assert {"time", "level", "service", "event"} <= set(lines[0])

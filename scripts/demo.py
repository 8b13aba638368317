"""`make demo`: against a running suite, one dossier from filing to delivery by post, fee paid after processing.

Driven only through the public interfaces, as the parties themselves would: the citizen's API at intake,
the officers' API at processing (a clerk, a leader, a specialist of the receiving agency), the bank
simulator (the citizen scans the QR) and the postal operator simulator (which reports on its own when the
suite runs with POSTAL_SIM_AUTO_DELIVER, as `make run` / `make up` do). It prints the citizen's timeline,
every message the citizen was sent, and the agency's 766 figures.
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid

import requests

from servicekit.auth import issue_token
from servicekit.config import KitSettings

PORTS = {"intake": 8001, "processing": 8002, "payment": 8003, "postal": 8004, "bank": 8101, "sms-gateway": 8103}
PORT_VARS = {"bank": "BANK_SIM_PORT", "sms-gateway": "SMS_GATEWAY_PORT"}
BASE = {name: f"http://127.0.0.1:{os.environ.get(PORT_VARS.get(name, name.upper() + '_PORT'), port)}"
        for name, port in PORTS.items()}
# Đăng ký biến động quyền sử dụng đất: fee (50.000 đồng) paid after processing, result returnable by post.
PROCEDURE = os.environ.get("DEMO_PROCEDURE", "1.012790.H56")
PHONE = "0912345678"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
http = requests.Session()
http.trust_env = False  # an http_proxy must not see 127.0.0.1


def fail(message: str) -> None:
    sys.exit(f"demo: {message}")


def call(method: str, service: str, path: str, *, expect: int = 200, **kwargs) -> dict:
    try:
        response = http.request(method, BASE[service] + path, timeout=10, **kwargs)
    except requests.ConnectionError:
        fail(f"{service} does not answer at {BASE[service]} — start the suite with `make up` first")
    if response.status_code != expect:
        fail(f"{method} {service}{path} answered {response.status_code}: {response.text[:500]}")
    return response.json() if response.content and "json" in response.headers.get("Content-Type", "") else {}


def wait_for(what: str, fetch, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if value:
            return value
        time.sleep(0.25)
    fail(f"{what} did not happen within {timeout:.0f} s")


def step(text: str) -> None:
    print(f"\n== {text}")


def main() -> None:
    procedure = call("GET", "intake", f"/v1/procedures/{PROCEDURE}")
    agency = procedure["agency"]["code"]
    step(f"1. the citizen files «{procedure['name']}» at {procedure['agency']['name']}, result by post")
    documents = []
    for doc in procedure["documents"]:
        if doc["required"]:
            upload = call("POST", "intake", "/v1/uploads", expect=201,
                          files={"file": (f"{doc['code'].lower()}.pdf", PDF, "application/pdf")})
            documents.append({"code": doc["code"], "upload_id": upload["id"]})
    filing = {
        "procedure_code": PROCEDURE,
        "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "025190012345",
                      "phone": PHONE, "email": "anh.dang@example.vn", "address": "12 Trần Phú, phường Việt Trì, Phú Thọ"},
        "documents": documents,
        "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Việt Trì",
                                                   "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh",
                                                   "phone": PHONE}},
        "notify_channels": ["sms", "email"],
    }
    filed = call("POST", "intake", "/v1/dossiers", expect=201, json=filing,
                 headers={"Idempotency-Key": f"demo-{uuid.uuid4()}"})
    code, token = filed["code"], filed["access_token"]
    print(f"   dossier {code}, fees {filed['fees']}")

    settings = KitSettings.from_env("processing")
    officers = {role: {"Authorization": "Bearer " + issue_token(settings, sub=f"demo-{role}", role=role, agency=agency)}
                for role in ("clerk", "leader", "specialist")}

    def act(role: str, action: str, body: dict) -> dict:
        return call("POST", "processing", f"/v1/dossiers/{code}/{action}", json=body, headers=officers[role])

    wait_for("the case at processing", lambda: http.get(
        f"{BASE['processing']}/v1/dossiers/{code}", headers=officers["clerk"], timeout=5).status_code == 200)
    step("2. officers work the dossier: receive, assign, review, approve, issue the result")
    received = act("clerk", "receive", {})
    print(f"   received; due {received.get('due_at')}")
    act("leader", "assign", {"assignee": "demo-specialist"})
    act("specialist", "submit-for-approval", {"summary": "Hồ sơ đầy đủ, đủ điều kiện"})
    act("leader", "approve", {})
    result = call("POST", "processing", "/v1/files", expect=201, headers=officers["specialist"],
                  files={"file": ("ket-qua.pdf", PDF, "application/pdf")})
    act("specialist", "issue-result", {"result_file_id": result["id"], "paper_original": True})

    step("3. the fee is due after processing: the citizen scans the VietQR with the bank")

    def pending_order():
        view = call("GET", "intake", f"/v1/dossiers/{code}", headers={"Authorization": f"Bearer {token}"})
        payment = view.get("payment") or {}
        return payment if payment.get("status") == "pending" and payment.get("qr_payload") else None

    order = wait_for("the payment order's QR", pending_order)
    print(f"   {order['amount_vnd']} đồng, QR {order['qr_payload'][:40]}…")
    call("POST", "bank", "/v1/pay", json={"qr_payload": order["qr_payload"]})

    step("4. postal dispatches the result; the operator reports until it is delivered")

    def returned():
        view = call("GET", "intake", f"/v1/dossiers/{code}", headers={"Authorization": f"Bearer {token}"})
        return view if view["status"] == "returned" else None

    view = wait_for("delivery of the result (is POSTAL_SIM_AUTO_DELIVER on?)", returned, timeout=60)
    step("5. the citizen's timeline")
    for entry in view["timeline"]:
        print(f"   {entry['at']}  {entry['status']:<22} {entry.get('note') or ''}")
    print(f"   delivery: {json.dumps(view['delivery'], ensure_ascii=False)}")

    step("6. every message the citizen was sent (SMS/Zalo gateway)")
    time.sleep(2)  # the last notices are sent a moment after the events that cause them
    messages = call("GET", "sms-gateway", "/v1/messages", params={"to": "84" + PHONE[-9:]})["items"]
    for message in sorted((m for m in messages if code in (m.get("text") or "")), key=lambda m: m["received_at"]):
        print(f"   {message['received_at']} [{message['channel']}] {message.get('text')}")

    step(f"7. the 766 indicators of {procedure['agency']['name']} this month")
    stats = call("GET", "processing", "/v1/stats/766", headers=officers["leader"],
                 params={"from": time.strftime("%Y-%m-01"), "to": time.strftime("%Y-%m-%d")})
    print(json.dumps(stats, ensure_ascii=False, indent=1)[:3000])


if __name__ == "__main__":
    main()

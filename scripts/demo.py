"""`make demo`: against a running suite, file one dossier and show where it went and what the citizen was told."""
from __future__ import annotations

import json
import os
import sys
import time
import uuid

import requests

from servicekit.auth import issue_token
from servicekit.config import KitSettings

BASE = {name: f"http://127.0.0.1:{os.environ.get(f'{name.upper()}_PORT', port)}"
        for name, port in (("intake", 8001), ("processing", 8002), ("payment", 8003), ("postal", 8004))}
GATEWAY = f"http://127.0.0.1:{os.environ.get('SMS_GATEWAY_PORT', 8103)}"
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "examples", "dossier.json")


def wait_for(fetch, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = fetch()
        if response.status_code == 200 and (not isinstance(response.json().get("items"), list) or response.json()["items"]):
            return response.json()
        time.sleep(0.2)
    sys.exit(f"demo: {what} did not appear within {timeout:.0f} s — is the suite running (make up)?")


def show(title: str, body) -> None:
    print(f"\n== {title}")
    print(json.dumps(body, ensure_ascii=False, indent=2))


def main() -> None:
    with open(EXAMPLE, encoding="utf-8") as handle:
        dossier = json.load(handle)
    try:
        filed = requests.post(f"{BASE['intake']}/v1/dossiers", json=dossier, timeout=10,
                              headers={"Idempotency-Key": f"demo-{uuid.uuid4()}"})
    except requests.ConnectionError:
        sys.exit("demo: intake does not answer on port 8001 — start the suite with `make up` first")
    if filed.status_code != 201:
        sys.exit(f"demo: filing answered {filed.status_code}: {filed.text}")
    answer = filed.json()
    code, token = answer["code"], answer["access_token"]
    show("1. filed at intake (the citizen keeps the access token)", answer)

    officer = issue_token(KitSettings.from_env("processing"), sub="demo-clerk", role="clerk",
                          agency=code.rsplit("-", 2)[0])
    auth = {"Authorization": f"Bearer {officer}"}
    case = wait_for(lambda: requests.get(f"{BASE['processing']}/v1/dossiers/{code}", headers=auth, timeout=5),
                    "the case at processing")
    show("2. the case the one-stop clerk sees, with its audit trail", case)
    show("3. the payment order", wait_for(
        lambda: requests.get(f"{BASE['payment']}/v1/payments/{code}", headers=auth, timeout=5), "the payment order"))
    if dossier["delivery"]["method"] == "post":
        show("4. the return shipment", wait_for(
            lambda: requests.get(f"{BASE['postal']}/v1/shipments/{code}", headers=auth, timeout=5), "the shipment"))
    phone = "84" + dossier["applicant"]["phone"][-9:]
    sms = wait_for(lambda: requests.get(f"{GATEWAY}/v1/messages", params={"to": phone}, timeout=5), "the SMS")
    show("5. what the citizen received at the SMS gateway", [m for m in sms["items"] if code in m.get("text", "")])
    show("6. the citizen's view of the dossier", requests.get(
        f"{BASE['intake']}/v1/dossiers/{code}", headers={"Authorization": f"Bearer {token}"}, timeout=5).json())


if __name__ == "__main__":
    main()

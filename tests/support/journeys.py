"""A dossier's journey through a running suite, driven only through public faces: the citizen API (intake),
the officers' API (processing), and the simulators (bank, postal operator, SMS gateway, DVCQG), with an SMTP sink.

    citizen = Citizen.file(suite, "1.004873.H56", phone=..., post=False)
    officers = Officers(suite, citizen.agency)
    officers.act(citizen.code, "leader", "assign", {"assignee": "specialist-1"})
"""
from __future__ import annotations

import email
import socket
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from email import policy

import requests

from servicekit.auth import issue_token
from servicekit.config import KitSettings

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
TIMEOUT = 15
SPECIALIST = "chuyen-vien-1"


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


HTTP = session()


def vn_today() -> date:
    return datetime.now(timezone(timedelta(hours=7))).date()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, fetch, timeout: float = 30.0, interval: float = 0.2):
    """fetch() until it returns something truthy; the last value in the failure message."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fetch()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {str(last)[:1500]})")
        time.sleep(interval)


class SmtpSink:
    """An aiosmtpd server keeping every message (notify sends email to MOTCUA_SMTP_URL)."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def mails_about(self, code: str) -> list[email.message.EmailMessage]:
        with self.lock:
            found = []
            for message in self.messages:
                body = message.get_body(preferencelist=("plain", "html"))
                text = str(message["Subject"]) + "\n" + (body.get_content() if body is not None else "")
                if code in text:
                    found.append(message)
            return found


def officer_token(agency: str, role: str, sub: str | None = None, **claims) -> str:
    return issue_token(KitSettings.from_env("processing"), sub=sub or f"test-{role}", role=role, agency=agency, **claims)


class Officers:
    """The officers of one agency: a clerk, a leader, the specialist SPECIALIST and an admin."""

    def __init__(self, suite, agency: str):
        self.suite, self.agency = suite, agency
        subs = {"clerk": "can-bo-mot-cua", "leader": "lanh-dao-1", "specialist": SPECIALIST, "admin": "quan-tri"}
        self.headers = {role: {"Authorization": "Bearer " + officer_token(agency, role, sub)}
                        for role, sub in subs.items()}

    def get(self, service: str, path: str, role: str = "clerk", **kwargs) -> requests.Response:
        return HTTP.get(self.suite.url(service, path), headers=self.headers[role], timeout=TIMEOUT, **kwargs)

    def case(self, code: str) -> dict | None:
        r = self.get("processing", f"/v1/dossiers/{code}")
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    def act(self, code: str, role: str, action: str, body: dict | None = None, expect: int = 200) -> dict:
        for _ in range(5):
            r = HTTP.post(self.suite.url("processing", f"/v1/dossiers/{code}/{action}"), json=body or {},
                          headers=self.headers[role], timeout=TIMEOUT)
            # A system edge (the deadline watch's due-soon notice, a payment) committed on the case meanwhile: the
            # officer reloads and acts again, as the console tells them to.
            if not (r.status_code == 409 and "vừa được" in r.text and expect != 409):
                break
            time.sleep(0.2)
        assert r.status_code == expect, f"{action} by {role}: {r.status_code} {r.text[:800]}"
        return r.json()

    def upload_result(self) -> str:
        r = HTTP.post(self.suite.url("processing", "/v1/files"), headers=self.headers["specialist"], timeout=TIMEOUT,
                      files={"file": ("ket-qua.pdf", PDF, "application/pdf")})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def order(self, code: str) -> dict | None:
        r = self.get("payment", f"/v1/payments/{code}")
        return r.json() if r.status_code == 200 else None

    def shipment(self, code: str) -> dict | None:
        r = self.get("postal", f"/v1/shipments/{code}")
        return r.json() if r.status_code == 200 else None

    def stats_766(self) -> dict:
        """Today's 766 indicators (a period ending tonight: an open dossier due later is not late yet)."""
        today = vn_today()
        r = self.get("processing", "/v1/stats/766", role="leader",
                     params={"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()})
        assert r.status_code == 200, r.text
        return {i["id"]: i for i in r.json()["indicators"]}

    # ---- the usual route through the agency --------------------------------------------------------------
    def receive(self, code: str) -> dict:
        wait_for(f"the case {code} at processing", lambda: (self.case(code) or {}).get("status") == "submitted")
        return self.act(code, "clerk", "receive")

    def review_and_issue(self, code: str, *, paper: bool = True) -> dict:
        """assign → submit-for-approval → approve → issue-result (from `received`)."""
        self.act(code, "leader", "assign", {"assignee": SPECIALIST})
        self.act(code, "specialist", "submit-for-approval", {"summary": "Hồ sơ đầy đủ, đủ điều kiện giải quyết"})
        self.act(code, "leader", "approve")
        return self.act(code, "specialist", "issue-result", {"result_file_id": self.upload_result(), "paper_original": paper})


class Citizen:
    """One filing and the citizen's view of it (the access token given at filing)."""

    def __init__(self, suite, filed: dict, procedure: dict, phone: str, email_address: str | None):
        self.suite, self.procedure, self.phone, self.email = suite, procedure, phone, email_address
        self.code, self.token = filed["code"], filed["access_token"]
        self.filed = filed
        self.agency = procedure["agency"]["code"]

    @staticmethod
    def procedure(suite, code: str) -> dict:
        r = HTTP.get(suite.url("intake", f"/v1/procedures/{code}"), timeout=TIMEOUT)
        r.raise_for_status()
        return r.json()

    @staticmethod
    def upload(suite, code: str) -> str:
        r = HTTP.post(suite.url("intake", "/v1/uploads"), timeout=TIMEOUT,
                      files={"file": (f"{code.lower()}.pdf", PDF, "application/pdf")})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    @classmethod
    def body(cls, suite, procedure: dict, phone: str, *, post: bool, email_address: str | None) -> dict:
        name = "Đặng Thị Ngọc Ánh"
        address = {"street": "12 Trần Phú", "commune": "Phường Phúc Yên", "province": "Phú Thọ",
                   "recipient_name": name, "phone": phone}
        return {
            "procedure_code": procedure["code"],
            "applicant": {"type": "citizen", "full_name": name, "id_number": "001190012345", "phone": phone,
                          "email": email_address, "address": "12 Trần Phú, phường Phúc Yên, Phú Thọ"},
            "documents": [{"code": d["code"], "upload_id": cls.upload(suite, d["code"])}
                          for d in procedure["documents"] if d["required"]],
            "delivery": {"method": "post", "address": address} if post else {"method": "counter", "address": None},
            "notify_channels": ["sms", "email"] if email_address else ["sms"],
        }

    @classmethod
    def file(cls, suite, procedure_code: str, phone: str, *, post: bool = False, email_address: str | None = None,
             clerk_token: str | None = None) -> "Citizen":
        procedure = cls.procedure(suite, procedure_code)
        body = cls.body(suite, procedure, phone, post=post, email_address=email_address)
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if clerk_token:
            body["channel"] = "counter"
            headers["Authorization"] = f"Bearer {clerk_token}"
        r = HTTP.post(suite.url("intake", "/v1/dossiers"), json=body, headers=headers, timeout=TIMEOUT)
        assert r.status_code == 201, r.text
        return cls(suite, r.json(), procedure, phone, email_address)

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def view(self) -> dict:
        r = HTTP.get(self.suite.url("intake", f"/v1/dossiers/{self.code}"), headers=self.auth, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: dict) -> requests.Response:
        return HTTP.post(self.suite.url("intake", f"/v1/dossiers/{self.code}{path}"), json=body, headers=self.auth,
                         timeout=TIMEOUT)

    def wait_view(self, what: str, predicate, timeout: float = 30.0) -> dict:
        return wait_for(f"{self.code}: {what}", lambda: (lambda v: v if predicate(v) else None)(self.view()), timeout)

    def wait_status(self, status: str, timeout: float = 30.0) -> dict:
        return self.wait_view(f"status {status}", lambda v: v["status"] == status, timeout)

    def pay(self, **script) -> dict:
        """Scan the QR at the bank simulator (the order must be pending with its payload)."""
        order = self.wait_view("a payable order", lambda v: (v.get("payment") or {}).get("status") == "pending"
                               and (v["payment"] or {}).get("qr_payload"))["payment"]
        r = HTTP.post(self.suite.url("bank", "/v1/pay"), json={"qr_payload": order["qr_payload"], **script}, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        return r.json()

    # ---- what the outside world saw ----------------------------------------------------------------------
    def sms(self) -> list[dict]:
        r = HTTP.get(self.suite.url("sms-gateway", "/v1/messages"), params={"to": self.phone}, timeout=TIMEOUT)
        r.raise_for_status()
        return sorted((m for m in r.json()["items"] if self.code in (m.get("text") or "")), key=lambda m: m["received_at"])

    def wait_sms(self, fragment: str, timeout: float = 20.0) -> dict:
        """The SMS about this dossier whose text holds `fragment` (ASCII-folded, as the gateway got it)."""
        return wait_for(f"{self.code}: an SMS with {fragment!r}",
                        lambda: next((m for m in self.sms() if fragment.lower() in m["text"].lower()), None), timeout)

    def national(self) -> dict | None:
        r = HTTP.get(self.suite.url("dvcqg", f"/v1/dossiers/{self.code}"), timeout=TIMEOUT)
        return r.json() if r.status_code == 200 else None

    def national_statuses(self) -> list[str]:
        """The national status (TrangThai) of each progress row the DVCQG simulator received, in arrival order."""
        return [row["TrangThai"] for row in (self.national() or {}).get("progress", [])]

    def wait_national(self, final_code: int, timeout: float = 30.0) -> dict:
        return wait_for(f"{self.code}: the national portal at status {final_code}",
                        lambda: (lambda n: n if n and str(n["record"].get("TrangThaiHoSo")) == str(final_code)
                                 and self.national_statuses()[-1:] == [str(final_code)] else None)(self.national()),
                        timeout)


def squeeze(codes: list) -> list:
    """[1, 6, 6, 1, 2] -> [1, 6, 1, 2]: a status repeated by consecutive steps counts once."""
    out = []
    for c in codes:
        if not out or out[-1] != c:
            out.append(c)
    return out


def audit_statuses(case: dict) -> list[str]:
    """The statuses the officer's audit trail walks through (its transitions), squeezed. A note row (a notice
    sent, a failed delivery) repeats the status its handler read, which a concurrent action may have moved on."""
    return squeeze([a["to_status"] for a in case["audit"]
                    if a.get("to_status") and (a["from_status"] != a["to_status"] or a["from_status"] is None)])


def report_postal(suite, tracking_no: str, status: str, *, event_id: str | None = None, at: str | None = None,
                  note: str | None = None) -> dict:
    body = {"status": status, **({"event_id": event_id} if event_id else {}), **({"at": at} if at else {}),
            **({"note": note} if note else {})}
    r = HTTP.post(suite.url("postal-operator", f"/v1/orders/{tracking_no}/events"), json=body, timeout=TIMEOUT)
    assert r.status_code in (200, 201, 202), r.text
    return r.json()

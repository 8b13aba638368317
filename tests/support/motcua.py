"""What the cross-service tests do to a running suite: file dossiers, read cases, SMS and metrics."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

import requests
from prometheus_client.parser import text_string_to_metric_families

from servicekit.auth import issue_token
from servicekit.config import KitSettings

# Đăng ký khai sinh: no fee, result returnable by post, so every service has something to do.
PROCEDURE = "1.001193.H56"
AGENCY = "000.00.06.H56"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
TIMEOUT = 10


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # an http_proxy must not see 127.0.0.1
    return s


def phone_for(n: int) -> str:
    """A distinct, valid Vietnamese mobile number per filing (84 9x xxx xxxx)."""
    return f"8491{n % 10_000_000:07d}"


class Filer:
    """Files dossiers at intake the way the front end does: upload the documents, then POST with a key."""

    def __init__(self, suite, procedure: str = PROCEDURE):
        self.suite = suite
        self.http = session()
        self.procedure = self.http.get(suite.url("intake", f"/v1/procedures/{procedure}"), timeout=TIMEOUT)
        self.procedure.raise_for_status()
        self.procedure = self.procedure.json()
        self._sent: dict[str, dict] = {}  # Idempotency-Key -> the body sent with it

    def documents(self) -> list[dict]:
        """The procedure's required documents, uploaded afresh: intake attaches an upload to one dossier only."""
        docs = []
        for doc in self.procedure["documents"]:
            if doc["required"]:
                r = self.http.post(
                    self.suite.url("intake", "/v1/uploads"),
                    files={"file": (f"{doc['code'].lower()}.pdf", PDF, "application/pdf")}, timeout=TIMEOUT,
                )
                assert r.status_code == 201, r.text
                docs.append({"code": doc["code"], "upload_id": r.json()["id"]})
        return docs

    def body(self, phone: str, *, post: bool = True, full_name: str = "Đặng Thị Ngọc Ánh") -> dict:
        address = {"street": "12 Trần Phú", "commune": "Phường Phúc Yên", "province": "Phú Thọ",
                   "recipient_name": full_name, "phone": phone}
        return {
            "procedure_code": self.procedure["code"],
            "applicant": {"type": "citizen", "full_name": full_name, "id_number": "001190012345", "phone": phone,
                          "email": None, "address": "12 Trần Phú, phường Phúc Yên, Phú Thọ"},
            "documents": self.documents(),
            "delivery": {"method": "post", "address": address} if post else {"method": "counter", "address": None},
            "notify_channels": ["sms"],
        }

    def file(self, phone: str, key: str | None = None, timeout: float = TIMEOUT, **kwargs) -> requests.Response:
        """POST a filing; the same key sends the same body again (a retry), as a front end would."""
        key = key or str(uuid.uuid4())
        body = self._sent.get(key) or self._sent.setdefault(key, self.body(phone, **kwargs))
        return self.http.post(self.suite.url("intake", "/v1/dossiers"), json=body,
                              headers={"Idempotency-Key": key}, timeout=timeout)


def officer_headers(agency: str = AGENCY, role: str = "clerk") -> dict:
    # The suite's processes read MOTCUA_JWT_SECRET from the same environment as this test process.
    token = issue_token(KitSettings.from_env("processing"), sub="test-officer", role=role, agency=agency)
    return {"Authorization": f"Bearer {token}"}


def get_officer(suite, service: str, path: str, agency: str = AGENCY) -> requests.Response:
    return session().get(suite.url(service, path), headers=officer_headers(agency), timeout=TIMEOUT)


def case_codes(suite, agency: str = AGENCY, status: str | None = None) -> list[str]:
    """Every dossier code processing holds for the agency (all pages; one entry per case)."""
    codes, page, http = [], 1, session()
    for _ in range(1000):  # bounded: 100 per page
        params = {"page": page, "per_page": 100, **({"status": status} if status else {})}
        r = http.get(suite.url("processing", "/v1/dossiers"), params=params, headers=officer_headers(agency),
                      timeout=TIMEOUT)
        r.raise_for_status()
        items = r.json()["items"]
        codes += [item["code"] for item in items]
        if len(items) < 100:
            return codes
        page += 1
    raise AssertionError("more than 100,000 cases?")


def sms_messages(suite, to: str | None = None) -> list[dict]:
    r = session().get(suite.url("sms-gateway", "/v1/messages"), params={"to": to} if to else None, timeout=TIMEOUT)
    r.raise_for_status()
    return r.json()["items"]


def sms_count(suite) -> dict:
    r = session().get(suite.url("sms-gateway", "/v1/messages/count"), timeout=TIMEOUT)
    r.raise_for_status()
    return r.json()


def sms_per_code(messages: list[dict], codes) -> dict[str, int]:
    """How many SMS mention each dossier code (a code is a whole word in the text)."""
    counts = {code: 0 for code in codes}
    for message in messages:
        for found in set(re.findall(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4,}", message.get("text") or "")):
            if found in counts:
                counts[found] += 1
    return counts


def metrics(suite, service: str) -> list[tuple[str, dict, float]]:
    r = session().get(suite.url(service, "/metrics"), timeout=TIMEOUT)
    r.raise_for_status()
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(r.text) for s in family.samples]


def metric_sum(suite, service: str, name: str, **labels) -> float:
    return sum(v for n, l, v in metrics(suite, service) if n == name and all(l.get(k) == w for k, w in labels.items()))


def consumed(suite, service: str, outcome: str, type_: str | None = None) -> float:
    labels = {"outcome": outcome, **({"type": type_} if type_ else {})}
    return metric_sum(suite, service, "motcua_events_consumed_total", **labels)


def log_time(entry: dict) -> float:
    """The kit's JSON log `ts` (2026-11-24T02:00:00.000Z) as a Unix time."""
    return datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()

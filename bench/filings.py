"""Valid POST /v1/dossiers bodies built from intake's own catalogue (GET /v1/procedures), with uploaded documents."""
from __future__ import annotations

import json
import random
import uuid

import requests

# The smallest file intake's content check accepts as a PDF.
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")
NAMES = ["Đặng Thị Ngọc Ánh", "Nguyễn Văn Bình", "Trần Thị Cúc", "Lê Hoàng Dũng", "Phạm Minh Đức", "Vũ Thu Hà"]


def procedures(base: str) -> list[dict]:
    items, page = [], 1
    while True:
        answer = requests.get(f"{base}/v1/procedures", params={"page": page, "per_page": 100}, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        items.extend(body["items"])
        if len(items) >= body.get("total", 0) or not body["items"]:
            return items
        page += 1


def _upload(base: str, name: str) -> str:
    answer = requests.post(f"{base}/v1/uploads", files={"file": (f"{name}.pdf", TINY_PDF, "application/pdf")}, timeout=10)
    if answer.status_code in (404, 405, 415):
        # No upload endpoint in this intake build: an id of the right shape; the check filing below
        # tells whether intake accepts it.
        return uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{name}").hex
    if answer.status_code != 201:
        raise RuntimeError(f"upload refused ({answer.status_code}): {answer.text[:300]}")
    return answer.json()["id"]


def filing(procedure: dict, upload_ids: dict[str, str], n: int, *, phone: str | None = None) -> dict:
    method = "post" if "post" in procedure["delivery_methods"] and n % 2 else procedure["delivery_methods"][0]
    name = NAMES[n % len(NAMES)]
    phone = phone or f"849{n % 100_000_000:08d}"
    delivery: dict = {"method": method}
    if method == "post":
        delivery["address"] = {"street": f"{n % 300 + 1} Trần Phú", "commune": "Phường Phúc Yên", "province": "Phú Thọ",
                               "recipient_name": name, "phone": phone}
    return {
        "procedure_code": procedure["code"],
        "applicant": {"type": "citizen", "full_name": name, "id_number": f"0011900{n % 100_000:05d}",
                      "phone": phone, "email": f"citizen{n}@example.vn", "address": f"{n % 300 + 1} Trần Phú, Phúc Yên"},
        "documents": [{"code": d["code"], "upload_id": upload_ids[d["code"]]} for d in procedure["documents"] if d["required"]],
        "delivery": delivery,
        "notify_channels": ["sms"],
        "channel": "online",
    }


class Filings:
    """Uploads one PDF per required document code once, then makes any number of valid filings."""

    def __init__(self, base: str, citizen_only: bool = True):
        self.base = base
        procs = procedures(base)
        if not procs:
            raise RuntimeError("intake's catalogue is empty: was it seeded (manage migrate)?")
        self.procedures = procs
        codes = sorted({d["code"] for p in procs for d in p["documents"] if d["required"]})
        self.upload_ids = {code: _upload(base, code) for code in codes}

    def body(self, n: int, *, phone: str | None = None) -> dict:
        return filing(self.procedures[n % len(self.procedures)], self.upload_ids, n, phone=phone)


def bodies(base: str, count: int) -> list[bytes]:
    """`count` distinct bodies; the first is filed once here so a 422 shows up before the load, not as errors in it."""
    maker = Filings(base)
    out = [json.dumps(maker.body(n), ensure_ascii=False).encode("utf-8") for n in range(count)]
    random.Random(7).shuffle(out)
    for body in out[: min(len(out), len(maker.procedures))]:
        answer = requests.post(f"{base}/v1/dossiers", data=body, timeout=10,
                               headers={"Content-Type": "application/json", "Idempotency-Key": f"bench-check-{random.random()}"})
        if answer.status_code != 201:
            raise RuntimeError(f"intake refused a bench filing ({answer.status_code}): {answer.text[:500]}\n{body[:500]!r}")
    return out


def bare_body() -> bytes:
    """The baseline gets a body of the same shape and size."""
    proc = {"code": "1.001193.H56", "delivery_methods": ["counter", "post"],
            "documents": [{"code": "TK_KHAI_SINH", "required": True}, {"code": "GIAY_CHUNG_SINH", "required": True}]}
    data = filing(proc, {"TK_KHAI_SINH": "0" * 32, "GIAY_CHUNG_SINH": "1" * 32}, 1)
    return json.dumps(data, ensure_ascii=False).encode("utf-8")

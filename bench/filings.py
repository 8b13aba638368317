"""Valid POST /v1/dossiers bodies built from intake's own catalogue (GET /v1/procedures), with uploaded documents.

intake attaches an upload to one dossier only, so every filing carries uploads of its own. They are made
before the timed window (`Filings.prepare`), the way a citizen's browser uploads each document while the
form is filled in, long before pressing "Nộp": T1 compares the filing POST with a bare POST, and T4/T8
time a filing from its POST. The uploads' own cost is measured apart (`upload_cost`).
"""
from __future__ import annotations

import http.client
import json
import random
import threading
import time
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


def _multipart(name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + TINY_PDF + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload_many(host: str, port: int, names: list[str], *, threads: int = 8, timeout: float = 600.0) -> list[str]:
    """POST /v1/uploads once per name (keep-alive connections, `threads` at a time); the ids in order."""
    ids: list[str | None] = [None] * len(names)
    errors: list[str] = []
    deadline = time.monotonic() + timeout

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            for i in range(k, len(names), threads):
                if errors or time.monotonic() > deadline:
                    return
                body, ctype = _multipart(names[i])
                for attempt in range(3):
                    try:
                        conn.request("POST", "/v1/uploads", body, {"Content-Type": ctype})
                        answer = conn.getresponse()
                        data = answer.read()
                        if answer.will_close:
                            conn.close()
                        break
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        if attempt == 2:
                            raise
                if answer.status != 201:
                    errors.append(f"upload refused ({answer.status}): {data[:300]!r}")
                    return
                ids[i] = json.loads(data)["id"]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    pool = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(min(threads, len(names)) or 1)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout + 5)
    if errors or any(i is None for i in ids):
        raise RuntimeError(f"uploads failed: {errors[:3] or 'timed out'}")
    return ids  # type: ignore[return-value]


def preload_uploads(database_url: str, uploads_dir: str, names: list[str]) -> list[str]:
    """Thousands of uploads at once, stored the way POST /v1/uploads stores them (intake's FileStore layout
    and its `insert_upload`, one transaction), without the per-request HTTP, multipart, sniffing and fsync.
    For the timed windows' filings only: the HTTP upload's own cost is measured on a sample (`upload_cost`)."""
    import hashlib
    import os
    import secrets

    from intake import queries
    from servicekit.db import Database
    from servicekit.tables import now

    db = Database(database_url, pool_size=1)
    digest = hashlib.sha256(TINY_PDF).hexdigest()
    ids = []
    try:
        with db.transaction() as conn:
            moment = now()
            for name in names:
                file_id = secrets.token_hex(16)
                path = os.path.join(os.path.abspath(uploads_dir), file_id[:2], file_id)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as out:
                    out.write(TINY_PDF)
                queries.insert_upload(conn, id=file_id, filename=f"{name}.pdf", content_type="application/pdf",
                                      size=len(TINY_PDF), sha256=digest, created_at=moment, dossier_code=None,
                                      attached_at=None)
                ids.append(file_id)
    finally:
        db.engine.dispose()
    return ids


class Filings:
    """Valid filings from intake's catalogue; each filing gets its own uploaded documents (see `prepare`).

    With `database_url` and `uploads_dir` (intake's own), the uploads are preloaded in bulk
    (`preload_uploads`); without, each goes through POST /v1/uploads."""

    def __init__(self, base: str, citizen_only: bool = True, *, database_url: str | None = None,
                 uploads_dir: str | None = None):
        self.base = base
        self.database_url, self.uploads_dir = database_url, uploads_dir
        procs = procedures(base)
        if not procs:
            raise RuntimeError("intake's catalogue is empty: was it seeded (manage migrate)?")
        self.procedures = procs
        host_port = base.split("://", 1)[1].split("/", 1)[0]
        self.host, self.port = host_port.rsplit(":", 1)[0], int(host_port.rsplit(":", 1)[1])
        self.upload_seconds = 0.0
        self.uploads_made = 0

    def required(self, n: int) -> list[str]:
        return [d["code"] for d in self.procedures[n % len(self.procedures)]["documents"] if d["required"]]

    def prepare(self, numbers: list[int], *, threads: int = 8) -> dict[int, dict[str, str]]:
        """One upload per required document of each filing number; number -> {document code: upload id}."""
        names = [(n, code) for n in numbers for code in self.required(n)]
        started = time.monotonic()
        if self.database_url and self.uploads_dir:
            ids = preload_uploads(self.database_url, self.uploads_dir, [code.lower() for _, code in names])
        else:
            ids = upload_many(self.host, self.port, [code.lower() for _, code in names], threads=threads)
        self.upload_seconds += time.monotonic() - started
        self.uploads_made += len(ids)
        out: dict[int, dict[str, str]] = {n: {} for n in numbers}
        for (n, code), upload_id in zip(names, ids):
            out[n][code] = upload_id
        return out

    def body(self, n: int, uploads: dict[str, str], *, phone: str | None = None) -> dict:
        return filing(self.procedures[n % len(self.procedures)], uploads, n, phone=phone)

    def bodies(self, numbers: list[int], *, threads: int = 8) -> list[bytes]:
        uploads = self.prepare(numbers, threads=threads)
        return [json.dumps(self.body(n, uploads[n]), ensure_ascii=False).encode("utf-8") for n in numbers]


def upload_cost(base: str, count: int, cpu_of_server) -> dict:
    """`count` real POST /v1/uploads: the server CPU each cost (what preloading leaves out of the windows)."""
    maker = Filings(base)
    cpu0, t0 = cpu_of_server(), time.monotonic()
    upload_many(maker.host, maker.port, [f"sample{n}" for n in range(count)], threads=4)
    return {"uploads": count, "server_cpu_ms_each": (cpu_of_server() - cpu0) * 1000 / count,
            "per_s": count / max(time.monotonic() - t0, 1e-6)}


def bodies(base: str, count: int, *, start: int = 0, check: bool = True, database_url: str | None = None,
           uploads_dir: str | None = None) -> list[bytes]:
    """`count` bodies, each with its own uploads; a few are filed here first so a 422 shows up before the
    load, not as errors in it (those use uploads of their own)."""
    maker = Filings(base, database_url=database_url, uploads_dir=uploads_dir)
    if check:
        for body in maker.bodies(list(range(start + 10_000_000, start + 10_000_000 + len(maker.procedures)))):
            answer = requests.post(f"{base}/v1/dossiers", data=body, timeout=10, headers={
                "Content-Type": "application/json", "Idempotency-Key": f"bench-check-{uuid.uuid4()}"})
            if answer.status_code != 201:
                raise RuntimeError(f"intake refused a bench filing ({answer.status_code}): {answer.text[:500]}\n{body[:500]!r}")
    out = maker.bodies(list(range(start, start + count)))
    random.Random(7).shuffle(out)
    return out


def bare_body() -> bytes:
    """The baseline gets a body of the same shape and size."""
    proc = {"code": "1.001193.H56", "delivery_methods": ["counter", "post"],
            "documents": [{"code": "TK_KHAI_SINH", "required": True}, {"code": "GIAY_CHUNG_SINH", "required": True}]}
    data = filing(proc, {"TK_KHAI_SINH": "0" * 32, "GIAY_CHUNG_SINH": "1" * 32}, 1)
    return json.dumps(data, ensure_ascii=False).encode("utf-8")

"""Fixtures for the simulator tests: a local HTTP receiver for callbacks, signature checks, VietQR building."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from motcua_sims.bank import crc16_ccitt_false


class Receiver:
    """Records every POST it gets; answers with `status` (200 unless a test says otherwise)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callbacks"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests

    def json_bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def signature_is_valid(header: str, body: bytes, secret: str, tolerance_s: int = 300) -> bool:
    """Checks a signature the way the suite does (CONTRACT.md, "Signatures on callbacks")."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    t = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - t) <= tolerance_s and hmac.compare_digest(expected, parts["v1"])


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def build_vietqr(amount_vnd: int | None = 150_000, reference: str | None = "PAY2025000123",
                 bill_number: str | None = None, bin_: str = "970436", account: str = "0011001932418") -> str:
    """A dynamic VietQR string as the payment service would issue one."""
    additional = "".join(tlv(t, v) for t, v in (("01", bill_number), ("05", reference),
                                                  ("08", "Le phi ho so")) if v)
    payload = (tlv("00", "01") + tlv("01", "12" if amount_vnd else "11")
               + tlv("38", tlv("00", "A000000727") + tlv("01", tlv("00", bin_) + tlv("01", account))
                     + tlv("02", "QRIBFTTA"))
               + tlv("53", "704") + (tlv("54", str(amount_vnd)) if amount_vnd else "") + tlv("58", "VN")
               + tlv("62", additional) + "6304")
    return payload + f"{crc16_ccitt_false(payload.encode()):04X}"


@pytest.fixture
def verify_signature():
    return signature_is_valid


@pytest.fixture
def vietqr():
    return build_vietqr

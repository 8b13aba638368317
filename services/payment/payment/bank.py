"""The bank, seen from payment: status queries (`GET /v1/transactions/{reference}`) and refunds (`POST /v1/refunds`).

One requests.Session per process keeps connections open between queries; every call has a short timeout.
Amounts are parsed as integers and nothing else: a JSON float in an answer is refused, never rounded.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from servicekit.signing import sign
from servicekit.webhooks import SIGNATURE_HEADER

STATUSES = ("paid", "pending", "failed", "not_found")


class BankUnavailable(Exception):
    """No usable answer (connection refused, timeout, 5xx, 429, a malformed body): try again later."""


class BankRefused(Exception):
    """The bank answered and said no (a 4xx): trying again will not help; a person must look."""


@dataclass(frozen=True)
class BankTransaction:
    status: str  # paid | pending | failed | not_found
    amount_vnd: int | None = None
    bank_txn_id: str | None = None
    paid_at: datetime | None = None


def _whole_vnd(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BankUnavailable(f"the bank's amount is not whole VND: {value!r}")
    return value


def _json(response: requests.Response):
    try:
        # Decimal for anything with a fraction, so no float exists even for a moment; _whole_vnd refuses it.
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise BankUnavailable(f"the bank answered {response.status_code} without JSON") from None


class BankClient:
    def __init__(self, base_url: str, secret: str, timeout_seconds: float = 3.0):
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout_seconds
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise BankUnavailable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise BankUnavailable(f"the bank answered {response.status_code}")
        return response

    def transaction(self, reference: str) -> BankTransaction:
        """What the bank knows of a reference; not_found when it never saw a payment for it."""
        response = self._send("GET", f"/v1/transactions/{quote(reference, safe='')}")
        if response.status_code == 404:
            return BankTransaction("not_found")
        if response.status_code != 200:
            raise BankUnavailable(f"the bank answered {response.status_code} to a status query")
        body = _json(response)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("paid", "pending", "failed"):
            raise BankUnavailable(f"unknown transaction status from the bank: {status!r}")
        if status != "paid":
            return BankTransaction(status)
        paid_at = body.get("paid_at")
        try:
            moment = datetime.fromisoformat(paid_at.replace("Z", "+00:00")) if paid_at else None
        except (AttributeError, ValueError):
            raise BankUnavailable(f"the bank's paid_at is not a time: {paid_at!r}") from None
        txn = body.get("bank_txn_id")
        if not isinstance(txn, str) or not txn:
            raise BankUnavailable("a paid transaction without bank_txn_id")
        return BankTransaction("paid", _whole_vnd(body.get("amount_vnd")), txn[:64], moment)

    def refund(self, *, refund_id: str, reference: str, amount_vnd: int, reason: str) -> dict:
        """Ask the bank to give a paid amount back; the same refund_id is one refund however often it is sent."""
        body = json.dumps({"refund_id": refund_id, "reference": reference, "amount_vnd": _whole_vnd(amount_vnd),
                           "reason": reason}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        response = self._send("POST", "/v1/refunds", data=body, headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)})
        if response.status_code >= 400:
            raise BankRefused(f"the bank refused the refund ({response.status_code}): {response.text[:200]}")
        answer = _json(response)
        if not isinstance(answer, dict) or answer.get("status") != "completed":
            raise BankUnavailable(f"refund not completed by the bank: {answer!r}")
        return answer

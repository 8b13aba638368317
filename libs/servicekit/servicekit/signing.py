"""HMAC-SHA256 signatures on callbacks: `t=<unix>,v1=<hex>` over "<t>.<raw body>", two keys for rotation."""
from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    pass


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(header: str | None, body: bytes, secrets: list[str], *, now: float | None = None) -> None:
    if not header:
        raise BadSignature("missing signature")
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
        # Compared as bytes: a header with non-ASCII characters is malformed, never a TypeError (a 500).
        given = parts["v1"].encode("ascii")
    except (KeyError, ValueError, UnicodeEncodeError):
        raise BadSignature("malformed signature header") from None
    if abs((time.time() if now is None else now) - t) > TOLERANCE_SECONDS:
        raise BadSignature("signature timestamp outside the allowed window")
    for secret in secrets:
        expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(expected, given):
            return
    raise BadSignature("signature does not match")


# ---- signed, expiring links: `?expires=<unix>&sig=<hex>` with sig = HMAC-SHA256 of "<subject>|<expires>" ----
# Used for a service-to-service fetch of one resource (intake fetching a dossier's issued result from
# processing): the link names the resource and the moment it stops working, and nothing else.


def sign_link(subject: str, expires: int, secret: str) -> str:
    return hmac.new(secret.encode(), f"{subject}|{int(expires)}".encode(), hashlib.sha256).hexdigest()


def verify_link(subject: str, expires: str | None, sig: str | None, secret: str, *,
                now: float | None = None) -> None:
    """Raise BadSignature unless `sig` signs (subject, expires) and `expires` has not passed."""
    if not expires or not sig:
        raise BadSignature("missing expires or sig")
    try:
        moment = int(expires)
        given = sig.encode("ascii")
    except (ValueError, UnicodeEncodeError):
        raise BadSignature("malformed expires or sig") from None
    expected = sign_link(subject, moment, secret).encode()
    if not hmac.compare_digest(expected, given):
        raise BadSignature("signature does not match")
    if moment < (time.time() if now is None else now):
        raise BadSignature("link expired")

"""Signed callbacks from outside parties (bank, postal operator, SMS gateway): one check for every service.

The signature covers the raw bytes, so it is checked before anything parses them: an unsigned body is a
401 and nothing else about it is looked at. Then the body must be a JSON object (400) whose fields pass
the route's schema (422 naming each field).
"""
from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError

from . import safejson
from .signing import BadSignature, verify
from .web import DomainError, Invalid, Unauthorized

SIGNATURE_HEADER = "X-Motcua-Signature"
SIGNATURE_DOC = {
    "in": "header", "name": SIGNATURE_HEADER, "required": True, "schema": {"type": "string"},
    "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with the party\'s shared secret',
}


class BadJson(DomainError):
    status = 400


def verified_body(secrets: list[str]) -> bytes:
    """The raw body once its signature checks against one of `secrets` (two during a rotation); else 401."""
    body = request.get_data(cache=True)
    try:
        verify(request.headers.get(SIGNATURE_HEADER), body, secrets)
    except BadSignature as exc:
        raise Unauthorized(f"invalid signature: {exc}") from None
    return body


def signed_json(secrets: list[str], schema: Schema) -> dict:
    """Signature (401), then JSON object (400), then the schema (422 with the field errors)."""
    body = verified_body(secrets)
    try:
        raw = safejson.loads(body, max_bytes=None)  # depth, NUL and lone surrogates bounded like every door
    except ValueError as exc:
        raise BadJson(f"body is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BadJson("body must be a JSON object")
    try:
        return schema.load(raw)
    except ValidationError as exc:
        raise Invalid("invalid callback body", errors={"json": exc.messages}) from None

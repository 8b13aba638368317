"""Idempotency keys: same key and body replays the first answer; same key, other body is a 409."""
from __future__ import annotations

import functools
import hashlib
import json

import sqlalchemy as sa
from flask import request
from sqlalchemy import Connection

from .tables import now
from .web import Conflict, DomainError


class MissingKey(DomainError):
    status = 400


def require_key() -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise MissingKey("Idempotency-Key header is required on this request")
    if len(key) > 255:
        raise MissingKey("Idempotency-Key is longer than 255 characters")
    return key


def body_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@functools.lru_cache(maxsize=None)
def _statements(table: sa.Table):
    """Built once per table: statement construction costs more than running it on the filing path."""
    select = sa.select(table.c.request_hash, table.c.status_code, table.c.response_body).where(
        table.c.scope == sa.bindparam("s"), table.c.key == sa.bindparam("k")
    )
    return select, table.insert()


def find_replay(conn: Connection, table: sa.Table, scope: str, key: str, request_hash: str) -> tuple[int, dict] | None:
    row = conn.execute(_statements(table)[0], {"s": scope, "k": key}).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict("Idempotency-Key was already used with a different request body")
    return row.status_code, json.loads(row.response_body)


def store_response(
    conn: Connection, table: sa.Table, scope: str, key: str, request_hash: str, status: int, body: dict
) -> None:
    # The primary key settles a race between two requests with one key: the loser's transaction fails
    # and its caller retries, finding the winner's answer to replay.
    conn.execute(
        _statements(table)[1],
        {
            "scope": scope, "key": key, "request_hash": request_hash, "status_code": status,
            "response_body": json.dumps(body, ensure_ascii=False, default=str), "created_at": now(),
        },
    )

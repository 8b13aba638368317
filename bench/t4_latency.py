"""T4's pieces shared by bench/suite_runs.py and bench/peer.py: one filing POST, the gateway's timestamps,
and the per-hop breakdown of a filing's path read from each service's SQLite file (T4 itself runs in suite_runs)."""
from __future__ import annotations

import http.client
import json
import sqlite3
from datetime import datetime, timezone

from .common import LOOPBACK, percentile


def _stages(suite: Suite, accepted: dict[str, dict], received: dict[str, float]) -> dict:
    """Where the time goes, from the timestamps each hop stores (p50 and p99 of each hop, ms).

    Read straight from the suite's SQLite files after the run: intake's outbox row (written in the
    filing's transaction; marked sent once confirmed), notify's inbox row (consumed) and SMS message
    row, the gateway's received_at. All wall clocks of this one machine.
    """
    try:
        intake = _rows(suite.database_path("intake"),
                       "SELECT subject, event_id, created_at, sent_at FROM outbox WHERE type = 'dossier.submitted.v1'")
        notify_in = {r[0]: r[1] for r in _rows(suite.database_path("notify"), "SELECT message_id, received_at FROM inbox")}
        notify_msg = {}
        for code, created, sent in _rows(suite.database_path("notify"),
                                         "SELECT dossier_code, created_at, sent_at FROM messages WHERE channel = 'sms'"):
            notify_msg.setdefault(code, (created, sent))
    except sqlite3.Error as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    hops: dict[str, list[float]] = {k: [] for k in (
        "client_to_intake_commit", "intake_commit_to_notify_consumed", "notify_consumed_to_message_row",
        "message_row_to_gateway_stored")}
    relay_marked_sent: list[float] = []
    for code, event_id, created, sent in intake:
        s = accepted.get(code)
        if s is None or code not in received or event_id not in notify_in or code not in notify_msg:
            continue
        t_created, t_inbox, t_msg = _ts(created), _ts(notify_in[event_id]), _ts(notify_msg[code][0])
        chain = [s["sent"], t_created, t_inbox, t_msg, received[code]]
        if any(x is None for x in chain):
            continue
        for name, a, b in zip(hops, chain, chain[1:]):
            hops[name].append((b - a) * 1000)
        if sent is not None:
            relay_marked_sent.append((_ts(sent) - t_created) * 1000)
    hops["(aside) intake_commit_to_relay_marked_sent"] = relay_marked_sent
    return {name: {"p50": percentile(v, 50), "p99": percentile(v, 99), "n": len(v)} for name, v in hops.items()}


def _rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def _ts(value) -> float | None:
    """SQLAlchemy stores naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' in SQLite."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=timezone.utc).timestamp()


def _post(port: int, body: bytes, key: str) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        conn.request("POST", "/v1/dossiers", body, {"Content-Type": "application/json", "Idempotency-Key": key})
        response = conn.getresponse()
        data = response.read()
        if response.status != 201:
            return response.status, None
        return response.status, json.loads(data)["code"]
    except (OSError, http.client.HTTPException, ValueError):
        return 0, None
    finally:
        conn.close()


def _received_at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()



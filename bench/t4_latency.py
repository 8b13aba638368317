"""T4: filing -> SMS stored at the gateway simulator, p50/p99, open loop at a fixed rate, whole suite via scripts/suite.py."""
from __future__ import annotations

import http.client
import importlib.util
import json
import tempfile
import threading
import time
from datetime import datetime

import requests

from scripts.suite import SERVICES, SIMULATORS, Suite, SuiteError
from servicekit.testing import throwaway_vhost

from .common import BASE_AMQP, LOOPBACK, log, percentile
from .filings import Filings

SENDERS = 32  # client threads: enough that one slow answer does not delay the next send
DRAIN_TIMEOUT_S = 60.0
PORT_OFFSETS = (700, 750, 800, 850, 900)


def run(*, rate: float, duration: float, rate_source: str) -> dict:
    services = [s for s in SERVICES if importlib.util.find_spec(f"{s}.wsgi") is not None]
    with tempfile.TemporaryDirectory(prefix="bench-t4-") as tmp, throwaway_vhost(BASE_AMQP) as amqp_url:
        suite = _start_suite(tmp, amqp_url, services)
        try:
            result = _measure(suite, rate=rate, duration=duration)
        finally:
            suite.stop()
    p50, p99 = result["p50_ms"], result["p99_ms"]
    return {
        "id": "T4",
        "what": "filing -> 'submitted' SMS stored at the gateway simulator (whole suite, open loop)",
        "unit": "ms",
        "rate_per_s": rate,
        "rate_source": rate_source,
        "duration_s": duration,
        "services": services,
        "simulators": list(SIMULATORS),
        "targets": {"p50_ms": 50.0, "p99_ms": 250.0},
        "pass": p50 <= 50.0 and p99 <= 250.0 and result["missing"] == 0,
        **result,
    }


def _start_suite(tmp: str, amqp_url: str, services: list[str]) -> Suite:
    last = None
    for offset in PORT_OFFSETS:
        suite = Suite(tmp, {"MOTCUA_AMQP_URL": amqp_url}, port_offset=offset, services=services,
                      start_timeout=120.0)
        try:
            suite.start()
            log(f"T4 suite up on port offset {offset}: {', '.join(services)} + {', '.join(SIMULATORS)}")
            return suite
        except SuiteError as exc:
            last = exc
            if "ports already in use" not in str(exc):
                raise
    raise RuntimeError(f"T4: no free port offset among {PORT_OFFSETS}: {last}")


def _measure(suite: Suite, *, rate: float, duration: float) -> dict:
    intake = suite.url("intake")
    maker = Filings(intake)
    port = suite.port("intake")
    # A few filings first, waited for end to end: connections, caches and queues warm before the clock runs.
    warm = [json.dumps(maker.body(10_000_000 + n), ensure_ascii=False).encode() for n in range(5)]
    warm_codes = [_post(port, body, f"warm-{n}-{time.time()}")[1] for n, body in enumerate(warm)]
    _wait_for_sms(suite, set(filter(None, warm_codes)), timeout=30)

    total = int(rate * duration)
    bodies = [json.dumps(maker.body(n), ensure_ascii=False).encode() for n in range(total)]
    sent: list[dict | None] = [None] * total
    start = time.time() + 0.5
    run_key = f"t4-{int(start)}"

    def sender(k: int) -> None:
        for i in range(k, total, SENDERS):
            due = start + i / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            t_send = time.time()
            status, code = _post(port, bodies[i], f"{run_key}-{i}")
            sent[i] = {"due": due, "sent": t_send, "answered": time.time(), "status": status, "code": code}

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    send_end = time.time()
    done = [s for s in sent if s is not None]
    accepted = {s["code"]: s for s in done if s["status"] == 201 and s["code"]}
    received = _wait_for_sms(suite, set(accepted), timeout=DRAIN_TIMEOUT_S)

    latencies, from_due, lags = [], [], []
    for code, s in accepted.items():
        if code in received:
            latencies.append((received[code] - s["sent"]) * 1000)
            from_due.append((received[code] - s["due"]) * 1000)
        lags.append((s["sent"] - s["due"]) * 1000)
    http_ms = [(s["answered"] - s["sent"]) * 1000 for s in done]
    achieved = len(done) / max(send_end - start, 1e-9)
    return {
        "filings_sent": len(done),
        "filings_accepted": len(accepted),
        "http_errors": len(done) - len(accepted),
        "sms_matched": len(latencies),
        "missing": len(accepted) - len(latencies),
        "achieved_rate_per_s": achieved,
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else float("nan"),
        "p99_ms_from_schedule": percentile(from_due, 99),
        "client_send_lag_p99_ms": percentile(lags, 99),
        "http_p50_ms": percentile(http_ms, 50),
        "http_p99_ms": percentile(http_ms, 99),
        "latencies_ms": [round(x, 2) for x in latencies],
        "latency_basis": "gateway received_at (ms resolution) minus the client's wall clock just before sending",
    }


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


def _wait_for_sms(suite: Suite, codes: set[str], timeout: float) -> dict[str, float]:
    """Dossier code -> when the gateway stored its first SMS, for every code seen before `timeout`."""
    found: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while True:
        answer = requests.get(suite.url("sms-gateway", "/v1/messages"), params={"channel": "sms"}, timeout=30)
        answer.raise_for_status()
        for message in answer.json()["items"]:
            for word in (message.get("text") or "").split():
                if word in codes:
                    at = _received_at(message["received_at"])
                    found[word] = min(at, found.get(word, at))
        if len(found) >= len(codes) or time.monotonic() > deadline:
            return found
        time.sleep(1.0)

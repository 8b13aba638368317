"""T4: filing -> SMS stored at the gateway simulator, p50/p99, open loop at a fixed rate, whole suite via scripts/suite.py."""
from __future__ import annotations

import http.client
import importlib.util
import json
import os
import sqlite3
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timezone

import requests

from scripts.suite import SERVICES, SIMULATORS, Suite, SuiteError
from servicekit.testing import throwaway_vhost

from .common import BASE_AMQP, LOOPBACK, log, percentile, process_tree_cpu_seconds
from .filings import Filings

SENDERS = 32  # client threads: enough that one slow answer does not delay the next send
DRAIN_TIMEOUT_S = 60.0
# Calibration: a rate at which nothing queues, long enough to average; the run then keeps the suite's
# CPU at this share of the cores, leaving the rest to the load client, the kernel and the noise.
CALIBRATION_RATE = 10.0
CALIBRATION_S = 4.0
IDLE_S = 2.0
UTILISATION = 0.5
PORT_OFFSETS = (700, 750, 800, 850, 900)


def run(*, wanted_rate: float, duration: float, rate_source: str, calibrate: bool = True) -> dict:
    """Open loop at `wanted_rate`, or less if a calibration shows the suite cannot carry it on this box."""
    services = [s for s in SERVICES if importlib.util.find_spec(f"{s}.wsgi") is not None]
    with tempfile.TemporaryDirectory(prefix="bench-t4-") as tmp, throwaway_vhost(BASE_AMQP) as amqp_url:
        suite = _start_suite(tmp, amqp_url, services)
        try:
            intake = suite.url("intake")
            maker = Filings(intake)
            broker_pid = _broker_pid()
            # A few filings first, waited for end to end: connections, caches and queues warm before the clock runs.
            _open_loop(suite, maker, rate=5.0, count=5, phase="warm", broker_pid=None)
            rate, capacity = wanted_rate, None
            if calibrate:
                capacity = _calibrate(suite, maker, broker_pid)
                if capacity["sustainable_rate_per_s"] < wanted_rate:
                    rate = capacity["sustainable_rate_per_s"]
                    rate_source += (f"; capped at {rate:.0f}/s: the suite used {capacity['cpu_ms_per_filing']:.0f} ms "
                                    f"of CPU per filing in calibration, {UTILISATION:.0%} of {os.cpu_count()} cores")
            log(f"T4 open loop at {rate:.1f}/s for {duration:.0f} s ({rate_source})")
            result = _open_loop(suite, maker, rate=rate, count=max(1, int(rate * duration)), phase="run",
                                broker_pid=broker_pid)
            result["stages_ms"] = _stages(suite, result.pop("_accepted"), result.pop("_received"))
        finally:
            suite.stop()
    p50, p99 = result["p50_ms"], result["p99_ms"]
    return {
        "id": "T4",
        "what": "filing -> 'submitted' SMS stored at the gateway simulator (whole suite, open loop)",
        "unit": "ms",
        "rate_per_s": rate,
        "wanted_rate_per_s": wanted_rate,
        "rate_source": rate_source,
        "capacity": capacity,
        "duration_s": duration,
        "services": services,
        "simulators": list(SIMULATORS),
        "targets": {"p50_ms": 50.0, "p99_ms": 250.0},
        "pass": p50 <= 50.0 and p99 <= 250.0 and result["missing"] == 0,
        **result,
    }


def _calibrate(suite: Suite, maker: Filings, broker_pid: int | None) -> dict:
    """CPU the whole suite (broker included) spends per filing, at a rate low enough not to queue."""
    # What the suite burns doing nothing (timers, sweeps, heartbeats) is not a cost of filings.
    before, t0 = _suite_cpu(suite, broker_pid), time.time()
    time.sleep(IDLE_S)
    after, t1 = _suite_cpu(suite, broker_pid), time.time()
    idle = {name: (after[name] - before.get(name, 0.0)) / (t1 - t0) for name in after}
    probe = _open_loop(suite, maker, rate=CALIBRATION_RATE, count=int(CALIBRATION_RATE * CALIBRATION_S),
                       phase="calibrate", broker_pid=broker_pid, tail_s=1.0)
    filings = max(probe["filings_accepted"], 1)
    per_process = {name: max(cores - idle.get(name, 0.0), 0.0) * probe["window_s"] * 1000 / filings
                   for name, cores in probe["cpu_cores_by_process"].items()}
    cpu_ms = sum(per_process.values())
    sustainable = UTILISATION * (os.cpu_count() or 1) * 1000 / cpu_ms
    log(f"T4 calibration: {cpu_ms:.1f} ms CPU per filing across the suite -> sustainable {sustainable:.0f}/s "
        f"at {UTILISATION:.0%} of the cores (p50 {probe['p50_ms']:.0f} ms at {CALIBRATION_RATE:.0f}/s)")
    return {
        "rate_per_s": CALIBRATION_RATE,
        "filings": probe["filings_accepted"],
        "cpu_ms_per_filing": cpu_ms,
        "utilisation_target": UTILISATION,
        "sustainable_rate_per_s": sustainable,
        "p50_ms": probe["p50_ms"],
        "p99_ms": probe["p99_ms"],
        "idle_cores": round(sum(idle.values()), 3),
        "cpu_ms_per_filing_by_process": {name: round(ms, 2) for name, ms in sorted(per_process.items(), key=lambda kv: -kv[1])},
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


def _open_loop(suite: Suite, maker: Filings, *, rate: float, count: int, phase: str, broker_pid: int | None,
               tail_s: float = 0.0) -> dict:
    """`count` filings sent on a fixed schedule (not waiting for answers), then every SMS waited for."""
    port = suite.port("intake")
    base = {"warm": 10_000_000, "calibrate": 20_000_000, "run": 0}[phase]
    bodies = [json.dumps(maker.body(base + n), ensure_ascii=False).encode() for n in range(count)]
    sent: list[dict | None] = [None] * count
    cpu_before = _suite_cpu(suite, broker_pid)
    start = time.time() + 0.2
    run_key = f"t4-{phase}-{int(start * 1000)}"

    def sender(k: int) -> None:
        for i in range(k, count, SENDERS):
            due = start + i / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            t_send = time.time()
            status, code = _post(port, bodies[i], f"{run_key}-{i}")
            sent[i] = {"due": due, "sent": t_send, "answered": time.time(), "status": status, "code": code}

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(min(SENDERS, count))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(count / rate + 120)
    send_end = time.time()
    done = [s for s in sent if s is not None]
    accepted = {s["code"]: s for s in done if s["status"] == 201 and s["code"]}
    received = _wait_for_sms(suite, set(accepted), timeout=DRAIN_TIMEOUT_S)
    if tail_s:
        time.sleep(tail_s)  # receipts and the other services' follow-up work belong to these filings too
    drained = time.time()
    cpu_after = _suite_cpu(suite, broker_pid)
    window = max(drained - start, 1e-9)
    # CPU each process used from the first filing until the last SMS arrived, in cores (1.0 = one core busy).
    cpu_cores = {name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / window, 3) for name in cpu_after}

    latencies, from_due, lags = [], [], []
    for code, s in accepted.items():
        if code in received:
            latencies.append((received[code] - s["sent"]) * 1000)
            from_due.append((received[code] - s["due"]) * 1000)
        lags.append((s["sent"] - s["due"]) * 1000)
    http_ms = [(s["answered"] - s["sent"]) * 1000 for s in done]
    return {
        "filings_sent": len(done),
        "filings_accepted": len(accepted),
        "http_errors": len(done) - len(accepted),
        "sms_matched": len(latencies),
        "missing": len(accepted) - len(latencies),
        "achieved_rate_per_s": len(done) / max(send_end - start, 1e-9),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else float("nan"),
        "p99_ms_from_schedule": percentile(from_due, 99),
        "client_send_lag_p99_ms": percentile(lags, 99),
        "http_p50_ms": percentile(http_ms, 50),
        "http_p99_ms": percentile(http_ms, 99),
        "window_s": window,
        "cpu_cores_by_process": dict(sorted(cpu_cores.items(), key=lambda kv: -kv[1])),
        "cpu_cores_total": round(sum(cpu_cores.values()), 3),
        "cpu_seconds_total": sum(cpu_cores.values()) * window,
        "latencies_ms": [round(x, 2) for x in latencies],
        "latency_basis": "gateway received_at (ms resolution) minus the client's wall clock just before sending",
        "_accepted": accepted,
        "_received": received,
    }


def _suite_cpu(suite: Suite, broker_pid: int | None) -> dict[str, float]:
    cpu = {name: process_tree_cpu_seconds(pid) for name, pid in suite.pids().items() if pid}
    if broker_pid:
        cpu["rabbitmq (whole broker)"] = process_tree_cpu_seconds(broker_pid)
    return cpu


def _broker_pid() -> int | None:
    """The broker's beam.smp, as rabbitmqctl reports it (read before the clock runs: rabbitmqctl is slow)."""
    try:
        out = subprocess.run(["rabbitmqctl", "eval", "os:getpid()."], capture_output=True, text=True, timeout=30).stdout
        return int(out.strip().strip('"'))
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


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


def _wait_for_sms(suite: Suite, codes: set[str], timeout: float) -> dict[str, float]:
    """Dossier code -> when the gateway stored its first SMS, for every code seen before `timeout`."""
    found: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = requests.get(suite.url("sms-gateway", "/v1/messages"), params={"channel": "sms"}, timeout=30)
            answer.raise_for_status()
            items = answer.json()["items"]
        except (requests.RequestException, ValueError) as exc:
            log(f"T4: gateway listing failed ({type(exc).__name__}); trying again")
            items = []
        for message in items:
            for word in (message.get("text") or "").split():
                if word in codes:
                    at = _received_at(message["received_at"])
                    found[word] = min(at, found.get(word, at))
        if len(found) >= len(codes) or time.monotonic() > deadline:
            return found
        time.sleep(1.0)

"""The peer: bench/peers/celery_pipeline (Flask + SQLAlchemy + Celery, acks_late) measured like the suite.

Same machine, same RabbitMQ (a throwaway vhost), SQLite like the suite's T8, the same SMS gateway simulator,
the same gunicorn settings, the same open-loop client and filing bodies. Figures: CPU ms per filing per
process (web, Celery worker, broker; the simulator apart), p50/p99 filing -> SMS at the given rate, and,
on a private RabbitMQ node killed with -9 once under load, the SMS lost and duplicated.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import tempfile
import threading
import time

from scripts.suite import PROCFILE, parse_command, read_procfile
from servicekit.testing import throwaway_vhost

from . import filings, t4_latency
from .common import (BASE_AMQP, LOOPBACK, PYTHON, VENV_BIN, Proc, base_env, free_ports, log, percentile, rabbit_pid,
                     run_checked, tree_cpu_seconds, wait_http)

SENDERS = 16
PEER_PKG = "bench.peers.celery_pipeline"


class Peer:
    def __init__(self, tmp: str, broker_url: str):
        self.tmp = tmp
        self.web_port, self.sms_port = free_ports(2)
        self.db_path = os.path.join(tmp, "peer.db")
        self.sms_db = os.path.join(tmp, "sim_sms.db")
        self.env = base_env(PEER_DATABASE_URL=f"sqlite:///{self.db_path}", PEER_BROKER_URL=broker_url,
                            PEER_SMS_URL=f"http://127.0.0.1:{self.sms_port}", SMS_GATEWAY_PORT=self.sms_port,
                            SMS_GATEWAY_DB=self.sms_db, SMS_GATEWAY_RECEIPT_URL="", PYTHONUNBUFFERED="1")
        self.procs: dict[str, Proc] = {}
        self._sms_seen, self._sms_at = 0, {}

    def start(self) -> "Peer":
        run_checked([PYTHON, "-c", f"from {PEER_PKG}.app import init; init()"], env=self.env)
        # The same gunicorn command as intake-web (deploy/Procfile), only the app changes.
        assignments, argv = parse_command(read_procfile()["intake-web"], {**self.env, "INTAKE_PORT": str(self.web_port)})
        argv = [f"{PEER_PKG}.app:app" if a == "intake.wsgi:app" else ("peer" if a == "intake" else a) for a in argv]
        env = {**self.env, **{k: v for k, v in assignments.items() if k != "PROMETHEUS_MULTIPROC_DIR"}}
        self.procs["sms-gateway"] = Proc("sms-gateway", [PYTHON, "-m", "motcua_sims.sms_gateway"], self.env,
                                         os.path.join(self.tmp, "sms.log")).start()
        self.procs["peer-web"] = Proc("peer-web", argv, env, os.path.join(self.tmp, "web.log")).start()
        self.start_worker()
        wait_http(f"http://127.0.0.1:{self.web_port}/healthz", proc=self.procs["peer-web"])
        wait_http(f"http://127.0.0.1:{self.sms_port}/v1/messages/count", proc=self.procs["sms-gateway"])
        self._wait_worker_ready()
        return self

    def start_worker(self) -> None:
        # Celery's defaults as a team would run it: prefork, one child per core, INFO logs.
        self.procs["celery-worker"] = Proc("celery-worker", [os.path.join(VENV_BIN, "celery"), "-A", f"{PEER_PKG}.tasks",
                                                             "worker", "--loglevel=INFO"], self.env,
                                           os.path.join(self.tmp, "worker.log")).start()

    def _wait_worker_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.procs["celery-worker"].tail(50):
                return
            if not self.procs["celery-worker"].alive():
                raise RuntimeError(f"celery worker exited:\n{self.procs['celery-worker'].tail()}")
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready:\n{self.procs['celery-worker'].tail()}")

    def stop(self) -> None:
        for p in self.procs.values():
            p.stop()

    def cpu(self, broker_pid: int | None) -> dict[str, float]:
        out = {name: tree_cpu_seconds(p.pid) for name, p in self.procs.items() if p.alive()}
        if broker_pid:
            out["rabbitmq"] = tree_cpu_seconds(broker_pid)
        return out

    def sms(self) -> dict[str, list[float]]:
        """Dossier code -> every time the gateway stored an SMS for it (duplicates included)."""
        out: dict[str, list[float]] = {}
        with sqlite3.connect(f"file:{self.sms_db}?mode=ro", uri=True, timeout=5) as conn:
            for text, at in conn.execute("SELECT text, received_at FROM messages WHERE channel = 'sms'"):
                for word in (text or "").split():
                    if word.startswith("999.00.00.H99-"):
                        out.setdefault(word, []).append(t4_latency._received_at(at))
        return out

    def dossier_codes(self) -> list[str]:
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5) as conn:
            return [r[0] for r in conn.execute("SELECT code FROM dossiers WHERE code IS NOT NULL")]


def _bodies(count: int, start: int) -> list[bytes]:
    proc = {"code": "1.001193.H56", "delivery_methods": ["counter", "post"],
            "documents": [{"code": "TK_KHAI_SINH", "required": True}, {"code": "GIAY_CHUNG_SINH", "required": True}]}
    return [json.dumps(filings.filing(proc, {"TK_KHAI_SINH": f"{n:032x}", "GIAY_CHUNG_SINH": f"{n + 1:032x}"}, n),
                       ensure_ascii=False).encode() for n in range(start, start + count)]


def open_loop(port: int, bodies: list[bytes], rate: float, key: str, stop: threading.Event | None = None) -> list[dict]:
    sent: list[dict | None] = [None] * len(bodies)
    start = time.time() + 0.2

    def sender(k: int) -> None:
        for i in range(k, len(bodies), SENDERS):
            if stop is not None and stop.is_set():
                return
            due = start + i / rate
            if due > time.time():
                time.sleep(due - time.time())
            t = time.time()
            status, code = t4_latency._post(port, bodies[i], f"{key}-{i}")
            sent[i] = {"sent": t, "status": status, "code": code, "answered": time.time()}

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(min(SENDERS, len(bodies)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(len(bodies) / rate + 120)
    return [s for s in sent if s is not None]


def wait_sms(peer: Peer, codes: set[str], timeout: float, settle: float | None = None) -> dict[str, list[float]]:
    """Until every code has an SMS, or `timeout`, or (with `settle`) nothing new arrived for `settle` seconds
    (lost messages never come: waiting the whole timeout for them measures nothing)."""
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    while True:
        got = peer.sms()
        total = sum(len(v) for v in got.values())
        if total != last_count:
            last_count, last_change = total, time.monotonic()
        if codes <= set(got) or time.monotonic() > deadline or (settle and time.monotonic() - last_change > settle):
            return got
        time.sleep(0.2)


def measure(*, rate: float, seconds: float) -> dict:
    """CPU per filing and latency at `rate` on the shared broker (a throwaway vhost)."""
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp, throwaway_vhost(BASE_AMQP) as amqp:
        peer = Peer(tmp, amqp.replace("%2F", "/") if amqp.endswith("%2F") else amqp).start()
        try:
            broker = rabbit_pid()
            open_loop(peer.web_port, _bodies(10, 9_000_000), 5.0, "peer-warm")
            time.sleep(1.0)
            c0, t0 = peer.cpu(broker), time.monotonic()
            time.sleep(3.0)
            c1, t1 = peer.cpu(broker), time.monotonic()
            idle = {k: (c1[k] - c0.get(k, c1[k])) / (t1 - t0) for k in c1}
            count = max(int(rate * seconds), 20)
            cpu0, w0 = peer.cpu(broker), time.monotonic()
            done = open_loop(peer.web_port, _bodies(count, 0), rate, f"peer-{int(time.time())}")
            accepted = {s["code"]: s for s in done if s["status"] == 201 and s["code"]}
            got = wait_sms(peer, set(accepted), 60)
            time.sleep(0.5)
            cpu1, window = peer.cpu(broker), time.monotonic() - w0
            per = {k: max(cpu1[k] - cpu0.get(k, cpu1[k]) - idle.get(k, 0) * window, 0) * 1000 / max(len(accepted), 1)
                   for k in cpu1}
            lat = [(min(got[c]) - s["sent"]) * 1000 for c, s in accepted.items() if c in got]
            pipeline = sum(v for k, v in per.items() if k != "sms-gateway")
            log(f"peer: {rate:.1f}/s x {count}: p50 {percentile(lat, 50):.0f} ms, p99 {percentile(lat, 99):.0f} ms; "
                f"{pipeline:.1f} ms CPU/filing (broker {per.get('rabbitmq', 0):.1f})")
            return {"rate_per_s": rate, "filings_accepted": len(accepted), "http_errors": len(done) - len(accepted),
                    "missing": len(accepted) - len(lat), "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
                    "cpu_ms_per_filing_by_process": {k: round(v, 2) for k, v in sorted(per.items(), key=lambda kv: -kv[1])},
                    "cpu_ms_per_filing_pipeline": round(pipeline, 2),
                    "cpu_ms_per_filing_simulators": round(per.get("sms-gateway", 0.0), 2),
                    "latencies_ms": [round(x, 2) for x in lat]}
        finally:
            peer.stop()


def broker_kill(*, rate: float = 15.0, before_kill: int = 60, after_restart_s: float = 15.0) -> dict:
    """Files at `rate` on a private RabbitMQ node, kills it with -9 after `before_kill` filings, starts it again,
    files on, then counts each committed dossier's SMS at the gateway: lost (none) and duplicated (more than one)."""
    rabbit = _load_rabbit()
    PrivateRabbit, port_open = rabbit.PrivateRabbit, rabbit.port_open

    with tempfile.TemporaryDirectory(prefix="bench-peer-kill-") as tmp:
        port = next(p for p in range(5872, 6072) if not port_open(p) and not port_open(p + 30000) and _bindable(p)
                    and _bindable(p + 30000))
        node = PrivateRabbit(port, port + 30000, tmp)
        node.start()
        peer = None
        try:
            peer = Peer(tmp, f"amqp://guest:guest@127.0.0.1:{port}//").start()
            total = int(rate * (before_kill / rate + 3 + after_restart_s + 10))
            stop = threading.Event()
            results: list[dict] = []
            runner = threading.Thread(target=lambda: results.extend(
                open_loop(peer.web_port, _bodies(total, 0), rate, f"peer-kill-{int(time.time())}", stop)), daemon=True)
            runner.start()
            time.sleep(before_kill / rate + 0.2)
            killed_at = time.time()
            node.kill9()
            time.sleep(3)
            node.start()
            log(f"peer broker kill: node back after {time.time() - killed_at:.1f} s")
            time.sleep(after_restart_s)
            stop.set()
            runner.join(60)
            committed = set(peer.dossier_codes())
            got = wait_sms(peer, committed, 90, settle=10.0)
            time.sleep(2)
            got = peer.sms()
            lost = sorted(committed - set(got))
            dup = sum(len(v) - 1 for v in got.values() if len(v) > 1)
            errors = sum(1 for s in results if s["status"] != 201)
            log(f"peer broker kill: {len(committed)} committed, {len(lost)} SMS lost, {dup} duplicated, {errors} HTTP errors")
            return {"filings_committed": len(committed), "http_accepted": sum(1 for s in results if s["status"] == 201),
                    "http_errors": errors, "sms_lost": len(lost), "sms_duplicated": dup,
                    "lost_examples": lost[:5], "rate_per_s": rate, "worker_alive_after": peer.procs["celery-worker"].alive()}
        finally:
            if peer is not None:
                peer.stop()
            node.stop()


def _load_rabbit():
    """tests/support/rabbit.py (the fault tests' private node), loaded by path: tests/ is not a package."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "support", "rabbit.py")
    spec = importlib.util.spec_from_file_location("bench_private_rabbit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((LOOPBACK, port))
            return True
        except OSError:
            return False


def run(*, rate: float, seconds: float, suite_t8: dict | None, suite_t4: dict | None, t7: dict | None,
        kill: bool = True) -> dict:
    measured = measure(rate=rate, seconds=seconds)
    killed = None
    if kill:
        try:
            killed = broker_kill()
        except Exception as exc:  # noqa: BLE001 - the latency figures stand on their own
            killed = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    suite_fault = None
    if t7 and not t7.get("error"):
        f = t7.get("figures", {})
        suite_fault = {"filings_accepted": f.get("filings_accepted"), "sms": f.get("sms"),
                       "sms_lost": (f.get("filings_accepted") or 0) - (f.get("sms") or 0) if f.get("sms") is not None else None,
                       "sms_duplicated": 0 if t7.get("pass") else None, "source": "T7 (tests/test_faults.py)"}
    return {"id": "PEER", "what": "Flask + SQLAlchemy + Celery (acks_late) pipeline vs the suite, same machine and run",
            "peer": measured, "peer_broker_kill": killed,
            "suite": {"cpu_ms_per_filing": (suite_t8 or {}).get("measured"),
                      "p50_ms": (suite_t4 or {}).get("p50_ms"), "p99_ms": (suite_t4 or {}).get("p99_ms"),
                      "rate_per_s": (suite_t4 or {}).get("rate_per_s")},
            "suite_broker_kill": suite_fault,
            "pass": True}

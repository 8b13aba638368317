"""The worker process: event consumer, outbox relay and periodic jobs, stopped cleanly by SIGTERM.

Every thread is supervised: an unexpected exception (or a loop that returns without being stopped) is
logged, counted in `motcua_worker_thread_restarts_total{service,thread}`, and the loop started again
after a capped backoff. Each loop beats a heartbeat; `/healthz` on the worker's own small HTTP port
(`<SERVICE>_WORKER_HEALTH_PORT`, the service port + 2000) answers 200 with every thread's state, or 503
when a thread is dead or has not beaten for `MOTCUA_WORKER_STALE_SECONDS`; the same shows in
`motcua_worker_thread_up{service,thread}`.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import sqlalchemy as sa

from .config import KitSettings
from .consumer import Consumer, Subscription
from .db import Database
from .logs import configure_logging
from .metrics import WORKER_THREAD_RESTARTS, WORKER_THREAD_UP
from .outbox import OutboxRelay
from .retention import prune

RESTART_BACKOFF_MAX_SECONDS = 30.0

log = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[], None]
    first_after: float | None = None  # seconds before the first run (default: every_seconds)


class ThreadHealth:
    """One supervised thread's heartbeat, state and restarts (read by /healthz and the thread-up gauge)."""

    def __init__(self, name: str, stale_after: float):
        self.name = name
        self.stale_after = stale_after
        self.alive = False
        self.state = "not started"
        self.last_beat = time.monotonic()
        self.restarts = 0
        self.last_error: str | None = None

    def beat(self, state: str = "running") -> None:
        self.last_beat = time.monotonic()
        self.state = state

    def report(self) -> dict:
        age = time.monotonic() - self.last_beat
        return {
            "alive": self.alive,
            "state": self.state,
            "seconds_since_beat": round(age, 1),
            "stale": age > self.stale_after,
            "restarts": self.restarts,
            "last_error": self.last_error,
        }

    def healthy(self) -> bool:
        return self.alive and time.monotonic() - self.last_beat <= self.stale_after


class Worker:
    def __init__(
        self,
        settings: KitSettings,
        db: Database,
        *,
        outbox: sa.Table,
        inbox: sa.Table,
        subscription: Subscription | None,
        jobs: list[PeriodicJob] | None = None,
    ):
        self.settings = settings
        self.db = db
        self.relay = OutboxRelay(settings, db, outbox)
        # Handlers that write outbox rows ring the relay directly (same process, no datagram).
        db.doorbell.local.append(self.relay.wake)
        self.consumer = Consumer(settings, db, inbox, subscription) if subscription else None
        # The kit's own housekeeping: inbox rows and sent outbox rows past their retention (hourly, in batches).
        retention = PeriodicJob("kit-retention", 3600.0, lambda: prune(
            db, inbox=inbox, outbox=outbox, inbox_hours=settings.inbox_retention_hours,
            outbox_hours=settings.outbox_retention_hours), first_after=60.0)
        self.jobs = (jobs or []) + [retention]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.health: dict[str, ThreadHealth] = {}
        stale = settings.worker_stale_seconds
        self.relay.beat = self._health("relay", stale).beat
        if self.consumer:
            self.consumer.beat = self._health("consumer", stale).beat
        for job in self.jobs:
            # A job beats once per round: stale only when a round is overdue by the stale period.
            self._health(f"job-{job.name}", max(job.every_seconds, job.first_after or 0) + stale)
        self._health_server: ThreadingHTTPServer | None = None

    def _health(self, name: str, stale_after: float) -> ThreadHealth:
        self.health[name] = ThreadHealth(name, stale_after)
        return self.health[name]

    def start(self) -> None:
        self._serve_health()
        self._spawn("relay", lambda: self.relay.run())
        if self.consumer:
            self._spawn("consumer", lambda: self.consumer.run())
        for job in self.jobs:
            self._spawn(f"job-{job.name}", lambda job=job: self._run_job(job))
        monitor = threading.Thread(target=self._monitor, name="health-monitor", daemon=True)
        monitor.start()
        log.info("worker started", extra={"event": "worker.started", "jobs": [j.name for j in self.jobs]})

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=self._supervise, args=(name, target), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _supervise(self, name: str, target) -> None:
        """Run `target` until the worker stops; restart it with capped backoff after any failure."""
        health = self.health[name]
        backoff = 0.5
        try:
            while not self._stop.is_set():
                health.alive = True
                health.beat("starting")
                started = time.monotonic()
                try:
                    target()
                    if self._stop.is_set():
                        break
                    raise RuntimeError(f"the {name} loop returned without being stopped")
                except Exception as exc:
                    health.restarts += 1
                    health.last_error = repr(exc)[:500]
                    if time.monotonic() - started > 60:
                        backoff = 0.5  # it ran well for a while: a fresh failure, not a crash loop
                    WORKER_THREAD_RESTARTS.labels(self.settings.service, name).inc()
                    log.exception("worker thread failed; restarting it", extra={
                        "event": "worker.thread_restart", "worker_thread": name, "backoff_seconds": backoff})
                    health.beat("restarting")
                    if self._stop.wait(backoff):
                        break
                    backoff = min(backoff * 2, RESTART_BACKOFF_MAX_SECONDS)
        finally:
            health.alive = False
            health.state = "stopped"

    def _run_job(self, job: PeriodicJob) -> None:
        health = self.health[f"job-{job.name}"]
        wait = job.first_after if job.first_after is not None else job.every_seconds
        while not self._stop.wait(wait):
            wait = job.every_seconds
            health.beat("running")
            try:
                job.run()
            except Exception:
                log.exception("periodic job failed", extra={"event": "job.failed", "job": job.name})
            health.beat("idle")

    # ---- health --------------------------------------------------------------------------------
    def health_report(self) -> tuple[bool, dict]:
        threads = {name: h.report() for name, h in self.health.items()}
        ok = all(h.healthy() for h in self.health.values())
        return ok, {"service": self.settings.service, "status": "ok" if ok else "unhealthy", "threads": threads}

    def _monitor(self) -> None:
        while not self._stop.wait(1.0):
            for name, h in self.health.items():
                WORKER_THREAD_UP.labels(self.settings.service, name).set(1 if h.healthy() else 0)

    def _serve_health(self) -> None:
        port = self.settings.worker_health_port
        if not port:
            return
        worker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path.split("?")[0] not in ("/healthz", "/"):
                    self.send_error(404)
                    return
                ok, body = worker.health_report()
                data = json.dumps(body).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # probes every few seconds: no access log
                pass

        try:
            self._health_server = ThreadingHTTPServer((self.settings.worker_health_host, port), Handler)
        except OSError as exc:
            log.warning("worker health endpoint not bound", extra={
                "event": "worker.health_unbound", "port": port, "error": str(exc)})
            return
        self._health_server.daemon_threads = True
        threading.Thread(target=self._health_server.serve_forever, name="health-http", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.consumer:
            self.consumer.stop()
        for thread in self._threads:
            if thread.name == "consumer":
                thread.join(timeout=30)  # finish the message in hand before the relay goes
        self.relay.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        if self._health_server is not None:
            self._health_server.shutdown()
            self._health_server.server_close()
        log.info("worker stopped", extra={"event": "worker.stopped"})

    def run_forever(self) -> None:
        stop_requested = threading.Event()

        def _on_signal(signum, _frame):
            log.info("stop requested", extra={"event": "worker.signal", "signal": signum})
            stop_requested.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        self.start()
        stop_requested.wait()
        self.stop()


def run_worker(settings, *, outbox: sa.Table, inbox: sa.Table, subscription: Subscription | None,
               jobs: list[PeriodicJob] | None = None) -> None:
    """`python -m <service>.worker`: logging, warnings about development secrets, then run until SIGTERM.

    `settings` is the service's Settings (`.kit`, and optionally `.dev_defaults`), as for the web app.
    """
    kit = settings.kit
    configure_logging(kit.service, kit.log_level)
    kit.warn_dev_defaults(getattr(settings, "dev_defaults", ()))
    Worker(kit, Database(kit.database_url), outbox=outbox, inbox=inbox, subscription=subscription,
           jobs=jobs).run_forever()

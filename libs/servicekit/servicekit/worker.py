"""The worker process: event consumer, outbox relay and periodic jobs, stopped cleanly by SIGTERM."""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa

from .config import KitSettings
from .consumer import Consumer, Subscription
from .db import Database
from .logs import configure_logging
from .outbox import OutboxRelay

log = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[], None]


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
        self.jobs = jobs or []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._spawn("relay", self.relay.run)
        if self.consumer:
            self._spawn("consumer", self.consumer.run)
        for job in self.jobs:
            self._spawn(f"job-{job.name}", lambda job=job: self._run_job(job))
        log.info("worker started", extra={"event": "worker.started", "jobs": [j.name for j in self.jobs]})

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_job(self, job: PeriodicJob) -> None:
        while not self._stop.wait(job.every_seconds):
            try:
                job.run()
            except Exception:
                log.exception("periodic job failed", extra={"event": "job.failed", "job": job.name})

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

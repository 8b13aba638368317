"""The sender: worker threads that take `created` messages and hand them to the gateway or SMTP server.

The database row is the truth; the wake-up is only a hint. The consumer's handler rings `wake()` right
after its commit, so a new message goes out within milliseconds; each thread also looks for due
messages every second (retries whose backoff has passed, anything a lost wake-up left behind). A
message is claimed with a conditional UPDATE (created -> sending, with a lease), so any number of
threads and worker copies never send one message twice; a lease that runs out (a sender that died
mid-send) is put back by `sweep()`.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from servicekit.db import Database
from servicekit.logs import dossier_code
from servicekit.tables import now

from . import queries, use_cases
from .clients import GatewayClient, Outcome, SmtpMailer, Transports
from .config import Settings
from .metrics import NOTIFICATIONS_OLDEST_PENDING, NOTIFICATIONS_PENDING, SEND_SECONDS

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600.0
# While the gateway cannot be reached at all, a message waits for it (its attempts are not used up) and is
# tried again at most this long after the previous try, so the backlog goes out soon after the gateway is back.
OUTAGE_MAX_BACKOFF_SECONDS = 30.0
SWEEP_AT_LEAST_EVERY_S = 5.0
IDLE_SWEEP_SECONDS = 1.0  # an idle thread sweeps this often


class Sender:
    def __init__(self, settings: Settings, db: Database, *, transports: Transports | None = None,
                 clock: Callable[[], datetime] = now):
        self.settings = settings
        self.db = db
        self.transports = transports or Transports(
            GatewayClient(settings.sms_gateway_url, timeout=settings.send_timeout_seconds),
            SmtpMailer(settings.smtp_url, sender=settings.email_from, timeout=settings.send_timeout_seconds),
        )
        self.clock = clock
        self.sender_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # A counted wake-up rather than a plain Event: one new message wakes one thread, not all of them,
        # so idle threads do not race for a row only one can claim. The 1 s timeout is the sweep.
        self._cond = threading.Condition()
        self._signals = 0
        self._deferred = 0  # wake-ups whose message was held behind an earlier one of its dossier
        self.idle_sweep_seconds = IDLE_SWEEP_SECONDS
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_stuck_log = 0.0

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        for n in range(self.settings.sender_threads):
            thread = threading.Thread(target=self._run, name=f"sender-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("sender started", extra={"event": "sender.started", "threads": self.settings.sender_threads,
                                          "sender_id": self.sender_id})

    def stop(self, timeout: float | None = None) -> None:
        """Each thread finishes the message in hand (bounded by the send timeout), then exits."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        deadline = time.monotonic() + (timeout if timeout is not None else self.settings.send_timeout_seconds + 5)
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        self._threads.clear()

    def wake(self, count: int = 1) -> None:
        """Called after a commit that created `count` messages; cheap and safe from any thread."""
        with self._cond:
            self._signals += count
            self._cond.notify(count)

    def _run(self) -> None:
        last_sweep = time.monotonic()
        try:
            while not self._stop.is_set():
                with self._cond:
                    if self._signals == 0:
                        self._cond.wait(timeout=self.idle_sweep_seconds)
                    signalled = self._signals > 0
                    self._signals = max(self._signals - 1, 0)
                if self._stop.is_set():
                    break
                try:
                    if signalled and time.monotonic() - last_sweep < SWEEP_AT_LEAST_EVERY_S:
                        # One wake-up stands for one new message: claim one. Draining until a claim comes back
                        # empty would cost an extra write transaction per message; the sweep below does that.
                        if not self.send_next():
                            # Its message waits behind an earlier one of its dossier still with the gateway (in
                            # order per dossier): the wake-up is re-armed when a send ends.
                            with self._cond:
                                self._deferred += 1
                        continue
                    # The sweep: on every idle second, and at least every few seconds of a thread kept busy by
                    # wake-ups, everything due (retries whose backoff has passed, a lost wake-up's message).
                    last_sweep = time.monotonic()
                    while not self._stop.is_set() and self.send_next():
                        pass
                except sa.exc.SQLAlchemyError as exc:
                    log.error("sender cannot reach its database", extra={"event": "sender.db_error", "error": str(exc)[:500]})
                    self._stop.wait(1.0)
                except Exception:
                    log.exception("sender loop failed", extra={"event": "sender.error"})
                    self._stop.wait(1.0)
        finally:
            self.transports.close()

    # ---- one message -----------------------------------------------------------------------------
    def send_next(self) -> bool:
        """Claim one due message and send it; False when none is due."""
        moment = self.clock()
        with self.db.transaction() as conn:
            row = queries.claim_next(conn, sender_id=self.sender_id, moment=moment,
                                     lease_until=moment + timedelta(seconds=self.settings.send_lease_seconds))
        if row is None:
            return False
        message = use_cases.Claimed.from_row(row)
        token = dossier_code.set(message.dossier_code)
        try:
            self._send(message)
        finally:
            dossier_code.reset(token)
            with self._cond:
                if self._deferred:  # a wake-up that found its message held behind this one
                    self._deferred -= 1
                    self._signals += 1
                    self._cond.notify()
        return True

    def _send(self, message: use_cases.Claimed) -> None:
        started = self.clock()
        clock_start = time.perf_counter()
        try:
            outcome = self.transports.send(message)
        except Exception as exc:  # an adapter bug must not leave the row `sending` until the lease runs out
            log.exception("send raised", extra={"event": "sender.send_raised", "message_id": message.id})
            outcome = Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:500])
        SEND_SECONDS.labels(message.channel).observe(time.perf_counter() - clock_start)
        finished = self.clock()
        with self.db.transaction() as conn:
            if outcome.result == "sent":
                state = use_cases.record_sent(conn, message, sender_id=self.sender_id, moment=finished,
                                              provider_status=outcome.provider_status)
                attempt_outcome = "sent"
            elif outcome.result == "retry":
                state = use_cases.record_retry(
                    conn, message, sender_id=self.sender_id, moment=finished,
                    next_attempt_at=finished + timedelta(
                        seconds=self.backoff(message.attempts, outcome.retry_after, unreachable=outcome.unreachable)),
                    error=outcome.error or "retryable error",
                    max_attempts=None if outcome.unreachable else self.settings.max_attempts,
                )
                attempt_outcome = "failed" if state == "failed" else "retry"
            else:
                state = use_cases.record_failure(conn, message, sender_id=self.sender_id, moment=finished,
                                                 reason=outcome.error or "refused")
                attempt_outcome = "failed"
            queries.insert_attempt(
                conn, message_id=message.id, attempt=message.attempts, sender=self.sender_id, started_at=started,
                finished_at=finished, outcome=attempt_outcome, status_code=outcome.status_code,
                response=outcome.response, error=outcome.error,
            )
        log.info("message send attempt", extra={
            "event": "sender.attempt", "message_id": message.id, "channel": message.channel,
            "attempt": message.attempts, "outcome": outcome.result, "state": state,
            "status_code": outcome.status_code, "ms": round((time.perf_counter() - clock_start) * 1000, 1),
        })

    def backoff(self, attempts: int, retry_after: float | None = None, *, unreachable: bool = False) -> float:
        """Exponential from NOTIFY_RETRY_BASE_SECONDS with up to 25% jitter, capped (lower while the gateway is
        unreachable); never sooner than a 429's Retry-After."""
        cap = OUTAGE_MAX_BACKOFF_SECONDS if unreachable else MAX_BACKOFF_SECONDS
        delay = min(self.settings.retry_base_seconds * 2 ** min(max(attempts - 1, 0), 30), cap)
        delay *= random.uniform(1.0, 1.25)
        return max(delay, retry_after or 0.0)

    # ---- sweeper (a periodic job of the worker) ---------------------------------------------------
    def sweep(self) -> int:
        """Put back messages whose sender died mid-send, and report what is waiting."""
        moment = self.clock()
        with self.db.transaction() as conn:
            released = use_cases.release_expired_leases(conn, moment=moment, max_attempts=self.settings.max_attempts)
        with self.db.transaction(readonly=True) as conn:
            pending, oldest = queries.count_pending(conn)
        age = max((moment - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        NOTIFICATIONS_PENDING.set(pending)
        NOTIFICATIONS_OLDEST_PENDING.set(age)
        if age > 300 and time.monotonic() - self._last_stuck_log > 60:
            self._last_stuck_log = time.monotonic()
            log.warning("notifications waiting long to be sent",
                        extra={"event": "notify.stuck", "pending": pending, "oldest_age_seconds": round(age, 1)})
        if released:
            self.wake(released)
        return released

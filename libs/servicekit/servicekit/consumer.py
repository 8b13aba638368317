"""The consuming side: one quorum queue per service, an inbox row per event, ack only after commit.

Malformed messages go to `<service>.events.dead` at once with the reason; a handler error is
published to a delayed-retry queue (its TTL routes it back) up to `max_retries` times, then
dead-lettered. The quorum queue's delivery limit is the backstop for a consumer that dies holding
a message. Nothing is requeued in a tight loop and nothing is dropped without a dead letter.

Nothing that a message carries can end the consumer: every parse failure (deep nesting included) and a
malformed retry header are dead-lettered with the reason. A database that is down or locked is not the
message's fault: the consumer keeps the message in hand, keeps the connection alive, and tries it again
with backoff until the database answers; the retry budget is untouched and the order kept.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

import pika
import sqlalchemy as sa
from pika.exceptions import AMQPError
from sqlalchemy import Connection

from .config import KitSettings
from .db import Database, is_outage
from .events import Catalog, MalformedEvent, parse_envelope, rfc3339, utcnow
from .logs import correlation_id, dossier_code
from .metrics import (
    AMQP_CONNECTED, CONSUMER_WAITING_FOR_DATABASE, DEAD_LETTERS, EVENT_HANDLE_SECONDS, EVENTS_CONSUMED,
    QUEUE_DELIVERY_LIMIT,
)
from .tables import now
from .topology import DEAD_LETTER_EXCHANGE, ServiceQueues, connection_parameters, declare_service_queues

log = logging.getLogger(__name__)

Handler = Callable[[Connection, dict, dict], None]
RETRIES_HEADER = "x-motcua-retries"
REASON_HEADER = "x-motcua-dead-reason"


class _Duplicate(Exception):
    """Raised inside the transaction to roll back when the inbox already holds the event."""


@dataclass
class Subscription:
    catalog: Catalog  # the types consumed, with the schema of the fields this service reads
    handlers: dict[str, Handler]

    def __post_init__(self):
        declared, handled = set(self.catalog.types), set(self.handlers)
        if declared != handled:
            raise ValueError(f"consumed types and handlers differ: {sorted(declared ^ handled)}")

    @property
    def bindings(self) -> list[str]:
        return sorted(self.catalog.types)


class Consumer:
    def __init__(
        self,
        settings: KitSettings,
        db: Database,
        inbox: sa.Table,
        subscription: Subscription,
        *,
        max_retries: int | None = None,
    ):
        self.settings = settings
        self.db = db
        self.inbox = inbox
        self.subscription = subscription
        self.service = settings.service
        self.queues = ServiceQueues(settings.service, settings.retry_delays_ms)
        self.max_retries = max_retries if max_retries is not None else int(os.environ.get("MOTCUA_MAX_RETRIES", "5"))
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._lost_at: float | None = None
        # Fault injection for the reliability tests only: die right after a commit, before the ack.
        self._crash_after_commit = os.environ.get("MOTCUA_FAULT") == "crash_after_commit"
        self.ack_batch = max(1, min(settings.prefetch // 2, 50))
        self._pending_ack_tag: int | None = None
        self._pending_acks = 0
        self.dead_letter_poll_seconds = settings.dead_letter_poll_seconds
        self._mismatch_logged = False

    def beat(self, state: str = "running") -> None:
        """The worker's supervisor replaces this to learn that the consumer's loop is alive (worker /healthz)."""

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        backoff = 0.25
        while not self._stop.is_set():
            self.beat("connecting")
            try:
                self._consume()
                backoff = 0.25
            except AMQPError as exc:
                if self.connected.is_set():
                    # A good connection ended: the next attempt waits the shortest backoff again.
                    backoff = 0.25
                    self._lost_at = time.monotonic()
                    log.warning("consumer lost the broker", extra={"event": "consumer.disconnected", "error": repr(exc)})
                self._disconnected()
                self.beat("reconnecting")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_seconds)
            finally:
                self._disconnected()

    def _disconnected(self) -> None:
        self.connected.clear()
        AMQP_CONNECTED.labels(self.service, "consumer").set(0)

    def _on_queue_mismatch(self, reply_text: str, live_limit: int | None) -> None:
        if live_limit is not None:
            QUEUE_DELIVERY_LIMIT.labels(self.service, "live").set(live_limit)
        if not self._mismatch_logged:
            self._mismatch_logged = True
            log.error(
                "the live queue was declared with other arguments; consuming from it as it is "
                "(docs/operations-queues.md: changing MOTCUA_DELIVERY_LIMIT)",
                extra={"event": "consumer.queue_mismatch", "queue": self.queues.main, "live_delivery_limit": live_limit,
                       "wanted_delivery_limit": self.settings.delivery_limit, "error": reply_text[:500]},
            )

    def _consume(self) -> None:
        params = connection_parameters(
            self.settings.amqp_url, heartbeat=self.settings.heartbeat_seconds, name=f"{self.service}-consumer"
        )
        connection = pika.BlockingConnection(params)
        try:
            QUEUE_DELIVERY_LIMIT.labels(self.service, "wanted").set(self.settings.delivery_limit)
            QUEUE_DELIVERY_LIMIT.labels(self.service, "live").set(self.settings.delivery_limit)
            channel = declare_service_queues(
                connection.channel(), self.queues, self.subscription.bindings,
                delivery_limit=self.settings.delivery_limit, on_mismatch=self._on_queue_mismatch,
            )
            channel.confirm_delivery()  # retry and dead-letter copies must reach the broker before we ack
            channel.basic_qos(prefetch_count=self.settings.prefetch)
            probe = connection.channel()  # passive declares here: a 404 must not close the consuming channel
            self._poll_dead_letters(probe)
            self.connected.set()
            AMQP_CONNECTED.labels(self.service, "consumer").set(1)
            extra = {"event": "consumer.connected", "queue": self.queues.main}
            if self._lost_at is not None:
                extra["seconds_disconnected"] = round(time.monotonic() - self._lost_at, 3)
            log.info("consumer connected", extra=extra)
            self._pending_ack_tag, self._pending_acks = None, 0  # delivery tags are per channel
            polled = time.monotonic()
            for method, props, body in channel.consume(self.queues.main, inactivity_timeout=0.5):
                self.beat("consuming")
                if method is not None:
                    self.deliver(channel, method, props, body)
                else:
                    self._flush_acks(channel)
                if self._stop.is_set():
                    break  # the message in hand is finished and acked; the rest go back to the queue
                if time.monotonic() - polled >= self.dead_letter_poll_seconds:
                    polled = time.monotonic()
                    self._poll_dead_letters(probe)
            self._flush_acks(channel)
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()

    def _poll_dead_letters(self, probe) -> None:
        """The dead-letter queue's depth, whoever put the messages there (the broker at x-delivery-limit too)."""
        depth = probe.queue_declare(self.queues.dead, passive=True).method.message_count
        DEAD_LETTERS.labels(self.service).set(depth)

    # ---- one message ----------------------------------------------------------------------------
    def deliver(self, channel, method, props, body: bytes) -> str:
        type_ = (props.type if props else None) or "unknown"
        try:
            envelope = parse_envelope(body)
            type_ = envelope["type"]
            event_type = self.subscription.catalog.types.get(type_)
            if event_type is None:
                raise MalformedEvent(f"{self.service} has no handler for {type_}")
            data = event_type.load(envelope["data"])
        except MalformedEvent as exc:
            self._dead_letter(channel, method, props, body, str(exc))
            self._count(type_, "dead")
            return "dead"
        except Exception as exc:  # RecursionError (JSON nested too deep) or whatever else parsing raised
            self._dead_letter(channel, method, props, body, f"message cannot be parsed: {exc!r}"[:1000])
            self._count(type_, "dead")
            return "dead"

        token_c = correlation_id.set(envelope.get("correlationid"))
        token_d = dossier_code.set(envelope.get("subject"))
        started = time.perf_counter()
        try:
            outcome = self._handle_through_outages(channel, envelope, data)
            if outcome is None:  # stopping while the database is away: the broker gives the message to the next run
                return "interrupted"
        except MalformedEvent as exc:  # the handler found the event unusable: retrying cannot help
            self._dead_letter(channel, method, props, body, str(exc))
            self._count(type_, "dead")
            return "dead"
        except Exception as exc:  # any other handler failure: retried with delay, then dead-lettered
            outcome = self._retry_or_dead(channel, method, props, body, exc)
            self._count(type_, outcome)
            return outcome
        finally:
            correlation_id.reset(token_c)
            dossier_code.reset(token_d)
        if self._crash_after_commit and outcome == "ok":
            os._exit(86)
        self._ack_after_commit(channel, method.delivery_tag)
        EVENT_HANDLE_SECONDS.labels(self.service, type_).observe(time.perf_counter() - started)
        self._count(type_, outcome)
        return outcome

    def _ack_after_commit(self, channel, tag: int) -> None:
        """Acks go in batches (`multiple=True`) while more messages wait in the prefetch buffer.

        One ack frame per message cost ~12% of the consumer's CPU. Every message acked here has already
        committed, so a crash before the batch goes out only redelivers committed messages, which the
        inbox turns into duplicates. The batch is flushed as soon as nothing else is waiting.
        """
        self._pending_ack_tag = tag
        self._pending_acks += 1
        if self._pending_acks >= self.ack_batch or channel.get_waiting_message_count() == 0:
            self._flush_acks(channel)

    def _flush_acks(self, channel) -> None:
        if self._pending_ack_tag is not None:
            channel.basic_ack(self._pending_ack_tag, multiple=True)
            self._pending_ack_tag, self._pending_acks = None, 0

    def _handle_through_outages(self, channel, envelope: dict, data: dict) -> str | None:
        """The handler, tried again on the same message while the database is down or locked (None: stopping)."""
        pause, waiting_since = 0.5, None
        try:
            while True:
                try:
                    outcome = self._handle(envelope, data)
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    if self._stop.is_set():
                        return None
                    if waiting_since is None:
                        waiting_since = time.monotonic()
                        CONSUMER_WAITING_FOR_DATABASE.labels(self.service).set(1)
                        log.warning("database unavailable: holding the message until it answers",
                                    extra={"event": "consumer.database_wait", "error": repr(exc)[:500]})
                        self._flush_acks(channel)  # what already committed is acked during the wait
                    self.beat("waiting for the database")
                    sleep = getattr(getattr(channel, "connection", None), "sleep", time.sleep)
                    sleep(pause)  # BlockingConnection.sleep keeps the heartbeats going
                    pause = min(pause * 2, self.settings.db_outage_max_backoff_seconds)
                    continue
                if waiting_since is not None:
                    log.info("database back: consuming again", extra={
                        "event": "consumer.database_back", "seconds_waited": round(time.monotonic() - waiting_since, 2)})
                return outcome
        finally:
            if waiting_since is not None:
                CONSUMER_WAITING_FOR_DATABASE.labels(self.service).set(0)

    def _handle(self, envelope: dict, data: dict) -> str:
        handler = self.subscription.handlers[envelope["type"]]
        return handle_once(self.db, self.inbox, self.service, handler, envelope, data)

    def _retry_or_dead(self, channel, method, props, body, exc: Exception) -> str:
        headers = dict(props.headers or {})
        try:
            attempt = int(headers.get(RETRIES_HEADER, 0)) + 1
            if attempt < 1:
                raise ValueError("negative")
        except (TypeError, ValueError):
            reason = f"malformed {RETRIES_HEADER} header {headers.get(RETRIES_HEADER)!r}; handler error: {exc!r}"
            self._dead_letter(channel, method, props, body, reason[:1000])
            return "dead"
        if attempt > self.max_retries:
            reason = f"handler failed {attempt} times; last error: {exc!r}"[:1000]
            self._dead_letter(channel, method, props, body, reason)
            return "dead"
        headers[RETRIES_HEADER] = attempt
        queue = self.queues.retry_for_attempt(attempt)
        log.warning(
            "handler failed; retrying later",
            extra={"event": "consumer.retry", "attempt": attempt, "retry_queue": queue, "error": repr(exc)[:500]},
        )
        channel.basic_publish("", queue, body, _copy_props(props, headers), mandatory=True)
        self._flush_acks(channel)
        channel.basic_ack(method.delivery_tag)
        return "retried"

    def _dead_letter(self, channel, method, props, body, reason: str) -> None:
        headers = dict((props.headers if props else None) or {})
        headers[REASON_HEADER] = reason[:1000]
        headers["x-motcua-dead-at"] = rfc3339(utcnow())
        headers["x-motcua-original-queue"] = self.queues.main
        log.error("event dead-lettered", extra={"event": "consumer.dead_letter", "reason": reason[:500]})
        try:
            channel.basic_publish(DEAD_LETTER_EXCHANGE, self.queues.dead, body, _copy_props(props, headers), mandatory=True)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError):
            # Our copy did not land: let the queue's own dead-lettering take the message instead.
            self._flush_acks(channel)
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        self._flush_acks(channel)
        channel.basic_ack(method.delivery_tag)

    def _count(self, type_: str, outcome: str) -> None:
        EVENTS_CONSUMED.labels(self.service, type_, outcome).inc()


def handle_once(db: Database, inbox: sa.Table, consumer: str, handler: Handler, envelope: dict, data: dict) -> str:
    """The handler's effects, its outbox rows and the inbox row commit together, or not at all."""
    try:
        with db.transaction() as conn:
            if not _claim_inbox(conn, inbox, consumer, envelope):
                raise _Duplicate
            handler(conn, envelope, data)
    except _Duplicate:
        return "duplicate"
    return "ok"


def _claim_inbox(conn: Connection, inbox: sa.Table, consumer: str, envelope: dict) -> bool:
    """Insert the (consumer, message id) row; False when this consumer has seen the event."""
    values = {"consumer": consumer, "message_id": envelope["id"], "type": envelope["type"], "received_at": now()}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = conn.execute(insert(inbox).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


def _copy_props(props, headers: dict) -> pika.BasicProperties:
    props = props or pika.BasicProperties()
    return pika.BasicProperties(
        message_id=props.message_id,
        type=props.type,
        content_type=props.content_type or "application/json",
        delivery_mode=2,
        app_id=props.app_id,
        headers=headers,
    )


def replay_dead_letters(settings: KitSettings, *, limit: int | None = None) -> int:
    """Move messages from `<service>.events.dead` back to `<service>.events`, retry count reset."""
    queues = ServiceQueues(settings.service, settings.retry_delays_ms)
    connection = pika.BlockingConnection(connection_parameters(settings.amqp_url, name=f"{settings.service}-replay"))
    moved = 0
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        while limit is None or moved < limit:
            method, props, body = channel.basic_get(queues.dead, auto_ack=False)
            if method is None:
                break
            headers = {
                k: v for k, v in (props.headers or {}).items()
                if k not in (RETRIES_HEADER, "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason")
            }
            headers["x-motcua-replayed-at"] = rfc3339(utcnow())
            channel.basic_publish("", queues.main, body, _copy_props(props, headers), mandatory=True)
            channel.basic_ack(method.delivery_tag)
            moved += 1
    finally:
        if connection.is_open:
            connection.close()
    return moved

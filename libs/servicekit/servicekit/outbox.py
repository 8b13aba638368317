"""Transactional outbox: events written with the state change, and the relay that publishes them.

The relay runs on pika's asynchronous connection so publisher confirms are pipelined: up to
`relay_window` messages in flight, rows marked sent only when the broker confirms them. It wakes
on the doorbell (a UDP datagram from the web process, or a direct call inside the worker), and a
one-second tick sweeps for anything the doorbell missed and reports rows stuck unsent.

Never dropped because a queue was missing at a moment (docs/operations-queues.md):
- Publishes are `mandatory`. A returned row stays pending: `first_returned_at` records its first
  return and it is retried with backoff (capped at 60 s) for as long as it takes. After
  `unroutable_give_up_seconds` counted from that first return (never from the row's creation, which
  an outage would age) it shows in `motcua_outbox_unroutable_pending` and an alert, and waits for an
  operator (`manage unroutable list|requeue|discard`) while still being retried.
- Returns are matched to publishes by delivery tag, not by event id: a return arrives before the
  confirm of its own publish, so it belongs to the oldest unconfirmed, not yet returned, publish of
  that message id. And a row still unconfirmed on this channel is not published again when its lease
  runs out (one copy in flight per row and channel).
- Partial routing (some consumers' queues bound, another's not yet) cannot be seen by a publisher.
  Order makes it safe: deployments declare every service's queues (`manage migrate` / `manage
  declare`, a Job) before relays start; `manage` then declares the marker exchange `motcua.topology`.
  A relay that connects to a broker without the marker (a first start without the Job, or a broker
  that came back on an empty disk while the services ran) waits `relay_settle_seconds` (more than
  twice the reconnect backoff cap) so that every running worker's consumer declares its own queue
  again, then declares the marker and publishes. Services never declare each other's queues.
- A broker back on an empty disk has also lost what it had confirmed and not yet delivered (a queue
  whose consumer was away, prefetched messages not acked, delayed retries). Each relay declares its
  own marker, `motcua.relay.<service>`, which no definitions file holds: a relay that finds it
  missing marks unsent again every row it sent in the `relay_replay_seconds` before its latest send
  (not rows an operator discarded), then declares it. The rows go out again in order, before newer
  ones; consumers' inboxes absorb the copies they already had (the inbox keeps rows longer than the
  window: config.py refuses otherwise). Dead letters the broker held are not in any outbox: the
  alert on `motcua_outbox_republished_total` tells the operator to check them. An attempt that
  finds rows of an earlier replay still pending keeps that window, and a database error while
  replaying is retried with the reconnect backoff.

Timeouts: the database work runs on pika's I/O loop, so each call is bounded under the heartbeat
(db.py: SQLite lock wait 10 s, PostgreSQL statements 10 s, pool 10 s; heartbeat 30 s). The lease
(60 s) is longer than pika's blocked-connection timeout (30 s): while a memory alarm blocks the
broker, no second relay copy claims the rows in flight; when pika gives up, the relay releases them.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

import pika
import sqlalchemy as sa
from pika.exceptions import AMQPError, ChannelClosedByBroker
from sqlalchemy import Connection

from .config import KitSettings
from .db import PG_STATEMENT_TIMEOUT_MS, Database
from .events import EventType, make_envelope, to_json_bytes
from .logs import correlation_id as current_correlation_id
from .metrics import (
    AMQP_CONNECTED, EVENTS_PUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING, OUTBOX_REPUBLISHED, OUTBOX_UNROUTABLE,
    OUTBOX_UNROUTABLE_PENDING, WORKER_HEARTBEAT,
)
from .tables import now
from .topology import (
    DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, POSTAL_EXCHANGE, TOPOLOGY_MARKER, connection_parameters, declare_marker,
    declare_relay_marker, relay_marker,
)

log = logging.getLogger(__name__)


def record_event(
    conn: Connection,
    outbox: sa.Table,
    event_type: EventType,
    data: dict,
    *,
    source: str,
    subject: str | None = None,
    correlation_id: str | None = None,
) -> str:
    """Write one event to the outbox inside the caller's transaction; returns the event id."""
    envelope = make_envelope(
        event_type.name,
        source,
        event_type.dump(data),
        subject=subject,
        correlation_id=correlation_id or current_correlation_id.get(),
    )
    return record_message(
        conn, outbox, body=envelope, event_id=envelope["id"], type_=event_type.name,
        exchange=EVENTS_EXCHANGE, routing_key=event_type.name, subject=subject,
    )


def record_message(
    conn: Connection,
    outbox: sa.Table,
    *,
    body: dict,
    event_id: str,
    type_: str,
    exchange: str,
    routing_key: str,
    subject: str | None = None,
    headers: dict | None = None,
) -> str:
    """The general form: any message to any exchange (postal's dispatch orders use it)."""
    # One prebuilt statement with a parameter dict: building `.values(...)` per call costs ~150 µs.
    conn.execute(
        _insert_statement(outbox),
        {
            "event_id": event_id,
            "type": type_,
            "exchange": exchange,
            "routing_key": routing_key,
            "subject": subject,
            "body": to_json_bytes(body).decode("utf-8"),
            "headers": json.dumps(headers) if headers else None,
            "created_at": now(),
            "attempts": 0,
        },
    )
    conn.info["outbox_rows"] = conn.info.get("outbox_rows", 0) + 1
    return event_id


REPUBLISHED = "published again: the broker came back without its data"


@functools.lru_cache(maxsize=None)
def _insert_statement(table: sa.Table):
    return table.insert()


class OutboxRelay:
    """Publishes pending outbox rows with pipelined confirms; safe to run as several copies."""

    def __init__(self, settings: KitSettings, db: Database, outbox: sa.Table, *, bind_doorbell: bool = True):
        self.settings = settings
        self.db = db
        self.outbox = outbox
        self.service = settings.service
        self.relay_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._connection: pika.SelectConnection | None = None
        self._channel = None
        self._ready = False
        self._inflight: dict[int, tuple[int, str, str]] = {}  # delivery tag -> (row id, event id, type)
        self._inflight_rows: dict[int, int] = {}  # row id -> its publishes unconfirmed on this channel
        self._returned_tags: set[int] = set()  # delivery tags the broker returned unroutable
        self._last_return_log: dict[str, float] = {}
        self._next_tag = 1
        self._pump_pending = False
        # Whether rows may be waiting that the last pump left (a full batch, or no room in the window): only
        # then does a confirm pump again. Otherwise the doorbell (after each commit) and the 1 s sweep do, so
        # a confirm costs no empty claim transaction.
        self._more_waiting = False
        self._last_stuck_log = 0.0
        self._lost_at: float | None = None
        self.connected = threading.Event()
        self._doorbell = self._bind_doorbell() if bind_doorbell else None
        self.unroutable_give_up_seconds = settings.unroutable_give_up_seconds
        self.settle_seconds = settings.relay_settle_seconds

    def beat(self, state: str = "running") -> None:
        """The worker's supervisor replaces this to learn that the relay's loop is alive (worker /healthz)."""

    # ---- lifecycle -------------------------------------------------------------------------
    def _bind_doorbell(self) -> socket.socket | None:
        address = self.settings.relay_doorbell
        if not address:
            return None
        host, _, port = address.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # several relay copies per host
        try:
            sock.bind((host or "127.0.0.1", int(port)))
        except OSError as exc:
            log.warning("relay doorbell not bound; relying on the 1 s sweep", extra={"event": "relay.doorbell", "error": str(exc)})
            sock.close()
            return None
        sock.setblocking(False)
        return sock

    def run(self) -> None:
        """Blocking: connect, publish, reconnect with capped backoff until stop()."""
        backoff = 0.25
        while not self._stop.is_set():
            self.beat("connecting")
            try:
                self._await_topology()
            except AMQPError as exc:
                log.warning("relay cannot reach the broker", extra={"event": "relay.connect_failed", "error": repr(exc)})
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_seconds)
                continue
            except sa.exc.SQLAlchemyError as exc:  # the replay after a data loss waits for the database
                log.error("relay cannot read the outbox to publish again what the broker lost",
                          extra={"event": "relay.db_error", "error": str(exc)})
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_seconds)
                continue
            if self._stop.is_set():
                break
            params = connection_parameters(
                self.settings.amqp_url, heartbeat=self.settings.heartbeat_seconds, name=f"{self.service}-relay"
            )
            self._connection = pika.SelectConnection(
                params,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_error,
                on_close_callback=self._on_connection_closed,
            )
            ioloop = self._connection.ioloop
            if self._doorbell:
                ioloop.add_handler(self._doorbell.fileno(), self._on_doorbell, ioloop.READ)
            ioloop.call_later(1.0, self._tick)
            try:
                ioloop.start()
            finally:
                if self._doorbell:
                    ioloop.remove_handler(self._doorbell.fileno())
                ioloop.close()
            was_ready = self._ready
            self._ready = False
            self.connected.clear()
            AMQP_CONNECTED.labels(self.service, "relay").set(0)
            self._release_claims()
            if self._stop.is_set():
                break
            if was_ready:
                backoff = 0.25
                self._lost_at = time.monotonic()
            self.beat("reconnecting")
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.settings.reconnect_max_seconds)
        if self._doorbell:
            self._doorbell.close()

    def _await_topology(self) -> None:
        """Before publishing to a broker without the topology marker, give consumers time to declare their queues.

        A blocking probe connection: a passive declare of the marker (404 closes only the probe's channel).
        """
        params = connection_parameters(
            self.settings.amqp_url, heartbeat=self.settings.heartbeat_seconds, name=f"{self.service}-relay-probe"
        )
        connection = pika.BlockingConnection(params)
        try:
            if not _exchange_exists(connection, TOPOLOGY_MARKER):
                log.warning(
                    "the broker has no topology marker (first start, or it lost its data): waiting for consumers to "
                    "declare their queues before publishing",
                    extra={"event": "relay.settling", "seconds": self.settle_seconds},
                )
                deadline = time.monotonic() + self.settle_seconds
                while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
                    self.beat("waiting for consumers to declare their queues")
                    connection.sleep(min(left, 0.5))  # keeps the probe's heartbeats going
                if self._stop.is_set():  # only a full wait vouches for the topology
                    return
                declare_marker(connection.channel())
            if not _exchange_exists(connection, relay_marker(self.service)):
                self._republish_recent()  # before the marker: a crash in between replays again, never skips
                declare_relay_marker(connection.channel(), self.service)
        finally:
            if connection.is_open:
                connection.close()

    def _republish_recent(self) -> int:
        """Mark unsent again the rows sent in the replay window before the latest send (docstring at the top)."""
        outbox = self.outbox
        with self.db.transaction() as conn:
            _bound_statements(conn)
            pending_replay = conn.execute(
                sa.select(outbox.c.id).where(outbox.c.sent_at.is_(None)).where(outbox.c.last_error == REPUBLISHED)
                .limit(1)
            ).first()
            if pending_replay is not None:
                # An earlier attempt marked the rows and could not declare the marker: its window stands. Counted
                # again from the latest send left, the window would reach further back at every attempt.
                return 0
            latest = conn.execute(sa.select(sa.func.max(outbox.c.sent_at))).scalar()
            if latest is None:
                return 0  # nothing ever sent: a first start
            cutoff = latest - timedelta(seconds=self.settings.relay_replay_seconds)
            count = conn.execute(
                outbox.update()
                .where(outbox.c.sent_at >= cutoff)
                .where(outbox.c.last_error.is_(None))  # sent by a relay; not discarded by an operator
                .values(sent_at=None, claimed_by=None, claimed_until=None, last_error=REPUBLISHED)
            ).rowcount
        OUTBOX_REPUBLISHED.labels(self.service).inc(count)
        log.warning(
            "the broker came back without its data: publishing again what this service sent before it was lost; "
            "consumers absorb the copies they had. Dead letters it held are gone: check the dead-letter alerts",
            extra={"event": "relay.republishing", "rows": count, "window_seconds": self.settings.relay_replay_seconds},
        )
        return count

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the in-flight messages are confirmed (or `timeout` passes)."""
        self._stop.set()
        connection = self._connection
        if connection is not None:
            deadline = time.monotonic() + timeout
            try:
                connection.ioloop.add_callback_threadsafe(lambda: self._close_when_drained(deadline))
            except Exception:  # the loop already ended
                pass

    def wake(self) -> None:
        """Called from any thread after a commit that wrote outbox rows."""
        connection = self._connection
        if connection is None or not self._ready:
            return
        try:
            connection.ioloop.add_callback_threadsafe(self._schedule_pump)
        except Exception:
            pass  # between connections: the next connection starts with a pump

    def _close_when_drained(self, deadline: float) -> None:
        if self._inflight and time.monotonic() < deadline and self._connection and self._connection.is_open:
            self._connection.ioloop.call_later(0.05, lambda: self._close_when_drained(deadline))
            return
        if self._connection and not (self._connection.is_closing or self._connection.is_closed):
            self._connection.close()
        elif self._connection:
            self._connection.ioloop.stop()

    # ---- connection callbacks ---------------------------------------------------------------
    def _on_connection_open(self, connection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_error(self, connection, error) -> None:
        log.warning("relay cannot reach the broker", extra={"event": "relay.connect_failed", "error": str(error)})
        connection.ioloop.stop()

    def _on_connection_closed(self, connection, reason) -> None:
        if not self._stop.is_set():
            log.warning("relay lost the broker", extra={"event": "relay.disconnected", "reason": str(reason)})
        connection.ioloop.stop()

    def _on_channel_open(self, channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        # Declaring is idempotent; it also means a fresh broker has the exchanges before we publish.
        declare_exchanges_async(channel, lambda: channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode))

    def _on_channel_closed(self, channel, reason) -> None:
        self._ready = False
        if self._connection and self._connection.is_open and not self._stop.is_set():
            log.warning("relay channel closed", extra={"event": "relay.channel_closed", "reason": str(reason)})
            self._connection.close()

    def _on_confirm_mode(self, _frame) -> None:
        self._inflight.clear()
        self._inflight_rows.clear()
        self._returned_tags.clear()
        self._next_tag = 1
        self._ready = True
        self.connected.set()
        AMQP_CONNECTED.labels(self.service, "relay").set(1)
        extra = {"event": "relay.connected", "relay_id": self.relay_id}
        if self._lost_at is not None:
            extra["seconds_disconnected"] = round(time.monotonic() - self._lost_at, 3)
        log.info("relay connected", extra=extra)
        self._schedule_pump()

    # ---- publishing -------------------------------------------------------------------------
    def _on_doorbell(self, fd, events, *args) -> None:
        try:
            while True:
                self._doorbell.recv(64)
        except (BlockingIOError, OSError):
            pass
        self._schedule_pump()

    def _schedule_pump(self) -> None:
        if not self._pump_pending and self._connection is not None:
            self._pump_pending = True
            self._connection.ioloop.call_later(0, self._pump)

    def _pump(self) -> None:
        self._pump_pending = False
        if not self._ready or self._stop.is_set():
            return
        room = min(self.settings.relay_window - len(self._inflight), self.settings.relay_batch)
        if room <= 0:
            self._more_waiting = True
            return  # confirms will call us again
        try:
            rows = self._claim(room)
        except sa.exc.SQLAlchemyError as exc:
            log.error("relay cannot read the outbox", extra={"event": "relay.db_error", "error": str(exc)})
            return
        self._more_waiting = len(rows) == room
        channel = self._channel
        try:
            for row in rows:
                if row.id in self._inflight_rows:
                    # Its lease ran out while the broker held the first copy (a blocked connection): that copy
                    # is still unconfirmed here, and its confirm or return settles the row. One copy at a time.
                    continue
                headers = json.loads(row.headers) if row.headers else None
                props = pika.BasicProperties(
                    message_id=row.event_id,
                    type=row.type,
                    content_type="application/json",
                    delivery_mode=2,
                    app_id=self.service,
                    headers=headers,
                )
                channel.basic_publish(row.exchange, row.routing_key, row.body.encode("utf-8"), props, mandatory=True)
                self._inflight[self._next_tag] = (row.id, row.event_id, row.type)
                self._inflight_rows[row.id] = self._inflight_rows.get(row.id, 0) + 1
                self._next_tag += 1
        except AMQPError as exc:
            log.warning("relay publish failed", extra={"event": "relay.publish_failed", "error": str(exc)})
            return  # the connection callbacks take over; claimed rows are released on close
        if len(rows) == room:
            self._schedule_pump()  # more may be waiting

    def _claim(self, limit: int):
        outbox = self.outbox
        moment = now()
        with self.db.transaction() as conn:
            _bound_statements(conn)
            pick = (
                sa.select(outbox.c.id)
                .where(outbox.c.sent_at.is_(None))
                .where(sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < moment))
                .order_by(outbox.c.id)
                .limit(limit)
            )
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)  # several relay copies share the table
            # A CTE, not `id IN (subquery)`: PostgreSQL may run a LIMIT ... SKIP LOCKED subquery more
            # than once inside IN and claim more rows than asked.
            picked = pick.cte("picked")
            rows = conn.execute(
                outbox.update()
                .where(outbox.c.id == picked.c.id)
                .values(
                    claimed_by=self.relay_id,
                    claimed_until=moment + timedelta(seconds=self.settings.relay_lease_seconds),
                    attempts=outbox.c.attempts + 1,
                )
                .returning(
                    outbox.c.id, outbox.c.event_id, outbox.c.type, outbox.c.exchange,
                    outbox.c.routing_key, outbox.c.body, outbox.c.headers,
                )
            ).all()
        return sorted(rows, key=lambda r: r.id)

    def _on_return(self, channel, method, props, body) -> None:
        # The broker returns a message before it confirms that publish, so the return is the oldest publish of
        # this id that is neither confirmed nor returned yet. Keyed by tag: an id can be in flight twice.
        for tag, (_row_id, event_id, _type) in self._inflight.items():  # insertion order is tag order
            if event_id == props.message_id and tag not in self._returned_tags:
                self._returned_tags.add(tag)
                break
        type_ = props.type or "unknown"
        OUTBOX_UNROUTABLE.labels(self.service, type_).inc()
        if time.monotonic() - self._last_return_log.get(type_, 0.0) > 10:
            self._last_return_log[type_] = time.monotonic()
            log.warning(
                "event returned unroutable: no queue is bound for it yet; the row stays pending",
                extra={"event": "relay.unroutable", "type": props.type, "routing_key": method.routing_key},
            )

    def _on_confirm(self, frame) -> None:
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        tags = [t for t in self._inflight if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        sent, retry = [], []
        by_type: dict[str, int] = {}
        for tag in tags:
            entry = self._inflight.pop(tag, None)
            if entry is None:
                continue
            row_id, _event_id, type_ = entry
            left = self._inflight_rows.get(row_id, 1) - 1
            if left > 0:
                self._inflight_rows[row_id] = left
            else:
                self._inflight_rows.pop(row_id, None)
            returned = tag in self._returned_tags
            self._returned_tags.discard(tag)
            if acked and not returned:
                sent.append(row_id)
                by_type[type_] = by_type.get(type_, 0) + 1
            else:
                retry.append((row_id, "unroutable" if acked else "nacked by broker"))
        if sent and retry:
            routed = set(sent)
            retry = [(row_id, reason) for row_id, reason in retry if row_id not in routed]
        try:
            self._settle(sent, retry)
        except sa.exc.SQLAlchemyError as exc:
            # Rows stay unsent; the lease expires and they are published again (consumers dedupe).
            log.error("relay could not mark rows sent", extra={"event": "relay.db_error", "error": str(exc)})
            return
        for type_, count in by_type.items():
            EVENTS_PUBLISHED.labels(self.service, type_).inc(count)
        if self._more_waiting or retry:
            self._schedule_pump()

    def _settle(self, sent: list[int], retry: list[tuple[int, str]]) -> None:
        if not sent and not retry:
            return
        outbox = self.outbox
        moment = now()
        with self.db.transaction() as conn:
            _bound_statements(conn)
            if sent:
                conn.execute(
                    outbox.update()
                    .where(outbox.c.id.in_(sent))
                    .values(sent_at=moment, claimed_by=None, claimed_until=None, last_error=None)
                )
            for row_id, reason in retry:
                row = conn.execute(
                    sa.select(outbox.c.attempts, outbox.c.first_returned_at, outbox.c.type).where(outbox.c.id == row_id)
                ).one()
                # Kept pending whatever happens: a queue may be declared later (a consumer not deployed yet, a
                # broker that lost its queues), and only an operator may decide that nobody ever will.
                values = {
                    "claimed_by": None,
                    "claimed_until": moment + timedelta(seconds=min(2 ** min(row.attempts, 6), 60)),
                    "last_error": reason,
                }
                if reason == "unroutable":
                    first = row.first_returned_at or moment
                    if row.first_returned_at is None:
                        values["first_returned_at"] = moment
                    unroutable_for = (moment - first).total_seconds()
                    if unroutable_for > self.unroutable_give_up_seconds:
                        values["last_error"] = (
                            f"unroutable for {int(unroutable_for)} s: no queue bound; kept pending and retried "
                            "until a queue is bound or an operator acts (manage unroutable)"
                        )
                        if time.monotonic() - self._last_return_log.get(f"given-up:{row.type}", 0.0) > 60:
                            self._last_return_log[f"given-up:{row.type}"] = time.monotonic()
                            log.error(
                                "event unroutable past the give-up period: kept pending for an operator",
                                extra={"event": "relay.unroutable_pending", "type": row.type,
                                       "unroutable_seconds": int(unroutable_for)},
                            )
                conn.execute(outbox.update().where(outbox.c.id == row_id).values(**values))

    def _release_claims(self) -> None:
        """After a lost connection, unconfirmed rows are ours to publish again at once."""
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    self.outbox.update()
                    .where(self.outbox.c.claimed_by == self.relay_id)
                    .where(self.outbox.c.sent_at.is_(None))
                    .values(claimed_by=None, claimed_until=None)
                )
        except sa.exc.SQLAlchemyError as exc:
            log.error("relay could not release its claims", extra={"event": "relay.db_error", "error": str(exc)})

    # ---- sweeper ------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self._connection is None or self._connection.is_closed:
            return
        WORKER_HEARTBEAT.labels(self.service).set(time.time())
        self.beat("connected" if self._ready else "connecting")
        try:
            self.report_pending()
        except sa.exc.SQLAlchemyError as exc:
            log.error("outbox sweep failed", extra={"event": "relay.db_error", "error": str(exc)})
        self._schedule_pump()  # the sweep: anything the doorbell missed goes now
        self._connection.ioloop.call_later(1.0, self._tick)

    def report_pending(self) -> tuple[int, float]:
        outbox = self.outbox
        cutoff = now() - timedelta(seconds=self.unroutable_give_up_seconds)
        with self.db.transaction(readonly=True) as conn:
            _bound_statements(conn)
            count, oldest, unroutable = conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.min(outbox.c.created_at),
                    sa.func.coalesce(sa.func.sum(sa.case((outbox.c.first_returned_at < cutoff, 1), else_=0)), 0),
                ).where(outbox.c.sent_at.is_(None))
            ).one()
        # min() keeps the column's type, so SQLite's text comes back as an aware datetime too.
        age = max((now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        OUTBOX_PENDING.labels(self.service).set(count)
        OUTBOX_OLDEST_AGE.labels(self.service).set(age)
        OUTBOX_UNROUTABLE_PENDING.labels(self.service).set(int(unroutable))
        if age > self.settings.relay_stuck_seconds and time.monotonic() - self._last_stuck_log > 60:
            self._last_stuck_log = time.monotonic()
            log.warning(
                "outbox rows stuck unsent",
                extra={"event": "outbox.stuck", "pending": count, "oldest_age_seconds": round(age, 1)},
            )
        return count, age



def _exchange_exists(connection: pika.BlockingConnection, name: str) -> bool:
    """A passive declare on a channel of its own: a 404 closes that channel only."""
    try:
        connection.channel().exchange_declare(name, passive=True)
        return True
    except ChannelClosedByBroker as exc:
        if exc.reply_code != 404:
            raise
        return False


def _bound_statements(conn: Connection) -> None:
    """PostgreSQL: no statement of the relay's transaction runs past the bound (pika's loop waits on it)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(PG_STATEMENT_TIMEOUT_MS)}")


# ---- what an operator does with unroutable rows (python -m <service>.manage unroutable ...) --------------------
def unroutable_rows(db: Database, outbox: sa.Table, *, older_than_seconds: float = 0.0, limit: int = 1000):
    """Unsent rows the broker returned, first returned more than `older_than_seconds` ago, oldest first."""
    cutoff = now() - timedelta(seconds=older_than_seconds)
    with db.transaction(readonly=True) as conn:
        return conn.execute(
            sa.select(outbox.c.id, outbox.c.event_id, outbox.c.type, outbox.c.routing_key, outbox.c.created_at,
                      outbox.c.first_returned_at, outbox.c.attempts, outbox.c.last_error)
            .where(outbox.c.sent_at.is_(None))
            .where(outbox.c.first_returned_at.is_not(None))
            .where(outbox.c.first_returned_at <= cutoff)
            .order_by(outbox.c.id)
            .limit(limit)
        ).all()


def requeue_unroutable(db: Database, outbox: sa.Table, ids: list[int] | None = None) -> int:
    """Publish these returned rows (all when `ids` is None) at the relay's next sweep instead of after backoff."""
    query = outbox.update().where(outbox.c.sent_at.is_(None)).where(outbox.c.first_returned_at.is_not(None))
    if ids is not None:
        query = query.where(outbox.c.id.in_(ids))
    with db.transaction() as conn:
        return conn.execute(query.values(claimed_by=None, claimed_until=None)).rowcount


def discard_unroutable(db: Database, outbox: sa.Table, ids: list[int], *, reason: str) -> int:
    """Mark these returned rows sent without publishing them; the row keeps the operator's reason."""
    if not ids or not reason.strip():
        raise ValueError("name the rows and give a reason")
    with db.transaction() as conn:
        return conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(ids))
            .where(outbox.c.sent_at.is_(None))
            .where(outbox.c.first_returned_at.is_not(None))
            .values(sent_at=now(), claimed_by=None, claimed_until=None,
                    last_error=f"discarded by an operator: {reason.strip()}"[:1000])
        ).rowcount


def declare_exchanges_async(channel, done) -> None:
    """The asynchronous twin of topology.declare_exchanges, for the relay's SelectConnection."""
    pending = [
        (EVENTS_EXCHANGE, "topic"),
        (DEAD_LETTER_EXCHANGE, "direct"),
        (POSTAL_EXCHANGE, "topic"),
    ]

    def next_one(_frame=None):
        if not pending:
            done()
            return
        name, kind = pending.pop(0)
        channel.exchange_declare(name, exchange_type=kind, durable=True, callback=next_one)

    next_one()

"""The broker topology, declared explicitly for RabbitMQ 3.10 (no reliance on 4.x defaults)."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable

import pika
from pika.exceptions import ChannelClosedByBroker

log = logging.getLogger(__name__)

EVENTS_EXCHANGE = "motcua.events"
DEAD_LETTER_EXCHANGE = "motcua.dlx"
POSTAL_EXCHANGE = "motcua.postal"

TOPOLOGY_MARKER = "motcua.topology"  # exists once `manage declare` ran, or a relay waited for consumers to declare
CLASSIC_V2 = {"x-queue-type": "classic", "x-queue-version": 2}
# A broker under memory or disk alarm blocks publishers; pika gives up after this and reconnects. The relay's
# lease (MOTCUA_RELAY_LEASE_SECONDS, 60 s) is longer, so no other relay copy republishes a blocked window.
BLOCKED_CONNECTION_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ServiceQueues:
    service: str
    retry_delays_ms: tuple[int, ...]

    @property
    def main(self) -> str:
        return f"{self.service}.events"

    @property
    def dead(self) -> str:
        return f"{self.service}.events.dead"

    def retry(self, delay_ms: int) -> str:
        return f"{self.service}.events.retry.{delay_ms}ms"

    def retry_for_attempt(self, attempt: int) -> str:
        """attempt 1 waits the first delay; later attempts the next, the last delay repeating."""
        return self.retry(self.retry_delays_ms[min(attempt, len(self.retry_delays_ms)) - 1])


def connection_parameters(url: str, *, heartbeat: int = 30, name: str = "motcua") -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = BLOCKED_CONNECTION_TIMEOUT_SECONDS
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.client_properties = {"connection_name": name}
    return params


def declare_exchanges(channel) -> None:
    channel.exchange_declare(EVENTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    channel.exchange_declare(POSTAL_EXCHANGE, exchange_type="topic", durable=True)


def declare_marker(channel) -> None:
    """Say "this broker has the topology": relays that find it publish at once (docs/operations-queues.md)."""
    channel.exchange_declare(TOPOLOGY_MARKER, exchange_type="fanout", durable=True)


def relay_marker(service: str) -> str:
    """The exchange a service's relay declares once the broker holds what it publishes. Never in the definitions
    files nor declared by `manage declare`: a broker that lost its data has lost this too, and a relay that finds
    it missing publishes its recent events again (outbox.py)."""
    return f"motcua.relay.{service}"


def declare_relay_marker(channel, service: str) -> None:
    channel.exchange_declare(relay_marker(service), exchange_type="fanout", durable=True)


def live_delivery_limit(reply_text: str) -> int | None:
    """The broker's current x-delivery-limit, read from its PRECONDITION_FAILED text (None when not said)."""
    if "x-delivery-limit" not in reply_text:
        return None
    m = re.search(r"current is (?:the value )?'(\d+)'", reply_text)
    return int(m.group(1)) if m else None


def declare_service_queues(
    channel, queues: ServiceQueues, bindings: list[str], *, delivery_limit: int,
    on_mismatch: Callable[[str, int | None], None] | None = None,
):
    """The service's quorum queue, its delayed-retry queues and its dead-letter queue, all explicit.

    A quorum queue's arguments cannot change. When the live main queue was declared with other arguments (a
    changed MOTCUA_DELIVERY_LIMIT), the broker answers PRECONDITION_FAILED and closes the channel: we go on
    with the queue as it is (a passive declare on a new channel), tell `on_mismatch`, and return that
    channel. Failing here for ever would stop consumption over a setting. Returns the channel to use.
    """
    declare_exchanges(channel)
    channel.queue_declare(
        queues.dead, durable=True, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(queues.dead, DEAD_LETTER_EXCHANGE, routing_key=queues.dead)
    try:
        channel.queue_declare(
            queues.main,
            durable=True,
            arguments=main_queue_arguments(queues, delivery_limit),
        )
    except ChannelClosedByBroker as exc:
        if exc.reply_code != 406:
            raise
        channel = channel.connection.channel()
        channel.queue_declare(queues.main, passive=True)
        if on_mismatch:
            on_mismatch(str(exc.reply_text), live_delivery_limit(str(exc.reply_text)))
        else:
            log.error("queue declared with other arguments; using it as it is",
                      extra={"event": "topology.queue_mismatch", "queue": queues.main, "error": str(exc.reply_text)})
    for key in bindings:
        channel.queue_bind(queues.main, EVENTS_EXCHANGE, routing_key=key)
    for delay in queues.retry_delays_ms:
        # Messages wait out their TTL here, then the default exchange routes them back to the main queue.
        channel.queue_declare(
            queues.retry(delay),
            durable=True,
            arguments={
                **CLASSIC_V2,
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queues.main,
            },
        )
    return channel


def main_queue_arguments(queues: ServiceQueues, delivery_limit: int) -> dict:
    return {
        "x-queue-type": "quorum",
        # Backstop for a consumer that keeps dying while holding a message (poison pill).
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": queues.dead,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",  # required by at-least-once dead-lettering on 3.10
    }

"""The broker topology, declared explicitly for RabbitMQ 3.10 (no reliance on 4.x defaults)."""
from __future__ import annotations

from dataclasses import dataclass

import pika

EVENTS_EXCHANGE = "motcua.events"
DEAD_LETTER_EXCHANGE = "motcua.dlx"
POSTAL_EXCHANGE = "motcua.postal"

CLASSIC_V2 = {"x-queue-type": "classic", "x-queue-version": 2}


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
    # A broker under memory or disk alarm blocks publishers; give up after this and reconnect.
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.client_properties = {"connection_name": name}
    return params


def declare_exchanges(channel) -> None:
    channel.exchange_declare(EVENTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    channel.exchange_declare(POSTAL_EXCHANGE, exchange_type="topic", durable=True)


def declare_service_queues(channel, queues: ServiceQueues, bindings: list[str], *, delivery_limit: int) -> None:
    """The service's quorum queue, its delayed-retry queues and its dead-letter queue, all explicit."""
    declare_exchanges(channel)
    channel.queue_declare(
        queues.dead, durable=True, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(queues.dead, DEAD_LETTER_EXCHANGE, routing_key=queues.dead)
    channel.queue_declare(
        queues.main,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            # Backstop for a consumer that keeps dying while holding a message (poison pill).
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": queues.dead,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",  # required by at-least-once dead-lettering on 3.10
        },
    )
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

"""RabbitMQ definitions (exchanges, queues, bindings) generated from what the services themselves declare.

Each service's `manage` module is run far enough to learn its Subscription, and the kit's own
`declare_service_queues` / `declare_marker` (and the postal operator simulator's `declare_topology`) are played
against a channel that records the calls, so the file says exactly what the code declares: same names, same
arguments (quorum queues, delivery limit, dead-letter exchange, retry TTLs). Defaults of the settings are used
(MOTCUA_DELIVERY_LIMIT=20, MOTCUA_RETRY_DELAYS_MS=1000,5000,30000): a province that changes them regenerates.

    .venv/bin/python deploy/tools/gen_definitions.py   # rewrites deploy/rabbitmq/definitions.json (compose)
                                                       # gen_kubernetes.py writes deploy/kubernetes/infra/definitions.json

Compose loads its file at the broker's first boot (deploy/rabbitmq/rabbitmq.conf: load_definitions), which also
skips the default user, so the compose file carries the development user guest/guest. The Kubernetes file has
no user (the operator makes its own): deploy/kubernetes/deploy.sh imports it into the running cluster.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "processing", "payment", "postal", "notify")
VHOST = "/"


class RecordingChannel:
    """Stands in for a pika channel: records what would be declared."""

    def __init__(self):
        self.exchanges: dict[str, dict] = {}
        self.queues: dict[str, dict] = {}
        self.bindings: list[dict] = []
        self.connection = self

    def channel(self):  # channel.connection.channel() after a mismatch: never reached here
        return self

    def exchange_declare(self, exchange, exchange_type="direct", durable=False, auto_delete=False, internal=False,
                         arguments=None, passive=False):
        self.exchanges[exchange] = {"name": exchange, "vhost": VHOST, "type": exchange_type, "durable": durable,
                                    "auto_delete": auto_delete, "internal": internal, "arguments": arguments or {}}

    def queue_declare(self, queue, passive=False, durable=False, exclusive=False, auto_delete=False, arguments=None):
        self.queues[queue] = {"name": queue, "vhost": VHOST, "durable": durable, "auto_delete": auto_delete,
                              "arguments": arguments or {}}

    def queue_bind(self, queue, exchange, routing_key=None, arguments=None):
        binding = {"source": exchange, "vhost": VHOST, "destination": queue, "destination_type": "queue",
                   "routing_key": routing_key or "", "arguments": arguments or {}}
        if binding not in self.bindings:
            self.bindings.append(binding)


def service_subscription(service: str):
    """The Subscription the service's `manage` passes to the kit (learned by running its main)."""
    manage = importlib.import_module(f"{service}.manage")
    seen = {}

    def capture(argv, *, kit, subscription, **_):
        seen["kit"], seen["subscription"] = kit, subscription
        return 0

    original = manage.run_manage
    manage.run_manage = capture
    try:
        manage.main([])
    finally:
        manage.run_manage = original
    return seen["kit"], seen["subscription"]


def record_topology(include_simulators: bool) -> RecordingChannel:
    from servicekit.topology import ServiceQueues, declare_exchanges, declare_marker, declare_service_queues

    channel = RecordingChannel()
    declare_exchanges(channel)
    declare_marker(channel)
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k in ("MOTCUA_DELIVERY_LIMIT", "MOTCUA_RETRY_DELAYS_MS")}
    try:
        for service in SERVICES:
            kit, subscription = service_subscription(service)
            if subscription is None:
                continue
            declare_service_queues(channel, ServiceQueues(kit.service, kit.retry_delays_ms), subscription.bindings,
                                   delivery_limit=kit.delivery_limit)
    finally:
        os.environ.update(saved)
    if include_simulators:
        from motcua_sims import postal_operator

        postal_operator.declare_topology(channel)
    return channel


def password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(include_simulators: bool, dev_user: bool = False) -> dict:
    channel = record_topology(include_simulators)
    out = {}
    if dev_user:
        out["users"] = [{"name": "guest", "password_hash": password_hash("guest", b"motc"),
                         "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}]
        out["permissions"] = [{"user": "guest", "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"}]
    out["vhosts"] = [{"name": VHOST}]
    out["exchanges"] = sorted(channel.exchanges.values(), key=lambda e: e["name"])
    out["queues"] = sorted(channel.queues.values(), key=lambda q: q["name"])
    out["bindings"] = sorted(channel.bindings, key=lambda b: (b["source"], b["destination"], b["routing_key"]))
    return out


def render_compose() -> str:
    return json.dumps(definitions(include_simulators=True, dev_user=True), indent=2) + "\n"


COMPOSE_FILE = ROOT / "deploy" / "rabbitmq" / "definitions.json"


def main(argv: list[str]) -> int:
    text = render_compose()
    if "--check" in argv:
        if not COMPOSE_FILE.is_file() or COMPOSE_FILE.read_text(encoding="utf-8") != text:
            print(f"out of date: {COMPOSE_FILE.relative_to(ROOT)} (run deploy/tools/gen_definitions.py)", file=sys.stderr)
            return 1
        return 0
    COMPOSE_FILE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

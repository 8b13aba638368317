"""`python -m <service>.manage ...`: migrate and seed, declare the broker topology, replay dead letters."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable

import pika

from .config import KitSettings
from .consumer import Subscription, replay_dead_letters
from .db import Database
from .logs import configure_logging
from .migrate import upgrade
from .topology import ServiceQueues, connection_parameters, declare_exchanges, declare_service_queues

log = logging.getLogger(__name__)


def declare_topology(kit: KitSettings, subscription: Subscription | None) -> None:
    connection = pika.BlockingConnection(connection_parameters(kit.amqp_url, name=f"{kit.service}-manage"))
    try:
        channel = connection.channel()
        if subscription:
            declare_service_queues(
                channel, ServiceQueues(kit.service, kit.retry_delays_ms), subscription.bindings,
                delivery_limit=kit.delivery_limit,
            )
        else:
            declare_exchanges(channel)
    finally:
        connection.close()


def run_manage(
    argv: list[str] | None,
    *,
    kit: KitSettings,
    migrations_dir: str,
    seed: Callable[[Database], dict] | None,
    subscription: Subscription | None,
) -> int:
    configure_logging(kit.service, kit.log_level)
    parser = argparse.ArgumentParser(prog=f"python -m {kit.service}.manage")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply migrations, load reference data, declare queues (if the broker is up)")
    sub.add_parser("seed", help="load reference data only")
    sub.add_parser("declare", help="declare exchanges and this service's queues")
    replay = sub.add_parser("replay-dead", help=f"move {kit.service}.events.dead back to {kit.service}.events")
    replay.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)

    if args.command in ("migrate", "seed"):
        if args.command == "migrate":
            upgrade(migrations_dir, kit.database_url)
        if seed:
            db = Database(kit.database_url)
            print(json.dumps({"service": kit.service, "seeded": seed(db)}, ensure_ascii=False))
            db.dispose()
        if args.command == "migrate":
            try:
                declare_topology(kit, subscription)
            except pika.exceptions.AMQPError as exc:
                # Not fatal: the worker declares the same topology when it connects.
                print(f"{kit.service}: broker not reachable, queues will be declared by the worker ({exc!r})", file=sys.stderr)
        return 0
    if args.command == "declare":
        declare_topology(kit, subscription)
        return 0
    if args.command == "replay-dead":
        moved = replay_dead_letters(kit, limit=args.limit)
        print(json.dumps({"service": kit.service, "replayed": moved}))
        return 0
    return 2
